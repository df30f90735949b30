package voq

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/pkt"
)

type countingSink struct{ n int }

func (s *countingSink) Drop(*pkt.Desc, pkt.DropReason) { s.n++ }

// TestDequeueAlwaysProgresses: whenever a port has a backlog and the caller offers a
// positive budget, Dequeue delivers at least one packet (no scheduler state can wedge
// a port), over random arrivals, sizes, classes and budgets.
func TestDequeueAlwaysProgresses(t *testing.T) {
	for _, sched := range []SchedKind{SchedSP, SchedDRR, SchedWDRR} {
		for _, classes := range []int{1, 8} {
			a, err := New(Config{Kind: KindEgress, Ports: []int{0, 1}, Classes: classes, LimitPkts: 1000,
				Sched: SchedConfig{Kind: sched}})
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(1, uint64(classes)))
			out := make([]pkt.Desc, 32)
			var sink countingSink
			now := int64(0)
			for i := 0; i < 50000; i++ {
				now += int64(rng.IntN(3000))
				for k := rng.IntN(4); k > 0; k-- {
					d := pkt.Desc{Len: uint32(60 + rng.IntN(1455)), OutPort: uint16(rng.IntN(2)), Class: uint8(rng.IntN(8)), Enq: now}
					a.Enqueue(now, &d, &sink)
				}
				for p := 0; p < 2; p++ {
					budget := rng.IntN(4000) - 1000
					n := a.Dequeue(now, p, out, budget, &sink)
					if bl, _ := a.Backlog(p); bl > 0 && budget > 0 && n == 0 {
						t.Fatalf("%v classes %d step %d: port %d backlog %d, budget %d, nothing dequeued", sched, classes, i, p, bl, budget)
					}
				}
			}
		}
	}
}
