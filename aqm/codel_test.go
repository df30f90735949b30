package aqm

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = int64(time.Millisecond)

// big is a backlog well above the MTU floor.
var big = Backlog{Packets: 50, Bytes: 50 * 1500}

func newTestCoDel(t testing.TB, p CoDelParams) *CoDel {
	t.Helper()
	cfg, err := NewCoDelConfig(p)
	require.NoError(t, err)
	return NewCoDel(cfg)
}

// deq dequeues, at now, a packet that waited sojourn, from a queue left with q.
func deq(c *CoDel, now, sojourn int64, q Backlog) Verdict {
	return c.Dequeue(now, Packet{Len: 1500, EnqTime: now - sojourn}, q)
}

func TestCoDelConfig(t *testing.T) {
	cfg, err := NewCoDelConfig(CoDelParams{})
	require.NoError(t, err)
	assert.Equal(t, 5*ms, cfg.target)
	assert.Equal(t, 100*ms, cfg.interval)
	assert.Equal(t, 1514, cfg.mtu)

	bad := []struct {
		p    CoDelParams
		want string
	}{
		{CoDelParams{Target: 200 * time.Millisecond}, "codel.target = 200ms"},
		{CoDelParams{Target: -time.Millisecond}, "codel.target = -1ms"},
		{CoDelParams{Interval: 200 * time.Second}, "codel.interval = 3m20s"},
		{CoDelParams{MTU: 10}, "codel.mtu = 10 bytes, want 64..1048576"},
		{CoDelParams{CEThreshold: -1}, "codel.ce_threshold = -1ns"},
	}
	for _, b := range bad {
		_, err := NewCoDelConfig(b.p)
		require.Error(t, err, "%+v", b.p)
		assert.Contains(t, err.Error(), b.want)
	}
	assert.Panics(t, func() { NewCoDel(CoDelConfig{}) })
}

// The first drop comes exactly one interval after the sojourn first went above target,
// never earlier, and the packet after the dropped one is delivered.
func TestCoDelFirstDropAfterInterval(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	t0 := int64(1e9)
	require.Equal(t, Pass, deq(c, t0-ms, 2*ms, big), "below target")
	require.Equal(t, Pass, deq(c, t0, 6*ms, big), "first above target")
	for now := t0 + ms; now < t0+100*ms; now += ms {
		require.Equal(t, Pass, deq(c, now, 6*ms, big), "at +%dms", (now-t0)/ms)
	}
	require.Equal(t, Pass, deq(c, t0+100*ms-1, 6*ms, big), "1 ns before the interval ends")
	require.False(t, c.Snapshot().Dropping)
	require.Equal(t, Drop, deq(c, t0+100*ms, 6*ms, big), "exactly at first_above_time")
	s := c.Snapshot()
	require.True(t, s.Dropping)
	require.Equal(t, uint32(1), s.Count)
	require.Equal(t, Pass, deq(c, t0+100*ms, 6*ms, big), "the next head is delivered")
	require.Equal(t, uint64(1), c.Snapshot().Drops)
}

// A sojourn dipping below target restarts the interval.
func TestCoDelBelowTargetRestartsInterval(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	t0 := int64(1e9)
	deq(c, t0, 6*ms, big)
	deq(c, t0+50*ms, 5*ms-1, big) // just below target
	for now := t0 + 60*ms; now < t0+160*ms; now += ms {
		require.Equal(t, Pass, deq(c, now, 6*ms, big), "at +%dms", (now-t0)/ms)
	}
	require.Equal(t, Drop, deq(c, t0+160*ms, 5*ms, big), "sojourn == target counts as above")
}

// enterDropping drives c into the dropping state with its first drop at the returned
// time; the continuation call has been made.
func enterDropping(t *testing.T, c *CoDel, t0 int64) int64 {
	t.Helper()
	interval := c.cfg.interval
	require.Equal(t, Pass, deq(c, t0, 20*ms, big))
	require.Equal(t, Drop, deq(c, t0+interval, 20*ms, big))
	require.Equal(t, Pass, deq(c, t0+interval, 20*ms, big))
	return t0 + interval
}

