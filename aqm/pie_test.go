package aqm

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestPIE(t testing.TB, p PIEParams) *PIE {
	t.Helper()
	cfg, err := NewPIEConfig(p)
	require.NoError(t, err)
	return NewPIE(cfg)
}

func TestPIEConfig(t *testing.T) {
	cfg, err := NewPIEConfig(PIEParams{})
	require.NoError(t, err)
	assert.Equal(t, 15*ms, cfg.target)
	assert.Equal(t, 15*ms, cfg.tUpdate)
	assert.Equal(t, 150*ms, cfg.maxBurst)
	assert.Equal(t, 0.125, cfg.alpha)
	assert.Equal(t, 1.25, cfg.beta)
	assert.Equal(t, 0.1, cfg.ecnThreshold)
	assert.Equal(t, 16384, cfg.dqThreshold)
	cfg, err = NewPIEConfig(PIEParams{NoBurstAllowance: true})
	require.NoError(t, err)
	assert.Zero(t, cfg.maxBurst)

	bad := []struct {
		p    PIEParams
		want string
	}{
		{PIEParams{Target: -time.Second}, "pie.target = -1s"},
		{PIEParams{TUpdate: time.Microsecond}, "pie.t_update = 1µs, want 100µs..10s"},
		{PIEParams{Alpha: -1}, "pie.alpha = -1, want (0, 32]"},
		{PIEParams{Beta: 40}, "pie.beta = 40"},
		{PIEParams{ECNThreshold: 1.5}, "pie.ecn_threshold = 1.5"},
		{PIEParams{DQThreshold: 100}, "pie.dq_threshold = 100 bytes"},
		{PIEParams{MTU: -1}, "pie.mtu = -1 bytes"},
		{PIEParams{MaxBurst: -time.Millisecond}, "pie.max_burst = -1ms"},
	}
	for _, b := range bad {
		_, err := NewPIEConfig(b.p)
		require.Error(t, err, "%+v", b.p)
		assert.Contains(t, err.Error(), b.want)
	}
	assert.Panics(t, func() { NewPIE(PIEConfig{}) })
}

// The probability follows the float64 reference update, step by step, through a
// scripted delay sequence that visits every scaling band, the 0.02 cap, the idle decay
// and (linux) the +0.02 above 250 ms.
func TestPIEUpdateMatchesReference(t *testing.T) {
	var script []int64
	add := func(n int, d int64) {
		for i := 0; i < n; i++ {
			script = append(script, d)
		}
	}
	add(1, 15*ms)   // at target: only the trend term, lands in the second band
	add(600, 20*ms) // 5 ms over target: small steps climb through the bands one by one
	add(3, 200*ms)  // a jump: the step is capped at 0.02
	add(3, 300*ms)  // above 250 ms: +0.02 per update (linux)
	add(20, 40*ms)  // falling delay: negative trend
	add(40, 5*ms)   // below target: the probability falls
	add(1500, 0)    // idle: decay to zero

	for _, variant := range []PIEVariant{PIERFC, PIELinux} {
		t.Run(variant.String(), func(t *testing.T) {
			const period = 15 * ms
			p := PIEParams{Variant: variant}
			e := newTestPIE(t, p)
			ref := newRefPIE(p)
			now := int64(1e9)
			q := Backlog{Packets: 10, Bytes: 15000}
			e.Dequeue(now, Packet{Len: 1500, EnqTime: now}, q) // starts the update clock
			ref.advance(float64(now))
			for i, d := range script {
				// A departure just before each update sets the sojourn the update will use;
				// an idle step leaves the queue empty instead.
				now += period - 1
				back := q
				if d == 0 {
					back = Backlog{}
				}
				e.Dequeue(now, Packet{Len: 1500, EnqTime: now - d}, back)
				ref.lastSojourn, ref.bytes = float64(d), back.Bytes
				now++
				e.Enqueue(now, Packet{Len: 100}, back)
				ref.advance(float64(now))
				require.Equal(t, ref.dropProb, e.prob, "update %d (qdelay %v)", i, time.Duration(d))
				require.Equal(t, int64(ref.qdelayOld), e.qdelayOld)
			}
			require.Equal(t, len(script), ref.updates)
			for band := 0; band <= 7; band++ {
				assert.Positive(t, ref.bands[band], "band %d never exercised", band)
			}
			if variant == PIELinux {
				assert.Positive(t, ref.bands[8], "the 250 ms boost never applied")
			} else {
				assert.Zero(t, ref.bands[8], "rfc has no 250 ms boost")
			}
			assert.Zero(t, e.prob, "idle decay ends at 0")
		})
	}
}

