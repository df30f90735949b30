package aqm

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestRED(t testing.TB, p REDParams) *RED {
	t.Helper()
	cfg, err := NewREDConfig(p)
	require.NoError(t, err)
	return NewRED(cfg).(*RED)
}

func newTestARED(t testing.TB, p REDParams) *AdaptiveRED {
	t.Helper()
	p.Adaptive = true
	cfg, err := NewREDConfig(p)
	require.NoError(t, err)
	return NewRED(cfg).(*AdaptiveRED)
}

func TestREDConfig(t *testing.T) {
	prof := []REDProfile{{MinTh: 10, MaxTh: 30}}
	cfg, err := NewREDConfig(REDParams{Profiles: prof, LinkRate: 1e9})
	require.NoError(t, err)
	assert.Equal(t, 1.0/512, cfg.w)
	assert.InDelta(t, 512, cfg.txTime, 1e-9, "64 bytes at 1 Gb/s")
	assert.InDelta(t, 0.1, cfg.maxp[0].maxp, 1e-15)
	assert.InDelta(t, 0.1/20, cfg.profile[0].slope, 1e-15)
	assert.Equal(t, 18.0, cfg.maxp[0].bandLo)
	assert.InDelta(t, 22.0, cfg.maxp[0].bandHi, 1e-12)
	assert.Equal(t, cfg.profile[0], cfg.profile[7], "classes without a profile use profile 0")

	bad := []struct {
		p    REDParams
		want string
	}{
		{REDParams{TxTime: time.Microsecond}, "red.profiles has 0 entries, want 1..8"},
		{REDParams{Profiles: make([]REDProfile, 9), TxTime: 1}, "red.profiles has 9 entries"},
		{REDParams{Profiles: prof}, "red.link_rate = 0 bit/s"},
		{REDParams{Profiles: prof, TxTime: -1}, "red.tx_time = -1ns"},
		{REDParams{Profiles: prof, TxTime: 1, WqLog2: 21}, "red.wq_log2 = 21, want 1..20"},
		{REDParams{Profiles: prof, TxTime: 1, Unit: 7}, "red.unit = 7"},
		{REDParams{Profiles: []REDProfile{{MinTh: 30, MaxTh: 30}}, TxTime: 1}, "red.profiles[0].max_th = 30 packets, want 31.."},
		{REDParams{Profiles: []REDProfile{{MinTh: -1, MaxTh: 30}}, TxTime: 1}, "red.profiles[0].min_th = -1"},
		{REDParams{Profiles: []REDProfile{prof[0], {MinTh: 1, MaxTh: 2, MaxPInv: 2000}}, TxTime: 1}, "red.profiles[1].maxp_inv = 2000, want 1..1000"},
		{REDParams{Profiles: prof, LinkRate: 1e9, IdlePktBytes: -5}, "red.idle_pkt_bytes = -5"},
		{REDParams{Profiles: prof, TxTime: 1, AdaptInterval: time.Millisecond}, "red.adapt_interval = 1ms, want 10ms..1m40s"},
	}
	for _, b := range bad {
		_, err := NewREDConfig(b.p)
		require.Error(t, err, "%+v", b.p)
		assert.Contains(t, err.Error(), b.want)
	}
	assert.Panics(t, func() { NewRED(REDConfig{}) })
}

