package dataplane

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/stretchr/testify/require"
)

// bypassRig is a router driven by hand with the loop's fused tx (a tx burst stays
// pending until the next one): input a, output b (a net_ring read back by the test)
// for 10.2/16, output c (net_null) for 10.3/16.
type bypassRig struct {
	t   *testing.T
	r   *Router
	w   *worker
	now int64
	seq int // frames sent to b, numbered 1.. in their last address byte
}

func newBypassRig(t *testing.T) *bypassRig {
	ringRuns++
	cfg := Config{
		Ports: []PortConfig{
			{Name: "a", Device: "net_null20,no-rx=1", Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1},
			{Name: "b", Device: fmt.Sprintf("net_ring%d", 20+ringRuns), Addr: netip.MustParsePrefix("10.1.0.1/24"), EgressLcore: -1},
			{Name: "c", Device: "net_null21,no-rx=1", Addr: netip.MustParsePrefix("10.5.0.1/24"), EgressLcore: -1},
		},
		Routes: []Route{
			{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 1, MAC: [6]byte{2, 0, 0, 0, 1, 2}},
			{Prefix: netip.MustParsePrefix("10.3.0.0/16"), Port: 2, MAC: [6]byte{2, 0, 0, 0, 1, 3}},
		},
	}
	handConfig(&cfg)
	r, err := start(cfg, nil, false)
	require.NoError(t, err)
	r.workers[0].fuse = true
	return &bypassRig{t: t, r: r, w: r.workers[0]}
}

// burst receives UDP frames with the given payload length on port a, to the given
// /16s (2 = port b, 3 = port c).
func (g *bypassRig) burst(payload int, nets ...int) {
	w := g.w
	require.True(g.t, g.r.pool.AllocBulk(w.rxBuf(), len(nets)))
	for i, m := range w.rxBuf().S()[:len(nets)] {
		dst := "10." + strconv.Itoa(nets[i]) + ".0.0"
		if nets[i] == 2 {
			g.seq++
			dst = "10.2.0." + strconv.Itoa(g.seq)
		}
		f := testpkt.UDP("10.0.0.2", dst, 1000, 9, 64, 0, payload)
		mempool.SetLen(m, len(f))
		copy(mempool.Data(m), f)
	}
	g.now += 1000
	w.processRx(0, w.rxBuf().S()[:len(nets)], g.now)
}

func (g *bypassRig) backlog() int { n, _ := g.w.arch.Backlog(1); return n }

// readBack takes everything out of b's ring, calling fn with each frame, and frees it.
func (g *bypassRig) readBack(fn func(f []byte)) {
	var tsc uint64
	w := g.w
	for {
		n := rxBurst(g.r.ports[1].id, 0, w.rxBuf().Addr(), 32, &tsc)
		if n == 0 {
			return
		}
		for _, m := range w.rxBuf().S()[:n] {
			fn(mempool.Frame(m))
		}
		w.rxBuf().FreeBulk(n)
	}
}

func many(n, net int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = net
	}
	return s
}

