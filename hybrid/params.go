// Package hybrid models a two-tier packet buffer in the style of Broadcom's Jericho
// (Cisco NCS 5500): a small, fast on-chip tier (SRAM, about 16 MB on Jericho) shared
// by all queues, and a large off-chip tier (GDDR5/HBM, GBs) whose bandwidth, shared by
// writes and reads, is the scarce resource. A queue stays on-chip while it is short;
// once it passes its eviction threshold (Jericho: about 6000 packets or 200 kB) it is
// evicted and its new packets go off-chip, until it empties and is readmitted.
// Priority classes can be pinned on-chip. See "An Update on Router Buffering" ("Evolving Hardware Models -
// Hybrid Buffering" and its NCS 5500 appendix).
//
// The package does not move packets. The queue stays one FIFO; Admit only says which
// tier an arriving packet is stored in (the dataplane may copy it into a second
// mempool for Tier Offchip), so per-queue order is preserved and packets already
// on-chip naturally leave first. Release returns the space when a packet leaves and
// charges the off-chip read. Time is a parameter (ns); nothing allocates after New.
//
// One goroutine (the lcore owning the queues) calls Admit, Release, MarkDropping,
// SetEvictThreshold and Publish; any goroutine may call Snapshot.
package hybrid

import (
	"fmt"
	"math"
	"time"

	"github.com/dpdkq/dpdkq/link"
)

// Mode selects how the buffer is used, for comparing architectures with one code
// path.
type Mode uint8

const (
	// ModeHybrid: on-chip first, evicted queues and on-chip overflow go off-chip.
	ModeHybrid Mode = iota
	// ModeOnchipOnly: a flat single-tier buffer; the on-chip budget is the only limit.
	ModeOnchipOnly
	// ModeOffchipOnly: every packet is written off-chip and pays bandwidth (a classic
	// deep-buffer router); pinned classes and eviction thresholds are ignored.
	ModeOffchipOnly
)

// String returns the mode's config spelling.
func (m Mode) String() string {
	switch m {
	case ModeOnchipOnly:
		return "onchip-only"
	case ModeOffchipOnly:
		return "offchip-only"
	}
	return "hybrid"
}

// ParseMode turns a config string into a Mode.
func ParseMode(s string) (Mode, error) {
	for m := ModeHybrid; m <= ModeOffchipOnly; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("hybrid: mode %q must be one of hybrid, onchip-only, offchip-only", s)
}

// Tier is where a packet is stored. The values match pkt.Desc.Tier.
type Tier uint8

const (
	Onchip  Tier = 0 // on-chip SRAM (also the only tier of a flat buffer)
	Offchip Tier = 1 // off-chip DRAM
	// NumTiers sizes per-tier arrays.
	NumTiers = 2
)

// String returns "onchip" or "offchip", used in JSON and metric labels.
func (t Tier) String() string {
	if t == Offchip {
		return "offchip"
	}
	return "onchip"
}

// Defaults and the Jericho reference figures the default eviction thresholds are
// scaled from.
const (
	DefaultOnchipCell  = 256  // Jericho on-chip buffer cell
	DefaultOffchipCell = 2048 // Jericho DRAM buffer
	// DefaultBurstTime sizes the default off-chip bucket: 100 us of bandwidth absorbs
	// a 32-packet burst of 1500 B frames at 10 Gb/s (38 us) with room to spare, while
	// staying short against the millisecond scales of queueing delay.
	DefaultBurstTime = 100 * time.Microsecond
	// MinDefaultBurst keeps the default bucket above any jumbo frame at low rates, so
	// that every frame can be written at all.
	MinDefaultBurst = 64 << 10
	// DefaultBWDropHold is how long a queue counts as "dropping for bandwidth" after
	// its last such drop: long enough to span a burst, short enough that a queue that
	// stopped overrunning soon regains equal access to the reserve.
	DefaultBWDropHold = time.Millisecond

	JerichoOnchipBytes  = 16 << 20 // about 16 MB of on-chip SRAM per chip
	JerichoEvictPackets = 6000     // a queue leaves on-chip past ~6000 packets ...
	JerichoEvictBytes   = 200_000  // ... or ~200 kB
	// minEvictPackets/minEvictBytes keep scaled defaults usable on tiny budgets: a
	// queue must be able to hold a couple of full-size frames on-chip.
	minEvictPackets = 4
	minEvictBytes   = 2 * 1518
)

// Params is the buffer as configured, in human units.
type Params struct {
	Queues  int  // number of queues (dense indexes 0..Queues-1)
	Enabled bool // false: flat single-tier buffer (forces ModeOnchipOnly)
	Mode    Mode

	OnchipBytes int64 // on-chip budget shared by all queues
	OnchipCell  int   // on-chip accounting cell, bytes; 0 = DefaultOnchipCell

	OffchipBytes int64   // off-chip capacity
	OffchipCell  int     // off-chip accounting cell, bytes; 0 = DefaultOffchipCell
	OffchipRate  float64 // off-chip bandwidth in bits/s, shared by writes and reads
	// OffchipBurst is the token bucket depth in bytes; 0 = DefaultBurstTime at
	// OffchipRate, at least MinDefaultBurst. A frame larger than it is never written.
	OffchipBurst int64
	// BWReserve is the part of the bucket (bytes) that queues recently dropped for
	// off-chip bandwidth may not use; 0 = a quarter of the burst, negative = none.
	BWReserve int64
	// BWDropHold is how long after a bandwidth drop a queue loses access to the
	// reserve; 0 = DefaultBWDropHold.
	BWDropHold time.Duration

	// EvictPackets and EvictBytes are every queue's eviction thresholds (a queue is
	// evicted when an arrival would take it past either). 0 = the Jericho figures
	// scaled by OnchipBytes/JerichoOnchipBytes; negative = criterion disabled.
	EvictPackets int64
	EvictBytes   int64

	// PinnedClasses: bit c set means traffic class c (0..7) never leaves on-chip.
	PinnedClasses uint8
}