// The average follows avg += (q - avg) * 2^-wq_log2, computed here by hand for w = 1/4.
func TestREDAverage(t *testing.T) {
	r := newTestRED(t, REDParams{WqLog2: 2, TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 1000, MaxTh: 2000}}})
	now := int64(1e9)
	steps := []struct {
		q    int
		want float64
	}{
		{4, 1},            // 0 + 4/4
		{8, 2.75},         // 1 + 7/4
		{8, 4.0625},       // 2.75 + 5.25/4
		{2, 3.546875},     // 4.0625 - 2.0625/4
		{3, 3.41015625},   // 3.546875 - 0.546875/4
		{20, 7.557617188}, // 3.41015625 + 16.58984375/4 = 7.5576171875
	}
	for i, s := range steps {
		now += 1000
		require.Equal(t, Pass, r.Enqueue(now, Packet{Len: 100}, Backlog{Packets: s.q, Bytes: 100 * s.q}))
		assert.InDelta(t, s.want, r.Snapshot().AvgQueue, 1e-9, "step %d", i)
	}

	// In bytes the same sequence is scaled by the 100-byte packets.
	rb := newTestRED(t, REDParams{Unit: REDBytes, WqLog2: 2, TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 100000, MaxTh: 200000}}})
	for _, s := range steps {
		now += 1000
		rb.Enqueue(now, Packet{Len: 100}, Backlog{Packets: s.q, Bytes: 100 * s.q})
	}
	assert.InDelta(t, 755.76171875, rb.Snapshot().AvgQueue, 1e-9)
}

// An arrival to an empty queue ages the average by (1-w)^m, m = idle time / tx time,
// and a second arrival at the same instant does not age it again.
func TestREDIdleDecay(t *testing.T) {
	r := newTestRED(t, REDParams{WqLog2: 2, TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 1000, MaxTh: 2000}}})
	now := int64(1e9)
	for _, q := range []int{4, 8, 8} {
		r.Enqueue(now, Packet{Len: 100}, Backlog{Packets: q, Bytes: 100 * q})
	}
	require.InDelta(t, 4.0625, r.avg, 1e-12)
	r.Dequeue(now, Packet{Len: 100}, Backlog{}) // the queue goes idle
	now += 10 * time.Microsecond.Nanoseconds()  // ten small packets' time
	r.Enqueue(now, Packet{Len: 100}, Backlog{})
	// 4.0625 * 0.75^10 = 4.0625 * 0.0563135147094727
	assert.InDelta(t, 0.228773653507233, r.avg, 1e-12)
	r.Enqueue(now, Packet{Len: 100}, Backlog{})
	assert.InDelta(t, 0.228773653507233, r.avg, 1e-12)

	// Derived from a link rate: 64 bytes at 512 kb/s take 1 ms.
	r2 := newTestRED(t, REDParams{WqLog2: 1, LinkRate: 512e3,
		Profiles: []REDProfile{{MinTh: 1000, MaxTh: 2000}}})
	r2.avg = 16
	r2.Dequeue(now, Packet{}, Backlog{})
	r2.Enqueue(now+3*ms+ms/2, Packet{}, Backlog{})
	assert.InDelta(t, 16*math.Pow(0.5, 3.5), r2.avg, 1e-12)
}

// expectedREDFraction is the long-run drop fraction when every packet sees base
// probability pb with the count spacing: the gap X between drops has
// P(X > n) = max(0, 1 - n*pb), so E[X] = sum over n >= 0 of P(X > n).
func expectedREDFraction(pb float64) float64 {
	ex := 0.0
	for n := 0; 1-float64(n)*pb > 0; n++ {
		ex += 1 - float64(n)*pb
	}
	return 1 / ex
}

// With the average held between the thresholds, the measured drop fraction over 200k
// decisions matches the count-spaced RED law, and no gap exceeds 1/pb.
func TestREDDropFraction(t *testing.T) {
	for _, tc := range []struct {
		avg  int
		want float64 // pb, by hand: maxp * (avg - min) / (max - min)
	}{
		{20, 0.05},  // 1/pb = 20: fraction 2pb/(1+pb) = 0.0952
		{17, 0.035}, // 1/pb not whole
		{29, 0.095},
	} {
		r := newTestRED(t, REDParams{TxTime: time.Microsecond, Seed: 42,
			Profiles: []REDProfile{{MinTh: 10, MaxTh: 30, MaxPInv: 10}}})
		r.avg = float64(tc.avg) // q == avg keeps the average exactly constant
		q := Backlog{Packets: tc.avg, Bytes: 1500 * tc.avg}
		const n = 200000
		drops, gap, maxGap := 0, 0, 0
		for i := 0; i < n; i++ {
			gap++
			if r.Enqueue(int64(i), Packet{Len: 1500}, q) == Drop {
				drops++
				maxGap = max(maxGap, gap)
				gap = 0
			}
		}
		require.InDelta(t, tc.want, r.Snapshot().DropProb, 1e-12)
		want := expectedREDFraction(tc.want)
		got := float64(drops) / n
		t.Logf("avg %d: pb %.3f, drop fraction %.5f, expected %.5f", tc.avg, tc.want, got, want)
		assert.InEpsilon(t, want, got, 0.02)
		assert.LessOrEqual(t, maxGap, int(math.Ceil(1/tc.want)))
	}
}

