package voq

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/pkt"
)

type walkSink struct{ n int }

func (s *walkSink) Drop(*pkt.Desc, pkt.DropReason) { s.n++ }

// TestWalkVisitsExactlyTheQueued compares Walk with the queue depths and the enqueue
// order, for a plain class queue and an FQ-CoDel queue, and checks early stop.
func TestWalkVisitsExactlyTheQueued(t *testing.T) {
	for _, fq := range []*FQConfig{nil, {Flows: 16}} {
		a, err := New(Config{Kind: KindEgress, Ports: []int{0, 1}, Classes: 2, LimitPkts: 100, FQ: fq})
		require.NoError(t, err)
		var sink walkSink
		for i := 0; i < 60; i++ {
			d := pkt.Desc{Len: 100, OutPort: uint16(i % 2), Class: uint8(i % 3 % 2), Enq: int64(i), Hash: uint32(i % 5)}
			a.Enqueue(int64(i), &d, &sink)
		}
		out := make([]pkt.Desc, 7)
		a.Dequeue(100, 0, out, 1<<20, &sink)
		seen := map[int64]bool{}
		perQueue := map[int]int{}
		a.Walk(func(q int, d *pkt.Desc) bool {
			require.False(t, seen[d.Enq], "visited twice")
			seen[d.Enq] = true
			perQueue[q]++
			require.EqualValues(t, q, d.Queue)
			return true
		})
		p0, _ := a.Backlog(0)
		p1, _ := a.Backlog(1)
		require.Equal(t, p0+p1, len(seen))
		require.Equal(t, 60-7-sink.n, len(seen))
		n := 0
		a.Walk(func(int, *pkt.Desc) bool { n++; return n < 5 })
		require.Equal(t, 5, n, "stops when fn returns false")
	}
}