// The same check against numbers computed by hand from RFC 8033's formula for the
// first updates, so the reference itself is pinned; and Linux's extra 0.02 above 250 ms.
func TestPIEUpdateByHand(t *testing.T) {
	e := newTestPIE(t, PIEParams{})
	e.update(20*ms, 1) // (0.125*0.005 + 1.25*0.020) / 2048
	assert.InDelta(t, 0.025625/2048, e.prob, 1e-18)
	e.update(20*ms, 1) // prob is now 1.25e-5, in the 1e-5..1e-4 band: (0.125*0.005 + 0) / 128 added
	assert.InDelta(t, 0.025625/2048+0.000625/128, e.prob, 1e-18)
	e.prob = 0.5
	e.update(200*ms, 1) // 0.125*0.185 + 1.25*0.18 = 0.248..., capped at 0.02
	assert.InDelta(t, 0.52, e.prob, 1e-15)
	e.update(260*ms, 1) // 0.125*0.245 + 1.25*0.06 = 0.105625 -> 0.02, no boost in the RFC
	assert.InDelta(t, 0.54, e.prob, 1e-15)
	e.prob = 0.005
	e.update(260*ms, 1) // (0.125*0.245 + 0)/8
	assert.InDelta(t, 0.005+0.030625/8, e.prob, 1e-15)

	l := newTestPIE(t, PIEParams{Variant: PIELinux})
	l.prob, l.qdelayOld = 0.5, 200*ms
	l.update(260*ms, 1) // as above, then +0.02
	assert.InDelta(t, 0.54, l.prob, 1e-15)
	l.prob = 0.005
	l.update(260*ms, 1) // (0.125*0.245 + 0)/8 + 0.02
	assert.InDelta(t, 0.005+0.030625/8+0.02, l.prob, 1e-15)
}

// A queue held at 300 ms from a zero probability: after four updates the RFC
// reaches about 0.0102 (the band scaling keeps the first steps tiny), Linux about
// 0.1336 (its 0.02 per update dominates).
func TestPIE300msFourUpdates(t *testing.T) {
	for _, c := range []struct {
		v    PIEVariant
		want float64
	}{{PIERFC, 0.0102}, {PIELinux, 0.1336}} {
		e := newTestPIE(t, PIEParams{Variant: c.v})
		for i := 0; i < 4; i++ {
			e.update(300*ms, 1)
		}
		assert.InDelta(t, c.want, e.prob, 0.00005, c.v.String())
	}
}

// congest puts e in a congested steady state reachable from outside: every period a
// departure with the given sojourn and n arrivals into a large backlog. It returns the
// verdicts of each period.
func congest(e *PIE, now *int64, periods, n int, sojourn int64, ect bool) [][]Verdict {
	q := Backlog{Packets: 100, Bytes: 150000}
	var out [][]Verdict
	for i := 0; i < periods; i++ {
		*now += 15 * ms
		e.Dequeue(*now, Packet{Len: 1500, EnqTime: *now - sojourn}, q)
		var vs []Verdict
		for j := 0; j < n; j++ {
			vs = append(vs, e.Enqueue(*now+int64(j), Packet{Len: 1500, ECT: ect}, q))
		}
		out = append(out, vs)
	}
	return out
}

// The burst allowance shrinks by t_update per update; no early drop happens until it
// is used up, and drops follow once it is.
func TestPIEBurstAllowance(t *testing.T) {
	e := newTestPIE(t, PIEParams{})
	now := int64(1e9)
	require.Equal(t, 150*ms, e.burst)
	e.Dequeue(now, Packet{Len: 1500, EnqTime: now}, Backlog{Packets: 1, Bytes: 1500})
	// Ten periods of heavy delay: the update runs at the start of each, so after the
	// k-th the allowance is 150 - 15k ms.
	for k := 1; k < 10; k++ {
		vs := congest(e, &now, 1, 2000, 300*ms, false)
		assert.Equal(t, 150*ms-int64(k)*15*ms, e.burst, "after update %d", k)
		assert.NotContains(t, vs[0], Drop, "period %d is inside the burst allowance", k)
	}
	require.Greater(t, e.prob, 0.05)
	vs := congest(e, &now, 1, 2000, 300*ms, false)
	require.Zero(t, e.burst)
	assert.Contains(t, vs[0], Drop, "drops start once the allowance is used up")
	// Refill: prob back at 0 and both delays small.
	e.prob = 0
	congest(e, &now, 2, 1, ms, false)
	assert.Equal(t, 150*ms, e.burst)
}

