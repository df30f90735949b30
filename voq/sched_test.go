package voq

import (
	"testing"

	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

func TestStrictPriorityOrder(t *testing.T) {
	a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: 8, LimitPkts: 16})
	sink := &recSink{}
	// Interleave classes; within a class arrival order must hold.
	id := 0
	for round := range 3 {
		for _, c := range []uint8{2, 7, 0, 5, 3} {
			id++
			d := mk(id, 0, 0, c, 100+round, 0)
			a.Enqueue(0, &d, sink)
		}
	}
	got := drainPort(a, 1, 0, sink)
	require.Len(t, got, 15)
	for i := 1; i < len(got); i++ {
		require.GreaterOrEqual(t, got[i-1].Class, got[i].Class, "higher class first")
		if got[i-1].Class == got[i].Class {
			require.Less(t, got[i-1].Mbuf, got[i].Mbuf)
		}
	}
	require.Equal(t, uint8(7), got[0].Class)
	require.Equal(t, uint8(0), got[14].Class)
}

// serveShares keeps every class of size backlogged (at least 4 packets of its size) and
// dequeues one packet per step, dt ns apart; it returns the bytes served per class.
func serveShares(t *testing.T, a Arch, size map[uint8]int, steps int, dt int64) map[uint8]int {
	sink := &recSink{}
	served := map[uint8]int{}
	queued := map[uint8]int{}
	out := make([]pkt.Desc, 1)
	id := 0
	now := int64(0)
	for range steps {
		for c, l := range size {
			for ; queued[c] < 4; queued[c]++ {
				id++
				d := mk(id, 0, 0, c, l, now)
				a.Enqueue(now, &d, sink)
			}
		}
		if a.Dequeue(now, 0, out, 1<<20, sink) == 1 {
			served[out[0].Class] += int(out[0].Len)
			queued[out[0].Class]--
		}
		now += dt
	}
	require.Zero(t, sink.total(), "limits must not drop in this test")
	return served
}

func TestDRRByteFairness(t *testing.T) {
	sizes := map[uint8]int{1: 64, 2: 1500}
	for _, tc := range []struct {
		name  string
		sched SchedConfig
		ratio float64 // bytes class 2 / class 1
	}{
		{"drr equal quanta", SchedConfig{Kind: SchedDRR}, 1},
		{"drr quanta 1000:3000", SchedConfig{Kind: SchedDRR, Quantum: []int{500, 1000, 3000}}, 3},
		{"wdrr 1:3", SchedConfig{Kind: SchedWDRR, Weights: []int{1, 1, 3}}, 3},
		{"wdrr 3:1", SchedConfig{Kind: SchedWDRR, Weights: []int{5, 3, 1}, BaseQuantum: 500}, 1.0 / 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: 3, LimitPkts: 64, Sched: tc.sched})
			got := serveShares(t, a, sizes, 60000, 0)
			r := float64(got[2]) / float64(got[1])
			require.InEpsilon(t, tc.ratio, r, 0.03, "bytes 1500B class / 64B class = %d/%d", got[2], got[1])
		})
	}
	t.Run("sp starves as a control", func(t *testing.T) {
		a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: 3, LimitPkts: 64})
		got := serveShares(t, a, sizes, 5000, 0)
		require.Zero(t, got[1])
	})
}

// TestClassRateLimitStopsStarvation: class 7 is rate limited to 100 Mb/s on a port that
// sends one 1000 B packet every 8 µs (1 Gb/s). Both classes are backlogged. Without the
// limit strict priority gives class 0 nothing; with it class 7 gets its 10% and class 0
// the rest.
func TestClassRateLimitStopsStarvation(t *testing.T) {
	sizes := map[uint8]int{0: 1000, 7: 1000}
	rates := make([]Rate, 8)
	rates[7] = Rate{BitsPerSec: 100e6, BurstBytes: 3000}
	a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: 8, LimitPkts: 64, Sched: SchedConfig{Rates: rates}})
	const steps = 12500 // 100 ms
	got := serveShares(t, a, sizes, steps, 8000)
	total := float64(steps * 1000)
	require.InDelta(t, 0.10, float64(got[7])/total, 0.005)
	require.InDelta(t, 0.90, float64(got[0])/total, 0.005)

	b := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: 8, LimitPkts: 64})
	got = serveShares(t, b, sizes, 2000, 8000)
	require.Zero(t, got[0], "control: unlimited class 7 starves class 0")
}

