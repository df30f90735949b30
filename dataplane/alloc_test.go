package dataplane

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/dpdkq/dpdkq/wire"
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
	clean := make([][]byte, 32) // all routed to one port: the queue bypass on an unshaped port
	for i := range clean {
		clean[i] = testpkt.UDP("10.0.0.2", "10.2.0."+strconv.Itoa(i+1), uint16(1000+i), 9, 64, 0, 22)
	}
	for _, c := range []struct {
		name   string
		frames [][]byte
		rate   float64
		delay  time.Duration
	}{{"mix-shaped-delayed", frames, 1e12, 1}, {"mix-unshaped", frames, 0, 0}, {"bypass", clean, 0, 0}} {
		r, cycle := burstCycle(t, c.frames, c.rate, c.delay)
		cycle() // warm up (first-use paths, ARP learning)
		allocs := testing.AllocsPerRun(200, cycle)
		require.Zero(t, allocs, "%s: allocations per burst cycle", c.name)

		s := r.Stop()
		require.True(t, s.Balanced, "%s: %+v", c.name, s.Ports)
		require.Zero(t, s.MempoolLeaked, c.name)
		require.Greater(t, s.Ports[0].Forwarded, uint64(200*20), "%s: most of the mix is forwarded", c.name)
		if c.name != "bypass" {
			require.Greater(t, s.Ports[0].Drops[pkt.DropNoRoute.String()], uint64(0), c.name)
		}
	}
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
		Routes: []Route{{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 1, MAC: [6]byte{2, 0, 0, 0, 1, 2}}},
	}
	handConfig(&cfg)
	if mod != nil {
		mod(&cfg)
	}
	r, err := start(cfg, nil, false)
	require.NoError(tb, err)
	w := r.workers[0]
	var now int64
	cycles := 0
	return r, func() {
		if !r.pool.AllocBulk(w.rxBuf(), len(frames)) {
			tb.Fatal("mbuf pool exhausted")
		}
		for i, m := range w.rxBuf().S()[:len(frames)] {
			mempool.SetLen(m, len(frames[i]))
			copy(mempool.Data(m), frames[i])
		}
		now += 1000
		w.processRx(0, w.rxBuf().S()[:len(frames)], now)
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

// rxBuf is a burst array for a test to fill and hand to processRx, or to read a
// device back into: the worker's first rx queue's own array.
func (w *worker) rxBuf() *mempool.Burst { return w.rxqs[0].buf }

// handConfig completes cfg for a router whose one worker (lcore 1) the test drives by
// hand: a small pool without per-lcore cache, bursts of 32, 256-packet FIFOs.
func handConfig(cfg *Config) {
	cfg.Workers, cfg.Mbufs, cfg.MbufCache, cfg.DataRoom, cfg.Burst, cfg.FIFOLimit = []uint{1}, 2047, 0, 2176, 32, 256
}

// The benchmark publishes as the loop does by default (every 256 iterations); the
// allocation test every 4 cycles so that publishing is measured too.
var publishEvery = 4

// TestFlowHashOnlyWhenUsed: the flow hash is computed when a queue uses it (FQ-CoDel)
// and left 0 otherwise; where computed it is wire.FlowHash of the 5-tuple.
func TestFlowHashOnlyWhenUsed(t *testing.T) {
	frames := [][]byte{testpkt.UDP("10.0.0.2", "10.2.0.7", 1234, 9, 64, 0, 22)}
	want := wire.FlowHash(0x0A000002, 0x0A020007, 1234, 9, wire.ProtoUDP)
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
		w.descs[0] = pkt.Desc{}
		cycle()
		assert.Equal(t, fq, r.flowHash, "fq %v", fq)
		d := &w.descs[0] // the descriptor built
		require.NotZero(t, d.Mbuf)
		if fq {
			assert.Equal(t, want, d.Hash)
		} else {
			assert.Zero(t, d.Hash)
		}
		s := r.Stop()
		require.Equal(t, uint64(1), s.Ports[0].Forwarded, "fq %v", fq)
		require.True(t, s.Balanced)
		require.Zero(t, s.MempoolLeaked)
	}
}

var ringRuns int

