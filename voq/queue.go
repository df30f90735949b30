package voq

import (
	"math"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
)

// leaf is one schedulable queue: a plain FIFO or an FQ-CoDel instance. Everything
// that is not the hot path (limits, policies, draining) also goes through it, so the
// architectures never care which kind they hold.
type leaf interface {
	// enqueue takes ownership of d: it is admitted or handed to sink.
	enqueue(now int64, d *pkt.Desc, sink pkt.DropSink)
	// dequeue moves the next deliverable packet into *out; AQM drops go to sink.
	// false means the leaf is empty.
	dequeue(now int64, out *pkt.Desc, sink pkt.DropSink) bool
	depth() int
	// headEnq is the enqueue time of the oldest head packet, noHead when empty.
	headEnq() int64
	// trim drops (pkt.DropOverflow) until the leaf is within its limits.
	trim(now int64, sink pkt.DropSink)
	// drain hands every packet to sink with pkt.DropShutdown and returns the count.
	drain(now int64, sink pkt.DropSink) int
	setLimit(pkts, bytes int) error
	setPolicy(f Factory)
	stats() *QueueStats
	aqmState(dst *aqm.State)
	// walk visits the queued packets read-only (control-plane queries).
	walk(fn func(d *pkt.Desc) bool) bool
	// enqueueRun offers the packets of ds in order, each with Queue = qi (as enqueue
	// one by one), and returns how many it took: all of ds, or with port >= 0 the
	// leading packets whose OutPort is port.
	enqueueRun(now int64, ds []pkt.Desc, qi uint32, port int, sink pkt.DropSink) int
	// dequeueBurst is dequeue in a loop while the leaf holds packets and len(out) and
	// budget (bytes) are left; it returns the packets delivered and the budget left.
	dequeueBurst(now int64, out []pkt.Desc, budget int, sink pkt.DropSink) (int, int)
	// walkNewest visits each FIFO of the leaf (the queue, or each FQ flow) from its
	// newest packet back, until fn returns false for that FIFO.
	walkNewest(fn func(d *pkt.Desc) bool)
	fqState() FQState
}

// Ring sizing for byte-only limits: one slot per 64 bytes (the minimum Ethernet frame)
// so the byte limit, not the ring, is what fills first; at least 16 slots, and at most
// 65536 (2 MiB of descriptors per queue) so a large byte limit does not preallocate a
// ring nobody will fill. When the ring does fill first it acts as a packet limit.
const (
	minRing        = 16
	maxByteOnlyCap = 1 << 16
)

func ringCap(pkts, bytes int) int {
	n := pkts
	if n == 0 {
		n = min(max((bytes+63)/64, minRing), maxByteOnlyCap)
	}
	c := 1
	for c < n {
		c <<= 1
	}
	return c
}

// queue is a bounded FIFO in a preallocated power-of-two ring of descriptors.
type queue struct {
	ring     []pkt.Desc
	mask     int
	head     int
	maxPkts  int // packet limit, or the ring size when only bytes are limited
	maxBytes int // byte limit, MaxInt when unset
	headDrop bool
	pol      aqm.Policy
	enqPass  bool // pol takes no decision at enqueue (none, or aqm.DequeueOnly)
	leafBase
}

// leafBase is what every kind of leaf keeps: its identity, the Arch's ledger and
// buffer model, and its counters; with the steps the kinds share.
type leafBase struct {
	class uint8
	idx   int32
	port  int32 // local output port of every packet in it; -1 for an input FIFO
	led   *ledger
	buf   Memory       // the Arch's buffer model, nil when none
	obs   DropObserver // buf as a DropObserver, nil when it is not one
	st    QueueStats   // for FQ-CoDel, the aggregate over all flows
}

func newLeafBase(idx int, class uint8, led *ledger) leafBase {
	return leafBase{idx: int32(idx), class: class, led: led, port: -1}
}

var _ leaf = (*queue)(nil)

func newQueue(idx int, class uint8, led *ledger, pkts, bytes int, headDrop bool, f Factory) *queue {
	q := &queue{headDrop: headDrop, leafBase: newLeafBase(idx, class, led)}
	_ = q.setLimit(pkts, bytes) // validated by the caller
	q.setPolicy(f)
	return q
}

func packetOf(d *pkt.Desc) aqm.Packet {
	return aqm.Packet{Len: int(d.Len), EnqTime: d.Enq, ECT: d.ECN != 0, Class: d.Class}
}