// TestQueueBypass: a burst all for an unshaped port whose queue is empty skips the
// queue (and is still counted as queued and dequeued); a burst for two ports is
// queued; a burst behind that standing queue is queued too, so the port's order holds.
// The frames must come out of b in arrival order, each exactly once, and the mbufs
// must all come back.
func TestQueueBypass(t *testing.T) {
	g := newBypassRig(t)
	w, b := g.w, g.w.egressOf[1]

	g.burst(22, many(8, 2)...) // empty queue, one port: straight to tx
	require.Zero(t, g.backlog())
	require.Same(t, &b.tx, w.pending, "the bypassed burst is the pending tx")
	g.burst(22, many(5, 2)...) // again: the first pending burst goes out, this one waits
	require.Zero(t, g.backlog())
	g.burst(22, 2, 3, 2, 3, 2) // two ports: queued
	require.Equal(t, 3, g.backlog())
	g.burst(22, many(4, 2)...) // behind a standing queue: queued
	require.Equal(t, 7, g.backlog())
	w.serveEgress(b, g.now)
	w.serveEgress(w.egressOf[2], g.now)
	require.Zero(t, g.backlog())
	w.flushTx()
	w.flushFree()
	w.publish()

	// Port b's queue counted every packet as queued and dequeued, with the peak depth
	// of the largest burst that went through it at once.
	var got *voq.QueueSnapshot
	for _, s := range g.r.QueueSnapshots() {
		for i := range s.Queues {
			if s.Queues[i].Port == 1 {
				got = &s.Queues[i]
			}
		}
	}
	require.NotNil(t, got)
	require.Equal(t, uint64(20), got.Arrivals)
	require.Equal(t, uint64(20), got.Enqueued)
	require.Equal(t, uint64(20), got.Dequeued)
	require.Equal(t, 8, got.PeakPkts)

	next := 1
	g.readBack(func(f []byte) {
		require.Equal(t, next, int(f[33]), "frame order on port b")
		next++
	})
	require.Equal(t, g.seq+1, next, "every frame to b came out")
	c := g.r.Counters()
	require.Equal(t, uint64(g.seq), c[1].TxPackets)
	require.Equal(t, uint64(2), c[2].TxPackets)
	s := g.r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
	require.Equal(t, uint64(g.seq+2), s.Ports[0].Forwarded)
	require.Zero(t, s.Ports[0].DropTotal)
}

// TestQueueBypassBackpressure: a bypassed burst still pending when the next rx burst is
// described (the loop's order) and partly refused by the device is held with its own
// descriptors, and the next burst, behind it, is held too; the next burst after that
// is queued (no bypass past held frames). When the device has room again, one service
// delivers them all in order, and the counters carry each frame's own length.
func TestQueueBypassBackpressure(t *testing.T) {
	g := newBypassRig(t)
	w := g.w
	b := w.egressOf[1]
	// Fill b's ring but for 4 slots with frames numbered 200.
	filler := 0
	for {
		require.True(t, g.r.pool.AllocBulk(w.rxBuf(), 32))
		for _, m := range w.rxBuf().S()[:32] {
			f := testpkt.UDP("10.0.0.2", "10.2.0.200", 1000, 9, 64, 0, 22)
			mempool.SetLen(m, len(f))
			copy(mempool.Data(m), f)
		}
		sent := txBurst(g.r.ports[1].id, 0, w.rxBuf().Addr(), 32)
		filler += sent
		if sent < 32 {
			for i, m := range w.rxBuf().S()[sent:32] { // refused: ours to free
				w.rxBuf().S()[i] = m
			}
			w.rxBuf().FreeBulk(32 - sent)
			break
		}
	}
	var tsc uint64
	require.Equal(t, 4, rxBurst(g.r.ports[1].id, 0, w.rxBuf().Addr(), 4, &tsc))
	w.rxBuf().FreeBulk(4)
	filler -= 4

	g.burst(22, many(8, 2)...)  // bypassed, pending: 4 will fit
	g.burst(300, many(5, 2)...) // described while the first is pending; held behind it
	require.Equal(t, 9, b.tx.n)
	g.burst(22, many(3, 2)...) // not past held frames: queued
	require.Equal(t, 3, g.backlog())
	w.flushTx()
	w.flushFree()
	w.publish()
	small := len(testpkt.UDP("10.0.0.2", "10.2.0.1", 1000, 9, 64, 0, 22))
	big := len(testpkt.UDP("10.0.0.2", "10.2.0.1", 1000, 9, 64, 0, 300))
	c := g.r.Counters()
	require.Equal(t, uint64(4), c[1].TxPackets)
	require.Equal(t, uint64(4*small), c[1].TxBytes, "tx bytes of the frames the device took")
	require.Equal(t, uint64(4), c[0].Fwd)
	require.Zero(t, c[0].DropTotal())

	n := 0
	g.readBack(func(f []byte) {
		if n >= filler {
			require.Equal(t, n-filler+1, int(f[33]), "frame order on port b")
		}
		n++
	})
	require.Equal(t, filler+4, n)
	w.serveEgress(b, g.now) // the held frames, then the queue
	w.flushTx()
	require.Zero(t, b.tx.n)
	require.Zero(t, g.backlog())
	w.publish()
	c = g.r.Counters()
	require.Equal(t, uint64(16), c[1].TxPackets)
	require.Equal(t, uint64(11*small+5*big), c[1].TxBytes)
	require.Equal(t, uint64(16), c[0].Fwd)
	next := 5
	g.readBack(func(f []byte) {
		require.Equal(t, next, int(f[33]), "frame order on port b")
		next++
	})
	require.Equal(t, 17, next)
	s := g.r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
}