// Below min_th nothing is dropped; at or above max_th everything is.
func TestREDThresholds(t *testing.T) {
	r := newTestRED(t, REDParams{TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 10, MaxTh: 30}}})
	for _, tc := range []struct {
		avg  float64
		want Verdict
	}{{9.999, Pass}, {30, Drop}, {100, Drop}} {
		q := Backlog{Packets: int(math.Round(tc.avg))} // keeps the average where it is
		for i := 0; i < 1000; i++ {
			r.avg = tc.avg
			require.Equal(t, tc.want, r.Enqueue(1, Packet{Len: 1500}, q), "avg %v", tc.avg)
		}
	}
}

// WRED: the class selects its profile; classes beyond the list use profile 0.
func TestWREDProfiles(t *testing.T) {
	r := newTestRED(t, REDParams{TxTime: time.Microsecond, Profiles: []REDProfile{
		{MinTh: 10, MaxTh: 30, MaxPInv: 10}, // class 0 (and 3..7): random drops at avg 20
		{MinTh: 40, MaxTh: 60},              // class 1: nothing dropped at avg 20
		{MinTh: 5, MaxTh: 15},               // class 2: everything dropped at avg 20
	}})
	q := Backlog{Packets: 20, Bytes: 30000}
	count := func(class uint8) int {
		drops := 0
		for i := 0; i < 10000; i++ {
			r.avg = 20
			if r.Enqueue(1, Packet{Len: 1500, Class: class}, q) == Drop {
				drops++
			}
		}
		return drops
	}
	assert.Zero(t, count(1))
	assert.Equal(t, 10000, count(2))
	want := expectedREDFraction(0.05) * 10000
	assert.InEpsilon(t, want, float64(count(0)), 0.1)
	assert.InEpsilon(t, want, float64(count(5)), 0.1)
}

// ECN: ECT packets are marked, not dropped, between the thresholds and (Linux's rule)
// at or above max_th too, unless harddrop; non-ECT packets are dropped.
func TestREDECN(t *testing.T) {
	r := newTestRED(t, REDParams{ECN: true, TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 10, MaxTh: 30}}})
	q := Backlog{Packets: 20, Bytes: 30000}
	verdicts := map[Verdict]int{}
	for i := 0; i < 10000; i++ {
		r.avg = 20
		verdicts[r.Enqueue(1, Packet{Len: 1500, ECT: i%2 == 0}, q)]++
	}
	assert.Greater(t, verdicts[Mark], 100)
	assert.Greater(t, verdicts[Drop], 100)
	s := r.Snapshot()
	assert.Equal(t, uint64(verdicts[Mark]), s.Marks)
	assert.Equal(t, uint64(verdicts[Drop]), s.Drops)
	// ECT marks only: drive ECT packets alone and nothing is dropped.
	for i := 0; i < 10000; i++ {
		r.avg = 20
		require.NotEqual(t, Drop, r.Enqueue(1, Packet{Len: 1500, ECT: true}, q))
	}
	full := Backlog{Packets: 30, Bytes: 45000}
	r.avg = 30
	assert.Equal(t, Mark, r.Enqueue(1, Packet{Len: 1500, ECT: true}, full))
	r.avg = 30
	assert.Equal(t, Drop, r.Enqueue(1, Packet{Len: 1500}, full))

	h := newTestRED(t, REDParams{ECN: true, HardDrop: true, TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 10, MaxTh: 30}}})
	h.avg = 30
	assert.Equal(t, Drop, h.Enqueue(1, Packet{Len: 1500, ECT: true}, full), "harddrop")
	h.avg = 20
	marks := 0
	for i := 0; i < 1000; i++ {
		h.avg = 20
		if h.Enqueue(1, Packet{Len: 1500, ECT: true}, q) == Mark {
			marks++
		}
	}
	assert.Greater(t, marks, 10, "harddrop still marks between the thresholds")
}

