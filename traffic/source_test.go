package traffic

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const second = int64(time.Second)

// mustSource builds a source at t0 or fails the test.
func mustSource(t testing.TB, p SourceParams, t0 int64) *Source {
	t.Helper()
	s, err := NewSource("ports[0].source", p, t0)
	require.NoError(t, err)
	return s
}

// drive calls Due every step ns from `from` through `to` with a 64-frame burst array
// and hands every frame to fn with the call's now.
func drive(s *Source, from, to, step int64, fn func(f *Frame, now int64)) {
	var out [64]Frame
	for now := from; now <= to; now += step {
		for {
			n := s.Due(now, out[:])
			for i := range n {
				fn(&out[i], now)
			}
			if n < len(out) {
				break
			}
		}
	}
}

// cost is what a frame counts against p's rate: 1 frame for pps, bits at the layer
// for a bit rate (L1: preamble+SFD 8, FCS 4, inter-frame gap 12 bytes on top).
func cost(p SourceParams, n int) float64 {
	switch {
	case p.Rate == 0:
		return 1
	case p.Layer == LayerL2:
		return float64(n) * 8
	default:
		return float64(n+8+4+12) * 8
	}
}

// TestRates: over one simulated second every arrival process delivers its configured
// mean rate within 1% (constant to the frame).
func TestRates(t *testing.T) {
	cases := []struct {
		name string
		p    SourceParams
		mean float64 // expected mean in the rate's unit (default p.Rate+p.PPS)
		tol  float64
	}{
		{name: "constant pps", p: SourceParams{PPS: 1e6}, tol: 1e-6},
		{name: "constant pps odd", p: SourceParams{PPS: 333_333.3}, tol: 1e-5},
		{name: "constant l1 bps imix", p: SourceParams{Rate: 10e9, Mix: "imix"}, tol: 1e-6},
		{name: "constant l2 bps 1514", p: SourceParams{Rate: 1e9, Layer: LayerL2, Size: 1514}, tol: 1e-4},
		{name: "poisson pps", p: SourceParams{PPS: 1e6, Arrival: ArrivalPoisson, Seed: 1}, tol: 0.01},
		{name: "poisson l1 bps imix", p: SourceParams{Rate: 5e9, Arrival: ArrivalPoisson, Mix: "imix", Seed: 2}, tol: 0.01},
		{name: "bernoulli", p: SourceParams{PPS: 5e6, Arrival: ArrivalBernoulli, Slot: 100 * time.Nanosecond, Seed: 3}, tol: 0.01},
		{name: "onoff peak", p: SourceParams{PPS: 1e7, Arrival: ArrivalOnOff, Burst: 16, Peak: 5e7, Seed: 4}, tol: 0.01},
		{name: "onoff idle", p: SourceParams{PPS: 1e7, Arrival: ArrivalOnOff, Burst: 32, Idle: 2 * time.Microsecond, Seed: 5}, tol: 0.01},
		{name: "onoff l1 bps imix", p: SourceParams{Rate: 4e9, Arrival: ArrivalOnOff, Burst: 16, Peak: 10e9, Mix: "imix", Seed: 6}, tol: 0.01},
		{name: "onoff fixed", p: SourceParams{PPS: 1e6, Arrival: ArrivalOnOff, Burst: 10.5, BurstDist: "fixed", Peak: 1e7}, tol: 0.01},
		{name: "incast", p: SourceParams{PPS: 1e8, Arrival: ArrivalIncast, Burst: 50, Period: 100 * time.Microsecond}, mean: 50 / 100e-6, tol: 1e-6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.p.Dest.Outputs = []int{0, 1, 2}
			want := c.mean
			if want == 0 {
				want = c.p.Rate + c.p.PPS
			}
			t0 := int64(5e9)
			s := mustSource(t, c.p, t0)
			var sum float64
			drive(s, t0, t0+second, 1000, func(f *Frame, now int64) {
				if f.Due < t0+second { // frames due in [t0, t0+1s)
					sum += cost(c.p, int(f.Len))
				}
			})
			got := sum // per one second
			require.InEpsilon(t, want, got, c.tol, "rate over 1 s: got %.6g want %.6g", got, want)
		})
	}
}

