package dataplane_test

import (
	"encoding/binary"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/gopacket/gopacket/layers"

	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/dpdkq/dpdkq/wire"
)

var (
	in0MAC  = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	out0MAC = [6]byte{0x02, 0, 0, 0, 1, 0x01}
	nhMAC   = [6]byte{0x02, 0, 0, 0, 1, 0x02}
)

func baseConfig(t *testing.T, in, out string, workers ...uint) dataplane.Config {
	if len(workers) == 0 {
		workers = []uint{1}
	}
	cfg := dataplane.Config{
		Ports: []dataplane.PortConfig{
			{Name: "in0", Device: in, Addr: netip.MustParsePrefix("10.0.0.1/24"), MAC: in0MAC, EgressLcore: -1},
			{Name: "out0", Device: out, Addr: netip.MustParsePrefix("10.1.0.1/24"), MAC: out0MAC, EgressLcore: -1},
		},
		Routes:    []dataplane.Route{{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 1, Via: netip.MustParseAddr("10.1.0.2"), MAC: nhMAC}},
		Workers:   workers,
		Mbufs:     4095,
		MbufCache: 64,
		DataRoom:  2176,
		Burst:     32,
		FIFOLimit: 4096,
	}
	for d := range cfg.DSCPClass {
		cfg.DSCPClass[d] = uint8(d >> 3)
	}
	return cfg
}

// waitRx polls the live counters until n packets were received on port 0 and nothing
// is left in flight, or the deadline passes.
func waitRx(t *testing.T, r *dataplane.Router, n uint64, settle time.Duration) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c := r.Counters()
		if c[0].RxPackets >= n {
			time.Sleep(settle)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out: rx %d of %d", r.Counters()[0].RxPackets, n)
}

// waitInputDone waits (at most timeout) until every packet received on port 0 has been
// forwarded or dropped: nothing of it is still queued.
func waitInputDone(r *dataplane.Router, timeout time.Duration) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c := r.Counters(); c[0].RxPackets == c[0].Fwd+c[0].DropTotal() {
			return
		}
	}
}

func TestRouteSamplePcap(t *testing.T) {
	for _, workers := range [][]uint{{1}, {1, 2}} {
		t.Run(map[int]string{1: "one-worker", 2: "two-workers"}[len(workers)], func(t *testing.T) {
			dir := t.TempDir()
			frames, expect := testpkt.Sample(1000, 7)
			in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
			require.NoError(t, testpkt.WritePcap(in, frames, nil))
			cfg := baseConfig(t, "net_pcap0,rx_pcap="+in, "net_pcap1,tx_pcap="+out, workers...)
			r, err := dataplane.Start(cfg, nil)
			require.NoError(t, err)
			waitRx(t, r, uint64(len(frames)), 200*time.Millisecond)
			s := r.Stop()

			require.True(t, s.Balanced, "%+v", s.Ports)
			require.Zero(t, s.MempoolLeaked)
			require.Equal(t, 0, s.MempoolEnd)
			in0 := s.Ports[0]
			require.EqualValues(t, expect.Total, in0.RxPackets)
			require.EqualValues(t, expect.Forward, in0.Forwarded)
			for r := pkt.DropReason(1); r < pkt.NumDropReasons; r++ {
				require.EqualValues(t, expect.Drops[r], in0.Drops[r.String()], "drops for %s", r)
			}
			require.EqualValues(t, expect.Forward, s.Ports[1].TxPackets)
			require.EqualValues(t, expect.ForwardBytes, s.Ports[1].TxBytes)

			got, err := testpkt.ReadPcap(out)
			require.NoError(t, err)
			require.Len(t, got, expect.Forward)
			// Every output frame: MACs rewritten, TTL one less than the input's, valid
			// checksums by gopacket's independent computation. Order is preserved.
			var want []*testpkt.Decoded
			sf, _ := testpkt.SampleFrames(1000, 7)
			for _, f := range sf {
				if f.Expect == pkt.DropNone {
					want = append(want, testpkt.DecodeValid(t, f.Data))
				}
			}
			for i, f := range got {
				d := testpkt.DecodeValid(t, f.Data)
				require.NoError(t, d.VerifyChecksums(), "frame %d", i)
				require.Equal(t, nhMAC[:], []byte(d.Eth.DstMAC), "frame %d", i)
				require.Equal(t, out0MAC[:], []byte(d.Eth.SrcMAC), "frame %d", i)
				require.Equal(t, want[i].IPv4.TTL-1, d.IPv4.TTL, "frame %d", i)
				require.Equal(t, want[i].IPv4.DstIP, d.IPv4.DstIP, "frame %d", i)
			}
		})
	}
}

