package link

import (
	"math"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/pkt"
)

func TestShaperRateWithManualClock(t *testing.T) {
	// 62.5 Mb/s = 7.8125 bytes/µs. Keep a 1500-byte queue backlogged for one simulated
	// second, polling every 1 µs like the loop does, and count what leaves.
	const rate = 62.5e6
	s := NewShaper(rate, 3076, 24)
	var now int64
	sentBytes := 0
	for now = 0; now <= 1e9; now += 1000 {
		b := s.Budget(now)
		for b > 0 {
			s.Charge(1500, 1)
			sentBytes += 1524
			b -= 1500
		}
	}
	want := rate / 8 // bytes in one second, plus at most the initial bucket and one frame
	require.InDelta(t, want, float64(sentBytes), 3076+1524)
}

func TestShaperBucketAndDebt(t *testing.T) {
	s := NewShaper(8e9, 1000, 0) // 1 byte per ns
	require.Equal(t, 1001, s.Budget(0), "starts full")
	s.Charge(1500, 1) // overshoot: 500 bytes of debt
	require.Equal(t, 0, s.Budget(0))
	require.InDelta(t, -500, s.Level(), 1e-9)
	require.Equal(t, 0, s.Budget(500), "debt repaid exactly at 500 ns")
	require.Equal(t, 2, s.Budget(501), "one byte earned")
	require.Equal(t, 1001, s.Budget(1e9), "refill is capped at the depth")

	u := NewShaper(0, 0, 24)
	require.True(t, u.Unshaped())
	u.Charge(1e9, 1000)
	require.Equal(t, Unlimited, u.Budget(0))

	// A live rate change keeps the balance (clamped to the new depth).
	s.Set(8e8, 100, 0)
	require.Equal(t, 101, s.Budget(1e9))
	require.Equal(t, 8e8, s.RateBps())
	require.Equal(t, 100, s.DepthBytes())
}

func TestShaperCatchUpAfterStall(t *testing.T) {
	// 8 Gb/s = 1 byte/ns, depth 1000 B. A backlogged port that was not served for
	// 5000 ns recovers the missed link time; an idle one only refills its depth.
	s := NewShaper(8e9, 1000, 0)
	s.Budget(0)
	s.Charge(1000, 1)
	s.SetBusy(true)
	require.Equal(t, 5001, s.Budget(5000), "backlogged: 5000 ns of link time banked")
	s.Charge(5000, 5)
	s.SetBusy(true)
	require.Equal(t, int(DefaultCatchUp)+1, s.Budget(1e9), "bank bounded by the catch-up window")
	s.Charge(int(DefaultCatchUp), 1)
	s.SetBusy(false)
	require.Equal(t, 1001, s.Budget(2e9), "idle: only the depth")
}

func TestShaperNoCatchUpLikeALink(t *testing.T) {
	// Without catch-up, a stall's link time is lost even while backlogged, as on a link.
	s := NewShaper(8e9, 1000, 0)
	s.SetCatchUp(0)
	require.Equal(t, int64(0), s.CatchUp())
	s.Budget(0)
	s.Charge(1000, 1)
	s.SetBusy(true)
	require.Equal(t, 1001, s.Budget(5000), "backlogged, no catch-up: only the depth")
}

func TestBucketExactOverLongRuns(t *testing.T) {
	// Whatever the polling pattern, what a backlogged holder may charge over T equals
	// rate*T + depth within one packet: integer nanobits never drift.
	rng := rand.New(rand.NewSource(1))
	for _, rate := range []float64{1e3, 62.5e6, 1e9, 9e11} {
		// Deep enough that no poll gap (< 20 µs) saturates it.
		depth := max(3000, int(rate/8*20e-6*2))
		b := NewBucket(rate, depth)
		var now, sent int64
		end := int64(2e9)
		if rate < 1e6 {
			end = 100e9
		}
		for b.Positive() { // spend the initial depth at t=0
			b.Charge(1500)
			sent += 1500
		}
		for now < end {
			now += 1 + rng.Int63n(20000)
			if now > end {
				now = end
			}
			b.Refill(now)
			for b.Positive() {
				b.Charge(1500)
				sent += 1500
			}
		}
		want := rate/8*float64(end)/1e9 + float64(depth)
		require.InDelta(t, want, float64(sent), 1500+1, "rate %g", rate)
	}
}

