package dataplane

import (
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/wire"
)

// Packets routed to a next hop whose MAC is not known yet wait on their lcore while
// ARP resolves it, as a host's neighbor layer holds them, instead of being lost: at
// most arpHoldPerNeighbor per next hop and arpHoldMax per lcore. They are forwarded
// once the reply has been learned (checked every arpHoldPoll loop iterations), and
// dropped as arp_pending after arpHoldTimeout without an answer — as are the packets
// that find the hold full. A request is repeated every arpRetry while packets wait.
const (
	arpHoldMax         = 64
	arpHoldPerNeighbor = 3 // the classic unresolved-queue length of a host's ARP
	arpHoldTimeout     = int64(3e9)
	arpRetry           = int64(1e9)
	arpHoldPoll        = 16
)

// arpHold is one lcore's packets waiting for ARP.
type arpHold struct {
	pkts  []heldPkt  // preallocated to arpHoldMax
	mask  uint64     // a one-word filter of their targets (heldBit)
	descs []pkt.Desc // serviceARPHold's descriptors
}

func newARPHold() arpHold {
	return arpHold{pkts: make([]heldPkt, 0, arpHoldMax), descs: make([]pkt.Desc, arpHoldMax)}
}

// heldPkt is a routed packet, not yet rewritten, waiting for its next hop's MAC.
type heldPkt struct {
	m      uintptr
	since  int64
	target uint32 // the next hop to resolve
	hash   uint32
	in     uint16
	out    uint16
	tos    uint8
	l3     uint8
}

// holdForARP keeps h's packet for its next hop; false when the hold is full (for this
// neighbor or for the lcore): the caller drops the packet.
func (w *worker) holdForARP(h heldPkt) bool {
	a := &w.arp
	if len(a.pkts) == cap(a.pkts) {
		return false
	}
	same := 0
	for i := range a.pkts {
		if a.pkts[i].target == h.target {
			same++
		}
	}
	if same >= arpHoldPerNeighbor {
		return false
	}
	a.pkts = append(a.pkts, h) // within the preallocated capacity: no allocation
	a.mask |= heldBit(h.target)
	return true
}

// heldBit is target's bit in arpHold.mask.
func heldBit(target uint32) uint64 { return 1 << (wire.Hash32(target) >> 26) }

// mayHold reports whether packets for target may be held (false: certainly none).
func (a *arpHold) mayHold(target uint32) bool { return a.mask&heldBit(target) != 0 }

// serviceARPHold forwards the held packets whose next hop has been resolved, drops those
// that waited too long, and repeats the ARP requests for the others. It has its own
// descriptor array, so it may run in the middle of an rx burst: a packet whose next
// hop has just been resolved calls it first, so the held packets keep their place.
func (w *worker) serviceARPHold(now int64) {
	r := w.r
	a := &w.arp
	k := 0
	keep := a.pkts[:0]
	a.mask = 0
	in := a.descs
	for _, h := range a.pkts {
		mac, ok := r.neigh.lookup(h.target)
		if !ok {
			if now-h.since >= arpHoldTimeout {
				w.dropMbuf(h.m, int(h.in), pkt.DropARPPending)
				continue
			}
			keep = append(keep, h)
			a.mask |= heldBit(h.target)
			continue
		}
		copy(w.macs[:6], mac[:])
		copy(w.macs[6:], r.ports[h.out].mac[:])
		if !wire.ForwardIPv4(mempool.Frame(h.m), int(h.l3), &w.macs) {
			w.dropMbuf(h.m, int(h.in), pkt.DropTTLExpired)
			continue
		}
		d := &in[k]
		setDesc(d, h.m, now, h.hash, mempool.PktLen(h.m), h.in, h.out, r.dscpClass[h.tos>>2], h.tos&3, h.l3)
		if owner := r.owner[h.out]; owner != w.idx {
			w.handOffData(owner, d)
			continue
		}
		k++
	}
	a.pkts = keep
	if k > 0 {
		w.arch.EnqueueBurst(now, in[:k], w)
	}
	for i := range a.pkts {
		if h := &a.pkts[i]; r.neigh.shouldRequest(h.target, now, arpRetry) {
			w.sendARPRequest(int(h.out), h.target)
		}
	}
}

// dropARPHold frees every packet waiting for ARP as queued at stop.
func (w *worker) dropARPHold() {
	for _, h := range w.arp.pkts {
		w.dropMbuf(h.m, int(h.in), pkt.DropShutdown)
	}
	w.arp.pkts = w.arp.pkts[:0]
	w.arp.mask = 0
}
