package api

import (
	"time"

	"github.com/dpdkq/dpdkq/hist"
)

// SojournBucket is one non-empty bucket of a queue's sojourn histogram: Count packets
// whose sojourn s was Lo <= s <= Le. The buckets are the dataplane's own (package
// hist: 1 ns wide below 128 ns, then 64 per power of two, so a bucket is at most 1/64
// of its Lo wide and a percentile taken from it is within 1/128, 0.78%, of the exact
// one). Le is -1 for the open bucket of sojourns above 2^40-1 ns (18.3 min).
type SojournBucket struct {
	Lo    time.Duration `json:"lo_ns"`
	Le    time.Duration `json:"le_ns"`
	Count uint64        `json:"count"`
}

// SojournBuckets returns the JSON form of a histogram: its non-empty buckets in
// increasing order, the overflow last; nil when empty.
func SojournBuckets(s *hist.Sparse) []SojournBucket {
	if len(s.Buckets) == 0 && s.Overflow == 0 {
		return nil
	}
	out := make([]SojournBucket, 0, len(s.Buckets)+1)
	for _, b := range s.Buckets {
		out = append(out, SojournBucket{Lo: time.Duration(b.Lo), Le: time.Duration(b.Hi - 1), Count: b.Count})
	}
	if s.Overflow != 0 {
		out = append(out, SojournBucket{Lo: time.Duration(hist.MaxValue + 1), Le: -1, Count: s.Overflow})
	}
	return out
}

// SojournSparse stores buckets (laid out like QueueFigures.SojournBuckets) in dst,
// reusing its slice.
func SojournSparse(buckets []SojournBucket, dst *hist.Sparse) {
	dst.Reset()
	for _, b := range buckets {
		if b.Le < 0 {
			dst.Overflow += b.Count
			continue
		}
		if b.Count != 0 {
			dst.Buckets = append(dst.Buckets, hist.Bucket{Lo: int64(b.Lo), Hi: int64(b.Le) + 1, Count: b.Count})
		}
	}
}

// SojournQuantile returns the q-quantile (0 <= q <= 1) of a histogram laid out like
// QueueFigures.SojournBuckets, for example a SojournDelta: the middle of the bucket
// that holds it (within 1/128 of the exact sample quantile for the dataplane's
// buckets). A quantile in the open bucket answers its Lo; an empty histogram answers 0.
func SojournQuantile(buckets []SojournBucket, q float64) time.Duration {
	var s hist.Sparse
	SojournSparse(buckets, &s)
	return time.Duration(s.Quantile(q))
}

// SojournDelta returns cur - prev for two reads of the same queue's histogram: the
// sojourns of the packets dequeued in between; nil when there are none. A bucket that
// went down (a counter reset) counts nothing.
func SojournDelta(cur, prev []SojournBucket) []SojournBucket {
	var c, p, d hist.Sparse
	SojournSparse(cur, &c)
	SojournSparse(prev, &p)
	d.Sub(&c, &p)
	return SojournBuckets(&d)
}

// SojournPromBounds are the upper bounds (Prometheus's le) of dpdkq_queue_sojourn_seconds:
// 1, 2 and 5 times each power of ten from 1 µs to 500 s, which brackets a CoDel
// target (5 ms) and interval (100 ms) as they are usually set. Each dataplane bucket
// counts under the smallest bound at or above its Le, so a sojourn within 1/64 below a
// bound may count under the next one.
var SojournPromBounds = func() []time.Duration {
	var b []time.Duration
	for p := time.Microsecond; p <= 100*time.Second; p *= 10 {
		b = append(b, p, 2*p, 5*p)
	}
	return b
}()
