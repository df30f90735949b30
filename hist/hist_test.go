package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// reference is the slow, obviously right histogram: every value kept, sorted on demand.
type reference struct{ v []int64 }

func (r *reference) record(v int64) { r.v = append(r.v, max(v, 0)) }

// quantile is the exact sample quantile with the package's rank convention.
func (r *reference) quantile(q float64) int64 {
	s := slices.Clone(r.v)
	slices.Sort(s)
	return s[rank(q, uint64(len(s)))-1]
}

func (r *reference) mean() float64 {
	var s float64
	for _, v := range r.v {
		s += float64(v)
	}
	return s / float64(len(r.v))
}

// within reports whether got is within the stated bound (1/128) of exact.
func within(got, exact int64) bool {
	return math.Abs(float64(got-exact))*128 <= float64(exact)
}

var quantiles = []float64{0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1}

func TestQuantilesOfKnownDistributions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() int64
	}{
		{"uniform", func() int64 { return rng.Int64N(1e9) }},
		{"exponential", func() int64 { return int64(rng.ExpFloat64() * 200e3) }},
		{"lognormal", func() int64 { return int64(math.Exp(math.Log(5e6) + rng.NormFloat64())) }},
		{"bimodal", func() int64 {
			if rng.IntN(2) == 0 {
				return int64(50e3 + rng.NormFloat64()*5e3)
			}
			return int64(20e6 + rng.NormFloat64()*1e6)
		}},
		{"constant", func() int64 { return 6_400_000 }},
		{"small", func() int64 { return rng.Int64N(300) }},
		{"minutes", func() int64 { return rng.Int64N(10 * 60e9) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ref reference
			h := new(Histogram)
			sh, viaPending := new(Shared), new(Shared)
			var pend Pending
			for k := range 20000 {
				v := tc.gen()
				ref.record(v)
				h.Record(v)
				sh.Record(v)
				pend.RecordN(v, 1)
				if k%777 == 0 {
					pend.Flush(viaPending)
				}
			}
			pend.Flush(viaPending)
			var sp, sp2 Sparse
			sh.Load(&sp)
			viaPending.Load(&sp2)
			require.Equal(t, sp, sp2, "Pending+Flush counts what Shared counts")
			require.Equal(t, uint64(20000), h.Count())
			require.Equal(t, uint64(20000), sp.Count())
			for _, q := range quantiles {
				exact := ref.quantile(q)
				require.True(t, within(h.Quantile(q), exact), "Histogram q=%g: got %d, exact %d", q, h.Quantile(q), exact)
				require.True(t, within(sp.Quantile(q), exact), "Sparse q=%g: got %d, exact %d", q, sp.Quantile(q), exact)
			}
			m := ref.mean()
			require.InDelta(t, m, h.Mean(), m/128, "Histogram mean")
			require.InDelta(t, m, sp.Mean(), m/128, "Sparse mean")
			require.Equal(t, ref.quantile(0), h.Min())
			require.Equal(t, ref.quantile(1), h.Max())
			// Sparse's Min and Max are the outer bounds of the end buckets: within 1/64.
			require.LessOrEqual(t, sp.Min(), h.Min())
			require.LessOrEqual(t, (h.Min()-sp.Min())*Sub, h.Min())
			require.GreaterOrEqual(t, sp.Max(), h.Max())
			require.LessOrEqual(t, (sp.Max()-h.Max())*Sub, h.Max())
		})
	}
}

// TestSixPointFourMilliseconds: a p50 of 6.4 ms reads as 6.4 ms within 1%, close
// enough to compare with a 5 ms CoDel target.
func TestSixPointFourMilliseconds(t *testing.T) {
	var sh Shared
	sh.RecordN(6_400_000, 1000)
	var sp Sparse
	sh.Load(&sp)
	require.InDelta(t, 6.4e6, float64(sp.Quantile(0.5)), 6.4e6/100)
	require.InDelta(t, 6.4e6, float64(sp.Quantile(0.99)), 6.4e6/100)
}

