package dataplane

import (
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/wire"
)

// Control frames: ARP (answered and learned), ICMP echo to the router's addresses,
// and the ARP requests the router originates. They do not go through the queues: each
// lcore sends them on its own tx queue of the port where the device has one for it,
// or hands them to the port's owner lcore.

func (w *worker) handleARP(m uintptr, data []byte, pidx int, now int64) {
	r := w.r
	p := &r.ports[pidx]
	var a wire.ARPInfo
	if !wire.ParseARP(data, &a) {
		w.dropMbuf(m, pidx, pkt.DropMalformed)
		return
	}
	if a.TargetIP != p.ip || p.ip == 0 {
		// Not for us. Gratuitous or third-party ARP is not learned (RFC 826 only
		// updates existing entries; we keep it simple and ignore it).
		w.dropMbuf(m, pidx, pkt.DropNotForUs)
		return
	}
	r.neigh.learn(a.SenderIP, a.SenderMAC, false)
	if a.Op != wire.ARPRequest {
		w.cnt[pidx].Local++ // a reply to us: learned and consumed
		w.freeMbuf(m)
		return
	}
	n := wire.BuildARPReplyInPlace(data, p.mac, p.ip)
	mempool.SetLen(m, n)
	w.sendCtrl(m, pidx, pidx)
}

func (w *worker) handleLocal(m uintptr, data []byte, pidx int) {
	// The fast parse fills no IPv4Info: parse again (a control-path rarity).
	if wire.ParseIPv4(data, &w.info) != pkt.DropNone || !wire.IsICMPEchoRequest(data, &w.info) {
		w.dropMbuf(m, pidx, pkt.DropNotForUs)
		return
	}
	n := wire.BuildICMPEchoReplyInPlace(data, &w.info)
	mempool.SetLen(m, n)
	w.sendCtrl(m, pidx, pidx)
}

func (w *worker) sendARPRequest(pidx int, target uint32) {
	r := w.r
	p := &r.ports[pidx]
	m := r.pool.Alloc()
	if m == 0 {
		w.cnt[pidx].GenFailed++
		return
	}
	data := mempool.Data(m)
	n := wire.BuildARPRequest(data[:cap(data)], p.mac, p.ip, target)
	mempool.SetLen(m, n)
	w.sendCtrl(m, pidx, -1)
}

// genPort is the InPort of router-originated frames.
const genPort = 0xFFFF

// sendCtrl sends a control frame on port out: directly on this lcore's own tx queue
// when the device has one for it, otherwise through the port owner's ring.
// inPort < 0 marks a router-originated frame.
func (w *worker) sendCtrl(m uintptr, out, inPort int) {
	meta := mempool.MetaOf(m)
	meta.OutPort, meta.Kind, meta.InPort = uint16(out), kindCtrl, genPort
	if inPort >= 0 {
		meta.InPort = uint16(inPort)
	}
	if w.r.ports[out].direct || w.r.owner[out] == w.idx {
		w.queueCtrl(m, out)
		return
	}
	w.handOff(w.r.owner[out], m)
}

func (w *worker) queueCtrl(m uintptr, out int) {
	b := w.ctrl[out]
	b.b.S()[b.n] = m
	in := int32(mempool.MetaOf(m).InPort)
	if in == genPort {
		in = -1
	}
	b.in[b.n] = in
	b.len[b.n] = mempool.PktLen(m)
	b.n++
	if b.n == len(b.b.S()) {
		w.flushCtrlPort(out)
	}
}

func (w *worker) flushCtrl() {
	for i, b := range w.ctrl {
		if b.n > 0 {
			w.flushCtrlPort(i)
		}
	}
}

func (w *worker) flushCtrlPort(out int) {
	b := w.ctrl[out]
	n := b.n
	b.n = 0
	txq := w.r.ports[out].ownerTxq
	if w.r.ports[out].direct {
		txq = uint16(w.idx)
	}
	sent := 0
	if w.r.ports[out].id == noDevice {
		// A source or sink port has no wire: its control frames (ARP for a host behind
		// it, replies) are refused like a full device's.
		b.b.FreeBulk(n)
	} else {
		sent = txBurstOrFree(w.r.ports[out].id, txq, b.b.Addr(), n)
	}
	c := &w.cnt[out]
	c.TxPackets += uint64(sent)
	for i, in := range b.in[:n] {
		if i < sent {
			c.TxBytes += uint64(b.len[i])
		}
		switch {
		case in < 0 && i < sent:
			c.Generated++
		case in < 0:
			c.GenFailed++
		case i < sent:
			w.cnt[in].Fwd++
		default:
			w.cnt[in].Drops[pkt.DropTxFull]++
		}
	}
}
