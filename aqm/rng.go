package aqm

// rng is the per-policy pseudo-random source of RED and PIE. It is SplitMix64
// (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", OOPSLA 2014):
// one 64-bit state word advanced by a fixed odd increment, output through a
// two-multiply finalizer. It passes BigCrush, needs no lock (each queue owns its
// policy, so each owns its generator), never allocates, and a seed fully determines
// the stream, which keeps tests reproducible. It is not cryptographic and need not be.
type rng struct{ s uint64 }

// golden is 2^64 divided by the golden ratio, the SplitMix64 increment (odd, so the
// state walks through all 2^64 values).
const golden = 0x9e3779b97f4a7c15

// newRNG returns a generator whose stream is fixed by seed. Seed 0 is as good as any.
func newRNG(seed uint64) rng { return rng{s: seed} }

// next returns 64 random bits.
func (r *rng) next() uint64 {
	r.s += golden
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a uniform float64 in [0, 1): the top 53 bits scaled by 2^-53, so every
// value is exactly representable and 1.0 never occurs.
func (r *rng) float() float64 { return float64(r.next()>>11) * (1.0 / (1 << 53)) }

// mixSeed combines a configured seed with a per-queue seed so that queues built from
// one spec get distinct, still deterministic streams.
func mixSeed(a, b uint64) uint64 {
	r := rng{s: a ^ (b * golden)}
	return r.next()
}
