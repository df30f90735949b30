package dataplane

import (
	"unsafe"

	"github.com/dpdkq/dpdkq/internal/seqlock"
	"github.com/dpdkq/dpdkq/pkt"
)

// PortCounters are one port's figures as kept by one lcore. Drops, Fwd and Queued are
// attributed to the port the packet was RECEIVED on, so for every port
// Rx = Fwd + Local + sum(Drops) + still queued (shutdown "drops" are the queued ones).
// Tx counts frames sent OUT of the port (whatever their input).
type PortCounters struct {
	RxPackets, RxBytes uint64 // received on this port
	TxPackets, TxBytes uint64 // transmitted on this port
	Fwd                uint64 // packets received here that were transmitted (on any port, replies included)
	Generated          uint64 // frames the router originated on this port (ARP requests), transmitted
	GenFailed          uint64 // frames the router could not originate (no mbuf, tx full)
	Marks              uint64 // packets received here that were CE-marked
	Local              uint64 // packets received here and consumed by the router (ARP replies to it)
	TxHeld             uint64 // gauge: frames this port's device refused, waiting to be sent again
	SourceNoMbuf       uint64 // a traffic source's frames not sent: no mbuf when they were due
	Drops              [pkt.NumDropReasons]uint64
}

const countersPerPort = 11 + int(pkt.NumDropReasons)

func (c *PortCounters) add(o *PortCounters) {
	c.RxPackets += o.RxPackets
	c.RxBytes += o.RxBytes
	c.TxPackets += o.TxPackets
	c.TxBytes += o.TxBytes
	c.Fwd += o.Fwd
	c.Generated += o.Generated
	c.GenFailed += o.GenFailed
	c.Marks += o.Marks
	c.Local += o.Local
	c.TxHeld += o.TxHeld
	c.SourceNoMbuf += o.SourceNoMbuf
	for i := range c.Drops {
		c.Drops[i] += o.Drops[i]
	}
}

// DropTotal sums drops over reasons, excluding shutdown (still queued at stop).
func (c *PortCounters) DropTotal() uint64 {
	var t uint64
	for r, v := range c.Drops {
		if pkt.DropReason(r) != pkt.DropShutdown {
			t += v
		}
	}
	return t
}

// published is an lcore's counters as last published: the owner writes it every few
// hundred loop iterations, any goroutine reads it. One seqlock record holds every
// port's counters, so a reader's copy is one publication across all ports; the
// record's shadow means a publication stores only the words that changed.
type published struct {
	set   seqlock.Set
	stall seqlock.Set // the worker's stall record (stall.go)
}

func newPublished(nports int) *published {
	return &published{set: seqlock.New(1, nports*countersPerPort), stall: newStallSet()}
}

// counterWords views the counters as the words of a seqlock record (PortCounters is
// countersPerPort uint64s: TestPortCountersAreWords).
func counterWords(c []PortCounters) []uint64 {
	if len(c) == 0 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&c[0])), len(c)*countersPerPort)
}

func (p *published) store(src []PortCounters) { p.set.Write(0, counterWords(src)) }

// load adds the published counters into dst (len = nports).
func (p *published) load(dst []PortCounters) {
	tmp := make([]PortCounters, len(dst))
	p.set.Read(0, counterWords(tmp))
	for i := range dst {
		dst[i].add(&tmp[i])
	}
}
