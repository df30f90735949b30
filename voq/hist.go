package voq

import "github.com/dpdkq/dpdkq/hist"

// Histogram is a queue's (or port's) sojourn histogram: hist's log-linear buckets
// (64 per power of two, 0 to 2^40-1 ns ≈ 18.3 min, longer sojourns in an overflow
// count), so a quantile is within 1/128 (0.78%) of the exact sample quantile.
//
// In the owner's counters it records into a sojournRec that the Arch allocates with
// the queue (one per queue and one per output port, 36 KB each): the owner lcore
// counts into plain hist.Pending deltas, and Publish adds the buckets that changed
// since the last Publish to a hist.Shared, whose buckets are atomic counters only the
// owner stores to and readers load (just the power-of-two ranges that were used), so
// a publication costs one atomic store per changed bucket, never a copy of all 2240.
// In an ArchSnapshot the embedded hist.Sparse holds the non-empty buckets as Snapshot
// read them: right after the seqlock copy of the other counters, so it may already
// include the next Publish's packets. Every bucket only grows between two Snapshots,
// so the difference of two (hist.Sparse.Sub) counts each packet in exactly one
// interval.
type Histogram struct {
	rec         *sojournRec // the owner's recorder; nil in a snapshot
	hist.Sparse             // the snapshot's copy; empty in the owner's counters
}

// sojournRec is a histogram's owner side (pending) and published side (shared).
type sojournRec struct {
	pending hist.Pending
	shared  hist.Shared
}

// addN counts n sojourns of ns.
func (h *Histogram) addN(ns int64, n int) { h.rec.pending.RecordN(ns, uint64(n)) }

// publish makes the sojourns counted since the last call visible to Snapshot. Owner
// only; Publish calls it for every queue and port it publishes (a queue that
// delivered a packet is always among them: its Dequeued changed).
func (h *Histogram) publish() { h.rec.pending.Flush(&h.rec.shared) }

// newSojourn gives s a recorder of its own; Snapshot reads it through the returned
// pointer. Configuration time only.
func newSojourn(s *QueueStats) *hist.Shared {
	s.Sojourn.rec = new(sojournRec)
	return &s.Sojourn.rec.shared
}

// loadSojourns copies every queue's and port's histogram into dst, whose Queues and
// Ports Snapshot has sized. Safe from any goroutine; it allocates only while dst's
// bucket lists grow.
func (b *base) loadSojourns(dst *ArchSnapshot) {
	for q := range dst.Queues {
		b.meta[q].sojourn.Load(&dst.Queues[q].Sojourn.Sparse)
	}
	for i := range dst.Ports {
		b.portSojourn[i].Load(&dst.Ports[i].Sojourn.Sparse)
	}
}