// While dropping, the n-th drop after the first comes interval/sqrt(n) after the one
// before it: checked 1 ns early (pass) and on time (drop) for ten drops.
func TestCoDelControlLawSpacing(t *testing.T) {
	for _, interval := range []int64{100 * ms, 30*ms + 7} {
		c := newTestCoDel(t, CoDelParams{Interval: time.Duration(interval)})
		next := enterDropping(t, c, 1e9)
		for n := 1; n <= 10; n++ {
			next += int64(float64(interval) / math.Sqrt(float64(n)))
			require.Equal(t, Pass, deq(c, next-1, 20*ms, big), "drop %d early", n+1)
			require.Equal(t, Drop, deq(c, next, 20*ms, big), "drop %d on time", n+1)
			require.Equal(t, uint32(n+1), c.Snapshot().Count)
			require.Equal(t, Pass, deq(c, next, 20*ms, big), "after drop %d", n+1)
		}
	}
}

// A large backlog may need several drops in one dequeue: the queue calls again after
// each Drop, and CoDel keeps dropping while the schedule is behind now.
func TestCoDelSeveralDropsInOneDequeue(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	first := enterDropping(t, c, 1e9)
	// Next drops due at first+100, +170.7, +228.4 ms; a dequeue at +230 ms is behind
	// all three.
	now := first + 230*ms
	var got []Verdict
	for i := 0; i < 5; i++ {
		got = append(got, deq(c, now, 20*ms, big))
		if got[i] != Drop {
			break
		}
	}
	require.Equal(t, []Verdict{Drop, Drop, Drop, Pass}, got)
	require.Equal(t, uint32(4), c.Snapshot().Count)

	// A dequeue exactly at the second deadline drops twice.
	c = newTestCoDel(t, CoDelParams{})
	first = enterDropping(t, c, 1e9)
	now = first + 100*ms + int64(float64(100*ms)/math.Sqrt(2))
	require.Equal(t, Drop, deq(c, now, 20*ms, big))
	require.Equal(t, Drop, deq(c, now, 20*ms, big))
	require.Equal(t, Pass, deq(c, now, 20*ms, big))
}

// The packet after the one that began an episode is delivered unjudged, as in the
// RFC: even below target it does not end the dropping state (the next one does).
func TestCoDelAfterEntry(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	require.Equal(t, Pass, deq(c, 1e9, 20*ms, big))
	require.Equal(t, Drop, deq(c, 1e9+100*ms, 20*ms, big))
	require.Equal(t, Pass, deq(c, 1e9+100*ms, ms, big))
	require.True(t, c.Snapshot().Dropping)
	require.Equal(t, Pass, deq(c, 1e9+101*ms, 20*ms, big))
	require.False(t, c.Snapshot().Dropping)
}

// The dropping state ends with the first packet whose sojourn is below target, and a
// new episode needs a full interval above target again.
func TestCoDelExitOnLowSojourn(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	first := enterDropping(t, c, 1e9)
	require.Equal(t, Pass, deq(c, first+150*ms, 4*ms, big))
	require.False(t, c.Snapshot().Dropping)
	for now := first + 151*ms; now < first+251*ms; now += ms {
		require.Equal(t, Pass, deq(c, now, 20*ms, big))
	}
	require.Equal(t, Drop, deq(c, first+251*ms, 20*ms, big))
}

