// Package buffer plugs the packet-memory models into the queueing core: a Model
// implements voq.Memory on top of shared-pool carving (package carving: pools,
// profiles, reserved space, dynamic thresholds, cells, descriptors) and/or the
// two-tier buffer (package hybrid: on-chip budget, eviction, off-chip space and
// bandwidth). The queues keep their own limits and AQM; the Model is the memory the
// packets they admit must also fit in.
//
// # Construction order
//
// Queue indices depend on the architecture and the instance, so the dataplane builds
// one Model per voq.Arch, from the voq.Config before the Arch exists:
//
//	layout, err := voq.Layout(vc)             // queue count and (port, input, class) per queue
//	bc := buffer.Config{Carving: &cc, Hybrid: &hp}
//	bc.SetLayout(layout, func(q voq.QueueInfo) string { return profileFor(q.Port, q.Class) })
//	m, err := buffer.New(bc)
//	vc.Memory = m
//	arch, err := voq.New(vc)                  // checks m.Queues() against its own count
//
// A Model is owned by the Arch's lcore like the Arch itself: Admit, Release,
// QueueDrop and Publish come from the Arch, the Set* methods from the owner between
// bursts. Snapshots of Carver() and Hybrid() are safe from any goroutine.
//
// # Admission
//
// Carving is asked first, because it is the memory a packet must have at all; then
// hybrid picks the tier. When hybrid refuses, the carving reservation is returned at
// once (the carving queue's Admitted and peak still count that brief admission; the
// Model counts such roll-backs in RolledBack). Reasons map to pkt.DropReason as
// follows: carving NoDescriptor -> DropNoDescriptor, its other refusals ->
// DropNoBuffer; hybrid OffchipBandwidth and BandwidthReserve -> DropOffchipBW, its
// OnchipFull and OffchipFull -> DropNoBuffer. The packet's Desc.Tier is set to
// hybrid's tier (0 without hybrid), and Release hands that tier back to hybrid.
package buffer

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
)

// Config describes the memory behind the queues of one voq.Arch. At least one of
// Carving and Hybrid must be set.
type Config struct {
	// Queues is the number of queues of the Arch: len(voq.Layout(its Config)).
	Queues int
	// Class gives the traffic class (0..7) of queue q for hybrid's pinned classes; nil
	// means each packet's own Desc.Class (the choice for input FIFOs, which mix classes).
	Class func(q int) uint8
	// Carving, when set, is the shared-pool model. If its Bindings (queue -> profile
	// name) are set they must have Queues entries; if nil, Profile fills them.
	Carving *carving.Config
	// Profile names the carving profile of queue q; required when Carving is set and
	// Carving.Bindings is nil, ignored otherwise.
	Profile func(q int) string
	// Hybrid, when set, is the two-tier model. Its Queues may be 0 (filled from
	// Queues) or must equal Queues.
	Hybrid *hybrid.Params
	// CopyOffchip, when set, moves every packet admitted off-chip into memory of its
	// own (the dataplane copies the mbuf into a second mempool and frees the original),
	// so the off-chip write costs real CPU and memory bandwidth as in hardware. It
	// returns the new handle, or 0 when that memory is exhausted (the packet is then
	// refused with pkt.DropNoMbuf and the original stays with the caller).
	CopyOffchip func(mbuf uintptr) uintptr
}

// SetLayout fills Queues and Class from a voq.Layout and, when profile is non-nil,
// Profile, so that a queue's carving profile can follow its (port, input, class).
// Input FIFOs (Class -1) leave Class nil: their packets keep their own class.
func (c *Config) SetLayout(layout []voq.QueueInfo, profile func(voq.QueueInfo) string) {
	c.Queues = len(layout)
	c.Class = nil
	if len(layout) > 0 && layout[0].Class >= 0 {
		c.Class = func(q int) uint8 { return uint8(layout[q].Class) }
	}
	if profile != nil {
		c.Profile = func(q int) string { return profile(layout[q]) }
	}
}

// Model is the buffer memory of one Arch; it implements voq.Memory and
// voq.DropObserver.
type Model struct {
	carver     *carving.Carver // nil when not configured
	hy         *hybrid.Tiers   // nil when not configured
	class      []uint8         // per queue; nil = the packet's own class
	rolledBack uint64          // carving admissions returned because hybrid refused
	pubRolled  atomic.Uint64   // rolledBack as of the last Publish
	copyOff    func(uintptr) uintptr
}

