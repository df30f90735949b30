package dataplane

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
)

// TestHotPathNoAllocs drives one worker's per-burst functions by hand (the loop is not
// launched) over a burst of the sample mix — forwarded, malformed, unroutable, TTL 1 —
// plus ARP and ICMP to the router, through the queue, the shaper, the delay line and tx
// on net_null ports, and checks the whole burst cycle allocates nothing.
func TestHotPathNoAllocs(t *testing.T) {
	cfg := Config{
		Ports: []PortConfig{
			{Name: "a", Device: "net_null10,no-rx=1", Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1},
			{Name: "b", Device: "net_null11,no-rx=1", Addr: netip.MustParsePrefix("10.1.0.1/24"), EgressLcore: -1,
				RateBps: 1e12, Delay: 1},
		},
		Routes:    []Route{{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Port: 1, MAC: [6]byte{2, 0, 0, 0, 1, 2}}},
		Workers:   []uint{1},
		Mbufs:     2047,
		MbufCache: 0,
		DataRoom:  2176,
		Burst:     32,
		FIFOLimit: 256,
	}
	r, err := start(cfg, nil, false)
	require.NoError(t, err)
	w := r.workers[0]

	sample, _ := testpkt.SampleFrames(31, 3)
	frames := make([][]byte, 0, 32)
	for _, f := range sample {
		frames = append(frames, f.Data)
	}
	frames = append(frames, testpkt.ARPRequest("10.0.0.2", "10.0.0.1"))
	require.Len(t, frames, 32)
	var now int64
	cycle := func() {
		require.True(t, r.pool.AllocBulk(w.rx, len(frames)))
		for i, m := range w.rx.S()[:len(frames)] {
			mempool.SetLen(m, len(frames[i]))
			copy(mempool.Data(m), frames[i])
		}
		now += 1000
		w.processRx(0, len(frames), now)
		w.flushCtrl()
		for _, e := range w.egress {
			w.serveEgress(e, now)
			w.serveEgress(e, now+10) // the 1 ns delay line releases
		}
		w.flushFree()
		w.publish()
	}
	cycle() // warm up (first-use paths, ARP learning)
	allocs := testing.AllocsPerRun(200, cycle)
	require.Zero(t, allocs, "allocations per burst cycle")

	s := r.Stop()
	require.True(t, s.Balanced, "%+v", s.Ports)
	require.Zero(t, s.MempoolLeaked)
	require.Greater(t, s.Ports[0].Forwarded, uint64(200*20), "most of the mix is forwarded")
	require.Greater(t, s.Ports[0].Drops[pkt.DropNoRoute.String()], uint64(0))
}