// Re-entry: shortly after an episode that dropped more than once, count restarts from
// count - lastcount; long after, or after a single drop, from 1.
func TestCoDelReentryCount(t *testing.T) {
	const interval = 100 * ms
	// runEpisode enters dropping at t0 and lets it drop `extra` more times, then
	// leaves; it returns the time the episode ended and the drop_next then pending.
	runEpisode := func(c *CoDel, t0 int64, extra int) (end int64) {
		next := enterDropping(t, c, t0)
		for n := 1; n <= extra; n++ {
			next += int64(float64(interval) / math.Sqrt(float64(c.Snapshot().Count)))
			require.Equal(t, Drop, deq(c, next, 20*ms, big))
			require.Equal(t, Pass, deq(c, next, 20*ms, big))
		}
		require.Equal(t, Pass, deq(c, next+ms, ms, big)) // below target: leave
		require.False(t, c.Snapshot().Dropping)
		return next + ms
	}
	cases := []struct {
		name      string
		extra     int   // drops after the first in episode one
		gap       int64 // from the end of episode one to the start of episode two
		wantCount uint32
	}{
		{"recent, 5 drops", 4, 0, 4}, // count 5, lastcount 1: delta 4
		{"recent, 2 drops", 1, 0, 1}, // delta 1 is not > 1
		{"just inside 16 intervals", 4, 1300 * ms, 4},
		{"beyond 16 intervals", 4, 1600 * ms, 1}, // the re-entry deadline is 16 intervals after drop_next
		// Gaps below -1 mean: enter again exactly 16 intervals after drop_next, minus
		// (-gap - 2) ns.
		{"exactly 16 intervals", 4, -2, 1},
		{"1 ns inside 16 intervals", 4, -3, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCoDel(t, CoDelParams{})
			end := runEpisode(c, 1e9, tc.extra)
			start := end + tc.gap
			if tc.gap < 0 {
				start = c.dropNext + 16*interval - interval + tc.gap + 2
			}
			require.Equal(t, Pass, deq(c, start, 20*ms, big))
			require.Equal(t, Drop, deq(c, start+interval, 20*ms, big))
			require.Equal(t, tc.wantCount, c.Snapshot().Count)
			require.Equal(t, Pass, deq(c, start+interval, 20*ms, big))
			// The next drop follows the control law from the seeded count.
			next := start + interval + int64(float64(interval)/math.Sqrt(float64(tc.wantCount)))
			require.Equal(t, Pass, deq(c, next-1, 20*ms, big))
			require.Equal(t, Drop, deq(c, next, 20*ms, big))
		})
	}
}

// No drop while at most one MTU remains queued, however long the sojourn.
func TestCoDelMTUFloor(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	t0 := int64(1e9)
	atMTU := Backlog{Packets: 1, Bytes: 1514}
	for now := t0; now < t0+time.Second.Nanoseconds(); now += ms {
		require.Equal(t, Pass, deq(c, now, 500*ms, atMTU))
	}
	above := Backlog{Packets: 2, Bytes: 1515}
	require.Equal(t, Pass, deq(c, t0+1000*ms, 500*ms, above))
	require.Equal(t, Drop, deq(c, t0+1100*ms, 500*ms, above))
	assert.Equal(t, uint64(1), c.Snapshot().Drops)
}

// Nothing is dropped when the queue is left empty (0 bytes is within the MTU floor),
// even in the dropping state and long past drop_next; the episode ends there.
func TestCoDelNoDropOnEmptyQueue(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	first := enterDropping(t, c, 1e9)
	require.Equal(t, Pass, deq(c, first+500*ms, 400*ms, Backlog{}))
	require.False(t, c.Snapshot().Dropping)
	// The next busy period starts from scratch: a full interval before any drop.
	require.Equal(t, Pass, deq(c, first+501*ms, 20*ms, big))
	require.Equal(t, Pass, deq(c, first+601*ms-1, 20*ms, big))
	require.Equal(t, Drop, deq(c, first+601*ms, 20*ms, big))
}

// With ECN, ECT packets are marked where non-ECT packets are dropped, the control law
// counts the marks, and a mark ends the multi-drop loop.
func TestCoDelECN(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{ECN: true})
	t0 := int64(1e9)
	ect := func(now int64) Verdict {
		return c.Dequeue(now, Packet{Len: 1500, EnqTime: now - 20*ms, ECT: true}, big)
	}
	require.Equal(t, Pass, ect(t0))
	require.Equal(t, Mark, ect(t0+100*ms), "entry marks")
	require.True(t, c.Snapshot().Dropping)
	require.Equal(t, Pass, ect(t0+100*ms), "no continuation after a mark")
	next := t0 + 200*ms
	require.Equal(t, Mark, ect(next))
	require.Equal(t, uint32(2), c.Snapshot().Count)
	next += int64(float64(100*ms) / math.Sqrt(2))
	require.Equal(t, Pass, ect(next-1))
	require.Equal(t, Drop, deq(c, next, 20*ms, big), "non-ECT is still dropped")
	s := c.Snapshot()
	assert.Equal(t, uint64(2), s.Marks)
	assert.Equal(t, uint64(1), s.Drops)
}

