package dataplane

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
)

// TestQueuedBetweenAndDestinationIndex fills a nearly stopped egress port (1 kb/s)
// with packets enqueued at random times to several destinations, then checks the
// time-range sample against a brute-force scan of what was enqueued and the
// destination count against a brute-force count — including after some packets left
// (dequeue and tail drop).
func TestQueuedBetweenAndDestinationIndex(t *testing.T) {
	cfg := Config{
		Ports: []PortConfig{
			{Name: "a", Device: "net_null20,no-rx=1", Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1},
			{Name: "b", Device: "net_null21,no-rx=1", Addr: netip.MustParsePrefix("10.1.0.1/24"), EgressLcore: -1, RateBps: 1000, BurstBytes: 1},
		},
		Routes:  []Route{{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 1, MAC: [6]byte{2, 0, 0, 0, 1, 2}}},
		Workers: []uint{1}, Mbufs: 2047, DataRoom: 2176, Burst: 32, FIFOLimit: 300,
	}
	r, err := start(cfg, nil, false)
	require.NoError(t, err)
	w := r.workers[0]
	rng := rand.New(rand.NewPCG(5, 6))
	type sent struct {
		enq int64
		dst string
	}
	var all []sent
	now := int64(0)
	for burst := 0; burst < 12; burst++ { // 12 x 32 = 384 > limit 300: some tail drops
		require.True(t, r.pool.AllocBulk(w.rxBuf(), 32))
		now += int64(1 + rng.IntN(1e6))
		for i, m := range w.rxBuf().S()[:32] {
			dst := []string{"10.2.0.1", "10.2.0.2", "10.2.7.7"}[rng.IntN(3)]
			f := testpkt.UDP("10.0.0.9", dst, uint16(1000+i), 53, 64, 0, 40)
			mempool.SetLen(m, len(f))
			copy(mempool.Data(m), f)
			all = append(all, sent{now, dst})
		}
		w.processRx(0, w.rxBuf().S()[:32], now)
		w.flushFree()
	}
	w.publish()
	// Brute force: what is queued is the first 300 accepted in FIFO order (tail drop).
	queued := all[:300]
	for _, q := range []struct{ from, to int64 }{{0, 1 << 62}, {queued[50].enq, queued[200].enq}, {now + 1, now + 2}} {
		got := r.QueuedBetween(context.Background(), q.from, q.to, 1000)
		want := 0
		for _, s := range queued {
			if s.enq >= q.from && s.enq <= q.to {
				want++
			}
		}
		require.Len(t, got, want, "range %v", q)
		for _, g := range got {
			require.True(t, g.Dst.String() == "10.2.0.1" || g.Dst.String() == "10.2.0.2" || g.Dst.String() == "10.2.7.7")
			require.EqualValues(t, 17, g.Proto)
			require.Equal(t, 1, g.Port)
		}
	}
	require.Len(t, r.QueuedBetween(context.Background(), 0, 1<<62, 7), 7, "max bounds the sample")
	count := func(ip string) uint64 {
		n, cut := r.DestinationCount(netip.MustParseAddr(ip))
		require.False(t, cut)
		return n
	}
	brute := func(ip string, list []sent) (n uint64) {
		for _, s := range list {
			if s.dst == ip {
				n++
			}
		}
		return
	}
	for _, ip := range []string{"10.2.0.1", "10.2.0.2", "10.2.7.7"} {
		require.Equal(t, brute(ip, queued), count(ip), ip)
	}
	// Let 20 packets leave (a huge budget via a rate change), then recount.
	for _, e := range w.egress {
		if e.pidx == 1 {
			e.shaper.Set(0, 0, 0)
			e.descs = e.descs[:20]
			w.serveEgress(e, now+1)
			e.descs = e.descs[:cap(e.descs)]
		}
	}
	w.publish()
	for _, ip := range []string{"10.2.0.1", "10.2.0.2", "10.2.7.7"} {
		require.Equal(t, brute(ip, queued[20:]), count(ip), ip)
	}
	n, cut := r.DestinationCount(netip.MustParseAddr("10.9.9.9"))
	require.False(t, cut)
	require.Zero(t, n)
	s := r.Stop()
	require.True(t, s.Balanced)
	require.Zero(t, s.MempoolLeaked)
	require.EqualValues(t, 84, s.Ports[0].Drops[pkt.DropTail.String()])
}
