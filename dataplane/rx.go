package dataplane

import (
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/wire"
)

// processRx classifies and routes one rx burst received on port pidx (this lcore owns
// its mbufs). Packets for ports this lcore owns are described in w.descs and queued
// with one EnqueueBurst; the others carry their classification in the mbuf metadata
// to the owner's ring.
func (w *worker) processRx(pidx int, burst []uintptr, now int64) {
	r := w.r
	p := &r.ports[pidx]
	c := &w.cnt[pidx]
	c.RxPackets += uint64(len(burst))
	var bytes uint64
	if p.cfg.Mode == ModeXConnect {
		out := p.cfg.Peer
		owner := r.owner[out]
		k := 0
		for _, m := range burst {
			l := mempool.PktLen(m)
			bytes += uint64(l)
			d := &w.descs[k]
			setDesc(d, m, now, 0, l, uint16(pidx), uint16(out), 0, 0, 0)
			if owner != w.idx {
				w.handOffData(owner, d)
				continue
			}
			k++
		}
		c.RxBytes += bytes
		w.enqueueBurst(now, k)
		return
	}
	k := 0
	for _, m := range burst {
		l := mempool.PktLen(m)
		bytes += uint64(l)
		if mempool.NbSegs(m) != 1 {
			w.dropMbuf(m, pidx, pkt.DropUnsupported) // jumbo chains are not routed
			continue
		}
		data := mempool.Frame(m)
		var dst, hash uint32
		var tos uint8
		var ok bool
		if r.flowHash {
			dst, hash, tos, ok = wire.RouteFields(data)
		} else {
			dst, tos, ok = wire.RouteDst(data)
		}
		l3 := wire.EthHdrLen
		plain := ok
		if !ok {
			// Not the plain shape: ARP, a tag, options, TTL 1, or something to drop.
			if dst, hash, tos, l3, ok = w.parseSlow(m, pidx, now); !ok {
				continue
			}
		}
		hop := r.lpmT.lookup(dst)
		if hop&lpmHit == 0 {
			w.dropMbuf(m, pidx, pkt.DropNoRoute)
			continue
		}
		nh := &r.nexthops[hop&lpmHopMask]
		macs := &nh.macs
		if !nh.static {
			if macs = w.nextHopSlow(m, nh, dst, hash, tos, l3, pidx, now); macs == nil {
				continue
			}
		}
		if plain {
			wire.ForwardPlain(data, macs)
		} else if !wire.ForwardIPv4(data, l3, macs) {
			w.dropMbuf(m, pidx, pkt.DropTTLExpired)
			continue
		}
		d := &w.descs[k]
		setDesc(d, m, now, hash, l, uint16(pidx), uint16(nh.port), r.dscpClass[tos>>2], tos&3, uint8(l3))
		if owner := r.owner[nh.port]; owner != w.idx {
			w.handOffData(owner, d)
			continue
		}
		k++
	}
	c.RxBytes += bytes
	w.enqueueBurst(now, k)
}

// parseSlow handles a frame RouteFields did not take: ARP (answered or learned here),
// an IPv4 frame of another shape (returned for routing), or one to drop. ok is false
// when the frame has been consumed.
func (w *worker) parseSlow(m uintptr, pidx int, now int64) (dst, hash uint32, tos uint8, l3 int, ok bool) {
	data := mempool.Data(m) // with its tailroom: replies are built in place
	if etype, _ := wire.EtherType(data); etype == wire.EtherTypeARP {
		w.handleARP(m, data, pidx, now)
		return 0, 0, 0, 0, false
	}
	in := &w.info
	if reason := wire.ParseIPv4(data, in); reason != pkt.DropNone {
		w.dropMbuf(m, pidx, reason)
		return 0, 0, 0, 0, false
	}
	return in.Dst, in.Hash, in.TOS, in.L3, true
}