// Gentle: pb rises from maxp at max_th to 1 at 2*max_th (measured as the drop fraction
// of the uniform-gap spacing), and everything is dropped from 2*max_th.
func TestREDGentle(t *testing.T) {
	r := newTestRED(t, REDParams{Gentle: true, TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 10, MaxTh: 30, MaxPInv: 10}}})
	for _, tc := range []struct {
		avg, pb float64
	}{{30, 0.1}, {45, 0.1 + 0.9*15/30}, {59, 0.1 + 0.9*29/30}} {
		const n = 200000
		drops := 0
		for i := 0; i < n; i++ {
			r.avg = tc.avg
			if r.Enqueue(1, Packet{Len: 1500}, Backlog{Packets: int(tc.avg)}) == Drop {
				drops++
			}
		}
		require.InDelta(t, tc.pb, r.Snapshot().DropProb, 1e-12, "avg %v", tc.avg)
		assert.InEpsilon(t, expectedREDFraction(tc.pb), float64(drops)/n, 0.02, "avg %v", tc.avg)
	}
	for i := 0; i < 100; i++ {
		r.avg = 60
		require.Equal(t, Drop, r.Enqueue(1, Packet{Len: 1500}, Backlog{Packets: 60}))
	}
	plain := newTestRED(t, REDParams{TxTime: time.Microsecond, Profiles: []REDProfile{{MinTh: 10, MaxTh: 30}}})
	plain.avg = 45
	assert.Equal(t, Drop, plain.Enqueue(1, Packet{Len: 1500}, Backlog{Packets: 45}), "not gentle: forced at max_th")
}