// setLimit changes the limits. Growing past the ring reallocates it (control path
// only); shrinking below the depth takes effect at the next trim.
func (q *queue) setLimit(pkts, bytes int) error {
	if err := checkLimits("pkts", "bytes", pkts, bytes); err != nil {
		return err
	}
	if need := ringCap(pkts, bytes); need > len(q.ring) {
		r := make([]pkt.Desc, need)
		for i := 0; i < q.st.Pkts; i++ {
			r[i] = q.ring[(q.head+i)&q.mask]
		}
		q.ring, q.mask, q.head = r, need-1, 0
	}
	q.maxPkts = pkts
	if pkts == 0 {
		q.maxPkts = len(q.ring)
	}
	q.maxBytes = bytes
	if bytes == 0 {
		q.maxBytes = math.MaxInt
	}
	return nil
}

func (q *queue) setPolicy(f Factory) {
	q.pol = nil
	if f != nil {
		q.pol = f(int(q.idx), q.class)
	}
	q.enqPass = q.pol == nil
	if d, ok := q.pol.(aqm.DequeueOnly); ok {
		q.enqPass = d.DequeueOnly()
	}
}

func (q *queue) full(l int) bool { return q.st.Pkts >= q.maxPkts || q.st.Bytes+l > q.maxBytes }

// portStats returns the counters of d's output port (marked changed): the queue's own
// port, or d's for an input FIFO.
func (q *queue) portStats(d *pkt.Desc) *QueueStats {
	if q.port >= 0 {
		return q.led.portAt(q.port)
	}
	return q.led.port(d)
}

func (q *queue) enqueue(now int64, d *pkt.Desc, sink pkt.DropSink) {
	q.led.touchQ(q.idx)
	ps := q.portStats(d)
	ps.Arrivals++
	q.st.Arrivals++
	l := int(d.Len)
	if q.enqPass && q.buf == nil && q.st.Pkts < q.maxPkts && q.st.Bytes+l <= q.maxBytes {
		// The common case, no decision to take: store it.
		q.ring[(q.head+q.st.Pkts)&q.mask] = *d
		q.st.admit(l)
		ps.admit(l)
		return
	}
	q.enqueueSlow(now, d, l, ps, sink)
}

// enqueueSlow is enqueue with an AQM, a buffer model or a full queue.
func (q *queue) enqueueSlow(now int64, d *pkt.Desc, l int, ps *QueueStats, sink pkt.DropSink) {
	if !q.enqPass && dropsOrMarks(q.pol.Enqueue(now, packetOf(d), aqm.Backlog{Packets: q.st.Pkts, Bytes: q.st.Bytes}), d, d) {
		q.refuse(now, ps, d, pkt.DropAQM, sink)
		return
	}
	if q.full(l) {
		if !q.headDrop || l > q.maxBytes {
			q.refuse(now, ps, d, pkt.DropTail, sink)
			return
		}
		// Head drops come before the buffer's Admit: the memory they release is what
		// the arrival needs. If the buffer refuses anyway, those packets are still gone.
		for q.full(l) { // terminates: an empty queue admits any l <= maxBytes
			q.dropHead(now, pkt.DropHead, sink)
		}
	}
	if q.buf != nil {
		if r := q.buf.Admit(now, int(q.idx), d); r != pkt.DropNone {
			countDrop(&q.st, ps, r)
			sink.Drop(d, r)
			return
		}
	}
	q.ring[(q.head+q.st.Pkts)&q.mask] = *d
	q.st.admit(l)
	ps.admit(l)
}

// dropsOrMarks applies an AQM verdict on the packet in h to its copy o (h itself when
// there is no copy): a mark sets pkt.FlagMarkCE in o; a drop, or a mark on a packet
// that cannot carry it (RFC 3168), returns true: the packet is to be dropped. It decides
// from h and only writes o, so nothing is read back from a fresh copy (see
// pkt.Desc.CopyTo).
func dropsOrMarks(v aqm.Verdict, h, o *pkt.Desc) bool {
	switch {
	case v == aqm.Pass:
		return false
	case v == aqm.Drop || !h.ECT():
		return true
	}
	o.Flags |= pkt.FlagMarkCE
	return false
}

// countDrop counts a drop for reason r in a queue and its port.
func countDrop(qs, ps *QueueStats, r pkt.DropReason) {
	qs.Drops[r]++
	ps.Drops[r]++
}

// refuse drops an arrival that was never stored, for a reason of the queue's own.
func (b *leafBase) refuse(now int64, ps *QueueStats, d *pkt.Desc, r pkt.DropReason, sink pkt.DropSink) {
	countDrop(&b.st, ps, r)
	if b.obs != nil {
		b.obs.QueueDrop(now, int(b.idx), r)
	}
	sink.Drop(d, r)
}