// TestShapedEgressSpacing replays the sample into a port shaped at 20 Mb/s and checks
// the output pcap's timestamps: the achieved line rate (frame bytes plus the 24-byte
// Ethernet overhead the shaper charges) over the run is the configured rate. The
// tolerance is wide enough for a loaded 2-core machine (a late loop iteration catches
// up from the bucket) and narrow enough to catch a wrong unit or a missing charge.
func TestShapedEgressSpacing(t *testing.T) {
	dir := t.TempDir()
	frames, expect := testpkt.Sample(1500, 11)
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	require.NoError(t, testpkt.WritePcap(in, frames, nil))
	cfg := baseConfig(t, "net_pcap0,rx_pcap="+in, "net_pcap1,tx_pcap="+out)
	const rate = 20e6
	cfg.Ports[1].RateBps = rate
	cfg.Ports[1].BurstBytes = 3076
	cfg.Ports[1].Overhead = 24
	// The run is checked against the long-term rate: on a loaded machine that needs the
	// catch-up window (link.Shaper) to make up for late loop iterations.
	cfg.Ports[1].CatchUp = link.DefaultCatchUp
	r, err := dataplane.Start(cfg, nil)
	require.NoError(t, err)
	// 1350 frames of ~800 B at 20 Mb/s take ~0.45 s to drain.
	waitRx(t, r, uint64(len(frames)), 100*time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && r.Counters()[1].TxPackets < uint64(expect.Forward) {
		time.Sleep(20 * time.Millisecond)
	}
	s := r.Stop()
	require.True(t, s.Balanced)
	require.Zero(t, s.MempoolLeaked)
	require.EqualValues(t, expect.Forward, s.Ports[1].TxPackets)

	got, err := testpkt.ReadPcap(out)
	require.NoError(t, err)
	require.Len(t, got, expect.Forward)
	// Bytes after the first frame, over the time from the first to the last frame.
	var bytes float64
	for _, f := range got[1:] {
		bytes += float64(len(f.Data) + 24)
	}
	span := got[len(got)-1].TS.Sub(got[0].TS).Seconds()
	require.Greater(t, span, 0.0)
	achieved := bytes * 8 / span
	t.Logf("shaped at %.0f b/s, achieved %.0f b/s over %.3f s (%d frames)", rate, achieved, span, len(got))
	require.InEpsilon(t, rate, achieved, 0.10)
}

// TestRoutingLoopOnRing sends the sample into a net_ring port that loops every frame it
// transmits back to its own rx: each pass is routed again with TTL one lower, so the
// loop must end in ttl_expired drops with every mbuf accounted for.
func TestRoutingLoopOnRing(t *testing.T) {
	dir := t.TempDir()
	frames, expect := testpkt.Sample(200, 5)
	in := filepath.Join(dir, "in.pcap")
	require.NoError(t, testpkt.WritePcap(in, frames, nil))
	cfg := baseConfig(t, "net_pcap0,rx_pcap="+in, "net_ring0")
	// The looped frames arrive addressed to the next hop's MAC: the ring port must
	// accept them (the router does not filter by destination MAC).
	r, err := dataplane.Start(cfg, nil)
	require.NoError(t, err)
	waitRx(t, r, uint64(len(frames)), 0)
	// Done when every forwarded frame has expired: until then some are in the ring,
	// where a stop would leave them (net_ring does not free what its ring holds).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c := r.Counters()
		if c[1].Drops[pkt.DropTTLExpired] == uint64(expect.Forward) && c[1].RxPackets == c[1].Fwd+c[1].DropTotal() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s := r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
	// Every forwarded frame loops until its TTL runs out: ring rx = sum over frames of
	// (TTL-2) passes, and exactly one ttl_expired drop per forwarded frame.
	require.EqualValues(t, expect.Forward, s.Ports[1].Drops["ttl_expired"])
	require.Greater(t, s.Ports[1].RxPackets, uint64(expect.Forward*10))
}

// TestPerFlowOrderWithClassesAndAQM routes the sample through 8 class queues under
// strict priority with CoDel on a shaped port: classes overtake each other, but within
// a flow (5-tuple) the output order is the input order.
func TestPerFlowOrderWithClassesAndAQM(t *testing.T) {
	dir := t.TempDir()
	sf, _ := testpkt.SampleFrames(1500, 21)
	var frames [][]byte
	for i := range sf {
		// Give every forwardable frame a unique IP ID (checksum fixed), so output
		// frames can be matched to input positions.
		if sf[i].Expect == pkt.DropNone {
			f := append([]byte(nil), sf[i].Data...)
			ihl := int(f[14]&0xf) * 4
			binary.BigEndian.PutUint16(f[18:20], uint16(i))
			wire.SetHeaderChecksum(f[14 : 14+ihl])
			sf[i].Data = f
		}
		frames = append(frames, sf[i].Data)
	}
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	require.NoError(t, testpkt.WritePcap(in, frames, nil))
	cfg := baseConfig(t, "net_pcap0,rx_pcap="+in, "net_pcap1,tx_pcap="+out)
	cfg.Ports[1].RateBps = 50e6
	cfg.NewArch = func(ports []int, _ dataplane.ArchEnv) (dataplane.Arch, error) {
		spec := aqm.Spec{Kind: aqm.KindCoDel}
		return voq.New(voq.Config{Kind: voq.KindEgress, Ports: ports, Classes: 8, LimitPkts: 2000,
			Sched: voq.SchedConfig{Kind: voq.SchedSP},
			AQM:   func(q int, _ uint8) aqm.Policy { p, _ := spec.New(uint64(q)); return p }})
	}
	r, err := dataplane.Start(cfg, nil)
	require.NoError(t, err)
	waitRx(t, r, uint64(len(frames)), 100*time.Millisecond)
	waitInputDone(r, 10*time.Second)
	s := r.Stop()
	require.True(t, s.Balanced)
	got, err := testpkt.ReadPcap(out)
	require.NoError(t, err)
	require.NotEmpty(t, got)
	// Flow key -> sequence of IP IDs in input order; output must be a subsequence.
	type key struct {
		src, dst     string
		sport, dport uint16
	}
	flowKey := func(d *testpkt.Decoded) (key, bool) {
		if d.IPv4 == nil {
			return key{}, false
		}
		k := key{src: d.IPv4.SrcIP.String(), dst: d.IPv4.DstIP.String()}
		switch {
		case d.UDP != nil:
			k.sport, k.dport = uint16(d.UDP.SrcPort), uint16(d.UDP.DstPort)
		case d.TCP != nil:
			k.sport, k.dport = uint16(d.TCP.SrcPort), uint16(d.TCP.DstPort)
		}
		return k, true
	}
	pos := map[key]map[uint16]int{} // flow -> IP ID -> input position
	for i, f := range sf {
		if f.Expect != pkt.DropNone {
			continue
		}
		d := testpkt.DecodeValid(t, f.Data)
		k, _ := flowKey(d)
		if pos[k] == nil {
			pos[k] = map[uint16]int{}
		}
		pos[k][d.IPv4.Id] = i
	}
	last := map[key]int{}
	classesSeen := map[uint8]bool{}
	reordered, prevPos := 0, -1
	for i, f := range got {
		d := testpkt.DecodeValid(t, f.Data)
		k, ok := flowKey(d)
		require.True(t, ok)
		p, ok := pos[k][d.IPv4.Id]
		require.True(t, ok, "output frame %d is not a forwarded input frame", i)
		if prev, seen := last[k]; seen {
			require.Greater(t, p, prev, "flow %v reordered at output frame %d", k, i)
		}
		last[k] = p
		classesSeen[d.IPv4.TOS>>5] = true
		if p < prevPos {
			reordered++ // across flows: allowed (priority)
		}
		prevPos = p
	}
	require.Greater(t, len(classesSeen), 1, "several classes present")
	require.Greater(t, reordered, 0, "priority must reorder across classes (else the test shows nothing)")
}

// TestCoDelMarksECTInsteadOfDropping: a standing queue under CoDel with ECN on marks
// ECT packets CE (IPv4 checksum still valid) and drops only non-ECT ones.
func TestCoDelMarksECTInsteadOfDropping(t *testing.T) {
	dir := t.TempDir()
	frames, expect := testpkt.Sample(1500, 9)
	require.Greater(t, expect.ECT, 50)
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	require.NoError(t, testpkt.WritePcap(in, frames, nil))
	cfg := baseConfig(t, "net_pcap0,rx_pcap="+in, "net_pcap1,tx_pcap="+out)
	cfg.Ports[1].RateBps = 8e6 // ~1.1 MB of frames: ~1.2 s to drain, far above 5 ms
	cfg.NewArch = func(ports []int, _ dataplane.ArchEnv) (dataplane.Arch, error) {
		spec := aqm.Spec{Kind: aqm.KindCoDel, CoDel: aqm.CoDelParams{ECN: true}}
		return voq.New(voq.Config{Kind: voq.KindEgress, Ports: ports, Classes: 1, LimitPkts: 4000,
			AQM: func(q int, _ uint8) aqm.Policy { p, _ := spec.New(uint64(q)); return p }})
	}
	r, err := dataplane.Start(cfg, nil)
	require.NoError(t, err)
	waitRx(t, r, uint64(len(frames)), 0)
	waitInputDone(r, 15*time.Second)
	s := r.Stop()
	require.True(t, s.Balanced)
	require.Greater(t, s.Ports[0].Marked, uint64(0), "ECT packets were marked")
	got, err := testpkt.ReadPcap(out)
	require.NoError(t, err)
	ce := 0
	for _, f := range got {
		d := testpkt.DecodeValid(t, f.Data) // checksums verified by gopacket
		if d.IPv4.TOS&3 == 3 {
			ce++
		}
	}
	require.EqualValues(t, s.Ports[0].Marked, ce, "every mark reached the wire")
	// CoDel dropped (non-ECT) packets too, but never more ECT packets than it had to:
	// every ECT packet was forwarded, marked or not.
	ect := 0
	for _, f := range got {
		if testpkt.DecodeValid(t, f.Data).IPv4.TOS&3 != 0 {
			ect++
		}
	}
	require.Equal(t, expect.ECT, ect, "no ECT packet was dropped by the AQM")
	require.Greater(t, s.Ports[0].Drops["aqm"], uint64(0), "non-ECT packets were dropped")
}

// TestRouterAnswersEchoAndARP replays echo requests to both router addresses (one of
// them with IP options, so both the fast and the general parse lead there), an ARP
// request for the input port's address and routed traffic into in0, and checks the
// replies that leave in0: an echo reply per request (addresses swapped, ICMP type 0,
// valid checksums) and an ARP reply.
func TestRouterAnswersEchoAndARP(t *testing.T) {
	dir := t.TempDir()
	in, replies, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "replies.pcap"), filepath.Join(dir, "out.pcap")
	frames := [][]byte{
		testpkt.ARPRequest("10.0.0.2", "10.0.0.1"),
		testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 7, 1, 64, 56),
		testpkt.UDP("10.0.0.2", "10.2.0.9", 1000, 9, 64, 0, 22),
		testpkt.ICMPEcho("10.0.0.2", "10.1.0.1", 7, 2, 64, 56),
		testpkt.Options{IPOptions: []layers.IPv4Option{{OptionType: 1}, {OptionType: 0}}}.ICMPEcho("10.0.0.2", "10.0.0.1", 7, 3, 64, 8),
	}
	require.NoError(t, testpkt.WritePcap(in, frames, nil))
	cfg := baseConfig(t, "net_pcap0,rx_pcap="+in+",tx_pcap="+replies, "net_pcap1,tx_pcap="+out)
	r, err := dataplane.Start(cfg, nil)
	require.NoError(t, err)
	waitRx(t, r, uint64(len(frames)), 200*time.Millisecond)
	s := r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)

	got, err := testpkt.ReadPcap(replies)
	require.NoError(t, err)
	require.Len(t, got, 4)
	var arps, echoes []uint16
	for _, f := range got {
		d := testpkt.DecodeValid(t, f.Data)
		if d.ARP != nil {
			require.EqualValues(t, layers.ARPReply, d.ARP.Operation)
			arps = append(arps, d.ARP.Operation)
			continue
		}
		require.NotNil(t, d.ICMP)
		require.NoError(t, d.VerifyChecksums())
		require.EqualValues(t, layers.ICMPv4TypeEchoReply, d.ICMP.TypeCode.Type())
		require.Equal(t, "10.0.0.2", d.IPv4.DstIP.String())
		echoes = append(echoes, d.ICMP.Seq)
	}
	require.Len(t, arps, 1)
	require.ElementsMatch(t, []uint16{1, 2, 3}, echoes)
	fwd, err := testpkt.ReadPcap(out)
	require.NoError(t, err)
	require.Len(t, fwd, 1)
}

