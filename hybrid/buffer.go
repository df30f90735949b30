package hybrid

import (
	"fmt"

	"github.com/dpdkq/dpdkq/link"
)

// Reason is the outcome of Admit. Everything but OK is a drop; the queueing code maps
// OnchipFull and OffchipFull to pkt.DropNoBuffer and the two bandwidth reasons to
// pkt.DropOffchipBW.
type Reason uint8

const (
	// OK: stored in the returned tier.
	OK Reason = iota
	// OnchipFull: the packet had to stay on-chip (pinned class, or onchip-only/flat
	// mode) and the on-chip budget has no room.
	OnchipFull
	// OffchipFull: the packet had to go off-chip and the off-chip capacity is used up.
	OffchipFull
	// OffchipBandwidth: the off-chip token bucket cannot pay for the write.
	OffchipBandwidth
	// BandwidthReserve: the queue was dropped for bandwidth (or marked dropping)
	// within the hold time, and paying this write would dip into the reserve kept
	// for queues that are not dropping.
	BandwidthReserve
	// NumReasons sizes per-reason arrays.
	NumReasons
)

var reasonNames = [NumReasons]string{"ok", "onchip_full", "offchip_full", "offchip_bandwidth", "bandwidth_reserve"}

// String returns the reason's snake_case name.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// queueState is one queue's view of the two tiers.
type queueState struct {
	evicted      bool
	dirty        bool // changed since the last Publish
	packets      [NumTiers]int64
	bytes        [NumTiers]int64 // frame bytes
	evictPackets int64           // thresholds (math.MaxInt64 = disabled)
	evictBytes   int64
	bwDropUntil  int64 // ns; before this the queue counts as dropping for bandwidth
	evictions    uint64
	readmissions uint64
	drops        [NumReasons]uint64
}

// counters are the buffer-wide figures kept by the owner.
type counters struct {
	admitted      [NumTiers]uint64 // packets
	admittedBytes [NumTiers]uint64
	dequeued      [NumTiers]uint64 // packets released after transmission
	dropped       [NumTiers]uint64 // packets released because the queue dropped them
	evictions     uint64
	readmissions  uint64
	spills        uint64 // non-evicted packets sent off-chip because on-chip was full
	drops         [NumReasons]uint64
	bytesWritten  uint64 // off-chip
	bytesRead     uint64 // off-chip
	acctErrs      uint64 // Release with nothing to release (a caller bug)
	packets       [NumTiers]int64
	bytes         [NumTiers]int64 // frame bytes resident
	used          [NumTiers]int64 // cell bytes resident
	peak          [NumTiers]int64 // highest used
}

// Tiers is the two-tier buffer (on-chip and off-chip tiers) of one set of queues, owned by one goroutine.
type Tiers struct {
	cfg    config
	bucket link.Bucket // off-chip bandwidth, shared by writes and reads
	c      counters
	queues []queueState
	dirty  []int32 // queues changed since the last Publish, capacity len(queues)
	pub    published
}

// New validates p and returns empty tiers with a full off-chip bucket.
func New(p Params) (*Tiers, error) {
	cfg, err := p.validate()
	if err != nil {
		return nil, err
	}
	b := &Tiers{
		cfg:    cfg,
		bucket: link.NewBucket(cfg.bytesPerNs*8e9, int(cfg.burst)),
		queues: make([]queueState, cfg.queues),
		dirty:  make([]int32, 0, cfg.queues),
	}
	for q := range b.queues {
		b.queues[q].evictPackets = cfg.evictPackets
		b.queues[q].evictBytes = cfg.evictBytes
		b.markDirty(q)
	}
	b.pub.init(cfg.queues)
	b.Publish()
	return b, nil
}

// Mode returns the mode in force (ModeOnchipOnly when the buffer is not enabled).
func (b *Tiers) Mode() Mode { return b.cfg.mode }

// Queues returns the number of queues.
func (b *Tiers) Queues() int { return len(b.queues) }

// Evicted reports whether queue q's new packets go off-chip. Owner goroutine only.
func (b *Tiers) Evicted(q int) bool { return b.queues[q].evicted }