// forcePIE sets up a state in which PIE considers every arrival with a fixed
// probability: no burst allowance, a large delay history, and no update due before the
// calls (they all happen at one instant).
func forcePIE(t *testing.T, p PIEParams, prob float64) (*PIE, int64) {
	e := newTestPIE(t, p)
	now := int64(1e9)
	e.Enqueue(now, Packet{}, Backlog{}) // starts the update clock
	e.burst, e.qdelayOld, e.prob = 0, 100*ms, prob
	return e, now + 1
}

// De-randomization: no drop while the accumulated probability is below 0.85, a drop
// for certain once it reaches 8.5, so gaps between drops stay within those bounds, and
// the upper bound is actually reached.
func TestPIEDerandomization(t *testing.T) {
	const prob = 0.02
	e, now := forcePIE(t, PIEParams{}, prob)
	q := Backlog{Packets: 100, Bytes: 150000}
	// Gaps implied by the bounds, summed exactly as the accumulator sums.
	minGap, maxGap := 0, 0
	for accu := 0.0; accu < 8.5; {
		accu += prob
		maxGap++
		if accu < 0.85 {
			minGap = maxGap + 1
		}
	}
	gaps := map[int]int{}
	gap := 0
	for drops := 0; drops < 20000; {
		gap++
		if e.Enqueue(now, Packet{Len: 1500}, q) == Drop {
			gaps[gap]++
			gap = 0
			drops++
		}
	}
	lo, hi := math.MaxInt, 0
	for g := range gaps {
		lo, hi = min(lo, g), max(hi, g)
	}
	t.Logf("gap bounds %d..%d, seen %d..%d, forced drops %d", minGap, maxGap, lo, hi, gaps[maxGap])
	assert.Equal(t, minGap, lo, "first possible drop at accu >= 0.85")
	assert.Equal(t, maxGap, hi, "a drop is certain at accu >= 8.5")
	assert.Positive(t, gaps[maxGap], "the forced drop is exercised")
	assert.Equal(t, prob, e.prob, "no update ran")
}

// While the queue is idle both delays are 0 and every update multiplies the
// probability by 0.98 after the (negative) step; a long idle period is caught up in
// one call and leaves the update clock aligned.
func TestPIEIdleDecay(t *testing.T) {
	e := newTestPIE(t, PIEParams{})
	now := int64(1e9)
	e.Enqueue(now, Packet{}, Backlog{})
	e.prob, e.qdelayOld = 0.5, 0
	want := 0.5
	for i := 0; i < 3; i++ {
		step := min(0.125*(0-0.015), 0.02) // prob >= 0.1: no scaling; negative, so no cap
		want = (want + step) * 0.98
	}
	e.Enqueue(now+45*ms, Packet{Len: 100}, Backlog{}) // three updates due
	assert.InDelta(t, want, e.prob, 1e-15)

	e.Enqueue(now+time.Hour.Nanoseconds(), Packet{Len: 100}, Backlog{})
	assert.Zero(t, e.prob)
	assert.Greater(t, e.nextUpdate, now+time.Hour.Nanoseconds())
	assert.LessOrEqual(t, e.nextUpdate, now+time.Hour.Nanoseconds()+15*ms)
	assert.Zero(t, (e.nextUpdate-(now+15*ms))%(15*ms), "updates stay on the period grid")
}

// With ECN, ECT packets are marked while prob <= threshold and dropped above it;
// non-ECT packets are always dropped.
func TestPIEECN(t *testing.T) {
	q := Backlog{Packets: 100, Bytes: 150000}
	run := func(prob float64, ect bool) (drops, marks int) {
		e, now := forcePIE(t, PIEParams{ECN: true, ECNThreshold: 0.3}, prob)
		for i := 0; i < 5000; i++ {
			switch e.Enqueue(now, Packet{Len: 1500, ECT: ect}, q) {
			case Drop:
				drops++
			case Mark:
				marks++
			}
		}
		s := e.Snapshot()
		assert.Equal(t, uint64(drops), s.Drops)
		assert.Equal(t, uint64(marks), s.Marks)
		return
	}
	d, m := run(0.3, true)
	assert.Zero(t, d)
	assert.Greater(t, m, 100)
	d, m = run(0.31, true)
	assert.Greater(t, d, 100)
	assert.Zero(t, m)
	d, m = run(0.2, false)
	assert.Greater(t, d, 100)
	assert.Zero(t, m)
}

