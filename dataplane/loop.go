package dataplane

import (
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/packet"
	"github.com/dpdkq/dpdkq/pkt"
)

// Packet kinds carried in the mbuf metadata across the hand-off ring.
const (
	kindData uint8 = iota // to be queued on the output port
	kindCtrl              // router-originated or reply: send on the port directly
)

// rte_lpm marks a successful lookup with this bit in the returned next hop.
const lpmHit = 0x01000000

// ARP requests for one neighbor: at most one per 100 ms over all lcores.
const arpInterval = int64(100e6)

// worker is one lcore's poll loop state. Everything in it is touched only by its lcore
// while running (except pub, read through its seqlock, and stop, read-only here).
type worker struct {
	r     *Router
	lcore uint
	idx   int // index among workers (its tx queue number where the port has enough)

	rxqs   []rxq
	poller *poller        // the pending tx and every rx queue in one call per iteration
	rx     *mempool.Burst // the rx burst processRx reads (the polled queue's array)

	in    []pkt.Desc // the burst's descriptors, built in place for EnqueueBurst
	inAlt []pkt.Desc // the other array: in is swapped with it when a pending tx keeps in

	info     packet.IPv4Info
	macs     [12]byte   // Ethernet rewrite for a next hop resolved by ARP
	held     []heldPkt  // packets waiting for ARP (see arphold.go)
	heldMask uint64     // filter of their targets
	heldIn   []pkt.Desc // serviceHeld's descriptors

	free  *mempool.Burst // drops to free in bulk
	nfree int

	handoff []*outBuf // per destination worker (nil for self)
	inRing  uintptr   // this worker's own MPSC ring (0 with one worker)
	ringBuf *mempool.Burst

	ctrl []*outBuf // per port: control frames to send directly (replies, ARP)

	arch     Arch
	egress   []*egressPort // ports whose egress this lcore owns
	egressOf []*egressPort // by port index: the egress this lcore owns, nil for others

	// A tx burst prepared but not yet sent: the running loop sends it in the same cgo
	// call that polls the rx queues next (one call per iteration). At most one is
	// pending.
	fuse      bool
	pend      *egressPort
	pendDs    []pkt.Desc
	pendBytes int

	mbox mailbox // live changes for this lcore

	cnt      []PortCounters // per port, plain (owner only)
	pub      *published
	iter     int
	pubEvery int
}

type rxq struct {
	pidx  int
	id    uint16
	queue uint16
	buf   *mempool.Burst // its rx burst array (C memory)
}

type outBuf struct {
	b   *mempool.Burst
	n   int
	in  []int32  // ctrl buffers: input port of each frame, -1 for router-originated
	len []uint32 // ctrl buffers: frame lengths (read before the tx call gives them away)
}

type egressPort struct {
	pidx   int
	id     uint16
	txq    uint16
	shaper *link.Shaper
	delay  *link.DelayLine
	tx     *mempool.Burst
	descs  []pkt.Desc // dequeued burst; per port, so a pending tx survives the next port's
	due    []pkt.Desc // released by the delay line

	// Backpressure: frames the device refused (its tx ring was full) wait here, with
	// their descriptors, and go first at the port's next service; meanwhile nothing
	// more is dequeued for the port, so its queue (limits, AQM) takes the excess
	// instead of the frames being dropped. At most two bursts (see txDone).
	held   *mempool.Burst
	heldDs []pkt.Desc
	nheld  int
}

// clock converts the TSC read by the burst calls into ns since the router started.
func (w *worker) clock(tsc uint64) int64 {
	return int64(float64(tsc-w.r.tsc0) * w.r.nsPerTick)
}