var (
	_ voq.Memory       = (*Model)(nil)
	_ voq.DropObserver = (*Model)(nil)
)

// MaxQueues bounds Config.Queues; it is hybrid's bound, and far above voq's largest
// Arch (64 x 64 x 8 queues).
const MaxQueues = 1 << 24

// New validates cfg and builds the configured models, empty. The caller's Config and
// the carving/hybrid configs it points to are not modified.
func New(cfg Config) (*Model, error) {
	if cfg.Queues < 1 || cfg.Queues > MaxQueues {
		return nil, fmt.Errorf("buffer: Queues = %d, want 1..%d (len(voq.Layout(cfg)))", cfg.Queues, MaxQueues)
	}
	if cfg.Carving == nil && cfg.Hybrid == nil {
		return nil, errors.New("buffer: neither Carving nor Hybrid is set, want at least one (or no buffer model: leave voq.Config.Memory nil)")
	}
	m := &Model{copyOff: cfg.CopyOffchip}
	if cfg.Class != nil {
		m.class = make([]uint8, cfg.Queues)
		for q := range m.class {
			c := cfg.Class(q)
			if c > 7 {
				return nil, fmt.Errorf("buffer: Class(%d) = %d, want 0..7", q, c)
			}
			m.class[q] = c
		}
	}
	if cfg.Carving != nil {
		cc := *cfg.Carving
		switch {
		case cc.Bindings != nil && len(cc.Bindings) != cfg.Queues:
			return nil, fmt.Errorf("buffer: len(Carving.Bindings) = %d, want Queues = %d (or nil Bindings and a Profile function)",
				len(cc.Bindings), cfg.Queues)
		case cc.Bindings == nil && cfg.Profile == nil:
			return nil, errors.New("buffer: Carving is set without Bindings or a Profile function, want one of them to name each queue's profile")
		case cc.Bindings == nil:
			cc.Bindings = make([]string, cfg.Queues)
			for q := range cc.Bindings {
				cc.Bindings[q] = cfg.Profile(q)
			}
		}
		c, err := carving.New(cc)
		if err != nil {
			return nil, fmt.Errorf("buffer: %w", err)
		}
		m.carver = c
	}
	if cfg.Hybrid != nil {
		hp := *cfg.Hybrid
		if hp.Queues == 0 {
			hp.Queues = cfg.Queues
		}
		if hp.Queues != cfg.Queues {
			return nil, fmt.Errorf("buffer: Hybrid.Queues = %d, want 0 or Queues = %d", hp.Queues, cfg.Queues)
		}
		h, err := hybrid.New(hp)
		if err != nil {
			return nil, fmt.Errorf("buffer: %w", err)
		}
		m.hy = h
	}
	return m, nil
}

// Queues returns the number of queues (voq.New checks it against the Arch's).
func (m *Model) Queues() int {
	if m.carver != nil {
		return m.carver.Queues()
	}
	return m.hy.Queues()
}

// carvingDrop and hybridDrop map the models' refusals to the queue's drop reasons.
var (
	carvingDrop = [carving.NumReasons]pkt.DropReason{
		carving.OK:            pkt.DropNone,
		carving.NoDescriptor:  pkt.DropNoDescriptor,
		carving.NoSharedSpace: pkt.DropNoBuffer,
		carving.OverThreshold: pkt.DropNoBuffer,
	}
	hybridDrop = [hybrid.NumReasons]pkt.DropReason{
		hybrid.OK:               pkt.DropNone,
		hybrid.OnchipFull:       pkt.DropNoBuffer,
		hybrid.OffchipFull:      pkt.DropNoBuffer,
		hybrid.OffchipBandwidth: pkt.DropOffchipBW,
		hybrid.BandwidthReserve: pkt.DropOffchipBW,
	}
)