// TestConstantNoDrift: frame n of a CBR source is due at start + floor(work before n
// / rate), computed from the cumulative count, so there is no accumulated rounding.
func TestConstantNoDrift(t *testing.T) {
	t0 := int64(1e12) // a large clock value, as a TSC-derived ns clock has
	p := SourceParams{PPS: 7e6, Dest: DestParams{Outputs: []int{0}}, Start: 3 * time.Millisecond}
	s := mustSource(t, p, t0)
	n := int64(0)
	start := t0 + int64(3*time.Millisecond)
	drive(s, t0, t0+2*second, 10_000, func(f *Frame, _ int64) {
		want := start + n*1e9/7e6 // exact integer floor
		if d := f.Due - want; d < -1 || d > 0 {
			t.Fatalf("frame %d due %d, want %d (diff %d)", n, f.Due, want, d)
		}
		n++
	})
	require.EqualValues(t, int64(7e6*2-7e6*0.003)+1, n, "frames in [start, t0+2s]")

	// Bit rate with variable sizes: due = start + floor(bits before n × 1e9 / rate).
	p = SourceParams{Rate: 3e9, Mix: "imix", Dest: DestParams{Outputs: []int{0}}, Seed: 9}
	s = mustSource(t, p, 0)
	var bits uint64
	drive(s, 0, second/10, 997, func(f *Frame, _ int64) {
		want := int64(float64(bits) * 1e9 / 3e9)
		if d := f.Due - want; d < -1 || d > 1 {
			t.Fatalf("due %d want %d", f.Due, want)
		}
		bits += uint64(f.Len+L1Overhead) * 8
	})
}

// TestPoissonCV: exponential inter-arrivals have a coefficient of variation of 1.
func TestPoissonCV(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		s := mustSource(t, SourceParams{PPS: 1e6, Arrival: ArrivalPoisson, Seed: seed, Dest: DestParams{Outputs: []int{0}}}, 0)
		var gaps []float64
		last := int64(-1)
		drive(s, 0, 2*second, 1000, func(f *Frame, _ int64) {
			if last >= 0 && len(gaps) < 100_000 {
				gaps = append(gaps, float64(f.Due-last))
			}
			last = f.Due
		})
		require.Equal(t, 100_000, len(gaps))
		m, sd := meanSD(gaps)
		cv := sd / m
		require.InDelta(t, 1000, m, 10, "mean gap ns (seed %d)", seed)
		require.True(t, cv >= 0.95 && cv <= 1.05, "CV %.4f outside 0.95..1.05 (seed %d)", cv, seed)
	}
}

func meanSD(xs []float64) (float64, float64) {
	var s, s2 float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	for _, x := range xs {
		s2 += (x - m) * (x - m)
	}
	return m, math.Sqrt(s2 / float64(len(xs)-1))
}

// bursts splits a due-time stream into runs whose gaps are at most maxGap.
func burstLengths(dues []int64, maxGap int64) []float64 {
	var out []float64
	n := 1
	for i := 1; i < len(dues); i++ {
		if dues[i]-dues[i-1] > maxGap {
			out = append(out, float64(n))
			n = 0
		}
		n++
	}
	return out
}

// TestOnOffBursts: measured from the frame stream, the mean burst length is within
// 5% of the configured one; fixed bursts are exact; the gaps inside a burst are the
// peak rate's.
func TestOnOffBursts(t *testing.T) {
	for _, c := range []struct {
		burst float64
		dist  string
	}{{16, ""}, {64, "geometric"}, {8, "fixed"}} {
		p := SourceParams{PPS: 1e6, Peak: 1e7, Arrival: ArrivalOnOff, Burst: c.burst, BurstDist: c.dist, Seed: 11, Dest: DestParams{Outputs: []int{0}}}
		s := mustSource(t, p, 0)
		var dues []int64
		drive(s, 0, second, 1000, func(f *Frame, _ int64) { dues = append(dues, f.Due) })
		// Inside a burst frames are 100 ns apart (±1 ns rounding); idle gaps are longer
		// except for the rare idle period under 1 ns.
		for i := 1; i < 200; i++ {
			if g := dues[i] - dues[i-1]; g < 99 {
				t.Fatalf("gap %d ns inside the stream, shorter than the peak's 100 ns", g)
			}
		}
		bl := burstLengths(dues, 101)
		m, _ := meanSD(bl)
		require.InEpsilon(t, c.burst, m, 0.05, "mean burst (%s): %.2f over %d bursts", c.dist, m, len(bl))
		if c.dist == "fixed" {
			for _, b := range bl {
				require.Equal(t, c.burst, b)
			}
		}
	}
}

