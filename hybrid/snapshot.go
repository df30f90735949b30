package hybrid

import (
	"math"

	"github.com/dpdkq/dpdkq/internal/seqlock"
)

// Word offsets of the buffer-wide record. Per-tier figures take two words (on-chip,
// off-chip) and per-reason figures NumReasons words.
const (
	wAdmitted      = 0
	wAdmittedBytes = wAdmitted + NumTiers
	wDequeued      = wAdmittedBytes + NumTiers
	wDropped       = wDequeued + NumTiers
	wPackets       = wDropped + NumTiers
	wBytes         = wPackets + NumTiers
	wUsed          = wBytes + NumTiers
	wPeak          = wUsed + NumTiers
	wEvictions     = wPeak + NumTiers
	wReadmissions  = wEvictions + 1
	wSpills        = wReadmissions + 1
	wWritten       = wSpills + 1
	wRead          = wWritten + 1
	wAcctErrs      = wRead + 1
	wTokens        = wAcctErrs + 1
	wDrops         = wTokens + 1
	wWidth         = wDrops + int(NumReasons)
)

// Word offsets of a queue record.
const (
	qEvicted      = 0
	qPackets      = 1
	qBytes        = qPackets + NumTiers
	qEvictions    = qBytes + NumTiers
	qReadmissions = qEvictions + 1
	qEvictPackets = qReadmissions + 1
	qEvictBytes   = qEvictPackets + 1
	qDrops        = qEvictBytes + 1
	qWidth        = qDrops + int(NumReasons)
)

type published struct {
	global, queues seqlock.Set
	scratch        [wWidth]uint64
}

func (p *published) init(queues int) {
	p.global = seqlock.New(1, wWidth)
	p.queues = seqlock.New(queues, qWidth)
}

// Publish copies the counters and the queues changed since the last Publish to the
// reader side. Call it from the owner about once per burst; it does not allocate.
func (b *Tiers) Publish() {
	w := b.pub.scratch[:]
	c := &b.c
	for t := 0; t < NumTiers; t++ {
		w[wAdmitted+t] = c.admitted[t]
		w[wAdmittedBytes+t] = c.admittedBytes[t]
		w[wDequeued+t] = c.dequeued[t]
		w[wDropped+t] = c.dropped[t]
		w[wPackets+t] = uint64(c.packets[t])
		w[wBytes+t] = uint64(c.bytes[t])
		w[wUsed+t] = uint64(c.used[t])
		w[wPeak+t] = uint64(c.peak[t])
	}
	w[wEvictions] = c.evictions
	w[wReadmissions] = c.readmissions
	w[wSpills] = c.spills
	w[wWritten] = c.bytesWritten
	w[wRead] = c.bytesRead
	w[wAcctErrs] = c.acctErrs
	w[wTokens] = math.Float64bits(b.bucket.Level())
	copy(w[wDrops:wWidth], c.drops[:])
	b.pub.global.Write(0, w[:wWidth])
	for _, q := range b.dirty {
		qs := &b.queues[q]
		qs.dirty = false
		w[qEvicted] = 0
		if qs.evicted {
			w[qEvicted] = 1
		}
		for t := 0; t < NumTiers; t++ {
			w[qPackets+t] = uint64(qs.packets[t])
			w[qBytes+t] = uint64(qs.bytes[t])
		}
		w[qEvictions] = qs.evictions
		w[qReadmissions] = qs.readmissions
		w[qEvictPackets] = uint64(qs.evictPackets)
		w[qEvictBytes] = uint64(qs.evictBytes)
		copy(w[qDrops:qWidth], qs.drops[:])
		b.pub.queues.Write(int(q), w[:qWidth])
	}
	b.dirty = b.dirty[:0]
}