// Admit implements voq.Memory: carving, then hybrid (see the package doc). It sets
// d.Tier. O(1), no allocation.
func (m *Model) Admit(now int64, q int, d *pkt.Desc) pkt.DropReason {
	l := int(d.Len)
	if m.carver != nil {
		if r := m.carver.Admit(q, l); r != carving.OK {
			return carvingDrop[r]
		}
	}
	d.Tier = uint8(hybrid.Onchip)
	if m.hy != nil {
		cl := d.Class
		if m.class != nil {
			cl = m.class[q]
		}
		t, r := m.hy.Admit(now, q, cl, l)
		if r != hybrid.OK {
			if m.carver != nil {
				m.carver.Release(q, l)
				m.rolledBack++
			}
			return hybridDrop[r]
		}
		d.Tier = uint8(t)
		if t == hybrid.Offchip && m.copyOff != nil {
			nm := m.copyOff(d.Mbuf)
			if nm == 0 {
				m.hy.Release(now, q, t, l, false)
				if m.carver != nil {
					m.carver.Release(q, l)
					m.rolledBack++
				}
				return pkt.DropNoMbuf
			}
			d.Mbuf = nm
		}
	}
	return pkt.DropNone
}

// Release implements voq.Memory: hybrid frees the tier d.Tier (charging the off-chip
// read when dequeued), carving returns the cells and the descriptor.
func (m *Model) Release(now int64, q int, d *pkt.Desc, dequeued bool) {
	l := int(d.Len)
	if m.hy != nil {
		m.hy.Release(now, q, hybrid.Tier(d.Tier), l, dequeued)
	}
	if m.carver != nil {
		m.carver.Release(q, l)
	}
}

// QueueDrop implements voq.DropObserver: a queue that the queueing code drops from
// (tail, head, AQM, overflow) while it is evicted off-chip is marked dropping in
// hybrid, so it is among the first to lose off-chip write bandwidth (it may not dip
// into the bandwidth reserve for the hold time). On-chip queues are left alone: their
// drops say nothing about their use of off-chip bandwidth.
func (m *Model) QueueDrop(now int64, q int, _ pkt.DropReason) {
	if m.hy != nil && m.hy.Evicted(q) {
		m.hy.MarkDropping(now, q)
	}
}

// Publish implements voq.Memory: it publishes both models' statistics.
func (m *Model) Publish() {
	if m.carver != nil {
		m.carver.Publish()
	}
	if m.hy != nil {
		m.hy.Publish()
	}
	if m.pubRolled.Load() != m.rolledBack {
		m.pubRolled.Store(m.rolledBack)
	}
}

// Carver returns the carving model (nil when not configured), for Snapshot.
func (m *Model) Carver() *carving.Carver { return m.carver }

// Hybrid returns the two-tier model (nil when not configured), for Snapshot.
func (m *Model) Hybrid() *hybrid.Tiers { return m.hy }

// RolledBack returns, as of the last Publish, how many packets carving admitted and
// then gave back because hybrid refused them. Safe from any goroutine.
func (m *Model) RolledBack() uint64 { return m.pubRolled.Load() }

var errNoCarving = errors.New("buffer: no carving model is configured (Config.Carving is nil)")

// SetAlpha changes a dynamic carving profile's dynamic_th n (alpha = 2^n) from the
// next admission. Owner lcore, between bursts.
func (m *Model) SetAlpha(profile string, n int) error {
	if m.carver == nil {
		return errNoCarving
	}
	return m.carver.SetAlpha(profile, n)
}

// SetStaticTh changes a static carving profile's threshold in bytes. Owner lcore,
// between bursts.
func (m *Model) SetStaticTh(profile string, bytes int64) error {
	if m.carver == nil {
		return errNoCarving
	}
	return m.carver.SetStaticTh(profile, bytes)
}

// SetReserved changes a carving profile's per-queue reserve (see
// carving.Carver.SetReserved). Owner lcore, between bursts.
func (m *Model) SetReserved(profile string, bytes int64) error {
	if m.carver == nil {
		return errNoCarving
	}
	return m.carver.SetReserved(profile, bytes)
}

// SetPoolSize resizes a carving pool (see carving.Carver.SetPoolSize). Owner lcore,
// between bursts.
func (m *Model) SetPoolSize(pool string, bytes int64) error {
	if m.carver == nil {
		return errNoCarving
	}
	return m.carver.SetPoolSize(pool, bytes)
}

// SetEvictThreshold overrides hybrid's eviction thresholds of queue q (see
// hybrid.Tiers.SetEvictThreshold). Owner lcore, between bursts.
func (m *Model) SetEvictThreshold(q int, packets, bytes int64) error {
	if m.hy == nil {
		return errors.New("buffer: no hybrid model is configured (Config.Hybrid is nil)")
	}
	return m.hy.SetEvictThreshold(q, packets, bytes)
}