// TestIncastAligned: sources with the same t0, period and offset send their bursts
// together: burst k of every source starts at t0 + offset + k × period and holds
// exactly `burst` frames at the pace of rate.
func TestIncastAligned(t *testing.T) {
	t0 := int64(123_456)
	period, offset := int64(100_000), int64(10_000)
	var starts [3]map[int64]int
	for src := range 3 {
		p := SourceParams{Port: src, PPS: 1e8, Arrival: ArrivalIncast, Burst: 8,
			Period: time.Duration(period), Offset: time.Duration(offset),
			Start: 250 * time.Microsecond, Dest: DestParams{Kind: DestPermutation, Perm: []int{3, 3, 3}}}
		s := mustSource(t, p, t0)
		starts[src] = map[int64]int{}
		drive(s, t0, t0+10*period, 1000, func(f *Frame, _ int64) {
			k := (f.Due - t0 - offset) / period
			bs := t0 + offset + k*period
			i := (f.Due - bs) / 10 // 10 ns apart at 1e8 pps
			require.Equal(t, bs+i*10, f.Due, "frame on the burst's pace")
			require.Less(t, i, int64(8))
			require.EqualValues(t, 3, f.Out)
			starts[src][bs]++
		})
		// Start at t0+250µs: the first burst is the one at offset + 3 periods.
		require.Len(t, starts[src], 7)
		for bs, n := range starts[src] {
			require.Equal(t, 8, n, "frames in burst at %d", bs)
			require.GreaterOrEqual(t, bs, t0+offset+3*period)
		}
	}
	require.Equal(t, starts[0], starts[1])
	require.Equal(t, starts[1], starts[2])
}

// TestDestinations: matrix proportions within 2% (relative), permutation exact.
func TestDestinations(t *testing.T) {
	cases := []struct {
		name string
		d    DestParams
		want map[int]float64
	}{
		{"uniform", DestParams{Outputs: []int{0, 1, 2, 5}}, map[int]float64{0: .25, 1: .25, 2: .25, 5: .25}},
		{"hotspot", DestParams{Kind: DestHotspot, Outputs: []int{0, 1, 2, 3}, Hot: 2, Fraction: 0.4}, map[int]float64{0: .2, 1: .2, 2: .4, 3: .2}},
		{"weights", DestParams{Kind: DestWeights, Weights: []float64{1, 0, 2, 3, 4}}, map[int]float64{0: .1, 2: .2, 3: .3, 4: .4}},
		{"permutation", DestParams{Kind: DestPermutation, Perm: []int{4, 0, 7}}, map[int]float64{0: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustSource(t, SourceParams{Port: 1, PPS: 1e6, Dest: c.d, Seed: 7}, 0)
			cnt := map[int]float64{}
			total := 0.0
			drive(s, 0, second, 10_000, func(f *Frame, _ int64) { cnt[int(f.Out)]++; total++ })
			require.Len(t, cnt, len(c.want), "outputs used: %v", cnt)
			for o, w := range c.want {
				got := cnt[o] / total
				if c.d.Kind == DestPermutation {
					require.Equal(t, 1.0, got)
					continue
				}
				require.InEpsilon(t, w, got, 0.02, "share of output %d", o)
			}
		})
	}
}

// TestFrameSizes: IMIX and an explicit distribution come out in their proportions.
func TestFrameSizes(t *testing.T) {
	for _, c := range []struct {
		p    SourceParams
		want map[uint16]float64
	}{
		{SourceParams{Mix: "imix"}, map[uint16]float64{60: 7. / 12, 566: 4. / 12, 1514: 1. / 12}},
		{SourceParams{Sizes: []SizeWeight{{100, 1}, {200, 0}, {1000, 3}}}, map[uint16]float64{100: .25, 1000: .75}},
		{SourceParams{Size: 128}, map[uint16]float64{128: 1}},
	} {
		c.p.PPS, c.p.Seed, c.p.Dest.Outputs = 1e6, 5, []int{0}
		s := mustSource(t, c.p, 0)
		cnt := map[uint16]float64{}
		total := 0.0
		drive(s, 0, second/2, 10_000, func(f *Frame, _ int64) { cnt[f.Len]++; total++ })
		require.Len(t, cnt, len(c.want))
		for l, w := range c.want {
			require.InEpsilon(t, w, cnt[l]/total, 0.02, "share of %d B", l)
		}
	}
}

