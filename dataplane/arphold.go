package dataplane

import (
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/packet"
	"github.com/dpdkq/dpdkq/pkt"
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

// hold keeps m for the next hop target on port out; false when the hold is full (for
// this neighbor or for the lcore): the caller drops the packet.
func (w *worker) hold(h heldPkt) bool {
	if len(w.held) == cap(w.held) {
		return false
	}
	same := 0
	for i := range w.held {
		if w.held[i].target == h.target {
			same++
		}
	}
	if same >= arpHoldPerNeighbor {
		return false
	}
	w.held = append(w.held, h) // within the preallocated capacity: no allocation
	w.heldMask |= heldBit(h.target)
	return true
}

// heldBit is target's bit in worker.heldMask, a one-word filter of the held targets.
func heldBit(target uint32) uint64 { return 1 << ((target * 2654435761) >> 26) }

// mayHold reports whether packets for target may be held (false: certainly none).
func (w *worker) mayHold(target uint32) bool { return w.heldMask&heldBit(target) != 0 }

// serviceHeld forwards the held packets whose next hop has been resolved, drops those
// that waited too long, and repeats the ARP requests for the others. It has its own
// descriptor array, so it may run in the middle of an rx burst: a packet whose next
// hop has just been resolved calls it first, so the held packets keep their place.
func (w *worker) serviceHeld(now int64) {
	r := w.r
	k := 0
	keep := w.held[:0]
	w.heldMask = 0
	in := w.heldIn
	for _, h := range w.held {
		mac, ok := r.neigh.lookup(h.target)
		if !ok {
			if now-h.since >= arpHoldTimeout {
				w.dropMbuf(h.m, int(h.in), pkt.DropARPPending)
				continue
			}
			keep = append(keep, h)
			w.heldMask |= heldBit(h.target)
			continue
		}
		copy(w.macs[:6], mac[:])
		copy(w.macs[6:], r.ports[h.out].mac[:])
		if !packet.ForwardIPv4(mempool.Frame(h.m), int(h.l3), &w.macs) {
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
	w.held = keep
	if k > 0 {
		w.arch.EnqueueBurst(now, in[:k], w)
	}
	for i := range w.held {
		if h := &w.held[i]; r.neigh.shouldRequest(h.target, now, arpRetry) {
			w.sendARPRequest(int(h.out), h.target)
		}
	}
}

// dropHeld frees every held packet as queued at stop.
func (w *worker) dropHeld() {
	for _, h := range w.held {
		w.dropMbuf(h.m, int(h.in), pkt.DropShutdown)
	}
	w.held = w.held[:0]
	w.heldMask = 0
}