// config is Params validated and converted to bytes, ns and cells.
type config struct {
	queues       int
	mode         Mode
	onCell       int64
	onCap        int64 // cell bytes: whole cells that fit in OnchipBytes
	offCell      int64
	offCap       int64
	bytesPerNs   float64
	burst        float64
	reserve      float64
	hold         int64
	evictPackets int64 // math.MaxInt64 when disabled
	evictBytes   int64
	pinned       uint8
}

// scaledEvict returns the default thresholds for an on-chip budget.
func scaledEvict(onchip int64) (packets, bytes int64) {
	packets = int64(float64(JerichoEvictPackets) * float64(onchip) / JerichoOnchipBytes)
	bytes = int64(float64(JerichoEvictBytes) * float64(onchip) / JerichoOnchipBytes)
	return max(packets, minEvictPackets), max(bytes, minEvictBytes)
}

func (p *Params) validate() (config, error) {
	var c config
	if p.Queues < 1 || p.Queues > 1<<24 {
		return c, fmt.Errorf("hybrid: queues %d out of range 1..%d", p.Queues, 1<<24)
	}
	if p.Mode > ModeOffchipOnly {
		return c, fmt.Errorf("hybrid: mode %d must be hybrid, onchip-only or offchip-only", p.Mode)
	}
	c.queues = p.Queues
	c.mode = p.Mode
	if !p.Enabled {
		c.mode = ModeOnchipOnly
	}
	c.onCell, c.offCell = int64(p.OnchipCell), int64(p.OffchipCell)
	if c.onCell == 0 {
		c.onCell = DefaultOnchipCell
	}
	if c.offCell == 0 {
		c.offCell = DefaultOffchipCell
	}
	if c.onCell < 1 || c.onCell > 1<<20 {
		return c, fmt.Errorf("hybrid: onchip_cell %d out of range 1..%d (0 = %d)", p.OnchipCell, 1<<20, DefaultOnchipCell)
	}
	if c.offCell < 1 || c.offCell > 1<<20 {
		return c, fmt.Errorf("hybrid: offchip_cell %d out of range 1..%d (0 = %d)", p.OffchipCell, 1<<20, DefaultOffchipCell)
	}
	if c.mode != ModeOffchipOnly && p.OnchipBytes < c.onCell {
		return c, fmt.Errorf("hybrid: onchip_bytes %d must be at least one on-chip cell (%d) in mode %s", p.OnchipBytes, c.onCell, c.mode)
	}
	if p.OnchipBytes < 0 {
		return c, fmt.Errorf("hybrid: onchip_bytes %d must be >= 0", p.OnchipBytes)
	}
	c.onCap = p.OnchipBytes / c.onCell * c.onCell
	if c.mode != ModeOnchipOnly {
		if p.OffchipBytes < c.offCell {
			return c, fmt.Errorf("hybrid: offchip_bytes %d must be at least one off-chip cell (%d) in mode %s", p.OffchipBytes, c.offCell, c.mode)
		}
		if !(p.OffchipRate > 0) || math.IsInf(p.OffchipRate, 0) {
			return c, fmt.Errorf("hybrid: offchip_rate %g bit/s must be > 0 and finite in mode %s", p.OffchipRate, c.mode)
		}
	}
	c.offCap = max(p.OffchipBytes, 0) / c.offCell * c.offCell
	c.bytesPerNs = p.OffchipRate / 8 / 1e9
	switch {
	case p.OffchipBurst < 0 || p.OffchipBurst > link.MaxDepthBytes:
		return c, fmt.Errorf("hybrid: offchip_burst %d must be 0..%d bytes (0 = %v of bandwidth)", p.OffchipBurst, link.MaxDepthBytes, DefaultBurstTime)
	case p.OffchipBurst == 0:
		c.burst = min(max(c.bytesPerNs*float64(DefaultBurstTime), MinDefaultBurst), link.MaxDepthBytes)
	default:
		c.burst = float64(p.OffchipBurst)
	}
	switch {
	case p.BWReserve < 0:
		c.reserve = 0
	case p.BWReserve == 0:
		c.reserve = c.burst / 4
	case float64(p.BWReserve) >= c.burst:
		return c, fmt.Errorf("hybrid: bw_reserve %d must be below the burst %.0f bytes", p.BWReserve, c.burst)
	default:
		c.reserve = float64(p.BWReserve)
	}
	if p.BWDropHold < 0 {
		return c, fmt.Errorf("hybrid: bw_drop_hold %v must be >= 0 (0 = %v)", p.BWDropHold, DefaultBWDropHold)
	}
	c.hold = int64(p.BWDropHold)
	if c.hold == 0 {
		c.hold = int64(DefaultBWDropHold)
	}
	dp, db := scaledEvict(p.OnchipBytes)
	c.evictPackets = resolveOne(p.EvictPackets, dp)
	c.evictBytes = resolveOne(p.EvictBytes, db)
	c.pinned = p.PinnedClasses
	return c, nil
}

// resolveOne applies the 0 = default, negative = disabled convention to a threshold.
func resolveOne(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return math.MaxInt64
	}
	return v
}