// Snapshot is a reader's copy of the buffer's counters as of the last Publish.
// Arrays indexed by Tier hold [Onchip, Offchip].
type Snapshot struct {
	Mode          Mode
	Capacity      [NumTiers]int64  // cell bytes: on-chip budget, off-chip capacity
	Admitted      [NumTiers]uint64 // packets stored per tier since start
	AdmittedBytes [NumTiers]uint64
	Dequeued      [NumTiers]uint64 // packets released after transmission
	Dropped       [NumTiers]uint64 // packets released because the queue dropped them
	Packets       [NumTiers]int64  // resident packets
	Bytes         [NumTiers]int64  // resident frame bytes
	Used          [NumTiers]int64  // resident cell bytes (occupancy)
	Peak          [NumTiers]int64  // highest Used since start
	Evictions     uint64
	Readmissions  uint64
	// Spills counts packets of non-evicted queues stored off-chip because the on-chip
	// budget was full.
	Spills         uint64
	BytesWritten   uint64  // off-chip writes
	BytesRead      uint64  // off-chip reads
	Tokens         float64 // off-chip bucket level at the last Publish, bytes
	AccountingErrs uint64  // Release calls with nothing to release (a caller bug)
	// Drops counts refusals by reason (index OK unused); Drops[OffchipBandwidth] +
	// Drops[BandwidthReserve] are the bandwidth-limited drops.
	Drops  [NumReasons]uint64
	Queues []QueueStats
}

// QueueStats is one queue's tier state.
type QueueStats struct {
	Queue        int
	Evicted      bool
	Packets      [NumTiers]int64
	Bytes        [NumTiers]int64
	Evictions    uint64
	Readmissions uint64
	EvictPackets int64 // threshold; math.MaxInt64 = disabled
	EvictBytes   int64
	Drops        [NumReasons]uint64
}

// OffchipFraction is the fraction of admitted packets stored off-chip (Jericho in
// production: about 0.15%). 0 when nothing was admitted.
func (s *Snapshot) OffchipFraction() float64 {
	all := s.Admitted[Onchip] + s.Admitted[Offchip]
	if all == 0 {
		return 0
	}
	return float64(s.Admitted[Offchip]) / float64(all)
}

// OffchipByteFraction is the fraction of admitted bytes stored off-chip.
func (s *Snapshot) OffchipByteFraction() float64 {
	all := s.AdmittedBytes[Onchip] + s.AdmittedBytes[Offchip]
	if all == 0 {
		return 0
	}
	return float64(s.AdmittedBytes[Offchip]) / float64(all)
}

// Snapshot fills dst with the published counters. Safe from any goroutine; it
// allocates only when dst.Queues is too short.
func (b *Tiers) Snapshot(dst *Snapshot) {
	var w [wWidth]uint64
	b.pub.global.Read(0, w[:])
	dst.Mode = b.cfg.mode
	dst.Capacity = [NumTiers]int64{b.cfg.onCap, b.cfg.offCap}
	for t := 0; t < NumTiers; t++ {
		dst.Admitted[t] = w[wAdmitted+t]
		dst.AdmittedBytes[t] = w[wAdmittedBytes+t]
		dst.Dequeued[t] = w[wDequeued+t]
		dst.Dropped[t] = w[wDropped+t]
		dst.Packets[t] = int64(w[wPackets+t])
		dst.Bytes[t] = int64(w[wBytes+t])
		dst.Used[t] = int64(w[wUsed+t])
		dst.Peak[t] = int64(w[wPeak+t])
	}
	dst.Evictions = w[wEvictions]
	dst.Readmissions = w[wReadmissions]
	dst.Spills = w[wSpills]
	dst.BytesWritten = w[wWritten]
	dst.BytesRead = w[wRead]
	dst.AccountingErrs = w[wAcctErrs]
	dst.Tokens = math.Float64frombits(w[wTokens])
	copy(dst.Drops[:], w[wDrops:wWidth])

	if cap(dst.Queues) >= len(b.queues) {
		dst.Queues = dst.Queues[:len(b.queues)]
	} else {
		dst.Queues = make([]QueueStats, len(b.queues))
	}
	var r [qWidth]uint64
	for q := range dst.Queues {
		b.pub.queues.Read(q, r[:])
		qs := &dst.Queues[q]
		*qs = QueueStats{
			Queue:        q,
			Evicted:      r[qEvicted] != 0,
			Evictions:    r[qEvictions],
			Readmissions: r[qReadmissions],
			EvictPackets: int64(r[qEvictPackets]),
			EvictBytes:   int64(r[qEvictBytes]),
		}
		for t := 0; t < NumTiers; t++ {
			qs.Packets[t] = int64(r[qPackets+t])
			qs.Bytes[t] = int64(r[qBytes+t])
		}
		copy(qs.Drops[:], r[qDrops:qWidth])
	}
}

// BandwidthDrops is the number of packets refused for off-chip write bandwidth
// (with or without the reserve rule).
func (s *Snapshot) BandwidthDrops() uint64 {
	return s.Drops[OffchipBandwidth] + s.Drops[BandwidthReserve]
}
