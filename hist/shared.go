package hist

import (
	"math/bits"
	"sync/atomic"
)

// Shared is a histogram with one writer (its owner goroutine) and any number of
// concurrent readers, without a lock: every bucket is an atomic counter that only the
// owner stores to, and readers load. A reader's copy (Load) is not one instant of the
// histogram, but every bucket it reads is at least as new as in any earlier Load, so
// the difference of two Loads (Sparse.Sub) counts each value in exactly one interval.
//
// Readers visit only the Sub-bucket groups that ever counted a value (a bit each in
// used), so copying a histogram whose values span a few powers of two costs a few
// hundred loads, not NumBuckets. Create it with new(Shared); about 18 KB.
type Shared struct {
	used     atomic.Uint64 // bit g: some bucket in [g·Sub, (g+1)·Sub) has counted
	overflow atomic.Uint64
	counts   [NumBuckets]atomic.Uint64
}

// RecordN counts n values equal to v. Owner goroutine only. It does not allocate; on
// amd64 it costs one locked store (an atomic store is an exchange there) plus, the
// first time a group is used, one locked or: an owner that records often should count
// into a Pending and Flush it when it publishes.
func (s *Shared) RecordN(v int64, n uint64) {
	if v < 0 {
		v = 0
	}
	if v > MaxValue {
		s.overflow.Store(s.overflow.Load() + n)
		return
	}
	i := Index(v)
	c := &s.counts[i]
	c.Store(c.Load() + n) // single writer: no read-modify-write race
	// The count is stored before the bit, so a reader that sees the bit sees the count.
	if bit := uint64(1) << (uint(i) >> SubBits); s.used.Load()&bit == 0 {
		s.used.Or(bit)
	}
}

// Record counts one value. Owner goroutine only.
func (s *Shared) Record(v int64) { s.RecordN(v, 1) }

// Load stores s's non-empty buckets in dst, reusing dst's slice (it grows, and so
// allocates, only when s has more non-empty buckets than dst ever held). Safe from any
// goroutine.
func (s *Shared) Load(dst *Sparse) {
	dst.Buckets = dst.Buckets[:0]
	for used := s.used.Load(); used != 0; used &= used - 1 {
		g := bits.TrailingZeros64(used)
		for i := g * Sub; i < (g+1)*Sub; i++ {
			if c := s.counts[i].Load(); c != 0 {
				lo, hi := Bounds(i)
				dst.Buckets = append(dst.Buckets, Bucket{Lo: lo, Hi: hi, Count: c})
			}
		}
	}
	dst.Overflow = s.overflow.Load()
}

// Pending is an owner's counts not yet added to its Shared: recording into it is a
// plain add and a bit set, with no branch to mispredict and small enough to be inlined,
// and Flush (at publication) adds only the buckets that changed since the last Flush,
// one atomic store each. About 18 KB. The zero value is ready.
type Pending struct {
	counts [NumBuckets + 1]uint64 // the last one, Index(MaxValue+1), counts values above MaxValue
	dirty  [dirtyWords]uint64     // bit i%64 of word i/64: counts[i] != 0
}

const dirtyWords = (NumBuckets + 1 + 63) / 64

// RecordN counts n values equal to v. It does not allocate.
func (p *Pending) RecordN(v int64, n uint64) {
	i := Index(min(max(v, 0), MaxValue+1))
	p.counts[i] += n
	p.dirty[uint(i)>>6] |= 1 << (uint(i) & 63)
}

// Flush adds p's counts to s and empties p. Owner goroutine only.
func (p *Pending) Flush(s *Shared) {
	var used uint64
	for w := range p.dirty {
		for d := p.dirty[w]; d != 0; d &= d - 1 {
			i := w<<6 + bits.TrailingZeros64(d)
			n := p.counts[i]
			p.counts[i] = 0
			if i == NumBuckets {
				s.overflow.Store(s.overflow.Load() + n)
				continue
			}
			c := &s.counts[i]
			c.Store(c.Load() + n)
			used |= 1 << (uint(i) >> SubBits)
		}
		p.dirty[w] = 0
	}
	if u := s.used.Load(); u|used != u {
		s.used.Or(used) // after the counts, so a reader that sees the bit sees them
	}
}