// nextHopSlow handles a next hop that is not a static neighbor: the router itself
// (ICMP echo), or a neighbor resolved by ARP. It returns the Ethernet rewrite, or nil
// when the packet has been consumed (answered, held while ARP resolves, or dropped).
func (w *worker) nextHopSlow(m uintptr, nh *nexthop, dst, hash uint32, tos uint8, l3, pidx int, now int64) *[12]byte {
	r := w.r
	if nh.local {
		w.handleLocal(m, mempool.Data(m), pidx)
		return nil
	}
	target := nh.via
	if target == 0 {
		target = dst
	}
	mac, ok := r.neigh.lookup(target)
	if !ok {
		if !w.holdForARP(heldPkt{m: m, since: now, target: target, hash: hash, in: uint16(pidx),
			out: uint16(nh.port), tos: tos, l3: uint8(l3)}) {
			w.dropMbuf(m, pidx, pkt.DropARPPending)
		}
		if r.neigh.shouldRequest(target, now, arpInterval) {
			w.sendARPRequest(nh.port, target)
		}
		return nil
	}
	if w.arp.mask != 0 && w.arp.mayHold(target) {
		w.serviceARPHold(now) // packets held for this neighbor go first
	}
	copy(w.macs[:6], mac[:])
	copy(w.macs[6:], r.ports[nh.port].mac[:])
	return &w.macs
}

// setDesc writes every field of d (the burst arrays are reused burst after burst) as
// five word stores (pkt.Desc.Set: no per-field address arithmetic at the 40-byte
// stride, no stack temporary). l3 is 0 for a packet that was not parsed (xconnect).
func setDesc(d *pkt.Desc, m uintptr, now int64, hash, l uint32, in, out uint16, class, ecn, l3 uint8) {
	d.Set(m, now, hash, l, in, out, class, ecn, l3)
}

// enqueueBurst queues w.descs[:k], packets for ports this lcore owns. A burst all for one
// port that may send at once (no shaper, no delay line) and whose queue is empty skips
// the queue: Arch.PassBurst counts it exactly as queued and dequeued now (what the
// next serveEgress would do, one copy in and out of the ring later) and it becomes a
// tx burst here. Anything else, or anything behind a standing queue, is queued.
func (w *worker) enqueueBurst(now int64, k int) {
	if k == 0 {
		return
	}
	ds := w.descs[:k]
	if e := w.egressOf[ds[0].OutPort]; e != nil && !w.waiting(&e.tx) && e.delay == nil && e.shaper.Unshaped() {
		if n := w.arch.PassBurst(now, ds, w); n >= 0 {
			if n > 0 {
				w.transmit(e, ds[:n])
			}
			return
		}
	}
	w.arch.EnqueueBurst(now, ds, w)
}

// handOffData writes d's classification into the mbuf metadata and hands the packet
// to the owner lcore of its output port.
func (w *worker) handOffData(owner int, d *pkt.Desc) {
	meta := mempool.MetaOf(d.Mbuf)
	*meta = mempool.Meta{Hash: d.Hash, OutPort: d.OutPort, InPort: d.InPort, Class: d.Class, ECN: d.ECN,
		L3: d.L3, Kind: kindData}
	w.handOff(owner, d.Mbuf)
}

func (w *worker) flushHandoff() {
	for i, b := range w.handoff {
		if b != nil && b.n > 0 {
			w.flushOne(i)
		}
	}
}

// handOff buffers m for the owner lcore's ring, flushing a full burst.
func (w *worker) handOff(owner int, m uintptr) {
	b := w.handoff[owner]
	b.b.S()[b.n] = m
	b.n++
	if b.n == w.r.burst {
		w.flushOne(owner)
	}
}

func (w *worker) flushOne(owner int) {
	b := w.handoff[owner]
	n := b.n
	b.n = 0
	sent := ringPut(w.r.workers[owner].inRing, b.b.Addr(), n)
	for _, m := range b.b.S()[sent:n] {
		// The owner's ring is full: this lcore still owns these.
		meta := mempool.MetaOf(m)
		if meta.Kind == kindCtrl && meta.InPort == genPort {
			w.cnt[meta.OutPort].GenFailed++
			w.freeMbuf(m)
			continue
		}
		w.dropMbuf(m, int(meta.InPort), pkt.DropHandoff)
	}
}

// processRing takes packets other lcores routed to ports this lcore owns (a burst
// from its ring).
func (w *worker) processRing(burst []uintptr, now int64) {
	k := 0
	for _, m := range burst {
		meta := mempool.MetaOf(m)
		if meta.Kind == kindCtrl {
			w.queueCtrl(m, int(meta.OutPort))
			continue
		}
		d := &w.descs[k]
		setDesc(d, m, now, meta.Hash, mempool.PktLen(m), meta.InPort, meta.OutPort, meta.Class, meta.ECN, meta.L3)
		k++
	}
	w.enqueueBurst(now, k)
}