func TestIndexBoundsRoundTrip(t *testing.T) {
	prevHi := int64(0)
	for i := range NumBuckets {
		lo, hi := Bounds(i)
		require.Equal(t, prevHi, lo, "bucket %d starts where %d ended", i, i-1)
		require.Less(t, lo, hi)
		require.Equal(t, i, Index(lo), "lo of %d", i)
		require.Equal(t, i, Index(hi-1), "hi-1 of %d", i)
		require.LessOrEqual(t, hi-lo, max(1, lo/Sub), "bucket %d [%d,%d) wider than lo/%d", i, lo, hi, Sub)
		prevHi = hi
	}
	require.Equal(t, MaxValue+1, prevHi, "the buckets end at MaxValue")
	require.Equal(t, NumBuckets, Index(MaxValue+1), "Pending's overflow slot")
	require.GreaterOrEqual(t, MaxValue, int64(10*60e9), "at least 10 minutes of ns")
}

func FuzzIndexBounds(f *testing.F) {
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 6_400_000, MaxValue, MaxValue + 1, -1, math.MaxInt64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		v, ok := clamp(v)
		if !ok {
			v = MaxValue
		}
		i := Index(v)
		if i < 0 || i >= NumBuckets {
			t.Fatalf("Index(%d) = %d, out of [0,%d)", v, i, NumBuckets)
		}
		lo, hi := Bounds(i)
		if v < lo || v >= hi {
			t.Fatalf("v=%d not in bucket %d [%d,%d)", v, i, lo, hi)
		}
		if !within(mid(i), v) {
			t.Fatalf("middle %d of bucket %d more than 1/128 from %d", mid(i), i, v)
		}
	})
}

func TestOverflowAndNegative(t *testing.T) {
	h := new(Histogram)
	h.Record(-5)
	h.Record(MaxValue)
	h.RecordN(MaxValue+1, 3)
	require.Equal(t, uint64(5), h.Count())
	require.Equal(t, uint64(3), h.Overflow())
	require.Equal(t, uint64(1), h.BucketCount(0), "negative counts as 0")
	require.Equal(t, int64(0), h.Quantile(0))
	require.Equal(t, MaxValue+1, h.Quantile(1), "overflow answers Max")
	var sh Shared
	sh.Record(-5)
	sh.RecordN(MaxValue+1, 3)
	var sp Sparse
	sh.Load(&sp)
	require.Equal(t, uint64(3), sp.Overflow)
	require.Equal(t, MaxValue+1, sp.Quantile(0.9))
	require.Equal(t, int64(0), sp.Quantile(0.1))
	var empty Histogram
	require.Zero(t, empty.Quantile(0.5))
	require.Zero(t, empty.Mean())
	require.Zero(t, (&Sparse{}).Quantile(0.5))
}

// TestPendingFlush: nothing is visible before Flush; overflow and negative values are
// counted like the buckets; a second Flush adds nothing.
func TestPendingFlush(t *testing.T) {
	var sh Shared
	var p Pending
	var sp Sparse
	p.RecordN(1000, 1<<40)
	p.RecordN(1000, 1)
	p.RecordN(MaxValue+1, 5)
	p.RecordN(math.MaxInt64, 1)
	p.RecordN(-3, 2)
	sh.Load(&sp)
	require.Zero(t, sp.Count(), "nothing visible before Flush")
	p.Flush(&sh)
	sh.Load(&sp)
	require.Equal(t, []Bucket{{Lo: 0, Hi: 1, Count: 2}, {Lo: 1000, Hi: 1008, Count: 1<<40 + 1}}, sp.Buckets)
	require.Equal(t, uint64(6), sp.Overflow)
	p.Flush(&sh) // empty: changes nothing
	var again Sparse
	sh.Load(&again)
	require.Equal(t, sp, again)
	p.RecordN(1001, 2)
	p.Flush(&sh)
	sh.Load(&sp)
	require.Equal(t, []Bucket{{Lo: 0, Hi: 1, Count: 2}, {Lo: 1000, Hi: 1008, Count: 1<<40 + 3}}, sp.Buckets)
}

