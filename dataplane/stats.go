package dataplane

import (
	"sync/atomic"

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
	Drops              [pkt.NumDropReasons]uint64
}

const countersPerPort = 10 + int(pkt.NumDropReasons)

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

// published is a seqlock-protected copy of an lcore's counters: the owner writes it
// every few bursts, any goroutine reads it. Values are stored atomically (so the race
// detector and torn 64-bit reads are not a concern) and the sequence number makes a
// reader's copy consistent across fields.
type published struct {
	seq  atomic.Uint64
	vals []atomic.Uint64
}

func newPublished(nports int) *published {
	return &published{vals: make([]atomic.Uint64, nports*countersPerPort)}
}

func (p *published) store(src []PortCounters) {
	p.seq.Add(1) // odd: writing
	v := p.vals
	for i := range src {
		c := &src[i]
		b := v[i*countersPerPort:]
		b[0].Store(c.RxPackets)
		b[1].Store(c.RxBytes)
		b[2].Store(c.TxPackets)
		b[3].Store(c.TxBytes)
		b[4].Store(c.Fwd)
		b[5].Store(c.Generated)
		b[6].Store(c.GenFailed)
		b[7].Store(c.Marks)
		b[8].Store(c.Local)
		b[9].Store(c.TxHeld)
		for r := range c.Drops {
			b[10+r].Store(c.Drops[r])
		}
	}
	p.seq.Add(1) // even: stable
}

// load adds the published counters into dst (len = nports), retrying while a write is
// in progress.
func (p *published) load(dst []PortCounters) {
	tmp := make([]PortCounters, len(dst))
	for {
		s := p.seq.Load()
		if s&1 == 1 {
			continue
		}
		for i := range tmp {
			b := p.vals[i*countersPerPort:]
			c := &tmp[i]
			c.RxPackets, c.RxBytes, c.TxPackets, c.TxBytes = b[0].Load(), b[1].Load(), b[2].Load(), b[3].Load()
			c.Fwd, c.Generated, c.GenFailed, c.Marks = b[4].Load(), b[5].Load(), b[6].Load(), b[7].Load()
			c.Local, c.TxHeld = b[8].Load(), b[9].Load()
			for r := range c.Drops {
				c.Drops[r] = b[10+r].Load()
			}
		}
		if p.seq.Load() == s {
			break
		}
	}
	for i := range dst {
		dst[i].add(&tmp[i])
	}
}