// No early drop while less than 2 MTU is queued, or while the delay is low and the
// probability below 0.2.
func TestPIESafeguards(t *testing.T) {
	e, now := forcePIE(t, PIEParams{}, 0.5)
	for i := 0; i < 1000; i++ {
		require.Equal(t, Pass, e.Enqueue(now, Packet{Len: 1500}, Backlog{Packets: 2, Bytes: 3027}))
	}
	e.qdelayOld = 7*ms + 499*time.Microsecond.Nanoseconds() // just below target/2
	e.prob = 0.19
	for i := 0; i < 1000; i++ {
		require.Equal(t, Pass, e.Enqueue(now, Packet{Len: 1500}, Backlog{Packets: 100, Bytes: 150000}))
	}
	e.prob = 0.2
	drops := 0
	for i := 0; i < 1000; i++ {
		if e.Enqueue(now, Packet{Len: 1500}, Backlog{Packets: 100, Bytes: 150000}) == Drop {
			drops++
		}
	}
	assert.Greater(t, drops, 100)
}

// The departure-rate estimator measures a steady drain exactly and the update then
// uses qdelay = backlog / rate.
func TestPIERateEstimator(t *testing.T) {
	e := newTestPIE(t, PIEParams{RateEstimator: true})
	now := int64(1e9)
	const backlog = 100000
	// 1000-byte packets leave every 800 ns (1.25 bytes/ns = 10 Gb/s); the backlog is
	// held constant by arrivals.
	for i := 0; i < 2000; i++ {
		now += 800
		e.Dequeue(now, Packet{Len: 1000, EnqTime: now - 50*ms}, Backlog{Packets: 100, Bytes: backlog})
		e.Enqueue(now, Packet{Len: 1000}, Backlog{Packets: 100, Bytes: backlog})
	}
	require.InDelta(t, 1.25, e.rate, 1e-12)
	require.Equal(t, int64(backlog/1.25), e.qdelay(backlog))
	// Let an update run: its delay estimate is backlog/rate, not the 50 ms sojourn.
	now += 15 * ms
	e.Enqueue(now, Packet{Len: 1000}, Backlog{Packets: 100, Bytes: backlog})
	assert.Equal(t, int64(80000), e.Snapshot().QDelay)

	// A burst dequeued under one clock reading cannot end a measurement.
	e2 := newTestPIE(t, PIEParams{RateEstimator: true})
	for i := 0; i < 100; i++ {
		e2.Dequeue(now, Packet{Len: 1000}, Backlog{Packets: 100, Bytes: backlog})
	}
	assert.Zero(t, e2.rate)
	assert.True(t, e2.inMeasure)
}

// SetConfig keeps the controller state and clips the burst allowance.
func TestPIESetConfig(t *testing.T) {
	e, _ := forcePIE(t, PIEParams{}, 0.3)
	e.burst = 100 * ms
	cfg, err := NewPIEConfig(PIEParams{MaxBurst: 50 * time.Millisecond, Target: 20 * time.Millisecond})
	require.NoError(t, err)
	e.SetConfig(cfg)
	assert.Equal(t, 0.3, e.prob)
	assert.Equal(t, 50*ms, e.burst)
	assert.Equal(t, 20*ms, e.cfg.target)
}

// runPIECompare drives the fast PIE and the RFC reference with the same pattern and
// requires identical decisions and an identical probability at the end.
func runPIECompare(t testing.TB, p PIEParams, next func() (tick, bool), linkBps float64) []decision {
	t.Helper()
	fast := newTestPIE(t, p)
	ref := newRefPIE(p)
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
		for fq.len() > 0 && credit >= float64(fq.peek().size) {
			pk := fq.pop()
			require.Equal(t, Pass, fast.Dequeue(now, pk.packet(), fq.backlog()))
			sent := ref.deque(float64(now))
			require.NotNil(t, sent, "reference queue empty, fast one not")
			require.Equal(t, pk.id, sent.id)
			credit -= float64(pk.size)
		}
		for _, a := range tk.arrivals {
			pk := simPkt{id: id, enq: float64(now), size: a.size, ect: a.ect}
			id++
			v := fast.Enqueue(now, pk.packet(), fq.backlog())
			got = append(got, decision{pk.id, v})
			if v != Drop {
				fq.push(pk)
			}
			ref.enque(pk, float64(now))
		}
	}
	requireSameDecisions(t, ref.out, got, "pie")
	require.Equal(t, ref.dropProb, fast.prob)
	drops, marks := countVerdicts(got)
	s := fast.Snapshot()
	require.Equal(t, uint64(drops), s.Drops)
	require.Equal(t, uint64(marks), s.Marks)
	return got
}

