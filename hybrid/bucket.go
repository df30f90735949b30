package hybrid

// bucket is the off-chip bandwidth token bucket, in bytes, refilled from the clock.
// float64 keeps it simple and overflow-free: a 900 Gb/s rate over an hour of idle
// time would overflow integer byte-nanoseconds.
type bucket struct {
	tokens     float64 // may go negative (read debt)
	burst      float64
	bytesPerNs float64
	last       int64 // ns of the last refill
}

func (k *bucket) refill(now int64) {
	if now <= k.last {
		return // same instant, or a clock that went backwards: nothing to add
	}
	k.tokens += float64(now-k.last) * k.bytesPerNs
	k.last = now
	if k.tokens > k.burst {
		k.tokens = k.burst
	}
}

// Tokens returns the off-chip bucket level in bytes at time now (negative while read
// debt is outstanding). Owner goroutine only.
func (b *Buffer) Tokens(now int64) float64 {
	b.bucket.refill(now)
	return b.bucket.tokens
}
