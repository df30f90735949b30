package hist

// Sparse is a histogram's compact form: its non-empty buckets, in increasing order,
// and its overflow count. It is what readers keep, subtract and publish; the API's
// bucket lists are this form. Its quantiles carry the same bound as Histogram's.
type Sparse struct {
	Buckets  []Bucket // non-empty, increasing, each a bucket of this package's layout
	Overflow uint64   // values above MaxValue
}

// Reset empties s, keeping its slice for reuse.
func (s *Sparse) Reset() {
	s.Buckets = s.Buckets[:0]
	s.Overflow = 0
}

// Count is the number of values, overflow included.
func (s *Sparse) Count() uint64 {
	n := s.Overflow
	for _, b := range s.Buckets {
		n += b.Count
	}
	return n
}

// Min is the lower bound of the lowest non-empty bucket (MaxValue+1 when only overflow
// counts; 0 when empty): within 1/64 below the smallest value.
func (s *Sparse) Min() int64 {
	if len(s.Buckets) == 0 {
		if s.Overflow != 0 {
			return MaxValue + 1
		}
		return 0
	}
	return s.Buckets[0].Lo
}

// Max is the largest value the highest non-empty bucket holds (MaxValue+1 when any
// overflow counts; 0 when empty): within 1/64 above the largest value.
func (s *Sparse) Max() int64 {
	if s.Overflow != 0 {
		return MaxValue + 1
	}
	if len(s.Buckets) == 0 {
		return 0
	}
	return s.Buckets[len(s.Buckets)-1].Hi - 1
}

// middle is the value that stands for a bucket's values.
func (b Bucket) middle() int64 { return b.Lo + (b.Hi-1-b.Lo)/2 }

// Mean is the mean with each value taken as its bucket's middle (overflowed values as
// MaxValue+1): within 1/128 of the exact mean below MaxValue. 0 when empty.
func (s *Sparse) Mean() float64 {
	n := s.Count()
	if n == 0 {
		return 0
	}
	return s.Sum() / float64(n)
}

// Sum is the sum of the values, each taken as its bucket's middle (overflowed values as
// MaxValue+1): within 1/128 of the exact sum below MaxValue.
func (s *Sparse) Sum() float64 {
	var sum float64
	for _, b := range s.Buckets {
		sum += float64(b.Count) * float64(b.middle())
	}
	return sum + float64(s.Overflow)*float64(MaxValue+1)
}

// Quantile returns the q-quantile (0 <= q <= 1): the middle of the bucket holding the
// exact sample quantile, so within 1/128 of it. A quantile among overflowed values
// answers MaxValue+1 (a lower bound); an empty histogram answers 0.
func (s *Sparse) Quantile(q float64) int64 {
	n := s.Count()
	if n == 0 {
		return 0
	}
	r := rank(q, n)
	var cum uint64
	for _, b := range s.Buckets {
		cum += b.Count
		if cum >= r {
			return b.middle()
		}
	}
	return MaxValue + 1
}

// Sub stores cur - prev in s (the values recorded between two reads of the same
// cumulative histogram), reusing s's slice; s must not share cur's or prev's slices.
// A bucket prev holds more of than cur (not a later read of the same histogram)
// counts 0.
func (s *Sparse) Sub(cur, prev *Sparse) {
	s.Buckets = s.Buckets[:0]
	j := 0
	for _, b := range cur.Buckets {
		for j < len(prev.Buckets) && prev.Buckets[j].Lo < b.Lo {
			j++
		}
		if j < len(prev.Buckets) && prev.Buckets[j].Lo == b.Lo {
			if prev.Buckets[j].Count >= b.Count {
				continue
			}
			b.Count -= prev.Buckets[j].Count
		}
		s.Buckets = append(s.Buckets, b)
	}
	s.Overflow = 0
	if cur.Overflow > prev.Overflow {
		s.Overflow = cur.Overflow - prev.Overflow
	}
}

// Add records every value of s into h.
func (s *Sparse) Add(h *Histogram) {
	for _, b := range s.Buckets {
		h.RecordN(b.Lo, b.Count)
	}
	if s.Overflow != 0 {
		h.RecordN(MaxValue+1, s.Overflow)
	}
}
