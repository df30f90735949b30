package api

import (
	"time"

	"github.com/dpdkq/dpdkq/voq"
)

// SojournBucket returns the range [lo, hi) of QueueFigures.SojournBuckets[i]; hi is -1
// for the last bucket, which is open. The bounds are the dataplane's own (voq's log2
// buckets: below 1.024 µs, then doubling up to 2^36 ns ≈ 68.7 s), so the API, the CLI
// and Prometheus all cut the histogram exactly where the router counted it.
func SojournBucket(i int) (lo, hi time.Duration) {
	l, h := voq.BucketBounds(i)
	return time.Duration(l), time.Duration(h)
}

// SojournBounds returns the upper bound of every closed bucket, in order: bucket i
// counts sojourns below SojournBounds()[i] and at or above the bound before it (0 for
// bucket 0). The open last bucket has no entry; it is Prometheus's +Inf bucket.
func SojournBounds() []time.Duration {
	b := make([]time.Duration, voq.NumBuckets-1)
	for i := range b {
		_, hi := SojournBucket(i)
		b[i] = hi
	}
	return b
}

// SojournQuantile estimates the q-quantile (0 < q <= 1) of a sojourn histogram laid out
// like QueueFigures.SojournBuckets, for example the difference of two snapshots. It
// interpolates inside the bucket like the dataplane does for SojournP50/P99; an empty
// histogram answers 0. Entries past the dataplane's bucket count join the open bucket.
func SojournQuantile(buckets []uint64, q float64) time.Duration {
	var h voq.Histogram
	for i, n := range buckets {
		h.Buckets[min(i, voq.NumBuckets-1)] += n
	}
	return time.Duration(h.Quantile(q))
}
