package dataplane

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
)

// TestDestIndexExact drives random enqueue/leave sequences over more destinations
// than the table holds and compares every published count with a brute-force count,
// while a reader goroutine hammers lookups (run with -race).
func TestDestIndexExact(t *testing.T) {
	x := newDestIndex()
	rng := rand.New(rand.NewPCG(7, 9))
	type queued struct {
		ip   uint32
		slot uint16
	}
	var live []queued
	truth := map[uint32]int64{}
	var stop sync.WaitGroup
	done := make(chan struct{})
	stop.Add(1)
	go func() { // concurrent reader: counts are never negative
		defer stop.Done()
		rr := rand.New(rand.NewPCG(3, 4))
		for {
			select {
			case <-done:
				return
			default:
			}
			n, _ := x.lookup(0x0a020000 + uint32(rr.IntN(64)))
			if n < 0 {
				t.Errorf("negative count %d", n)
				return
			}
		}
	}()
	for step := 0; step < 200000; step++ {
		if len(live) == 0 || rng.IntN(100) < 52 {
			ip := 0x0a020000 + uint32(rng.IntN(6000)) // more than destSlots destinations
			q := queued{ip, x.inc(ip)}
			live = append(live, q)
			if q.slot != otherSlot { // a destination may be in "other" for some packets
				truth[ip]++
			}
		} else {
			i := rng.IntN(len(live))
			q := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			x.dec(q.slot)
			if q.slot != otherSlot {
				truth[q.ip]--
			}
		}
		if step%2003 == 0 {
			x.publish()
			// Every tracked destination's count is exact; untracked ones sum in other.
			for ip, n := range truth {
				got, other := x.lookup(ip)
				if other {
					require.Zero(t, n, "ip %x has packets in a slot but lookup says other", ip)
					continue
				}
				require.Equal(t, n, got, "ip %x at step %d", ip, step)
			}
			var inOther int64
			for _, q := range live {
				if q.slot == otherSlot {
					inOther++
				}
			}
			require.Equal(t, inOther, x.pother.Load(), "other bucket at step %d", step)
		}
	}
	close(done)
	stop.Wait()
	require.Greater(t, x.pother.Load()+x.other, int64(-1))
}

func TestDestIndexNoAllocs(t *testing.T) {
	x := newDestIndex()
	allocs := testing.AllocsPerRun(1000, func() {
		s := x.inc(0x0a000001)
		x.dec(s)
		x.publish()
	})
	require.Zero(t, allocs)
}

// BenchmarkDestIndex is one packet's index work: inc at enqueue and dec at dequeue,
// over 1024 destinations in bursts of 32 (ns/op per packet).
func BenchmarkDestIndex(b *testing.B) {
	x := newDestIndex()
	ips := make([]uint32, 1024)
	for i := range ips {
		ips[i] = 0x0A020000 + uint32(i/250)<<8 + uint32(1+i%250)
	}
	var slots [32]uint16
	b.ReportAllocs()
	for i := 0; i < b.N; i += 32 {
		base := i & 1023
		for j := range slots {
			slots[j] = x.inc(ips[(base+j)&1023])
		}
		for j := range slots {
			x.dec(slots[j])
		}
		if i&(256*32-1) == 0 {
			x.publish()
		}
	}
}

// TestDestIndexLazyExact runs random bursts to 40 destinations through a shaped port
// whose queue fills, drains and overflows (head drops of packets already counted, tail
// drops of packets never counted), publishing at random moments: every published
// count equals a brute-force count of the queued packets.
func TestDestIndexLazyExact(t *testing.T) {
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
				require.True(t, r.pool.AllocBulk(w.rx, n))
				for _, m := range w.rx.S()[:n] {
					ip := ips[rng.IntN(len(ips))]
					f := testpkt.UDP("10.0.0.2", fmt.Sprintf("10.2.0.%d", ip&0xff), 1, 9, 64, 0, 22)
					mempool.SetLen(m, len(f))
					copy(mempool.Data(m), f)
				}
				w.processRx(0, n, now)
			}
			for _, e := range w.egress {
				w.serveEgress(e, now)
			}
			w.flushTx()
			w.flushFree()
			if rng.IntN(4) == 0 {
				w.publish()
				truth := map[uint32]int64{}
				w.arch.Walk(func(_ int, d *pkt.Desc) bool {
					truth[d.Dst]++
					return true
				})
				for _, ip := range ips {
					got, other := w.dest.lookup(ip)
					if other { // never counted yet: the table has no slot for it
						got = 0
					}
					require.Equal(t, truth[ip], got, "head %v cycle %d ip %x", head, cycle, ip)
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