// The fast PIE agrees decision by decision with the RFC transcription over random
// patterns, for both qdelay sources, with and without ECN, for several seeds.
func TestPIEMatchesReference(t *testing.T) {
	params := []PIEParams{
		{Seed: 1},
		{Seed: 2, ECN: true},
		{Seed: 3, RateEstimator: true},
		{Seed: 4, RateEstimator: true, ECN: true, ECNThreshold: 0.5, NoBurstAllowance: true},
		{Seed: 5, Variant: PIELinux},
		{Seed: 6, Variant: PIELinux, ECN: true},
		{Seed: 7, Variant: PIELinux, RateEstimator: true},
		{Seed: 8, Variant: PIELinux, ECN: true, ECNThreshold: 0.5, ByteMode: true},
		{Seed: 9, ActiveStates: true, ActiveThreshold: 30000},
		{Seed: 10, Variant: PIELinux, ActiveStates: true, ECN: true},
		{Seed: 11, NoDerandomize: true, ByteMode: true},
		{Seed: 12, Variant: PIELinux, NoDerandomize: true, ECN: true},
	}
	totalDrops, totalMarks := 0, 0
	for i, p := range params {
		loads := heavyLoads
		if p.ECN {
			loads = mildLoads
		}
		for seed := uint64(1); seed <= 3; seed++ {
			ds := runPIECompare(t, p, genTicks(seed*11+uint64(i), 60e9, 10e6, loads), 10e6)
			d, m := countVerdicts(ds)
			totalDrops += d
			totalMarks += m
		}
	}
	t.Logf("drops %d, marks %d", totalDrops, totalMarks)
	require.Greater(t, totalDrops, 1000)
	require.Greater(t, totalMarks, 1000)
}

// FuzzPIE runs the reference comparison on patterns built from fuzz bytes. The first
// byte picks the configuration.
func FuzzPIE(f *testing.F) {
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
		p := PIEParams{
			Seed:          uint64(data[0]),
			ECN:           data[0]&1 != 0,
			RateEstimator: data[0]&2 != 0,
			MaxBurst:      30 * time.Millisecond,
		}
		if data[0]&4 != 0 {
			p.NoBurstAllowance = true
		}
		if data[0]&8 != 0 {
			p.Variant = PIELinux
		}
		p.ActiveStates = data[0]&16 != 0
		p.NoDerandomize = data[0]&32 != 0
		p.ByteMode = data[0]&64 != 0
		runPIECompare(t, p, fuzzTicks(data[1:]), 2e6)
	})
}

// Linux leaves the accumulator alone when the forced (>= 8.5) path ends in a mark, so
// every following eligible ECT arrival is marked too; the rfc variant resets it and
// starts counting again.
func TestPIEAccumulatorAfterForcedMark(t *testing.T) {
	q := Backlog{Packets: 100, Bytes: 150000}
	for _, c := range []struct {
		v     PIEVariant
		marks int
	}{{PIERFC, 1}, {PIELinux, 20}} {
		e, now := forcePIE(t, PIEParams{Variant: c.v, ECN: true}, 0.001)
		e.sojourn = 100 * ms // linux checks the current delay
		e.accu = 8.5
		marks := 0
		for i := 0; i < 20; i++ {
			if e.Enqueue(now, Packet{Len: 1500, ECT: true}, q) == Mark {
				marks++
			}
		}
		assert.Equal(t, c.marks, marks, c.v.String())
	}
}

// Linux consumes the burst allowance by the time between departures (none while no
// packet leaves) and refills it at an update that finds the queue calm.
func TestPIELinuxBurstAllowance(t *testing.T) {
	e := newTestPIE(t, PIEParams{Variant: PIELinux})
	now := int64(1e9)
	q := Backlog{Packets: 100, Bytes: 150000}
	e.Dequeue(now, Packet{Len: 1500, EnqTime: now - 50*ms}, q)
	require.Equal(t, 150*ms, e.burst, "the first departure has no predecessor")
	now += 40 * ms
	e.Dequeue(now, Packet{Len: 1500, EnqTime: now - 50*ms}, q)
	assert.Equal(t, 110*ms, e.burst)
	now += 200 * ms
	e.Dequeue(now, Packet{Len: 1500, EnqTime: now - 50*ms}, q)
	assert.Zero(t, e.burst)
	// Calm: prob 0 and two updates with a delay below target/2.
	e.prob = 0
	e.Dequeue(now+1, Packet{Len: 1500, EnqTime: now}, q) // sojourn 1 ns
	e.Enqueue(now+15*ms, Packet{Len: 100}, q)
	e.Enqueue(now+30*ms, Packet{Len: 100}, q)
	assert.Equal(t, 150*ms, e.burst)
	assert.Equal(t, int64(pieNoDeq), e.lastDeq, "the departure clock restarts")
}

