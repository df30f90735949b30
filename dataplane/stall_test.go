package dataplane

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStallCheck(t *testing.T) {
	const thr = int64(time.Millisecond)
	for _, c := range []struct {
		name            string
		prev, now, want int64
	}{
		{"first iteration", noReading, 5e9, 0},
		{"first iteration at zero", noReading, 0, 0},
		{"ordinary gap", 1e6, 1e6 + 3000, 0},
		{"exactly the threshold", 0, thr, 0},
		{"just over", 0, thr + 1, thr + 1},
		{"long", 2e9, 2e9 + 30e6, 30e6},
		{"clock at zero is a reading", 0, 2 * thr, 2 * thr},
	} {
		assert.Equal(t, c.want, stallCheck(c.prev, c.now, thr), c.name)
	}
}

// TestStallRecord drives the detector with a manual clock: ten stalls of 2..11 ms among
// ordinary iterations; the counters hold all ten, the ring the last StallRing in order.
func TestStallRecord(t *testing.T) {
	s := newStallState(0)
	require.Equal(t, int64(DefaultStallThreshold), s.threshold)
	now := int64(1e9)
	s.observe(now) // first reading: no gap to measure
	var total int64
	for k := 0; k < 10; k++ {
		for i := 0; i < 5; i++ {
			now += 2000
			s.observe(now)
		}
		d := int64(k+2) * 1e6
		now += d
		total += d
		s.observe(now)
	}
	st := stallStats(&s.words)
	assert.EqualValues(t, 10, st.Count)
	assert.Equal(t, time.Duration(total), st.Total)
	assert.Equal(t, 11*time.Millisecond, st.Worst)
	require.Len(t, st.Recent, StallRing)
	for i, x := range st.Recent {
		assert.Equal(t, time.Duration(10-StallRing+i+2)*time.Millisecond, x.Duration, "recent[%d]", i)
	}
	last := st.Recent[StallRing-1]
	assert.Equal(t, time.Duration(now)-last.Duration, last.Start, "a stall starts at the reading before the gap")

	few := newStallState(time.Millisecond)
	few.observe(0)
	few.observe(5e6)
	assert.Equal(t, []Stall{{Start: 0, Duration: 5 * time.Millisecond}}, stallStats(&few.words).Recent)
}

func TestStallObserveNoAllocs(t *testing.T) {
	s := newStallState(time.Millisecond)
	now := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += 3e6 // every call a stall: the record path too
		s.observe(now)
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, s.words[0])
}

// TestStallWarner: one line per lcore per interval, carrying the stalls it did not
// describe; new stalls inside the interval wait for the next line.
func TestStallWarner(t *testing.T) {
	sw := stallWarner{every: time.Second}
	t0 := time.Unix(1000, 0)
	st := func(counts ...uint64) []LcoreStalls {
		out := make([]LcoreStalls, len(counts))
		for i, n := range counts {
			out[i] = LcoreStalls{Lcore: uint(i + 1), StallStats: StallStats{Count: n,
				Recent: []Stall{{Start: time.Second, Duration: time.Duration(n) * time.Millisecond}}}}
		}
		return out
	}
	assert.Empty(t, sw.check(t0, st(0, 0)))
	w := sw.check(t0.Add(100*time.Millisecond), st(3, 0))
	require.Len(t, w, 1)
	assert.Equal(t, stallWarning{Lcore: 1, Last: Stall{Start: time.Second, Duration: 3 * time.Millisecond}, New: 3, Suppressed: 2, Total: 3}, w[0])
	assert.Empty(t, sw.check(t0.Add(500*time.Millisecond), st(5, 0)), "within a second of the last line")
	w = sw.check(t0.Add(1200*time.Millisecond), st(6, 1))
	require.Len(t, w, 2)
	assert.EqualValues(t, 3, w[0].New, "the held stalls and the new one")
	assert.EqualValues(t, 2, w[0].Suppressed)
	assert.EqualValues(t, 1, w[1].New)
	assert.Empty(t, sw.check(t0.Add(5*time.Second), st(6, 1)), "nothing new")
}