// ce_threshold marks any ECT packet whose sojourn exceeds it, with or without ECN and
// outside the dropping state.
func TestCoDelCEThreshold(t *testing.T) {
	for _, ecn := range []bool{false, true} {
		c := newTestCoDel(t, CoDelParams{ECN: ecn, CEThreshold: time.Millisecond})
		now := int64(1e9)
		p := func(sojourn int64, ect bool) Verdict {
			now += ms
			return c.Dequeue(now, Packet{Len: 100, EnqTime: now - sojourn, ECT: ect}, Backlog{})
		}
		assert.Equal(t, Pass, p(ms, true), "sojourn == threshold")
		assert.Equal(t, Mark, p(ms+1, true))
		assert.Equal(t, Pass, p(3*ms, false), "not ECT")
		assert.Equal(t, Mark, p(3*ms, true))
		assert.False(t, c.Snapshot().Dropping)
		assert.Equal(t, uint64(2), c.Snapshot().Marks)
	}
}

// SetConfig keeps the episode and applies the new target from the next packet.
func TestCoDelSetConfig(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{})
	enterDropping(t, c, 1e9)
	cfg, err := NewCoDelConfig(CoDelParams{Target: 30 * time.Millisecond})
	require.NoError(t, err)
	c.SetConfig(cfg)
	require.True(t, c.Snapshot().Dropping)
	require.Equal(t, uint32(1), c.Snapshot().Count)
	require.Equal(t, Pass, deq(c, 1e9+150*ms, 20*ms, big), "20 ms is now below target")
	require.False(t, c.Snapshot().Dropping)
}

// runCoDelCompare drives the fast CoDel and the RFC reference with the same pattern
// over a link of linkBps and requires identical decisions. It returns the decisions.
func runCoDelCompare(t testing.TB, p CoDelParams, next func() (tick, bool), linkBps float64) []decision {
	t.Helper()
	fast := newTestCoDel(t, p)
	ref := newRefCoDel(p)
	var fq fifo
	var got []decision
	now := int64(1e9)
	credit := 0.0
	id := 0
	for {
		tk, ok := next()
		if !ok {
			break
		}
		now += tk.dt
		if len(ref.q) == 0 {
			credit = 0
		} else {
			credit += float64(tk.dt) * linkBps / 8e9
		}
		// The link polls at least once per tick, so the reference also sees dequeue()
		// on an empty queue, which the fast side never gets.
		for {
			if len(ref.q) > 0 && credit < float64(ref.q[0].size) {
				break
			}
			sent := ref.dequeue(float64(now))
			for fq.len() > 0 {
				pk := fq.pop()
				v := fast.Dequeue(now, pk.packet(), fq.backlog())
				got = append(got, decision{pk.id, v})
				if v != Drop {
					break
				}
			}
			if sent == nil {
				break
			}
			credit -= float64(sent.size)
		}
		for _, a := range tk.arrivals {
			pk := simPkt{id: id, enq: float64(now), size: a.size, ect: a.ect}
			id++
			require.Equal(t, Pass, fast.Enqueue(now, pk.packet(), fq.backlog()))
			fq.push(pk)
			ref.enqueue(pk)
		}
	}
	requireSameDecisions(t, ref.out, got, "codel")
	drops, marks := countVerdicts(got)
	s := fast.Snapshot()
	require.Equal(t, uint64(drops), s.Drops)
	require.Equal(t, uint64(marks), s.Marks)
	return got
}