// active_states: inactive PIE passes everything and runs no update until the backlog
// reaches the threshold; activation refills the burst allowance; a calm update makes
// it inactive again.
func TestPIEActiveStates(t *testing.T) {
	e := newTestPIE(t, PIEParams{ActiveStates: true, ActiveThreshold: 20000})
	now := int64(1e9)
	small := Backlog{Packets: 10, Bytes: 19999}
	for i := 0; i < 100; i++ {
		now += 15 * ms
		e.Dequeue(now, Packet{Len: 1500, EnqTime: now - 300*ms}, small)
		require.Equal(t, Pass, e.Enqueue(now, Packet{Len: 1500}, small))
	}
	require.True(t, e.inactive)
	require.Zero(t, e.prob, "no update while inactive")
	e.burst = 0
	big := Backlog{Packets: 100, Bytes: 20000}
	e.Enqueue(now, Packet{Len: 1500}, big)
	require.False(t, e.inactive)
	assert.Equal(t, 150*ms, e.burst, "activation refills the burst allowance")
	// Congestion: the probability grows.
	for i := 0; i < 20; i++ {
		now += 15 * ms
		e.Dequeue(now, Packet{Len: 1500, EnqTime: now - 300*ms}, big)
		e.Enqueue(now, Packet{Len: 1500}, big)
	}
	require.Positive(t, e.prob)
	// The queue empties; the probability decays to 0 and PIE goes inactive.
	e.Dequeue(now, Packet{Len: 1500, EnqTime: now}, Backlog{})
	e.Enqueue(now+time.Hour.Nanoseconds(), Packet{Len: 100}, Backlog{})
	assert.True(t, e.inactive)
	assert.Zero(t, e.prob)
}

// Without de-randomization the gaps between drops are geometric: gaps shorter than
// the accumulator's minimum occur. Byte mode scales the probability by len/MTU.
func TestPIEDerandomizeOffAndByteMode(t *testing.T) {
	q := Backlog{Packets: 100, Bytes: 150000}
	rate := func(p PIEParams, n, size int) float64 {
		e, now := forcePIE(t, p, 0.1)
		drops, gap, short := 0, 0, 0
		for i := 0; i < n; i++ {
			gap++
			if e.Enqueue(now, Packet{Len: size}, q) == Drop {
				drops++
				if gap < 9 { // 0.85/0.1: the accumulator never drops this early
					short++
				}
				gap = 0
			}
		}
		if p.NoDerandomize {
			assert.Positive(t, short, "geometric gaps include short ones")
		} else {
			assert.Zero(t, short)
		}
		return float64(drops) / float64(n)
	}
	assert.InDelta(t, 0.1, rate(PIEParams{NoDerandomize: true}, 200000, 1514), 0.005)
	rate(PIEParams{}, 200000, 1514)
	assert.InDelta(t, 0.05, rate(PIEParams{NoDerandomize: true, ByteMode: true}, 200000, 757), 0.003)
	assert.InDelta(t, 0.1, rate(PIEParams{NoDerandomize: true, ByteMode: true}, 200000, 1514), 0.005)
}

func TestParsePIEVariant(t *testing.T) {
	for s, want := range map[string]PIEVariant{"": PIERFC, "rfc": PIERFC, " Linux ": PIELinux} {
		v, err := ParsePIEVariant(s)
		require.NoError(t, err)
		assert.Equal(t, want, v)
	}
	_, err := ParsePIEVariant("ns3")
	assert.EqualError(t, err, `aqm: pie.variant = "ns3", want rfc or linux`)
	_, err = NewPIEConfig(PIEParams{Variant: 7})
	assert.ErrorContains(t, err, "pie.variant = 7")
	_, err = NewPIEConfig(PIEParams{ActiveThreshold: -1})
	assert.ErrorContains(t, err, "pie.active_threshold = -1 bytes")
}