// SetEvictThreshold overrides queue q's eviction thresholds (0 = the buffer-wide value
// from Params, negative = criterion disabled). It applies from the next Admit; a queue already evicted stays
// evicted until it empties. Owner goroutine only.
func (b *Tiers) SetEvictThreshold(q int, packets, bytes int64) error {
	if q < 0 || q >= len(b.queues) {
		return fmt.Errorf("hybrid: queue %d out of range 0..%d", q, len(b.queues)-1)
	}
	qs := &b.queues[q]
	qs.evictPackets = resolveOne(packets, b.cfg.evictPackets)
	qs.evictBytes = resolveOne(bytes, b.cfg.evictBytes)
	b.markDirty(q)
	return nil
}

// MarkDropping tells the buffer that the queueing code itself dropped a packet of
// queue q (tail limit, AQM): like a bandwidth drop, it makes the queue one of the
// first to lose off-chip bandwidth when the bucket runs low, as Jericho does for
// queues already tail-dropping off-chip.
func (b *Tiers) MarkDropping(now int64, q int) {
	b.queues[q].bwDropUntil = now + b.cfg.hold
}

func (b *Tiers) markDirty(q int) {
	qs := &b.queues[q]
	if !qs.dirty {
		qs.dirty = true
		b.dirty = append(b.dirty, int32(q)) // never grows past len(queues)
	}
}

func cellBytes(n, cell int64) int64 { return (n + cell - 1) / cell * cell }

// Admit decides where a packet of length bytes and traffic class (0..7) arriving at
// queue q is stored, and charges it there. O(1), no allocation. q must be in
// 0..Queues()-1 (an index out of range panics: it is a wiring bug, not traffic).
//
// The returned Tier is meaningful only when the Reason is OK.
//
// Hybrid mode, in order:
//  1. a pinned class stays on-chip (OnchipFull if the budget is used up); pinned
//     arrivals never trigger an eviction;
//  2. an evicted queue's packet goes off-chip;
//  3. a queue whose depth (both tiers, this packet included) would pass its packet
//     or byte threshold sends this packet off-chip and becomes evicted if it was
//     stored (if the write is refused the queue did not grow, so it stays on-chip;
//     this also means an evicted queue is never empty);
//  4. otherwise on-chip if the budget has room;
//  5. otherwise off-chip as an on-chip-full spill, without evicting the queue.
//
// Every off-chip store needs off-chip space (else OffchipFull) and write bandwidth
// (else OffchipBandwidth or BandwidthReserve, see toOffchip).
//
// On step 5: public descriptions of Jericho say queues are also pushed to DRAM as
// the on-chip buffer fills, through device-wide occupancy thresholds whose values
// and exact behaviour are not public. We spill the single packet instead and leave
// the queue on-chip: a short queue that met a momentarily full SRAM returns to
// on-chip with its next packet rather than staying off-chip until it empties, which
// keeps the off-chip bandwidth for the queues that are really long. The spill count
// shows how often this happens, so an experiment can see when the budget is too
// small for the thresholds.
func (b *Tiers) Admit(now int64, q int, class uint8, length int) (Tier, Reason) {
	qs := &b.queues[q]
	b.markDirty(q)
	n := int64(max(length, 0))
	switch b.cfg.mode {
	case ModeOnchipOnly:
		return b.toOnchip(qs, n)
	case ModeOffchipOnly:
		return b.toOffchip(now, qs, n, false)
	}
	if class < 8 && b.cfg.pinned&(1<<class) != 0 {
		return b.toOnchip(qs, n)
	}
	if qs.evicted {
		return b.toOffchip(now, qs, n, false)
	}
	if qs.packets[Onchip]+qs.packets[Offchip]+1 > qs.evictPackets ||
		qs.bytes[Onchip]+qs.bytes[Offchip]+n > qs.evictBytes {
		tier, r := b.toOffchip(now, qs, n, false)
		if r == OK {
			qs.evicted = true
			qs.evictions++
			b.c.evictions++
		}
		return tier, r
	}
	if b.c.used[Onchip]+cellBytes(n, b.cfg.onCell) <= b.cfg.onCap {
		return b.toOnchip(qs, n)
	}
	return b.toOffchip(now, qs, n, true)
}