// run is the poll loop. It returns when the router's stop flag is set, after handing
// every buffered packet back (queued packets stay queued for the shutdown drain).
func (w *worker) run() int {
	r := w.r
	w.fuse = true
	for !r.stop.Load() {
		e := w.pend
		if e != nil {
			w.poller.setTx(e.id, e.txq, e.tx.Addr(), len(w.pendDs))
		}
		tsc, sent := w.poller.poll()
		if e != nil {
			w.pend = nil
			w.txDone(e, w.pendDs, w.pendBytes, sent)
		}
		now := w.clock(tsc)
		for i := range w.rxqs {
			if n := w.poller.got(i); n > 0 {
				q := &w.rxqs[i]
				w.rx = q.buf
				w.processRx(q.pidx, n, now)
			}
		}
		if w.inRing != 0 {
			var rtsc uint64
			if n := ringGet(w.inRing, w.ringBuf.Addr(), r.burst, &rtsc); n > 0 {
				now = w.clock(rtsc)
				w.processRing(n, now)
			}
		}
		if len(w.held) > 0 && w.iter%arpHoldPoll == 0 {
			w.serviceHeld(now)
		}
		w.flushHandoff()
		w.flushCtrl()
		for _, e := range w.egress {
			w.serveEgress(e, now)
		}
		w.flushFree()
		w.poll()
		w.iter++
		if w.iter >= w.pubEvery {
			w.iter = 0
			w.publish()
		}
	}
	w.flushTx()
	w.fuse = false
	w.flushHandoff()
	w.flushCtrl()
	w.flushFree()
	w.publish()
	return 0
}

func (w *worker) publish() {
	w.pub.store(w.cnt)
	if w.arch != nil {
		w.arch.Publish()
	}
}

// Drop implements pkt.DropSink: count under the input port and free in bulk.
func (w *worker) Drop(d *pkt.Desc, reason pkt.DropReason) {
	w.cnt[d.InPort].Drops[reason]++
	w.freeMbuf(d.Mbuf)
}

func (w *worker) dropMbuf(m uintptr, inPort int, reason pkt.DropReason) {
	w.cnt[inPort].Drops[reason]++
	w.freeMbuf(m)
}

func (w *worker) freeMbuf(m uintptr) {
	w.free.S()[w.nfree] = m
	w.nfree++
	if w.nfree == len(w.free.S()) {
		w.flushFree()
	}
}

func (w *worker) flushFree() {
	if w.nfree > 0 {
		w.free.FreeBulk(w.nfree)
		w.nfree = 0
	}
}

// processRx classifies and routes one rx burst received on port pidx. Packets for
// ports this lcore owns are described in w.in and queued with one EnqueueBurst; the
// others carry their classification in the mbuf metadata to the owner's ring.
func (w *worker) processRx(pidx, n int, now int64) {
	r := w.r
	p := &r.ports[pidx]
	c := &w.cnt[pidx]
	burst := w.rx.S()[:n]
	c.RxPackets += uint64(n)
	var bytes uint64
	if p.cfg.Mode == ModeXConnect {
		out := p.cfg.Peer
		owner := r.owner[out]
		k := 0
		for _, m := range burst {
			l := mempool.PktLen(m)
			bytes += uint64(l)
			d := &w.in[k]
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
			dst, hash, tos, ok = packet.RouteFields(data)
		} else {
			dst, tos, ok = packet.RouteDst(data)
		}
		l3 := packet.EthHdrLen
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
			packet.ForwardPlain(data, macs)
		} else if !packet.ForwardIPv4(data, l3, macs) {
			w.dropMbuf(m, pidx, pkt.DropTTLExpired)
			continue
		}
		d := &w.in[k]
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
	if etype, _ := packet.EtherType(data); etype == packet.EtherTypeARP {
		w.handleARP(m, data, pidx, now)
		return 0, 0, 0, 0, false
	}
	in := &w.info
	if reason := packet.ParseIPv4(data, in); reason != pkt.DropNone {
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
		if !w.hold(heldPkt{m: m, since: now, target: target, hash: hash, in: uint16(pidx),
			out: uint16(nh.port), tos: tos, l3: uint8(l3)}) {
			w.dropMbuf(m, pidx, pkt.DropARPPending)
		}
		if r.neigh.shouldRequest(target, now, arpInterval) {
			w.sendARPRequest(nh.port, target)
		}
		return nil
	}
	if w.heldMask != 0 && w.mayHold(target) {
		w.serviceHeld(now) // packets held for this neighbor go first
	}
	copy(w.macs[:6], mac[:])
	copy(w.macs[6:], r.ports[nh.port].mac[:])
	return &w.macs
}

// setDesc writes every field of d (the burst arrays are reused burst after burst).
// Field by field on purpose: a composite literal is built in a stack temporary and
// copied with wide moves that stall on the narrow stores just made.
// l3 is 0 for a packet that was not parsed (xconnect).
func setDesc(d *pkt.Desc, m uintptr, now int64, hash, l uint32, in, out uint16, class, ecn, l3 uint8) {
	d.Mbuf, d.Enq, d.Hash, d.Len = m, now, hash, l
	d.InPort, d.OutPort, d.Class, d.ECN = in, out, class, ecn
	d.Flags, d.Tier, d.Queue, d.L3 = 0, 0, 0, l3
}