// TestEveryArchTwoWorkers runs the sample through every queueing architecture with two
// worker lcores: in0 is polled by lcore 1 and out0's egress is owned by lcore 2, so
// every forwarded packet crosses the hand-off ring into the owner's architecture.
// Everything forwardable must come out (large limits, no shaping), counters balanced,
// every mbuf back.
func TestEveryArchTwoWorkers(t *testing.T) {
	codel := func(q int, _ uint8) aqm.Policy {
		p, _ := aqm.Spec{Kind: aqm.KindCoDel}.New(uint64(q))
		return p
	}
	for _, c := range []struct {
		name string
		cfg  voq.Config
	}{
		{"egress-drr-codel", voq.Config{Kind: voq.KindEgress, Classes: 2, LimitPkts: 4096, AQM: codel,
			Sched: voq.SchedConfig{Kind: voq.SchedDRR}}},
		{"egress-fq-codel", voq.Config{Kind: voq.KindEgress, Classes: 1, AQM: codel, FQ: &voq.FQConfig{}}},
		{"voq-rr", voq.Config{Kind: voq.KindVOQ, Classes: 2, LimitPkts: 4096, Arbiter: voq.ArbiterRR}},
		{"voq-islip", voq.Config{Kind: voq.KindVOQ, Classes: 1, LimitPkts: 4096, Arbiter: voq.ArbiterISLIP}},
		{"input-fifo", voq.Config{Kind: voq.KindInputFIFO, Classes: 1, LimitPkts: 4096}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			frames, expect := testpkt.Sample(1000, 11)
			in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
			require.NoError(t, testpkt.WritePcap(in, frames, nil))
			cfg := baseConfig(t, "net_pcap0,rx_pcap="+in, "net_pcap1,tx_pcap="+out, 1, 2)
			cfg.Ports[1].EgressLcore = 2
			cfg.Rx = []dataplane.RxAssign{{Port: 0, Queue: 0, Lcore: 1}, {Port: 1, Queue: 0, Lcore: 2}}
			built := 0
			cfg.NewArch = func(ports []int, _ dataplane.ArchEnv) (dataplane.Arch, error) {
				vc := c.cfg
				vc.Ports = ports
				if vc.Kind != voq.KindEgress {
					vc.Inputs = []int{0, 1}
				}
				built++
				return voq.New(vc)
			}
			r, err := dataplane.Start(cfg, nil)
			require.NoError(t, err)
			waitRx(t, r, uint64(len(frames)), 100*time.Millisecond)
			waitInputDone(r, 10*time.Second)
			s := r.Stop()
			require.Equal(t, 2, built, "each lcore owning a port builds its architecture")
			require.True(t, s.Balanced, "%+v", s.Ports)
			require.Zero(t, s.MempoolLeaked)
			require.EqualValues(t, expect.Forward, s.Ports[0].Forwarded)
			require.EqualValues(t, expect.Forward, s.Ports[1].TxPackets)
			got, err := testpkt.ReadPcap(out)
			require.NoError(t, err)
			require.Len(t, got, expect.Forward)
		})
	}
}