// BenchmarkForwardLoop is the Go side of forwarding with everything in cache: 64 mbufs
// circulate through one net_ring port routed to itself (processRx, queue, serveEgress,
// tx into the ring, rx from the ring). Each pass processes the burst read back in the
// previous one, whose TTL and checksum bytes were restored then (restoring just before
// parsing would stall every parse on store forwarding, which real rx does not).
// Compare with BenchmarkBurstCycle (which also allocates and fills mbufs) and with the
// devices' own cost in ci/bench.sh. ns/op is per packet.
func BenchmarkForwardLoop(b *testing.B) {
	ringRuns++ // a fresh ring per run: a net_ring's ring outlives its port
	cfg := Config{
		Ports: []PortConfig{
			{Name: "a", Device: fmt.Sprintf("net_ring%d", 20+ringRuns), Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1},
		},
		Routes: []Route{{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 0, MAC: [6]byte{2, 0, 0, 0, 1, 2}}},
	}
	handConfig(&cfg)
	r, err := start(cfg, nil, false)
	require.NoError(b, err)
	w := r.workers[0]
	const n = 32
	bufs := [2]*mempool.Burst{w.rxBuf(), mempool.NewBurst(n)}
	defer bufs[1].Close()
	ttl, sum := make([]byte, 2*n), make([][2]byte, 2*n)
	for k, buf := range bufs {
		require.True(b, r.pool.AllocBulk(buf, n))
		for i, m := range buf.S()[:n] {
			j := k*n + i
			f := testpkt.UDP("10.0.0.2", "10.2.0."+strconv.Itoa(j+1), uint16(1000+j), 9, 64, 0, 22)
			mempool.SetLen(m, len(f))
			copy(mempool.Data(m), f)
			ttl[j], sum[j] = f[22], [2]byte{f[24], f[25]}
		}
	}
	id := r.ports[0].id
	require.Equal(b, n, txBurstOrFree(id, 0, bufs[1].Addr(), n), "the second burst waits in the ring")
	e := w.egress[0]
	var tsc uint64
	now, cur := int64(0), 0
	pass := func() int {
		now += 1000
		w.processRx(0, bufs[cur].S()[:n], now)
		w.serveEgress(e, now)
		cur ^= 1
		got := rxBurst(id, 0, bufs[cur].Addr(), n, &tsc)
		for _, m := range bufs[cur].S()[:got] {
			f := mempool.Frame(m)
			j := int(f[33]) - 1 // the last byte of the destination numbers the frame
			f[22], f[24], f[25] = ttl[j], sum[j][0], sum[j][1]
		}
		return got
	}
	require.Equal(b, n, pass(), "the ring returns a burst")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		if pass() != n {
			b.Fatal("packets lost in the loop")
		}
	}
	b.StopTimer()
	// Free the burst in hand and the one in the ring.
	require.Equal(b, n, rxBurst(id, 0, bufs[cur^1].Addr(), n, &tsc))
	bufs[0].FreeBulk(n)
	bufs[1].FreeBulk(n)
	s := r.Stop()
	require.True(b, s.Balanced)
	require.Zero(b, s.MempoolLeaked)
	require.Zero(b, s.Ports[0].DropTotal)
}

// TestTxBackpressure routes more packets than a net_ring port's ring holds, never read
// back at first: what the device refuses waits at the port (held, then queued behind
// it), nothing is dropped and nothing more is dequeued while the device refuses; the
// tx counters hold only what the device took. Once the ring is read, later services
// deliver everything, in order, and every mbuf comes back.
func TestTxBackpressure(t *testing.T) {
	frames := make([][]byte, 32)
	for i := range frames {
		frames[i] = testpkt.UDP("10.0.0.2", "10.2.0."+strconv.Itoa(i+1), uint16(1000+i), 9, 64, 0, 22)
	}
	ringRuns++
	r, cycle := burstCycleWith(t, frames, 0, 0, func(c *Config) {
		c.Ports[1].Device = fmt.Sprintf("net_ring%d", 20+ringRuns)
		c.FIFOLimit = 4096
	})
	const cycles = 50
	for range cycles {
		cycle()
	}
	w := r.workers[0]
	w.publish()
	c := r.Counters()
	e := w.egressOf[1]
	queued, _ := w.arch.Backlog(1)
	took := c[1].TxPackets
	require.Positive(t, e.tx.n, "the ring fills and the port holds what it refused")
	require.Positive(t, queued, "behind the held frames, packets queue")
	require.Zero(t, c[0].DropTotal(), "nothing is dropped: %+v", c[0])
	require.Equal(t, uint64(cycles*32), c[0].Fwd+uint64(e.tx.n)+uint64(queued), "forwarded + held + queued = received")
	require.Equal(t, c[0].Fwd, took, "tx counts only what the device took")
	require.Equal(t, uint64(e.tx.n), c[1].TxHeld, "the held frames are published")
	require.Equal(t, 64*took, c[1].TxBytes)
	// While the ring stays full, a service sends nothing and dequeues nothing.
	w.serveEgress(e, 1<<40)
	q2, _ := w.arch.Backlog(1)
	require.Equal(t, queued, q2)
	// Read the ring back (checking the order) while services deliver the rest.
	var tsc uint64
	seq := 0
	for round := 0; round < 200; round++ {
		n := rxBurst(r.ports[1].id, 0, w.rxBuf().Addr(), 32, &tsc)
		for _, m := range w.rxBuf().S()[:n] {
			f := mempool.Frame(m)
			require.Equal(t, seq%32+1, int(f[33]), "frame %d out of order", seq)
			seq++
		}
		w.rxBuf().FreeBulk(n)
		w.serveEgress(e, 1<<40)
		if left, _ := w.arch.Backlog(1); left == 0 && e.tx.n == 0 && n == 0 {
			break
		}
	}
	require.Equal(t, cycles*32, seq, "every frame came out of the ring")
	w.publish()
	c = r.Counters()
	require.Equal(t, uint64(cycles*32), c[0].Fwd)
	require.Equal(t, uint64(cycles*32), c[1].TxPackets)
	require.Zero(t, c[1].TxHeld)
	s := r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
}