// TestRateLimitIsNonWorkConserving: a lone rate-limited class is shaped to its rate
// even when the port could send more, and the bucket allows its burst after idling.
func TestRateLimitIsNonWorkConserving(t *testing.T) {
	rates := []Rate{{BitsPerSec: 8e6, BurstBytes: 5000}} // 1 byte per µs
	a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, LimitPkts: 1024, Sched: SchedConfig{Kind: SchedDRR, Rates: rates}})
	sink := &recSink{}
	for i := range 1000 {
		d := mk(i+1, 0, 0, 0, 1000, 0)
		a.Enqueue(0, &d, sink)
	}
	out := make([]pkt.Desc, 64)
	// Full bucket at start: 5000 B of tokens lets 5 packets through (the 5th empties it).
	require.Equal(t, 5, a.Dequeue(1e9, 0, out, 1<<30, sink))
	require.Equal(t, 0, a.Dequeue(1e9, 0, out, 1<<30, sink), "bucket empty")
	// 0.5 ms refills 500 B: one 1000 B packet may go, leaving the bucket 500 B in debt,
	// and then nothing until the debt is repaid.
	require.Equal(t, 1, a.Dequeue(1e9+500_000, 0, out, 1<<30, sink))
	require.Equal(t, 0, a.Dequeue(1e9+1_000_000, 0, out, 1<<30, sink))
	sent := 6
	for now := int64(1e9 + 2_000_000); now <= 1e9+500_000_000; now += 1_000_000 {
		sent += a.Dequeue(now, 0, out, 1<<30, sink)
	}
	// 0.5 s at 1 B/µs = 500 000 B = 500 packets, plus the 5-packet initial burst.
	require.InDelta(t, 505, sent, 2)
}

func TestDRRPickUnit(t *testing.T) {
	r := newDRR([]int32{100, 300})
	served := [2]int{}
	for range 4000 {
		m := r.pick(0b11)
		r.deficit[m] -= 50
		served[m] += 50
	}
	require.InEpsilon(t, 3.0, float64(served[1])/float64(served[0]), 0.01)
	// idle forfeits credit but keeps debt
	r.deficit[0] = 70
	r.idle(0)
	require.Zero(t, r.deficit[0])
	r.deficit[0] = -70
	r.idle(0)
	require.Equal(t, int32(-70), r.deficit[0])
	require.Equal(t, 1, nextBit(0b1010, 0))
	require.Equal(t, 3, nextBit(0b1010, 2))
	require.Equal(t, 1, nextBit(0b1010, 4), "wraps")
	require.Equal(t, 1, nextBit(0b1010, 64), "wraps from past the end")
}

func TestTokenBucketExactAtExtremeRates(t *testing.T) {
	for _, rate := range []int64{1e3, 62_500_000, 1e12} {
		tb := link.NewBucket(float64(rate), 1500)
		now := int64(1)
		sentBytes := int64(0)
		tb.Refill(now)
		require.True(t, tb.Positive())
		// Send 1500 B packets whenever allowed; step 1/8 of a packet time.
		pktNs := 1500 * 8 * int64(1e9) / rate
		step := max(pktNs/8, 1)
		for range 20000 {
			if tb.Refill(now); tb.Positive() {
				tb.Charge(1500)
				sentBytes += 1500
			}
			now += step
		}
		want := float64(now-1) * float64(rate) / 8e9
		require.InDelta(t, want, float64(sentBytes), 1500*2+want*0.002, "rate %d", rate)
	}
}
