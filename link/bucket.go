// Package link models what a physical link does to packets, in pure Go with time as a
// parameter: a token bucket (Bucket), the egress shaper built on it (Shaper) and a fixed
// propagation delay (DelayLine). The dataplane uses them to make a virtual device behave
// like a slow, long link; voq uses Bucket for per-class rates and hybrid for the off-chip
// memory bandwidth. Nothing here allocates after construction.
package link

import (
	"math"
	"math/bits"
)

// nano is the token unit: tokens are kept in nanobits (bits x 1e9), so refilling dt ns
// at r bits/s adds exactly dt*r tokens — an integer product with no rounding drift at any
// rate from 1 b/s to 1 Tb/s and any interval (the product is checked for overflow).
const nano = 8e9 // nanobits per byte

// MaxDepthBytes is the largest bucket depth: 2^30 bytes, whose nanobits fit an int64.
const MaxDepthBytes = 1 << 30

// Bucket is a token bucket of a rate in bits/s and a depth in bytes. It starts full. The
// balance may go negative (debt): a holder that lets a packet go while the balance is
// positive and charges it afterwards makes the next packets wait until the debt is repaid,
// so over any long interval what is charged is rate*time + depth, within one packet.
// A zero rate means unlimited: Positive is always true and Charge does nothing.
type Bucket struct {
	rate   uint64 // bits/s; 0 = unlimited
	depth  int64  // nanobits
	tokens int64  // nanobits; may be negative
	last   int64  // ns of the last refill
}

// NewBucket returns a full bucket of rateBps bits/s (rounded to a whole bit/s) and
// depthBytes (clamped to 1..MaxDepthBytes).
func NewBucket(rateBps float64, depthBytes int) Bucket {
	var b Bucket
	b.Set(rateBps, depthBytes)
	b.tokens = b.depth
	return b
}

// Set changes rate and depth, keeping the current balance (clamped to the new depth).
func (b *Bucket) Set(rateBps float64, depthBytes int) {
	b.rate = 0
	if rateBps > 0 {
		b.rate = uint64(math.Round(rateBps))
	}
	b.depth = nanobits(depthBytes)
	if b.tokens > b.depth {
		b.tokens = b.depth
	}
}

func nanobits(bytes int) int64 {
	if bytes < 1 {
		bytes = 1
	}
	if bytes > MaxDepthBytes {
		bytes = MaxDepthBytes
	}
	return int64(bytes) * nano
}

// Unlimited reports whether the bucket has no rate (never limits).
func (b *Bucket) Unlimited() bool { return b.rate == 0 }

// RateBps is the configured rate in bits/s (0 = unlimited).
func (b *Bucket) RateBps() float64 { return float64(b.rate) }

// DepthBytes is the configured depth in bytes.
func (b *Bucket) DepthBytes() int { return int(b.depth / nano) }

// Refill adds the tokens earned since the last refill, up to the depth. A clock that
// stands still or goes backwards adds nothing.
func (b *Bucket) Refill(now int64) { b.refillTo(now, b.depth) }

// RefillUpTo is Refill with a higher ceiling of limitBytes (at least the depth, at most
// MaxDepthBytes): a holder that was kept from sending may bank more than the depth.
func (b *Bucket) RefillUpTo(now int64, limitBytes int) {
	l := nanobits(limitBytes)
	if l < b.depth {
		l = b.depth
	}
	b.refillTo(now, l)
}

func (b *Bucket) refillTo(now, limit int64) {
	dt := now - b.last
	if dt <= 0 {
		return
	}
	b.last = now
	if b.tokens >= limit {
		b.tokens = limit
		return
	}
	room := uint64(limit - b.tokens)
	hi, lo := bits.Mul64(uint64(dt), b.rate)
	if hi != 0 || lo >= room {
		b.tokens = limit
		return
	}
	b.tokens += int64(lo)
}

// Positive reports whether the balance is above zero (always true when unlimited).
func (b *Bucket) Positive() bool { return b.rate == 0 || b.tokens > 0 }

// Bytes is the balance in whole bytes, rounded toward zero (negative while in debt).
func (b *Bucket) Bytes() int64 { return b.tokens / nano }

// Level is the balance in bytes as a float (fractions kept), for observers.
func (b *Bucket) Level() float64 { return float64(b.tokens) / nano }

// Charge takes n bytes' worth of tokens (nothing when unlimited) and reports whether
// the balance is still positive.
func (b *Bucket) Charge(n int) bool {
	if b.rate == 0 {
		return true
	}
	b.tokens -= int64(n) * nano
	return b.tokens > 0
}

// DefaultBurstBytes is the bucket depth a shaped port or a class rate gets when none is
// configured: one millisecond at the rate, but never less than two maximum-size frames as
// the shaper charges them (frameBytes: the frame plus its per-frame wire overhead), so
// back-to-back full frames can leave at a low rate. One formula for the start-up
// configuration and every live rate change.
func DefaultBurstBytes(rateBps float64, frameBytes int) int {
	b := math.Ceil(rateBps/8/1000 - 1e-9)
	if m := float64(2 * frameBytes); b < m {
		b = m
	}
	if b > MaxDepthBytes {
		b = MaxDepthBytes
	}
	return int(b)
}
