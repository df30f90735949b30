package voq

import "math/bits"

// NumBuckets is the number of sojourn-histogram buckets. Bucket 0 holds sojourns below
// 1024 ns (about 1 µs); bucket k >= 1 holds [1024<<(k-1), 1024<<k) ns, so bucket 26
// ends at 2^36 ns (68.7 s) and the last bucket, 27, collects everything longer. A
// queue nobody drains for a minute is broken anyway; finer resolution than a factor
// of two is not worth a second histogram update per packet.
const NumBuckets = 28

// Histogram counts sojourn times on a log2 scale. Adding is one bits.Len64 and one
// increment; quantiles are computed on the reader's side.
type Histogram struct {
	Buckets [NumBuckets]uint64
}

func bucketOf(ns int64) int {
	if ns < 0 {
		ns = 0 // a clock step backwards must not index out of range
	}
	b := bits.Len64(uint64(ns) >> 10)
	if b >= NumBuckets {
		b = NumBuckets - 1
	}
	return b
}

func (h *Histogram) add(ns int64) { h.Buckets[bucketOf(ns)]++ }

// addN counts n samples of ns.
func (h *Histogram) addN(ns int64, n int) { h.Buckets[bucketOf(ns)] += uint64(n) }

// BucketBounds returns bucket k's range [lo, hi) in ns; hi is -1 for the open last bucket.
func BucketBounds(k int) (lo, hi int64) {
	if k <= 0 {
		return 0, 1024
	}
	lo = 1024 << (k - 1)
	if k >= NumBuckets-1 {
		return lo, -1
	}
	return lo, 1024 << k
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, b := range h.Buckets {
		n += b
	}
	return n
}

// Quantile returns an estimate of the q-quantile (0 < q <= 1; p99 is 0.99) in ns,
// interpolating linearly inside the bucket that holds it; the open last bucket
// answers its lower bound. An empty histogram answers 0.
func (h *Histogram) Quantile(q float64) int64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	if q > 1 {
		q = 1
	}
	rank := q * float64(n)
	var cum float64
	for k, b := range h.Buckets {
		if b == 0 {
			continue
		}
		if cum+float64(b) >= rank {
			lo, hi := BucketBounds(k)
			if hi < 0 {
				return lo
			}
			f := (rank - cum) / float64(b)
			if f < 0 {
				f = 0
			}
			return lo + int64(f*float64(hi-lo))
		}
		cum += float64(b)
	}
	lo, _ := BucketBounds(NumBuckets - 1)
	return lo
}