func TestBucketRefillSaturatesAndClockBackwards(t *testing.T) {
	b := NewBucket(1e12, 100)
	b.Charge(100)
	require.Equal(t, int64(0), b.Bytes())
	b.Refill(math.MaxInt64) // product overflows 64 bits: saturates at the depth
	require.Equal(t, int64(100), b.Bytes())
	b.Charge(150)
	b.Refill(10) // earlier than the last refill: nothing
	require.Equal(t, int64(-50), b.Bytes())
	require.False(t, b.Positive())
	u := NewBucket(0, 10)
	require.True(t, u.Unlimited())
	require.True(t, u.Charge(1<<20))
	require.True(t, u.Positive())
}

func TestDefaultBurstBytes(t *testing.T) {
	require.Equal(t, 3076, DefaultBurstBytes(10e6, 1538), "two full frames at a low rate")
	require.Equal(t, 7813, DefaultBurstBytes(62.5e6, 1538), "1 ms at 62.5 Mb/s, rounded up")
	require.Equal(t, 1250000, DefaultBurstBytes(10e9, 1538))
	require.Equal(t, MaxDepthBytes, DefaultBurstBytes(1e15, 1538))
}

type countSink struct{ n [pkt.NumDropReasons]int }

func (c *countSink) Drop(_ *pkt.Desc, r pkt.DropReason) { c.n[r]++ }

func TestDelayLine(t *testing.T) {
	l := NewDelayLine(10e6, 3) // 10 ms
	out := make([]pkt.Desc, 8)
	for i := 0; i < 3; i++ {
		require.True(t, l.Push(int64(i)*1e6, &pkt.Desc{Len: uint32(100 + i)}))
	}
	require.False(t, l.Push(5e6, &pkt.Desc{}), "full")
	require.Equal(t, 0, l.Pop(10e6-1, out), "nothing due before 10 ms")
	require.Equal(t, 1, l.Pop(10e6, out))
	require.Equal(t, uint32(100), out[0].Len)
	require.Equal(t, 0, l.Pop(11e6-1, out), "the next is due at 11 ms")
	require.Equal(t, 2, l.Pop(20e6, out))
	require.Equal(t, []uint32{101, 102}, []uint32{out[0].Len, out[1].Len}, "FIFO order")
	// Wrap-around and drain.
	for i := 0; i < 3; i++ {
		require.True(t, l.Push(30e6, &pkt.Desc{}))
	}
	var sink countSink
	require.Equal(t, 3, l.Drain(&sink, pkt.DropShutdown))
	require.Equal(t, 3, sink.n[pkt.DropShutdown])
	require.Equal(t, 0, l.Len())
	// A shorter delay never lets a later packet overtake an earlier one.
	l.SetDelay(1e6)
	require.True(t, l.Push(0, &pkt.Desc{Len: 1}))
	l.SetDelay(0)
	require.True(t, l.Push(0, &pkt.Desc{Len: 2}))
	require.Equal(t, 0, l.Pop(0, out), "head is not due, so the second waits too")
	require.Equal(t, 2, l.Pop(1e6, out))
}

func TestNoAllocs(t *testing.T) {
	s := NewShaper(62.5e6, 3076, 24)
	l := NewDelayLine(1e6, 64)
	out := make([]pkt.Desc, 8)
	var d pkt.Desc
	var now int64
	n := testing.AllocsPerRun(1000, func() {
		now += 1000
		if s.Budget(now) > 0 {
			s.Charge(1500, 1)
		}
		s.SetBusy(true)
		l.Push(now, &d)
		l.Pop(now, out)
	})
	require.Zero(t, n)
}

func BenchmarkShaperBudget(b *testing.B) {
	s := NewShaper(62.5e6, 3076, 24)
	b.ReportAllocs()
	var now int64
	for i := 0; i < b.N; i++ {
		now += 200
		if s.Budget(now) > 0 {
			s.Charge(64, 1)
		}
	}
}