// The fast CoDel agrees decision by decision with the RFC transcription over random
// patterns, with and without ECN and ce_threshold, for several seeds.
func TestCoDelMatchesReference(t *testing.T) {
	params := []CoDelParams{
		{},
		{ECN: true},
		{ECN: true, CEThreshold: 3 * time.Millisecond},
		{Target: 2 * time.Millisecond, Interval: 20 * time.Millisecond, MTU: 300},
		{ControlLaw: CoDelLawLinux},
		{ControlLaw: CoDelLawLinux, ECN: true, CEThreshold: 3 * time.Millisecond},
		{ControlLaw: CoDelLawLinux, Target: 2 * time.Millisecond, Interval: 20 * time.Millisecond, MTU: 300},
	}
	totalDrops, totalMarks, multi := 0, 0, 0
	for i, p := range params {
		for seed := uint64(1); seed <= 3; seed++ {
			ds := runCoDelCompare(t, p, genTicks(seed*7+uint64(i), 60e9, 10e6, nil), 10e6)
			d, m := countVerdicts(ds)
			totalDrops += d
			totalMarks += m
			for j := 1; j < len(ds); j++ {
				if ds[j].v == Drop && ds[j-1].v == Drop {
					multi++
				}
			}
		}
	}
	// The patterns must actually exercise the control law, or the comparison says little.
	t.Logf("drops %d, marks %d, back-to-back drops %d", totalDrops, totalMarks, multi)
	require.Greater(t, totalDrops, 1000)
	require.Greater(t, totalMarks, 1000)
	require.Greater(t, multi, 10)
}

// FuzzCoDel runs the reference comparison on patterns built from fuzz bytes. The first
// byte picks the configuration.
func FuzzCoDel(f *testing.F) {
	for seed := uint64(1); seed <= 4; seed++ {
		r := newRNG(seed)
		b := make([]byte, 3000)
		for i := range b {
			b[i] = byte(r.next())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		p := CoDelParams{Target: 2 * time.Millisecond, Interval: 20 * time.Millisecond}
		p.ECN = data[0]&1 != 0
		if data[0]&2 != 0 {
			p.CEThreshold = 3 * time.Millisecond
		}
		if data[0]&4 != 0 {
			p.MTU = 64
		}
		if data[0]&8 != 0 {
			p.ControlLaw = CoDelLawLinux
		}
		runCoDelCompare(t, p, fuzzTicks(data[1:]), 2e6)
	})
}

// The linux law's reciprocal square root, pinned by hand for the first counts (one
// Newton step from x = 1 at count 2 gives x/2*(3-2x^2) = 0.5, stored as 0x8001, where
// 1/sqrt(2) = 0.707; from 0.5 at count 3 it gives 0.5625), and then within 0.5% of
// 1/sqrt(count) as count climbs one by one, as in a long dropping episode. Deadlines
// use floor(interval*x/2^16).
func TestCoDelLinuxLaw(t *testing.T) {
	c := newTestCoDel(t, CoDelParams{ControlLaw: CoDelLawLinux})
	c.count, c.invSqrt = 1, math.MaxUint16
	assert.Equal(t, int64(100*ms)*0xffff>>16, c.deadline(0))
	c.count = 2
	c.newtonStep()
	assert.Equal(t, uint16(0x8001), c.invSqrt)
	c.count = 3
	c.newtonStep()
	assert.InDelta(t, 0.5625, float64(c.invSqrt)/65536, 0.0002)
	for n := uint32(4); n <= 2000; n++ {
		c.count = n
		c.newtonStep()
		if n >= 10 {
			want := 1 / math.Sqrt(float64(n))
			got := float64(c.invSqrt) / 65536
			require.InEpsilon(t, want, got, 0.005, "count %d", n)
		}
	}
	// The sqrt law is exact.
	s := newTestCoDel(t, CoDelParams{})
	s.count = 4
	assert.Equal(t, int64(50*ms), s.controlLaw(0))

	_, err := ParseCoDelLaw("fast")
	assert.EqualError(t, err, `aqm: codel.control_law = "fast", want sqrt or linux`)
	l, err := ParseCoDelLaw("Linux")
	require.NoError(t, err)
	assert.Equal(t, CoDelLawLinux, l)
	_, err = NewCoDelConfig(CoDelParams{ControlLaw: 5})
	assert.ErrorContains(t, err, "codel.control_law = 5")
}