// Adaptive RED, by hand: maxp grows by min(0.01, maxp/4) per 500 ms while the average
// is above the band, up to just above 0.5, and falls by x0.9 per period below it,
// down to just below 0.01; inside the band it stays.
func TestREDAdaptive(t *testing.T) {
	r := newTestARED(t, REDParams{TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 100, MaxTh: 200, MaxPInv: 50}}}) // maxp 0.02, band 140..160
	now := int64(1e9)
	busy := Backlog{Packets: 150}
	r.Enqueue(now, Packet{Len: 1500}, busy) // starts the schedule
	hold := func(avg float64, periods int) {
		for i := 0; i < periods; i++ {
			now += 500 * ms
			r.avg = avg
			r.Enqueue(now, Packet{Len: 1500}, Backlog{Packets: int(avg)})
		}
	}
	want := 0.02
	for i := 0; i < 3; i++ {
		hold(170, 1)
		want += min(0.01, want/4)
		require.InDelta(t, want, r.cfg.maxp[0].maxp, 1e-15, "increase %d", i)
	}
	hold(170, 200)
	assert.Greater(t, r.cfg.maxp[0].maxp, 0.5)
	assert.Less(t, r.cfg.maxp[0].maxp, 0.51)
	assert.InDelta(t, r.cfg.maxp[0].maxp/100, r.cfg.profile[0].slope, 1e-15, "the slope follows maxp")
	m := r.cfg.maxp[0].maxp
	hold(150, 5)
	assert.Equal(t, m, r.cfg.maxp[0].maxp, "inside the band")
	hold(120, 1)
	assert.InDelta(t, m*0.9, r.cfg.maxp[0].maxp, 1e-15)
	hold(120, 200)
	assert.Less(t, r.cfg.maxp[0].maxp, 0.01)
	assert.Greater(t, r.cfg.maxp[0].maxp, 0.009)

	// Several periods caught up by one arrival after an idle gap, each with the average
	// aged to its own time: from 170 packets, 1 µs per packet and w = 1/512, the
	// average is 170*(511/512)^(t/1µs), below the band after ~ 10 µs.
	r2 := newTestARED(t, REDParams{TxTime: time.Microsecond,
		Profiles: []REDProfile{{MinTh: 100, MaxTh: 200, MaxPInv: 50}}})
	r2.Enqueue(now, Packet{Len: 1500}, busy)
	r2.avg = 170
	r2.Dequeue(now+1, Packet{Len: 1500}, Backlog{}) // empty from now+1
	r2.Enqueue(now+int64(2*time.Second)+1, Packet{Len: 1500}, Backlog{})
	assert.InDelta(t, 0.02*0.9*0.9*0.9*0.9, r2.cfg.maxp[0].maxp, 1e-15, "four periods, all below the band")

	// adaptive is a policy type of its own: SetConfig cannot switch it.
	plainCfg, err := NewREDConfig(REDParams{TxTime: time.Microsecond, Profiles: []REDProfile{{MinTh: 100, MaxTh: 200}}})
	require.NoError(t, err)
	adaptiveCfg, err := NewREDConfig(REDParams{Adaptive: true, TxTime: time.Microsecond, Profiles: []REDProfile{{MinTh: 100, MaxTh: 200}}})
	require.NoError(t, err)
	assert.Panics(t, func() { r2.SetConfig(plainCfg) })
	assert.Panics(t, func() {
		newTestRED(t, REDParams{TxTime: 1, Profiles: []REDProfile{{MinTh: 1, MaxTh: 2}}}).SetConfig(adaptiveCfg)
	})
	r2.SetConfig(adaptiveCfg)
	assert.Equal(t, 0.1, r2.cfg.maxp[0].maxp, "maxp restarts from the configured value")
}

// The same seed gives the same decisions; another seed, other decisions.
func TestREDSeed(t *testing.T) {
	run := func(seed uint64) []Verdict {
		r := newTestRED(t, REDParams{TxTime: time.Microsecond, Seed: seed,
			Profiles: []REDProfile{{MinTh: 10, MaxTh: 30}}})
		var vs []Verdict
		for i := 0; i < 500; i++ {
			r.avg = 25
			vs = append(vs, r.Enqueue(1, Packet{Len: 1500}, Backlog{Packets: 25, Bytes: 1}))
		}
		return vs
	}
	assert.Equal(t, run(1), run(1))
	assert.NotEqual(t, run(1), run(2))
}

// SetConfig keeps the average unless the unit changes.
func TestREDSetConfig(t *testing.T) {
	p := REDParams{TxTime: time.Microsecond, Profiles: []REDProfile{{MinTh: 10, MaxTh: 30}}}
	r := newTestRED(t, p)
	r.avg = 12
	p.Profiles = []REDProfile{{MinTh: 5, MaxTh: 8}}
	cfg, err := NewREDConfig(p)
	require.NoError(t, err)
	r.SetConfig(cfg)
	assert.Equal(t, 12.0, r.avg)
	assert.Equal(t, Drop, r.Enqueue(1, Packet{}, Backlog{Packets: 12, Bytes: 1}))
	p.Unit = REDBytes
	cfg, err = NewREDConfig(p)
	require.NoError(t, err)
	r.SetConfig(cfg)
	assert.Zero(t, r.avg)
}