// TestFlows: flows of an output take turns, each with its own UDP source port,
// DSCP/ECN from the lists, and consecutive sequence numbers from 0.
func TestFlows(t *testing.T) {
	p := SourceParams{PPS: 1e6, Flows: 3, DSCP: []int{46, 10}, ECN: []int{2}, Dest: DestParams{Outputs: []int{1, 2}}, Seed: 3}
	s := mustSource(t, p, 0)
	require.Equal(t, 9, s.NumFlowIDs())
	next := map[uint16]uint64{}
	drive(s, 0, second/100, 1000, func(f *Frame, _ int64) {
		k := int(f.Flow) - int(f.Out)*3
		require.True(t, k >= 0 && k < 3, "flow %d of output %d", f.Flow, f.Out)
		require.EqualValues(t, 49152+k, f.SPort)
		require.EqualValues(t, []int{46, 10}[k%2], f.DSCP)
		require.EqualValues(t, 2, f.ECN)
		require.Equal(t, next[f.Flow], f.Seq)
		next[f.Flow]++
	})
	require.Len(t, next, 6)
	for fl, n := range next {
		require.Equal(t, n, s.FlowSent(int(fl)))
	}
	// Round robin within an output: its flows' counts differ by at most one.
	for _, o := range []uint16{1, 2} {
		a, b, c := next[o*3], next[o*3+1], next[o*3+2]
		require.LessOrEqual(t, max(a, b, c)-min(a, b, c), uint64(1))
	}
}

// TestDeterministic: the same seed gives the same frames, another seed others.
func TestDeterministic(t *testing.T) {
	gen := func(seed uint64) []Frame {
		s := mustSource(t, SourceParams{PPS: 1e6, Arrival: ArrivalPoisson, Mix: "imix", Flows: 4,
			Dest: DestParams{Outputs: []int{0, 1, 2}}, Seed: seed}, 0)
		var fs []Frame
		drive(s, 0, second/100, 777, func(f *Frame, _ int64) { fs = append(fs, *f) })
		return fs
	}
	a, b, c := gen(42), gen(42), gen(43)
	require.Equal(t, a, b)
	require.NotEqual(t, a[:100], c[:100])
}

// TestStartStop: nothing before t0+start, nothing due at or after t0+stop.
func TestStartStop(t *testing.T) {
	t0 := int64(1e9)
	s := mustSource(t, SourceParams{PPS: 1e6, Start: time.Millisecond, Stop: 3 * time.Millisecond, Dest: DestParams{Outputs: []int{0}}}, t0)
	var first, last int64 = -1, 0
	n := 0
	drive(s, t0, t0+10*int64(time.Millisecond), 500, func(f *Frame, _ int64) {
		if first < 0 {
			first = f.Due
		}
		last = f.Due
		n++
	})
	require.Equal(t, t0+int64(time.Millisecond), first)
	require.Less(t, last, t0+3*int64(time.Millisecond))
	require.Equal(t, 2000, n)
	_, ok := s.Next()
	require.False(t, ok)
}

// TestLateAndSkip: a caller late by less than catch_up gets the backlog (late, with
// the original due times and no lost sequence numbers); one late by more has the
// older backlog skipped and counted.
func TestLateAndSkip(t *testing.T) {
	p := SourceParams{PPS: 1e6, Dest: DestParams{Outputs: []int{0}}, CatchUp: time.Millisecond, LateAfter: 10 * time.Microsecond}
	s := mustSource(t, p, 0)
	var out [64]Frame
	// 500 µs late: 501 frames due (0, 1µs, ..., 500µs), handed out 64 at a time.
	got := 0
	for n := s.Due(500_000, out[:]); n > 0; n = s.Due(500_000, out[:]) {
		for i := range n {
			require.EqualValues(t, int64(got)*1000, out[i].Due)
			require.EqualValues(t, got, out[i].Seq)
			got++
		}
	}
	require.Equal(t, 501, got)
	st := s.Stats()
	require.EqualValues(t, 501, st.Sent)
	require.EqualValues(t, 490, st.Late, "frames more than 10 µs late: due before 490 µs")
	require.EqualValues(t, 500_000, st.MaxLateNs)
	require.Zero(t, st.SkippedNs)

	// At 11.001 ms the next frame (due 501 µs) is 10.5 ms behind: the backlog older
	// than 1 ms (9.5 ms of it) is skipped.
	now := int64(11_001_000)
	got = 0
	var firstDue int64 = -1
	for n := s.Due(now, out[:]); n > 0; n = s.Due(now, out[:]) {
		if firstDue < 0 {
			firstDue = out[0].Due
		}
		got += n
	}
	st = s.Stats()
	require.Equal(t, now-int64(time.Millisecond), firstDue)
	require.EqualValues(t, 9_500_000, st.SkippedNs)
	require.EqualValues(t, 9500, st.Skipped)
	require.Equal(t, 1001, got, "the last 1 ms of backlog is sent")
	require.EqualValues(t, 501+1001, s.FlowSent(0), "skipped frames take no sequence numbers")

	// catch_up < 0: never skip.
	p.CatchUp = -1
	s = mustSource(t, p, 0)
	total := 0
	for n := s.Due(20_000_000, out[:]); n > 0; n = s.Due(20_000_000, out[:]) {
		total += n
	}
	require.Equal(t, 20_001, total)
}