func TestMergeEqualsRecordingBoth(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, b, both := new(Histogram), new(Histogram), new(Histogram)
	for i := range 5000 {
		v := int64(rng.ExpFloat64() * 1e6)
		if i%3 == 0 {
			v = MaxValue + v // some overflow
		}
		both.Record(v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(b)
	require.Equal(t, both, a)
	a.Reset()
	require.Equal(t, new(Histogram), a)
	a.Merge(both)
	require.Equal(t, both, a, "merge into empty")
}

// TestSubIsTheInterval: the difference of two reads of a Shared is exactly the
// histogram of the values recorded between them.
func TestSubIsTheInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var sh Shared
	var before, after, diff, want Sparse
	for range 3000 {
		sh.Record(int64(rng.ExpFloat64() * 1e6))
	}
	sh.Load(&before)
	between := new(Histogram)
	for range 2000 {
		v := int64(rng.ExpFloat64() * 5e6)
		sh.Record(v)
		between.Record(v)
	}
	sh.RecordN(MaxValue+9, 2)
	between.RecordN(MaxValue+9, 2)
	sh.Load(&after)
	diff.Sub(&after, &before)
	between.Sparse(&want)
	require.Equal(t, want, diff)
	back := new(Histogram)
	diff.Add(back)
	require.Equal(t, between.Count(), back.Count())
	for i := range NumBuckets {
		require.Equal(t, between.BucketCount(i), back.BucketCount(i))
	}
}

// TestSharedConcurrentReads: a reader loading while the owner records sees every
// bucket never decrease and finally everything (run with -race).
func TestSharedConcurrentReads(t *testing.T) {
	var sh Shared
	const n = 100000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			sh.Record(int64(i%5000) * 997)
		}
	}()
	var prev, cur, d Sparse
	for range 200 {
		sh.Load(&cur)
		d.Sub(&prev, &cur) // prev - cur: empty unless a bucket went down
		require.Empty(t, d.Buckets, "a bucket decreased")
		prev, cur = cur, prev
	}
	wg.Wait()
	sh.Load(&cur)
	require.Equal(t, uint64(n), cur.Count())
}

func TestNoAllocs(t *testing.T) {
	h := new(Histogram)
	sh := new(Shared)
	var sp Sparse
	for i := range NumBuckets {
		lo, _ := Bounds(i)
		sh.Record(lo)
	}
	sh.Load(&sp) // grown once
	var pend Pending
	var sink int64
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Histogram.Record", func() { h.Record(6_400_000) }},
		{"Histogram.RecordN", func() { h.RecordN(123456789, 7) }},
		{"Shared.RecordN", func() { sh.RecordN(6_400_000, 3) }},
		{"Shared.Load", func() { sh.Load(&sp) }},
		{"Pending.RecordN+Flush", func() { pend.RecordN(6_400_000, 3); pend.RecordN(77, 1); pend.Flush(sh) }},
		{"Sparse.Quantile", func() { sink += sp.Quantile(0.99) }},
		{"Histogram.Quantile", func() { sink += h.Quantile(0.5) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Zero(t, testing.AllocsPerRun(1000, tc.f))
		})
	}
	_ = sink
}

func benchValues() []int64 {
	rng := rand.New(rand.NewPCG(9, 10))
	v := make([]int64, 1024)
	for i := range v {
		v[i] = int64(math.Exp(math.Log(1e6) + 2*rng.NormFloat64()))
	}
	return v
}

func BenchmarkRecord(b *testing.B) {
	v := benchValues()
	b.Run("Histogram", func(b *testing.B) {
		h := new(Histogram)
		b.ReportAllocs()
		for i := range b.N {
			h.Record(v[i&1023])
		}
	})
	b.Run("Shared", func(b *testing.B) {
		h := new(Shared)
		b.ReportAllocs()
		for i := range b.N {
			h.Record(v[i&1023])
		}
	})
	b.Run("Pending", func(b *testing.B) {
		var p Pending
		b.ReportAllocs()
		for i := range b.N {
			p.RecordN(v[i&1023], 1)
		}
	})
	// Flush after every 1024 values, as Publish does every PublishEvery iterations.
	b.Run("Pending+Flush/1024", func(b *testing.B) {
		h := new(Shared)
		var p Pending
		b.ReportAllocs()
		for i := range b.N {
			p.RecordN(v[i&1023], 1)
			if i&1023 == 1023 {
				p.Flush(h)
			}
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	h := new(Shared)
	for _, x := range benchValues() {
		h.Record(x)
	}
	var sp Sparse
	b.ReportAllocs()
	for range b.N {
		h.Load(&sp)
	}
}