// runREDCompare drives the fast RED and the float64 reference with the same pattern
// and requires identical decisions and the same average and maxp at the end.
func runREDCompare(t testing.TB, p REDParams, next func() (tick, bool), linkBps float64) []decision {
	t.Helper()
	cfg, err := NewREDConfig(p)
	require.NoError(t, err)
	pol := NewRED(cfg)
	fast, _ := pol.(*RED)
	ared, adaptive := pol.(*AdaptiveRED)
	if adaptive {
		fast = &ared.RED
	}
	ref := newRefRED(p)
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
			require.Equal(t, Pass, pol.Dequeue(now, pk.packet(), fq.backlog()))
			sent := ref.depart(float64(now))
			require.NotNil(t, sent, "reference queue empty, fast one not")
			require.Equal(t, pk.id, sent.id)
			credit -= float64(pk.size)
		}
		for _, a := range tk.arrivals {
			pk := simPkt{id: id, enq: float64(now), size: a.size, ect: a.ect}
			id++
			v := pol.Enqueue(now, pk.packet(), fq.backlog())
			got = append(got, decision{pk.id, v})
			if v != Drop {
				fq.push(pk)
			}
			ref.arrive(pk, float64(now))
		}
	}
	requireSameDecisions(t, ref.out, got, "red")
	if adaptive { // periods after the last arrival: the fast side runs them at the next one
		ared.adapt(now, fq.len() == 0)
		ref.advance(float64(now))
	}
	if ref.avg != 0 || fast.avg != 0 {
		require.InEpsilon(t, ref.avg, fast.avg, 1e-9, "average")
	}
	require.InEpsilon(t, ref.maxp, fast.cfg.maxp[0].maxp, 1e-12, "maxp")
	drops, marks := countVerdicts(got)
	s := pol.Snapshot()
	require.Equal(t, uint64(drops), s.Drops)
	require.Equal(t, uint64(marks), s.Marks)
	return got
}

// The fast RED agrees decision by decision with the float64 reference over random
// patterns, for every option, in packets and in bytes.
func TestREDMatchesReference(t *testing.T) {
	pk := []REDProfile{{MinTh: 20, MaxTh: 60, MaxPInv: 10}}
	by := []REDProfile{{MinTh: 20000, MaxTh: 60000, MaxPInv: 20}}
	params := []REDParams{
		{Profiles: pk, Seed: 1},
		{Profiles: pk, Seed: 2, ECN: true},
		{Profiles: pk, Seed: 3, ECN: true, HardDrop: true},
		{Profiles: pk, Seed: 4, Gentle: true, WqLog2: 6},
		{Profiles: pk, Seed: 5, Adaptive: true},
		{Profiles: by, Seed: 6, Unit: REDBytes, Gentle: true, Adaptive: true, ECN: true, WqLog2: 4},
		{Profiles: by, Seed: 7, Unit: REDBytes, Adaptive: true, AdaptInterval: 50 * time.Millisecond, WqLog2: 3},
	}
	totalDrops, totalMarks := 0, 0
	for i, p := range params {
		p.LinkRate = 10e6
		for seed := uint64(1); seed <= 3; seed++ {
			ds := runREDCompare(t, p, genTicks(seed*13+uint64(i), 60e9, 10e6, nil), 10e6)
			d, m := countVerdicts(ds)
			totalDrops += d
			totalMarks += m
		}
	}
	t.Logf("drops %d, marks %d", totalDrops, totalMarks)
	require.Greater(t, totalDrops, 1000)
	require.Greater(t, totalMarks, 1000)
}

// FuzzRED runs the reference comparison on patterns built from fuzz bytes. The first
// byte picks the options.
func FuzzRED(f *testing.F) {
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
		o := data[0]
		p := REDParams{Profiles: []REDProfile{{MinTh: 4, MaxTh: 12, MaxPInv: 4}}, WqLog2: 3, LinkRate: 2e6,
			Seed: uint64(o), ECN: o&1 != 0, HardDrop: o&2 != 0, Gentle: o&4 != 0, Adaptive: o&8 != 0,
			AdaptInterval: 20 * time.Millisecond}
		if o&16 != 0 {
			p.Unit = REDBytes
			p.Profiles = []REDProfile{{MinTh: 3000, MaxTh: 9000, MaxPInv: 4}}
		}
		runREDCompare(t, p, fuzzTicks(data[1:]), 2e6)
	})
}
