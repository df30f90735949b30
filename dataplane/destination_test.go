package dataplane

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/dpdkq/dpdkq/wire"
)

// TestDestinationCountExact runs random bursts to 40 destinations through a shaped
// port whose queue fills, drains and overflows (head and tail drops), asking at random
// moments: every count equals a brute-force count of the queued packets (their
// headers decoded by the full parser), and a walk cut by its budget says so.
func TestDestinationCountExact(t *testing.T) {
	for _, head := range []bool{false, true} {
		r, _ := burstCycleWith(t, nil, 8e6, 0, func(c *Config) {
			c.NewArch = func(ports []int, _ ArchEnv) (Arch, error) {
				cfg := voq.Config{Kind: voq.KindEgress, Ports: ports, Classes: 1, LimitPkts: 48}
				if head {
					cfg.Overflow = voq.OverflowHead
				}
				return voq.New(cfg)
			}
		})
		w := r.workers[0]
		rng := rand.New(rand.NewPCG(5, 6))
		now := int64(1e9)
		ips := make([]uint32, 40)
		for i := range ips {
			ips[i] = 0x0A020000 + uint32(i+1)
		}
		for cycle := 0; cycle < 400; cycle++ {
			now += int64(rng.IntN(200_000))
			n := rng.IntN(33)
			if n > 0 {
				require.True(t, r.pool.AllocBulk(w.rxBuf(), n))
				for _, m := range w.rxBuf().S()[:n] {
					ip := ips[rng.IntN(len(ips))]
					f := testpkt.UDP("10.0.0.2", fmt.Sprintf("10.2.0.%d", ip&0xff), 1, 9, 64, 0, 22)
					mempool.SetLen(m, len(f))
					copy(mempool.Data(m), f)
				}
				w.processRx(0, w.rxBuf().S()[:n], now)
			}
			for _, e := range w.egress {
				w.serveEgress(e, now)
			}
			w.flushTx()
			w.flushFree()
			if rng.IntN(4) == 0 {
				truth := map[netip.Addr]uint64{}
				queued := 0
				w.arch.Walk(func(_ int, d *pkt.Desc) bool {
					var in wire.IPv4Info
					require.Equal(t, pkt.DropNone, wire.ParseIPv4(mempool.Data(d.Mbuf), &in))
					truth[in.DstAddr()]++
					queued++
					return true
				})
				for _, ip := range ips {
					got, cut := r.DestinationCount(wire.Addr(ip))
					require.False(t, cut)
					require.Equal(t, truth[wire.Addr(ip)], got, "head %v cycle %d ip %x", head, cycle, ip)
				}
				if queued > 1 {
					_, cut := w.countDest(ips[0], queued-1)
					require.True(t, cut, "a walk stopped by its budget says so")
					_, cut = w.countDest(ips[0], queued)
					require.False(t, cut)
				}
			}
		}
		w.publish()
		c := r.Counters()
		if head {
			require.Greater(t, c[0].Drops[pkt.DropHead], uint64(0))
		} else {
			require.Greater(t, c[0].Drops[pkt.DropTail], uint64(0))
		}
		s := r.Stop()
		require.True(t, s.Balanced)
		require.Zero(t, s.MempoolLeaked)
	}
}