// TestTxEdgePartialRuns: a burst of frames from two input ports, of which the device
// takes only the first three, counts forwarded per input port and tx bytes for exactly
// the frames taken, splitting the run it stopped in; the rest waits in order and is
// counted when it goes.
func TestTxEdgePartialRuns(t *testing.T) {
	g := newBypassRig(t)
	w := g.w
	w.fuse = false
	b := w.egressOf[1]
	// Fill b's ring but for 3 slots.
	filler := 0
	for {
		require.True(t, g.r.pool.AllocBulk(w.rxBuf(), 32))
		for _, m := range w.rxBuf().S()[:32] {
			f := testpkt.UDP("10.0.0.2", "10.2.0.200", 1000, 9, 64, 0, 22)
			mempool.SetLen(m, len(f))
			copy(mempool.Data(m), f)
		}
		sent := txBurst(g.r.ports[1].id, 0, w.rxBuf().Addr(), 32)
		filler += sent
		if sent < 32 {
			copy(w.rxBuf().S(), w.rxBuf().S()[sent:32])
			w.rxBuf().FreeBulk(32 - sent)
			break
		}
	}
	var tsc uint64
	require.Equal(t, 3, rxBurst(g.r.ports[1].id, 0, w.rxBuf().Addr(), 3, &tsc))
	w.rxBuf().FreeBulk(3)
	filler -= 3

	ins := []uint16{0, 0, 2, 2, 0}
	ds := make([]pkt.Desc, len(ins))
	require.True(t, g.r.pool.AllocBulk(w.rxBuf(), len(ins)))
	lens := 0
	for i, m := range w.rxBuf().S()[:len(ins)] {
		f := testpkt.UDP("10.0.0.2", "10.2.0."+strconv.Itoa(i+1), 1000, 9, 64, 0, 10*i)
		mempool.SetLen(m, len(f))
		copy(mempool.Data(m), f)
		ds[i] = pkt.Desc{Mbuf: m, Len: uint32(len(f)), InPort: ins[i], OutPort: 1}
		if i < 3 {
			lens += len(f)
		}
	}
	require.Equal(t, int(ds[0].Len+ds[1].Len+ds[2].Len+ds[3].Len+ds[4].Len), w.transmit(b, ds))
	require.Equal(t, 2, b.tx.n, "two frames wait")
	require.True(t, w.waiting(&b.tx))
	c := w.cnt
	require.Equal(t, uint64(2), c[0].Fwd)
	require.Equal(t, uint64(1), c[2].Fwd)
	require.Equal(t, uint64(3), c[1].TxPackets)
	require.Equal(t, uint64(lens), c[1].TxBytes)
	require.Equal(t, uint64(2), c[1].TxHeld)

	n := 0
	g.readBack(func([]byte) { n++ })
	require.Equal(t, filler+3, n)
	require.True(t, w.sendNow(&b.tx))
	require.Equal(t, uint64(3), c[0].Fwd)
	require.Equal(t, uint64(2), c[2].Fwd)
	require.Equal(t, uint64(5), c[1].TxPackets)
	require.Equal(t, uint64(ds[0].Len+ds[1].Len+ds[2].Len+ds[3].Len+ds[4].Len), c[1].TxBytes)
	require.Zero(t, c[1].TxHeld)
	next := 4
	g.readBack(func(f []byte) {
		require.Equal(t, next, int(f[33]), "the waiting frames go in order")
		next++
	})
	require.Equal(t, 6, next)
	// Counted on input ports 0 and 2 without an rx: balance the ports by hand.
	c[0].RxPackets, c[2].RxPackets = 3, 2
	s := g.r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
}