// TestValidate: every problem names its YAML key, the value and what is allowed.
func TestValidate(t *testing.T) {
	ok := SourceParams{PPS: 1e6, Dest: DestParams{Outputs: []int{0, 1}}}
	require.NoError(t, ok.Validate("ports[2].source"))
	cases := []struct {
		name string
		edit func(p *SourceParams)
		key  string
		msg  string
	}{
		{"no rate", func(p *SourceParams) { p.PPS = 0 }, "rate", "required"},
		{"both rates", func(p *SourceParams) { p.Rate = 1e9 }, "pps", "not both"},
		{"negative rate", func(p *SourceParams) { p.PPS = 0; p.Rate = -1 }, "rate", "(0, 1e+12]"},
		{"layer on pps", func(p *SourceParams) { p.Layer = "l2" }, "layer", "rate (bits/s) only"},
		{"bad layer", func(p *SourceParams) { p.PPS = 0; p.Rate = 1e9; p.Layer = "l3" }, "layer", "l1, l2"},
		{"bad arrival", func(p *SourceParams) { p.Arrival = "pareto" }, "arrival", "want one of constant"},
		{"bernoulli no slot", func(p *SourceParams) { p.Arrival = ArrivalBernoulli }, "slot", "slot length > 0"},
		{"bernoulli overfull", func(p *SourceParams) { p.Arrival = ArrivalBernoulli; p.Slot = 2 * time.Microsecond }, "slot", "at most 1"},
		{"onoff no burst", func(p *SourceParams) { p.Arrival = ArrivalOnOff; p.Peak = 2e6 }, "burst", "at least 1"},
		{"onoff peak low", func(p *SourceParams) { p.Arrival = ArrivalOnOff; p.Burst = 4; p.Peak = 5e5 }, "peak", "at least the mean"},
		{"onoff both", func(p *SourceParams) { p.Arrival = ArrivalOnOff; p.Burst = 4; p.Peak = 5e6; p.Idle = 1 }, "idle", "not both"},
		{"onoff neither", func(p *SourceParams) { p.Arrival = ArrivalOnOff; p.Burst = 4 }, "peak", "peak"},
		{"onoff idle too long", func(p *SourceParams) { p.Arrival = ArrivalOnOff; p.Burst = 4; p.Idle = 4 * time.Microsecond }, "idle", "shorter"},
		{"onoff dist", func(p *SourceParams) { p.Arrival = ArrivalOnOff; p.Burst = 4; p.Peak = 2e6; p.BurstDist = "pareto" }, "burst_dist", "geometric, fixed"},
		{"incast fractional", func(p *SourceParams) { p.Arrival = ArrivalIncast; p.Burst = 2.5; p.Period = time.Millisecond }, "burst", "whole number"},
		{"incast period short", func(p *SourceParams) { p.Arrival = ArrivalIncast; p.Burst = 10; p.Period = time.Microsecond }, "period", "longer than the period"},
		{"size small", func(p *SourceParams) { p.Size = 59 }, "size", "60..9014"},
		{"two size kinds", func(p *SourceParams) { p.Size = 100; p.Mix = "imix" }, "size", "one of size, mix or sizes"},
		{"bad mix", func(p *SourceParams) { p.Mix = "trimodal" }, "mix", "imix"},
		{"sizes len", func(p *SourceParams) { p.Sizes = []SizeWeight{{64, 1}, {10000, 1}} }, "sizes[1].len", "60..9014"},
		{"sizes zero", func(p *SourceParams) { p.Sizes = []SizeWeight{{64, 0}} }, "sizes", "sum to 0"},
		{"no outputs", func(p *SourceParams) { p.Dest.Outputs = nil }, "dest.outputs", "required"},
		{"output range", func(p *SourceParams) { p.Dest.Outputs = []int{0, 300} }, "dest.outputs[1]", "0..255"},
		{"output twice", func(p *SourceParams) { p.Dest.Outputs = []int{1, 1} }, "dest.outputs[1]", "twice"},
		{"hot not listed", func(p *SourceParams) { p.Dest.Kind = DestHotspot; p.Dest.Hot = 5; p.Dest.Fraction = .5 }, "dest.hot", "one of dest.outputs"},
		{"hot fraction", func(p *SourceParams) { p.Dest.Kind = DestHotspot; p.Dest.Fraction = 1.5 }, "dest.fraction", "0..1"},
		{"perm short", func(p *SourceParams) { p.Port = 3; p.Dest = DestParams{Kind: DestPermutation, Perm: []int{1, 0}} }, "dest.perm", "source port 3"},
		{"weights zero", func(p *SourceParams) { p.Dest = DestParams{Kind: DestWeights, Weights: []float64{0, 0}} }, "dest.weights", "sum to 0"},
		{"weights negative", func(p *SourceParams) { p.Dest = DestParams{Kind: DestWeights, Weights: []float64{1, -1}} }, "dest.weights[1]", ">= 0"},
		{"bad kind", func(p *SourceParams) { p.Dest.Kind = "random" }, "dest.kind", "uniform, hotspot"},
		{"flows", func(p *SourceParams) { p.Flows = -1 }, "flows", "1..16384"},
		{"flow ids", func(p *SourceParams) { p.Flows = 1000; p.Dest.Outputs = []int{0, 100} }, "flows", "16-bit flow id"},
		{"dscp", func(p *SourceParams) { p.DSCP = []int{0, 64} }, "dscp[1]", "0..63"},
		{"ecn", func(p *SourceParams) { p.ECN = []int{4} }, "ecn[0]", "0..3"},
		{"stop before start", func(p *SourceParams) { p.Start = time.Second; p.Stop = time.Millisecond }, "stop", "after start"},
		{"port", func(p *SourceParams) { p.Port = 256 }, "", "0..255"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			p.Dest.Outputs = append([]int(nil), ok.Dest.Outputs...)
			c.edit(&p)
			err := p.Validate("ports[2].source")
			require.Error(t, err)
			ps := Problems(err)
			require.Len(t, ps, 1, "%v", err)
			want := "ports[2].source"
			if c.key != "" {
				want += "." + c.key
			}
			require.Equal(t, want, ps[0].Key, "%v", err)
			require.Contains(t, ps[0].Msg, c.msg)
			if !strings.Contains(c.msg, "required") && c.key != "sizes" && c.key != "dest.weights" && c.key != "peak" {
				require.NotEmpty(t, ps[0].Value, "the value is shown")
			}
			_, err = NewSource("ports[2].source", p, 0)
			require.Error(t, err)
		})
	}
}