// dropStored hands a packet that had been stored (and is already unlinked and
// uncounted from the depth) to sink for reason r: the buffer gets its memory back
// first, then hears about the drop unless it is a shutdown.
func dropStored(now int64, q int32, buf Memory, obs DropObserver, d *pkt.Desc, r pkt.DropReason, sink pkt.DropSink) {
	if buf != nil {
		buf.Release(now, int(q), d, false)
		if obs != nil && r != pkt.DropShutdown {
			obs.QueueDrop(now, int(q), r)
		}
	}
	sink.Drop(d, r)
}

// deliverPopped finishes taking a packet off this leaf (a queue, or an FQ-CoDel flow)
// one at a time: h is its slot (intact until the next admission), o the copy handed
// out, backlog what pol governs after the removal. The dequeue-time AQM decides from h;
// a drop is counted (queue and port ps) and goes to sink after the buffer model has the
// memory back, and deliverPopped returns false (the caller tries its next packet).
// Otherwise the buffer model releases the packet and its delivery is counted. The
// burst loops write the same steps out (see queue.dequeueBurst).
func (b *leafBase) deliverPopped(now int64, pol aqm.Policy, backlog aqm.Backlog, ps *QueueStats, h, o *pkt.Desc,
	sink pkt.DropSink) bool {
	marked := h.Flags&pkt.FlagMarkCE != 0
	if pol != nil {
		v := pol.Dequeue(now, packetOf(h), backlog)
		if dropsOrMarks(v, h, o) {
			b.dropAQM(now, ps, o, sink)
			return false
		}
		marked = marked || v == aqm.Mark
	}
	if b.buf != nil {
		b.release(now, h)
	}
	l, so := int(h.Len), now-h.Enq
	b.st.deliver(l, so, marked)
	ps.deliver(l, so, marked)
	return true
}

// dropAQM counts and hands on a packet the dequeue-time AQM dropped (o as for
// deliverPopped).
func (b *leafBase) dropAQM(now int64, ps *QueueStats, o *pkt.Desc, sink pkt.DropSink) {
	countDrop(&b.st, ps, pkt.DropAQM)
	dropStored(now, b.idx, b.buf, b.obs, o, pkt.DropAQM, sink)
}

// release gives a delivered packet's memory back to the buffer model (there is one).
func (b *leafBase) release(now int64, h *pkt.Desc) { b.buf.Release(now, int(b.idx), h, true) }

// dropHead removes the head packet for reason r. The sink sees the ring slot itself,
// which stays intact until the next admission.
func (q *queue) dropHead(now int64, r pkt.DropReason, sink pkt.DropSink) {
	h := &q.ring[q.head]
	l := int(h.Len)
	q.head = (q.head + 1) & q.mask
	q.st.remove(l)
	ps := q.portStats(h)
	ps.remove(l)
	countDrop(&q.st, ps, r)
	q.led.touchQ(q.idx)
	dropStored(now, q.idx, q.buf, q.obs, h, r, sink)
}

// rewind restarts an empty queue at the first ring slot. A queue that drains every
// poll (the common case at line rate) then keeps reusing the same few slots, which stay
// in L1, instead of walking the whole ring (tens of KB) and missing on every write.
func (q *queue) rewind() {
	if q.st.Pkts == 0 {
		q.head = 0
	}
}

func (q *queue) dequeue(now int64, out *pkt.Desc, sink pkt.DropSink) bool {
	return q.dequeueFor(now, out, sink, -1)
}

// peek returns the head packet, nil when empty. The pointer is valid until the next
// operation on q.
func (q *queue) peek() *pkt.Desc {
	if q.st.Pkts == 0 {
		return nil
	}
	return &q.ring[q.head]
}

// dequeueFor delivers the head into *out if it is for output port (any port when
// port < 0). AQM drops at dequeue go to sink and the next head is tried.
func (q *queue) dequeueFor(now int64, out *pkt.Desc, sink pkt.DropSink, port int) bool {
	for q.st.Pkts > 0 {
		h := &q.ring[q.head]
		if port >= 0 && int(h.OutPort) != port {
			return false
		}
		*out = *h
		l := int(out.Len)
		q.head = (q.head + 1) & q.mask
		q.st.remove(l)
		q.rewind()
		ps := q.portStats(out)
		ps.remove(l)
		q.led.touchQ(q.idx)
		if q.deliverPopped(now, q.pol, aqm.Backlog{Packets: q.st.Pkts, Bytes: q.st.Bytes}, ps, h, out, sink) {
			return true
		}
	}
	return false
}