func (b *Tiers) drop(qs *queueState, r Reason) (Tier, Reason) {
	qs.drops[r]++
	b.c.drops[r]++
	return Onchip, r
}

func (b *Tiers) charge(qs *queueState, t Tier, n, cost int64) {
	qs.packets[t]++
	qs.bytes[t] += n
	b.c.admitted[t]++
	b.c.admittedBytes[t] += uint64(n)
	b.c.packets[t]++
	b.c.bytes[t] += n
	b.c.used[t] += cost
	if b.c.used[t] > b.c.peak[t] {
		b.c.peak[t] = b.c.used[t]
	}
}

func (b *Tiers) toOnchip(qs *queueState, n int64) (Tier, Reason) {
	cost := cellBytes(n, b.cfg.onCell)
	if b.c.used[Onchip]+cost > b.cfg.onCap {
		return b.drop(qs, OnchipFull)
	}
	b.charge(qs, Onchip, n, cost)
	return Onchip, OK
}

// toOffchip stores a packet off-chip if there is space and the write can be paid.
//
// Write-bandwidth policy: a queue that was dropped off-chip (bandwidth or capacity)
// or marked dropping within the last hold time must leave `reserve` bytes in the
// bucket after its write; other queues may empty it. When bandwidth runs short the
// queues that are already overrunning therefore lose packets first, and the reserve
// lets queues that just started sending still get in, the priority Jericho gives.
func (b *Tiers) toOffchip(now int64, qs *queueState, n int64, spill bool) (Tier, Reason) {
	cost := cellBytes(n, b.cfg.offCell)
	if b.c.used[Offchip]+cost > b.cfg.offCap {
		qs.bwDropUntil = now + b.cfg.hold
		return b.drop(qs, OffchipFull)
	}
	b.bucket.Refill(now)
	need := float64(n)
	if now < qs.bwDropUntil {
		need += b.cfg.reserve
	}
	if b.bucket.Level() < need {
		r := OffchipBandwidth
		if now < qs.bwDropUntil {
			r = BandwidthReserve
		}
		qs.bwDropUntil = now + b.cfg.hold
		return b.drop(qs, r)
	}
	b.bucket.Charge(int(n))
	b.c.bytesWritten += uint64(n)
	if spill {
		b.c.spills++
	}
	b.charge(qs, Offchip, n, cost)
	return Offchip, OK
}

// Release returns the space of a packet of length bytes that Admit stored in tier t
// for queue q, when the queue dequeues it for transmission (dequeued) or drops it
// (head drop, AQM at dequeue, flush). A dequeued off-chip packet is read back and
// pays read bandwidth. A read cannot be refused (the packet is already chosen for
// transmission), so it is charged even when the bucket goes negative: the bucket
// carries the debt and the following writes wait for it to be repaid. A dropped
// packet is discarded without reading it and costs nothing. When the queue becomes
// empty it is readmitted on-chip.
func (b *Tiers) Release(now int64, q int, t Tier, length int, dequeued bool) {
	qs := &b.queues[q]
	b.markDirty(q)
	n := int64(max(length, 0))
	if t > Offchip || qs.packets[t] == 0 {
		b.c.acctErrs++
		return
	}
	cell := b.cfg.onCell
	if t == Offchip {
		cell = b.cfg.offCell
		if dequeued {
			b.bucket.Refill(now)
			b.bucket.Charge(int(n))
			b.c.bytesRead += uint64(n)
		}
	}
	if n > qs.bytes[t] {
		b.c.acctErrs++
		n = qs.bytes[t]
	}
	cost := min(cellBytes(n, cell), b.c.used[t])
	qs.packets[t]--
	qs.bytes[t] -= n
	b.c.packets[t]--
	b.c.bytes[t] -= n
	b.c.used[t] -= cost
	if dequeued {
		b.c.dequeued[t]++
	} else {
		b.c.dropped[t]++
	}
	if qs.evicted && qs.packets[Onchip] == 0 && qs.packets[Offchip] == 0 {
		qs.evicted = false
		qs.readmissions++
		b.c.readmissions++
	}
}
