package buffer

import (
	"fmt"
	"math"
	"testing"

	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/stretchr/testify/require"
)

// TestDynamicThresholdThroughArch: S queues of one output port, kept saturated through
// the Arch, share a dynamic pool of B bytes (no reserves). Choudhury & Hahne's rule
// (a queue may hold alpha x the free space) settles each queue at alpha*B/(1+alpha*S),
// leaving B/(1+alpha*S) free. The queues' own limits are far above that, so carving is
// what stops them (pkt.DropNoBuffer). Checked after filling, and again after every
// round of a steady state where the port serves each queue two packets per round and
// four arrive: the queues refill to the same point.
//
// 64 B packets in 64 B cells make cells and bytes the same. Admission is per packet,
// so a queue sits within one packet of the continuous fixed point; the tolerance is
// two cells.
func TestDynamicThresholdThroughArch(t *testing.T) {
	const (
		B    = 64 << 10
		cell = 64
		tol  = 2 * cell
	)
	archs := map[string]func(s int) voq.Config{
		// egress: the S class queues of port 0, served one packet each in turn (DRR with
		// the smallest quantum).
		"egress": func(s int) voq.Config {
			q := make([]int, s)
			for i := range q {
				q[i] = 64
			}
			return voq.Config{Kind: voq.KindEgress, Ports: []int{0}, Classes: s, LimitPkts: 4096,
				Sched: voq.SchedConfig{Kind: voq.SchedDRR, Quantum: q}}
		},
		// voq: the VOQs of S inputs to port 0, served round robin one packet per turn.
		"voq": func(s int) voq.Config {
			return voq.Config{Kind: voq.KindVOQ, Ports: []int{0}, Inputs: inputs(s), LimitPkts: 4096, Arbiter: voq.ArbiterRR}
		},
	}
	for name, mkCfg := range archs {
		for _, s := range []int{1, 2, 4, 8} {
			for _, n := range []int{-2, 0, 1, 3} {
				t.Run(fmt.Sprintf("%s/S=%d/alpha=2^%d", name, s, n), func(t *testing.T) {
					cfg := mkCfg(s)
					layout, err := voq.Layout(cfg)
					require.NoError(t, err)
					require.Len(t, layout, s)
					var bc Config
					bc.Carving = &carving.Config{CellSize: cell,
						Pools:    []carving.Pool{{Name: "p", Size: B, Mode: carving.Dynamic}},
						Profiles: []carving.Profile{{Name: "dt", Pool: "p", DynamicTh: n}}}
					bc.SetLayout(layout, func(voq.QueueInfo) string { return "dt" })
					m := mustModel(t, bc)
					cfg.Memory = m
					a, err := voq.New(cfg)
					require.NoError(t, err)

					alpha := math.Ldexp(1, n)
					want := alpha * B / (1 + alpha*float64(s))
					sk := &sink{}
					now := int64(0)
					send := func(perQueue int) {
						for range perQueue {
							for q := range s {
								now++
								d := pkt.Desc{Len: 64, Enq: now, Class: uint8(q), InPort: uint16(q)}
								if name == "egress" {
									d.InPort = 0
								} else {
									d.Class = 0
								}
								a.Enqueue(now, &d, sk)
							}
						}
					}
					check := func(when string) {
						var used int64
						for q := range s {
							u := m.Carver().Used(q)
							used += u
							require.InDelta(t, want, float64(u), tol, "%s: queue %d holds %d B, want alpha*B/(1+alpha*S) = %.0f", when, q, u, want)
						}
						require.InDelta(t, B/(1+alpha*float64(s)), float64(B-used), float64(s*tol), "%s: free space", when)
					}
					send(B/cell + 16) // more than the pool could hold
					check("filled")
					require.Positive(t, sk.by[pkt.DropNoBuffer], "carving refused the excess")
					require.Equal(t, sk.total(), sk.by[pkt.DropNoBuffer], "nothing else dropped")

					out := make([]pkt.Desc, 2*s)
					served := make([]int, s)
					for round := range 200 {
						now += 1000
						k := a.Dequeue(now, 0, out, 1<<20, sk)
						require.Equal(t, 2*s, k)
						for _, d := range out[:k] {
							served[d.Queue]++
						}
						send(4)
						check(fmt.Sprintf("round %d", round))
					}
					for q := range s {
						require.Equal(t, 400, served[q], "the port served every queue equally")
					}
					a.Publish()
					var cs carving.Snapshot
					m.Carver().Snapshot(&cs)
					for _, q := range cs.Queues {
						require.InDelta(t, want, float64(q.Used), tol)
						require.Equal(t, uint64(sk.by[pkt.DropNoBuffer]), cs.Pools[0].Drops[carving.OverThreshold]+cs.Pools[0].Drops[carving.NoSharedSpace])
					}
					t.Logf("want %.0f B per queue, got %d..%d", want, minUsed(m, s), maxUsed(m, s))
				})
			}
		}
	}
}

func inputs(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

func minUsed(m *Model, s int) int64 {
	v := int64(math.MaxInt64)
	for q := range s {
		v = min(v, m.Carver().Used(q))
	}
	return v
}

func maxUsed(m *Model, s int) int64 {
	var v int64
	for q := range s {
		v = max(v, m.Carver().Used(q))
	}
	return v
}
