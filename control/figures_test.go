package control

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
)

type nopSink struct{}

func (nopSink) Drop(*pkt.Desc, pkt.DropReason) {}

// TestFiguresSojourn: a queue whose packets all waited 6.4 ms reports a p50 and p99
// of 6.4 ms within 1%, and its one non-empty bucket with bounds that hold 6.4 ms.
func TestFiguresSojourn(t *testing.T) {
	a, err := voq.New(voq.Config{Kind: voq.KindEgress, Ports: []int{0}, Inputs: []int{1}, Classes: 1, LimitPkts: 64})
	require.NoError(t, err)
	const enq, sojourn = int64(1_000_000), int64(6_400_000)
	for i := range 10 {
		d := pkt.Desc{Mbuf: uintptr(i + 1), Enq: enq, Len: 100, InPort: 1, OutPort: 0}
		a.Enqueue(enq, &d, nopSink{})
	}
	out := make([]pkt.Desc, 10)
	require.Equal(t, 10, a.Dequeue(enq+sojourn, 0, out, 1<<20, nopSink{}))
	a.Publish()
	var s voq.ArchSnapshot
	a.Snapshot(&s)
	for _, f := range []struct {
		name string
		q    *voq.QueueStats
	}{{"queue", &s.Queues[0].QueueStats}, {"port", &s.Ports[0].QueueStats}} {
		fig := figures(f.q, 0)
		require.InEpsilon(t, float64(sojourn), float64(fig.SojournP50), 0.01, f.name)
		require.InEpsilon(t, float64(sojourn), float64(fig.SojournP99), 0.01, f.name)
		require.Len(t, fig.SojournBuckets, 1, f.name)
		b := fig.SojournBuckets[0]
		require.Equal(t, uint64(10), b.Count)
		require.LessOrEqual(t, b.Lo, time.Duration(sojourn))
		require.GreaterOrEqual(t, b.Le, time.Duration(sojourn))
		require.Less(t, float64(b.Le-b.Lo), float64(sojourn)/64)
	}
}
