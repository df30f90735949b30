// Package hist is a log-linear ("high dynamic range") histogram of int64 values, made
// for latencies in nanoseconds.
//
// Layout: values below 2·Sub (128) have a bucket each; above, every power-of-two range
// [2^e, 2^(e+1)) is split into Sub (64) equal buckets, so a bucket [lo, hi) is never
// wider than lo/64. Quantile answers the middle of the bucket that holds the exact
// sample quantile, so it is within 1/128 (0.78%) of it: |Quantile(q) - exact| <=
// exact/128. Mean is within the same bound. Values from 0 to MaxValue (2^40-1 ns,
// 18.3 minutes) are counted in NumBuckets (2240) buckets; larger values are counted in
// an overflow count (Overflow) and rank above every bucket; negative values count as 0
// (a clock stepping back must not index out of range).
//
// Histogram is the plain, single-goroutine form (Record is one bits.Len64, a shift and
// an increment). Shared is the form readers copy while its owner goroutine writes it:
// its buckets are atomic counters with one writer, and readers visit only the
// power-of-two ranges that were ever used. Pending is the owner's side of a Shared:
// plain deltas and a bitmap of the buckets that changed, which Flush adds to the
// Shared, so a publication costs one atomic store per changed bucket and recording
// costs no locked instruction. Sparse is the compact form readers keep and publish:
// the non-empty buckets with their bounds, in order.
//
// Measure: go test -run '^$' -bench . ./hist
package hist

import (
	"math"
	"math/bits"
)

const (
	// SubBits is log2 of the sub-buckets per power of two.
	SubBits = 6
	// Sub is the number of linear sub-buckets per power of two.
	Sub = 1 << SubBits
	// octaves is how many shifts cover MaxValue: values >> (SubBits+1) < 2^33.
	octaves = 33
	// NumBuckets is the number of buckets: 2·Sub unit buckets, then Sub per shift.
	NumBuckets = (octaves + 2) * Sub
	// MaxValue is the largest value a bucket holds (2^40-1 ns ≈ 18.3 min).
	MaxValue = int64(1)<<(SubBits+1+octaves) - 1
	// groups is the number of Sub-wide bucket groups (Shared's occupancy mask bits).
	groups = NumBuckets / Sub
)

// Shared's occupancy mask is one word.
var _ [64 - groups]struct{}

// Index returns the bucket holding v, which must be in [0, MaxValue]. It has no
// branch: m is 0 below 2·Sub and otherwise the shift that brings v into [Sub, 2·Sub).
func Index(v int64) int {
	u := uint64(v)
	m := uint(bits.Len64(u >> (SubBits + 1)))
	return int(m<<SubBits) + int(u>>m)
}

// Bounds returns bucket i's range [lo, hi): every value v with lo <= v < hi has
// Index(v) == i.
func Bounds(i int) (lo, hi int64) {
	if i < 2*Sub {
		return int64(i), int64(i) + 1
	}
	m := uint(i>>SubBits) - 1
	s := int64(i - int(m<<SubBits)) // in [Sub, 2·Sub)
	return s << m, (s + 1) << m
}

// mid is the value Quantile answers for bucket i: the middle of its integer range.
func mid(i int) int64 {
	lo, hi := Bounds(i)
	return lo + (hi-1-lo)/2
}

// clamp maps a value to the bucket range: negative to 0; ok is false above MaxValue.
func clamp(v int64) (int64, bool) {
	if v < 0 {
		return 0, true
	}
	return v, v <= MaxValue
}

// Histogram counts values in NumBuckets log-linear buckets. The zero value is empty
// and ready; it is about 18 KB, so keep it behind a pointer. Not safe for concurrent
// use (see Shared).
type Histogram struct {
	counts   [NumBuckets]uint64
	n        uint64 // values recorded, overflow included
	overflow uint64
	min, max int64 // valid when n > 0
}

// Record counts one value. It does not allocate.
func (h *Histogram) Record(v int64) { h.RecordN(v, 1) }

// RecordN counts n values equal to v.
func (h *Histogram) RecordN(v int64, n uint64) {
	if n == 0 {
		return
	}
	if v < 0 {
		v = 0
	}
	if h.n == 0 {
		h.min, h.max = v, v
	} else {
		h.min, h.max = min(h.min, v), max(h.max, v)
	}
	h.n += n
	if v > MaxValue {
		h.overflow += n
		return
	}
	h.counts[Index(v)] += n
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 {
		h.min, h.max = o.min, o.max
	} else {
		h.min, h.max = min(h.min, o.min), max(h.max, o.max)
	}
	h.n += o.n
	h.overflow += o.overflow
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of values recorded, overflow included.
func (h *Histogram) Count() uint64 { return h.n }

// Overflow is the number of values above MaxValue.
func (h *Histogram) Overflow() uint64 { return h.overflow }

// Min is the smallest value recorded (negative values count as 0); 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Max is the largest value recorded; 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// BucketCount is bucket i's count.
func (h *Histogram) BucketCount(i int) uint64 { return h.counts[i] }

// Mean is the mean of the values, each taken as its bucket's middle (overflowed
// values as MaxValue): within 1/128 of the exact mean below MaxValue. 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	var s float64
	for i, c := range h.counts {
		if c != 0 {
			s += float64(c) * float64(mid(i))
		}
	}
	s += float64(h.overflow) * float64(MaxValue)
	return s / float64(h.n)
}

// rank is the 1-based rank of the q-quantile of n values: the smallest r with
// r >= q·n, at least 1. The exact q-quantile of sorted values x is x[rank-1].
func rank(q float64, n uint64) uint64 {
	if q <= 0 || math.IsNaN(q) {
		return 1
	}
	if q >= 1 {
		return n
	}
	r := uint64(math.Ceil(q * float64(n)))
	return max(r, 1)
}

// Quantile returns the q-quantile (0 <= q <= 1; p99 is 0.99): the middle of the bucket
// holding the exact sample quantile, clamped to [Min, Max], so within 1/128 of it. A
// quantile among the overflowed values answers Max. An empty histogram answers 0.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	r := rank(q, h.n)
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if c != 0 && cum >= r {
			return min(max(mid(i), h.min), h.max)
		}
	}
	return h.max
}

// Bucket is one non-empty bucket: Count values v with Lo <= v < Hi.
type Bucket struct {
	Lo, Hi int64
	Count  uint64
}

// Buckets appends h's non-empty buckets to dst in increasing order and returns it.
func (h *Histogram) Buckets(dst []Bucket) []Bucket {
	for i, c := range h.counts {
		if c != 0 {
			lo, hi := Bounds(i)
			dst = append(dst, Bucket{Lo: lo, Hi: hi, Count: c})
		}
	}
	return dst
}

// Sparse stores h's compact form in dst, reusing dst's slice.
func (h *Histogram) Sparse(dst *Sparse) {
	dst.Buckets = h.Buckets(dst.Buckets[:0])
	dst.Overflow = h.overflow
}
