package hybrid

// Tokens returns the off-chip bandwidth bucket's level in bytes at time now (negative
// while read debt is outstanding). Owner goroutine only.
func (b *Tiers) Tokens(now int64) float64 {
	b.bucket.Refill(now)
	return b.bucket.Level()
}