// enqueueBurst queues w.in[:k], packets for ports this lcore owns. A burst all for one
// port that may send at once (no shaper, no delay line) and whose queue is empty skips
// the queue: Arch.PassBurst counts it exactly as queued and dequeued now (what the
// next serveEgress would do, one copy in and out of the ring later) and it becomes a
// tx burst here. Anything else, or anything behind a standing queue, is queued.
func (w *worker) enqueueBurst(now int64, k int) {
	if k == 0 {
		return
	}
	ds := w.in[:k]
	if e := w.egressOf[ds[0].OutPort]; e != nil && e.nheld == 0 && e.delay == nil && e.shaper.Unshaped() {
		if n := w.arch.PassBurst(now, ds, w); n >= 0 {
			if n > 0 {
				w.transmit(e, ds[:n])
				// The tx burst may stay pending on ds until the next rx call: the
				// next descriptors are built in the other array.
				w.in, w.inAlt = w.inAlt, w.in
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

// processRing takes packets other lcores routed to ports this lcore owns.
func (w *worker) processRing(n int, now int64) {
	k := 0
	for _, m := range w.ringBuf.S()[:n] {
		meta := mempool.MetaOf(m)
		if meta.Kind == kindCtrl {
			w.queueCtrl(m, int(meta.OutPort))
			continue
		}
		d := &w.in[k]
		setDesc(d, m, now, meta.Hash, mempool.PktLen(m), meta.InPort, meta.OutPort, meta.Class, meta.ECN, meta.L3)
		k++
	}
	w.enqueueBurst(now, k)
}

// serveEgress moves packets from the queues through the shaper and delay line to tx.
// A port whose device still refuses its held frames gets nothing more.
func (w *worker) serveEgress(e *egressPort, now int64) {
	if e.nheld > 0 && !w.sendHeld(e) {
		return
	}
	if budget := e.shaper.Budget(now); budget > 0 {
		if k := w.arch.Dequeue(now, e.pidx, e.descs, budget, w); k > 0 {
			if e.delay == nil {
				e.shaper.Charge(w.transmit(e, e.descs[:k]), k)
			} else {
				bytes := 0
				for i := range e.descs[:k] {
					bytes += int(e.descs[i].Len)
				}
				e.shaper.Charge(bytes, k)
				for i := range e.descs[:k] {
					if !e.delay.Push(now, &e.descs[i]) {
						w.Drop(&e.descs[i], pkt.DropDelayLine)
					}
				}
			}
		}
	}
	if !e.shaper.Unshaped() {
		n, _ := w.arch.Backlog(e.pidx)
		e.shaper.SetBusy(n > 0) // a port still backlogged may bank missed link time
	}
	if e.delay != nil {
		if k := e.delay.Pop(now, e.due); k > 0 {
			w.transmit(e, e.due[:k])
		}
	}
}

// transmit applies CE marks and sends one burst. In the running loop the burst is left
// pending and goes out with the next rx call (or before another burst, a command or
// the stop). One pass over the descriptors: CE marks, the tx array, the bytes
// (returned), and forwarded counts per input port, by runs (txDone takes back what the
// device refuses). Behind
// frames the device refused, the burst is held too (the port's order).
func (w *worker) transmit(e *egressPort, ds []pkt.Desc) int {
	if w.fuse {
		w.flushTx() // the previous one first: keeps each port's order, and frees e.tx
	}
	arr := e.tx.S()[:len(ds)]
	bytes := 0
	in, run := ds[0].InPort, uint64(0)
	for i := range ds {
		d := &ds[i]
		if d.Flags&pkt.FlagMarkCE != 0 {
			if packet.SetCE(mempool.Frame(d.Mbuf), int(d.L3)) {
				w.cnt[d.InPort].Marks++
			}
		}
		arr[i] = d.Mbuf
		bytes += int(d.Len)
		if d.InPort != in {
			w.cnt[in].Fwd += run
			in, run = d.InPort, 0
		}
		run++
	}
	w.cnt[in].Fwd += run
	switch {
	case e.nheld > 0:
		w.txDone(e, ds, bytes, 0)
	case w.fuse:
		w.pend, w.pendDs, w.pendBytes = e, ds, bytes
	default:
		w.txDone(e, ds, bytes, txBurst(e.id, e.txq, e.tx.Addr(), len(ds)))
	}
	return bytes
}

// flushTx sends the pending tx burst, if any, on its own.
func (w *worker) flushTx() {
	if e := w.pend; e != nil {
		w.pend = nil
		w.txDone(e, w.pendDs, w.pendBytes, txBurst(e.id, e.txq, e.tx.Addr(), len(w.pendDs)))
	}
}

// txDone counts a tx burst of bytes (in e.tx, described by ds) of which the device took
// the first sent packets (transmit counted them all forwarded already). The others are
// held for the port's next service. At most two bursts are ever held: the port's next
// service sends held frames before it dequeues anything, a burst that skips the queue
// needs an empty hold, so the most that can join before that service is one refused
// burst and one transmitted behind it. Beyond that (never expected) frames are
// dropped as tx_full rather than overflowing the hold.
func (w *worker) txDone(e *egressPort, ds []pkt.Desc, bytes, sent int) {
	c := &w.cnt[e.pidx]
	c.TxPackets += uint64(sent)
	if sent < len(ds) {
		arr, held := e.tx.S(), e.held.S()
		for i := sent; i < len(ds); i++ {
			d := &ds[i]
			in := &w.cnt[d.InPort]
			in.Fwd--
			bytes -= int(d.Len)
			if e.nheld == len(held) {
				in.Drops[pkt.DropTxFull]++
				w.freeMbuf(arr[i])
				continue
			}
			held[e.nheld] = arr[i]
			d.CopyTo(&e.heldDs[e.nheld])
			e.nheld++
		}
		c.TxHeld = uint64(e.nheld)
	}
	c.TxBytes += uint64(bytes)
}

// sendHeld offers the held frames to the device again and reports whether all went.
func (w *worker) sendHeld(e *egressPort) bool {
	if w.pend == e {
		w.flushTx() // (not expected: a port with held frames is never left pending)
	}
	n := e.nheld
	sent := txBurst(e.id, e.txq, e.held.Addr(), n)
	c := &w.cnt[e.pidx]
	c.TxPackets += uint64(sent)
	for i := range e.heldDs[:sent] {
		d := &e.heldDs[i]
		w.cnt[d.InPort].Fwd++
		c.TxBytes += uint64(d.Len)
	}
	held := e.held.S()
	copy(held, held[sent:n])
	copy(e.heldDs, e.heldDs[sent:n])
	e.nheld = n - sent
	c.TxHeld = uint64(e.nheld)
	return e.nheld == 0
}

// dropHeldTx frees the frames still held at stop, counted as queued at stop.
func (w *worker) dropHeldTx(e *egressPort) {
	for i, m := range e.held.S()[:e.nheld] {
		w.dropMbuf(m, int(e.heldDs[i].InPort), pkt.DropShutdown)
	}
	e.nheld = 0
	w.cnt[e.pidx].TxHeld = 0
}

// ---- control frames: ARP, ICMP echo ----

func (w *worker) handleARP(m uintptr, data []byte, pidx int, now int64) {
	r := w.r
	p := &r.ports[pidx]
	var a packet.ARPInfo
	if !packet.ParseARP(data, &a) {
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
	if a.Op != packet.ARPRequest {
		w.cnt[pidx].Local++ // a reply to us: learned and consumed
		w.freeMbuf(m)
		return
	}
	n := packet.BuildARPReplyInPlace(data, p.mac, p.ip)
	mempool.SetLen(m, n)
	w.sendCtrl(m, pidx, pidx)
}

func (w *worker) handleLocal(m uintptr, data []byte, pidx int) {
	// The fast parse fills no IPv4Info: parse again (a control-path rarity).
	if packet.ParseIPv4(data, &w.info) != pkt.DropNone || !packet.IsICMPEchoRequest(data, &w.info) {
		w.dropMbuf(m, pidx, pkt.DropNotForUs)
		return
	}
	n := packet.BuildICMPEchoReplyInPlace(data, &w.info)
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
	n := packet.BuildARPRequest(data[:cap(data)], p.mac, p.ip, target)
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
	sent := txBurstOrFree(w.r.ports[out].id, txq, b.b.Addr(), n)
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