// enqueueRun offers the packets of ds for this queue (each gets Queue = qi), as enqueue
// would one by one, and returns how many it took: all of ds, or with port >= 0 the
// leading packets whose OutPort is port (the caller then needs no separate pass to
// find the run). Without an enqueue-time AQM decision or head-drop, and for a queue
// with an output port of its own, the counters are updated once for the whole run (a
// buffer model is still asked packet by packet).
func (q *queue) enqueueRun(now int64, ds []pkt.Desc, qi uint32, port int, sink pkt.DropSink) int {
	if !q.enqPass || q.headDrop || q.port < 0 {
		return enqueueEach(q, now, ds, qi, port, sink)
	}
	q.led.touchQ(q.idx)
	ps := q.led.portAt(q.port)
	pk, by, tail := q.st.Pkts, q.st.Bytes, q.head+q.st.Pkts
	i := 0
	for ; i < len(ds); i++ {
		d := &ds[i]
		if port >= 0 && int(d.OutPort) != port {
			break
		}
		l := int(d.Len)
		if pk >= q.maxPkts || by+l > q.maxBytes {
			d.Queue = qi
			countDrop(&q.st, ps, pkt.DropTail)
			if q.obs != nil {
				q.obs.QueueDrop(now, int(q.idx), pkt.DropTail)
			}
			sink.Drop(d, pkt.DropTail)
			continue
		}
		if q.buf != nil {
			d.Queue = qi
			if r := q.buf.Admit(now, int(q.idx), d); r != pkt.DropNone {
				countDrop(&q.st, ps, r)
				sink.Drop(d, r)
				continue
			}
		}
		d.CopyToQueue(&q.ring[tail&q.mask], qi) // word copy: see pkt.Desc.CopyTo
		tail++
		pk++
		by += l
	}
	n, b := pk-q.st.Pkts, by-q.st.Bytes
	q.st.Arrivals += uint64(i)
	ps.Arrivals += uint64(i)
	q.st.admitN(n, b)
	ps.admitN(n, b)
	return i
}

// enqueueEach is enqueueRun packet by packet, for the cases that need a decision per
// packet.
func enqueueEach(l leaf, now int64, ds []pkt.Desc, qi uint32, port int, sink pkt.DropSink) int {
	i := 0
	for ; i < len(ds) && (port < 0 || int(ds[i].OutPort) == port); i++ {
		ds[i].Queue = qi
		l.enqueue(now, &ds[i], sink)
	}
	return i
}

// dequeueBurst delivers packets into out while budget > 0 bytes and returns how many
// and the budget left: dequeueFor in a loop. For a queue with an output port of its own
// (not an input FIFO), the counters are updated once per call and the sojourn
// histogram once per run of packets enqueued at the same time (a buffer model still
// gets each packet back one by one).
func (q *queue) dequeueBurst(now int64, out []pkt.Desc, budget int, sink pkt.DropSink) (int, int) {
	if q.st.Pkts == 0 {
		return 0, budget
	}
	n := 0
	if q.port >= 0 {
		q.led.touchQ(q.idx)
		ps := q.led.portAt(q.port)
		head, pk, by := q.head, q.st.Pkts, q.st.Bytes
		db, marks := 0, 0
		runs := sojournRuns{st: &q.st, ps: ps}
		pol := q.pol
		for n < len(out) && budget > 0 && pk > 0 {
			// The fields used here are read from the ring slot, not from the copy just
			// written (a narrow load from a wide store in flight may not be forwarded).
			h, o := &q.ring[head], &out[n]
			l, enq, flags := int(h.Len), h.Enq, h.Flags
			h.CopyTo(o)
			head = (head + 1) & q.mask
			pk--
			by -= l
			// deliverPopped's steps, written out (a call per packet costs this loop 1-2 ns)
			if pol != nil {
				v := pol.Dequeue(now, packetOf(h), aqm.Backlog{Packets: pk, Bytes: by})
				if dropsOrMarks(v, h, o) {
					q.dropAQM(now, ps, o, sink)
					continue
				}
				if v == aqm.Mark {
					flags |= pkt.FlagMarkCE
				}
			}
			if q.buf != nil {
				q.release(now, h)
			}
			db += l
			budget -= l
			n++
			if flags&pkt.FlagMarkCE != 0 {
				marks++
			}
			runs.add(now, enq)
		}
		runs.flush(now)
		ps.Pkts -= q.st.Pkts - pk
		ps.Bytes -= q.st.Bytes - by
		q.head, q.st.Pkts, q.st.Bytes = head, pk, by
		q.rewind()
		q.st.delivered(n, db, marks)
		ps.delivered(n, db, marks)
		return n, budget
	}
	// An input FIFO: one packet at a time.
	for n < len(out) && budget > 0 && q.dequeueFor(now, &out[n], sink, -1) {
		budget -= int(out[n].Len)
		n++
	}
	return n, budget
}