// TestApply: a live change takes effect from the next frame, keeps the sequence
// numbers and counters, and is refused whole when invalid.
func TestApply(t *testing.T) {
	p := SourceParams{PPS: 1e6, Flows: 2, Dest: DestParams{Outputs: []int{0}}}
	s := mustSource(t, p, 0)
	var last Frame
	n := 0
	drive(s, 0, 999_000, 1000, func(f *Frame, _ int64) { last = *f; n++ })
	require.Equal(t, 1000, n)
	require.EqualValues(t, 999_000, last.Due)

	bad := p
	bad.PPS = -1
	require.Error(t, s.Apply("ports[0].source", bad, 0))

	p.PPS = 2e6
	require.NoError(t, s.Apply("ports[0].source", p, 0))
	next, ok := s.Next()
	require.True(t, ok)
	require.EqualValues(t, 1_000_000, next, "the new schedule starts where the old one stood")
	var fs []Frame
	drive(s, 1_000_000, 1_999_500, 500, func(f *Frame, _ int64) { fs = append(fs, *f) })
	require.Equal(t, 2000, len(fs), "2 Mpps for 1 ms")
	require.EqualValues(t, 500, fs[1].Due-fs[0].Due)
	require.Equal(t, last.Seq+1, fs[1].Seq, "sequence numbers continue (flow of the last old frame)")
	require.EqualValues(t, 3000, s.Stats().Sent, "counters continue")
}
