package dataplane

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/packet"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
)

// TestHotPathNoAllocs drives one worker's per-burst functions by hand (the loop is not
// launched) over a burst of the sample mix — forwarded, malformed, unroutable, TTL 1 —
// plus ARP and ICMP to the router, through the queue, the shaper, the delay line and tx
// on net_null ports, and checks the whole burst cycle allocates nothing.
func TestHotPathNoAllocs(t *testing.T) {
	sample, _ := testpkt.SampleFrames(31, 3)
	frames := make([][]byte, 0, 32)
	for _, f := range sample {
		frames = append(frames, f.Data)
	}
	frames = append(frames, testpkt.ARPRequest("10.0.0.2", "10.0.0.1"))
	require.Len(t, frames, 32)
	r, cycle := burstCycle(t, frames, 1e12, 1)
	cycle() // warm up (first-use paths, ARP learning)
	allocs := testing.AllocsPerRun(200, cycle)
	require.Zero(t, allocs, "allocations per burst cycle")

	s := r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
	require.Greater(t, s.Ports[0].Forwarded, uint64(200*20), "most of the mix is forwarded")
	require.Greater(t, s.Ports[0].Drops[pkt.DropNoRoute.String()], uint64(0))
}

// BenchmarkBurstCycle is the Go side of forwarding without the devices' own work:
// bursts of 32 valid 64-byte UDP frames (to 32 destinations) are written into mbufs
// and put through processRx (parse, route, rewrite, enqueue) and serveEgress (dequeue,
// transmit to net_null, which frees them) on an unshaped port. ns/op is per packet.
func BenchmarkBurstCycle(b *testing.B) {
	frames := make([][]byte, 32)
	for i := range frames {
		frames[i] = testpkt.UDP("10.0.0.2", "10.2.0."+strconv.Itoa(i+1), uint16(1000+i), 9, 64, 0, 22)
	}
	publishEvery = 256
	defer func() { publishEvery = 4 }()
	r, cycle := burstCycle(b, frames, 0, 0)
	cycle()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(frames) {
		cycle()
	}
	b.StopTimer()
	s := r.Stop()
	require.True(b, s.Balanced)
	require.Zero(b, s.MempoolLeaked)
}

// burstCycle starts a router (loop not launched) with ports a -> b, b shaped to rate
// with the given delay line, and returns the function that runs one burst of frames
// through worker 0 by hand.
func burstCycle(tb testing.TB, frames [][]byte, rate float64, delay time.Duration) (*Router, func()) {
	return burstCycleWith(tb, frames, rate, delay, nil)
}

// burstCycleWith is burstCycle with a last change to the router's config.
func burstCycleWith(tb testing.TB, frames [][]byte, rate float64, delay time.Duration, mod func(*Config)) (*Router, func()) {
	cfg := Config{
		Ports: []PortConfig{
			{Name: "a", Device: "net_null10,no-rx=1", Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1},
			{Name: "b", Device: "net_null11,no-rx=1", Addr: netip.MustParsePrefix("10.1.0.1/24"), EgressLcore: -1,
				RateBps: rate, Delay: delay},
		},
		Routes:    []Route{{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 1, MAC: [6]byte{2, 0, 0, 0, 1, 2}}},
		Workers:   []uint{1},
		Mbufs:     2047,
		MbufCache: 0,
		DataRoom:  2176,
		Burst:     32,
		FIFOLimit: 256,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := start(cfg, nil, false)
	require.NoError(tb, err)
	w := r.workers[0]
	var now int64
	cycles := 0
	return r, func() {
		if !r.pool.AllocBulk(w.rx, len(frames)) {
			tb.Fatal("mbuf pool exhausted")
		}
		for i, m := range w.rx.S()[:len(frames)] {
			mempool.SetLen(m, len(frames[i]))
			copy(mempool.Data(m), frames[i])
		}
		now += 1000
		w.processRx(0, len(frames), now)
		w.flushCtrl()
		for _, e := range w.egress {
			w.serveEgress(e, now)
			w.serveEgress(e, now+10) // a 1 ns delay line releases
		}
		w.flushFree()
		if cycles++; cycles%publishEvery == 0 {
			w.publish()
		}
	}
}

// The benchmark publishes as the loop does by default (every 256 iterations); the
// allocation test every 4 cycles so that publishing is measured too.
var publishEvery = 4

// TestFlowHashOnlyWhenUsed: the flow hash is computed when a queue uses it (FQ-CoDel)
// and left 0 otherwise; where computed it is packet.FlowHash of the 5-tuple.
func TestFlowHashOnlyWhenUsed(t *testing.T) {
	frames := [][]byte{testpkt.UDP("10.0.0.2", "10.2.0.7", 1234, 9, 64, 0, 22)}
	want := packet.FlowHash(0x0A000002, 0x0A020007, 1234, 9, packet.ProtoUDP)
	for _, fq := range []bool{false, true} {
		r, cycle := burstCycleWith(t, frames, 0, 0, func(c *Config) {
			if fq {
				c.NewArch = func(ports []int, _ ArchEnv) (Arch, error) {
					return voq.New(voq.Config{Kind: voq.KindEgress, Ports: ports, Classes: 1, LimitPkts: 256,
						FQ: &voq.FQConfig{}})
				}
			}
		})
		w := r.workers[0]
		cycle()
		assert.Equal(t, fq, r.flowHash, "fq %v", fq)
		if fq {
			assert.Equal(t, want, w.in[0].Hash)
		} else {
			assert.Zero(t, w.in[0].Hash)
		}
		s := r.Stop()
		require.Equal(t, uint64(1), s.Ports[0].Forwarded, "fq %v", fq)
		require.True(t, s.Balanced)
		require.Zero(t, s.MempoolLeaked)
	}
}