// passRun is Arch.PassBurst for this queue: ds (all for its port, qi its index) is
// counted as admitted and then delivered at now, as enqueueRun and a dequeueBurst
// taking everything would count it, when the queue is empty and nothing can refuse an
// arrival (see PassBurst); otherwise -1. AQM drops get d.Queue = qi before sink sees
// them, like any queued packet.
func (q *queue) passRun(now int64, ds []pkt.Desc, qi uint32, sink pkt.DropSink) int {
	if q.st.Pkts != 0 || !q.enqPass || q.buf != nil || q.port < 0 || len(ds) > q.maxPkts {
		return -1
	}
	b, marks, enq0, sameEnq := 0, 0, ds[0].Enq, true
	for i := range ds {
		d := &ds[i]
		b += int(d.Len)
		if d.Flags&pkt.FlagMarkCE != 0 {
			marks++
		}
		if d.Enq != enq0 {
			sameEnq = false
		}
	}
	if b > q.maxBytes {
		return -1
	}
	q.led.touchQ(q.idx)
	ps := q.led.portAt(q.port)
	n := len(ds)
	q.st.Arrivals += uint64(n)
	ps.Arrivals += uint64(n)
	q.st.admitN(n, b)
	ps.admitN(n, b)
	q.st.Pkts, q.st.Bytes = 0, 0
	ps.Pkts -= n
	ps.Bytes -= b
	if q.pol == nil && sameEnq {
		// Nothing can drop, and one sojourn for all (the dataplane's case: one rx burst).
		q.st.Sojourn.addN(now-enq0, n)
		ps.Sojourn.addN(now-enq0, n)
		q.st.delivered(n, b, marks)
		ps.delivered(n, b, marks)
		return n
	}
	pk, by := n, b
	k, db := 0, 0
	marks = 0
	runs := sojournRuns{st: &q.st, ps: ps}
	pol := q.pol
	for i := range ds {
		d := &ds[i]
		l, enq := int(d.Len), d.Enq
		pk--
		by -= l
		if pol != nil && dropsOrMarks(pol.Dequeue(now, packetOf(d), aqm.Backlog{Packets: pk, Bytes: by}), d, d) {
			d.Queue = qi // as a queued packet carries it
			q.dropAQM(now, ps, d, sink)
			continue
		}
		if d.Flags&pkt.FlagMarkCE != 0 {
			marks++
		}
		if k != i {
			d.CopyTo(&ds[k])
		}
		k++
		db += l
		runs.add(now, enq)
	}
	runs.flush(now)
	q.st.delivered(k, db, marks)
	ps.delivered(k, db, marks)
	return k
}

func (b *leafBase) depth() int { return b.st.Pkts }

func (q *queue) headEnq() int64 {
	if q.st.Pkts == 0 {
		return noHead
	}
	return q.ring[q.head].Enq
}

func (q *queue) trim(now int64, sink pkt.DropSink) {
	for q.st.Pkts > q.maxPkts || q.st.Bytes > q.maxBytes {
		q.dropHead(now, pkt.DropOverflow, sink)
	}
}

func (q *queue) drain(now int64, sink pkt.DropSink) int {
	n := q.st.Pkts
	for q.st.Pkts > 0 {
		q.dropHead(now, pkt.DropShutdown, sink)
	}
	return n
}

func (b *leafBase) stats() *QueueStats { return &b.st }

func (q *queue) aqmState(dst *aqm.State) {
	*dst = aqm.State{}
	if q.pol != nil {
		*dst = q.pol.Snapshot()
	}
}

func (q *queue) fqState() FQState { return FQState{} }

// walkNewest walks the ring from the tail back.
func (q *queue) walkNewest(fn func(d *pkt.Desc) bool) {
	for i := q.st.Pkts - 1; i >= 0 && fn(&q.ring[(q.head+i)&q.mask]); i-- {
	}
}

// walk calls fn for every queued packet, oldest first, until fn returns false; it
// returns false when stopped early. Read-only: for control-plane queries run by the
// owner lcore between bursts.
func (q *queue) walk(fn func(d *pkt.Desc) bool) bool {
	for i := 0; i < q.st.Pkts; i++ {
		if !fn(&q.ring[(q.head+i)&q.mask]) {
			return false
		}
	}
	return true
}
