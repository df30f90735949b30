package voq

import (
	"math"
	"unsafe"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
)

// leaf is one schedulable queue: a plain FIFO or an FQ-CoDel instance. Everything
// that is not the hot path (limits, policies, draining) also goes through it, so the
// architectures never care which kind they hold.
//
// The run (a slice of descriptors, all for one output port) is the unit of enqueue
// and dequeue: a single packet is a run of one (enqueueOne, dequeueOne). Each kind
// writes its counting, ledger, sojourn, AQM and memory-model steps once, in its run
// methods.
type leaf interface {
	// enqueueRun offers the packets of ds in order, each with Queue = qi, and returns
	// how many it took: all of ds, or with port >= 0 the leading packets whose OutPort
	// is port. Every packet taken is admitted or handed to sink. The packets of ds
	// are for one output port (the caller's runs are).
	enqueueRun(now int64, ds []pkt.Desc, qi uint32, port int, sink pkt.DropSink) int
	// dequeueRun delivers packets into out while the leaf holds packets and len(out)
	// and budget (bytes; the last packet may overshoot) are left, and returns how many
	// and the budget left; AQM drops go to sink. With port >= 0 (an input FIFO) it
	// stops at the first head packet for another output port.
	dequeueRun(now int64, out []pkt.Desc, budget, port int, sink pkt.DropSink) (int, int)
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
	fqState() FQState
}

// enqueueOne offers d (Queue already set) to l: a run of one.
func enqueueOne(l leaf, now int64, d *pkt.Desc, sink pkt.DropSink) {
	l.enqueueRun(now, unsafe.Slice(d, 1), d.Queue, -1, sink)
}

// dequeueOne delivers l's next packet into *out (a run of at most one, any budget);
// false when nothing was delivered.
func dequeueOne(l leaf, now int64, out *pkt.Desc, sink pkt.DropSink) bool {
	n, _ := l.dequeueRun(now, unsafe.Slice(out, 1), math.MaxInt, -1, sink)
	return n == 1
}

// Ring sizing for byte-only limits: one slot per 64 bytes (the minimum Ethernet frame)
// so the byte limit, not the ring, is what fills first; at least 16 slots, and at most
// 65536 descriptors per queue (see pkt.Desc for their size) so a large byte limit does
// not preallocate a ring nobody will fill. When the ring does fill first it acts as a packet limit.
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
	decided  bool // the head packet was already passed by pol (see dequeueRun)
	leafBase
}

// leafBase is what every kind of leaf keeps: its identity, the Arch's ledger and
// memory model, and its counters; with the steps the kinds share.
type leafBase struct {
	class uint8
	idx   int32
	port  int32 // local output port of every packet in it; -1 for an input FIFO
	led   *ledger
	buf   Memory       // the Arch's memory model, nil when none
	obs   DropObserver // buf as a DropObserver, nil when it is not one
	st    QueueStats   // for FQ-CoDel, the aggregate over all flows
	mem   bool         // buf != nil
}

// newLeafBase is the base of leaf idx (of the class, in the Arch's ledger, with its
// memory model mem, nil when none), for no output port of its own until set.
func newLeafBase(idx int, class uint8, led *ledger, mem Memory) leafBase {
	obs, _ := mem.(DropObserver)
	return leafBase{idx: int32(idx), class: class, led: led, port: -1, buf: mem, obs: obs, mem: mem != nil}
}

var _ leaf = (*queue)(nil)

func newQueue(lb leafBase, pkts, bytes int, headDrop bool, f Factory) *queue {
	q := &queue{headDrop: headDrop, leafBase: lb}
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
	q.pol, q.decided = nil, false
	if f != nil {
		q.pol = f(int(q.idx), q.class)
	}
	q.enqPass = q.pol == nil
	if d, ok := q.pol.(aqm.DequeueOnly); ok {
		q.enqPass = d.DequeueOnly()
	}
}

// fits reports whether a packet of l bytes fits beside pk packets of by bytes.
func (q *queue) fits(pk, by, l int) bool { return pk < q.maxPkts && by+l <= q.maxBytes }

// portStats returns the counters of d's output port (marked changed): the queue's own
// port, or d's for an input FIFO.
func (q *queue) portStats(d *pkt.Desc) *QueueStats {
	if q.port >= 0 {
		return q.led.portAt(q.port)
	}
	return q.led.port(d)
}

// portOut returns the counters of the port a dequeue serves (marked changed): the
// queue's own port, or the global port for an input FIFO.
func (q *queue) portOut(port int) *QueueStats {
	if q.port >= 0 {
		return q.led.portAt(q.port)
	}
	return q.led.portAt(int32(q.led.portIdx[port]))
}

// enqueueRun implements leaf. Packets that need no decision of the queue's own (no
// enqueue-time AQM, room left) are stored with the depth kept in registers, and each
// such stretch is counted once; the memory model, when there is one, is asked about
// each of them in that loop (admit's last step, the only one left for such a packet).
// Any other packet takes admit, the one-packet rule, after the stretch before it is
// counted.
func (q *queue) enqueueRun(now int64, ds []pkt.Desc, qi uint32, port int, sink pkt.DropSink) int {
	if len(ds) == 0 {
		return 0
	}
	q.led.touchQ(q.idx)
	ps := q.portStats(&ds[0])
	plain, mem := q.enqPass, q.buf
	head, pk, by := q.head, q.st.Pkts, q.st.Bytes // pk, by: the depth, this stretch included
	i := 0
	for {
		for ; i < len(ds); i++ {
			d := &ds[i]
			l := int(d.Len)
			if port >= 0 && int(d.OutPort) != port || !plain || !q.fits(pk, by, l) {
				break
			}
			if mem != nil {
				d.Queue = qi
				if r := mem.Admit(now, int(q.idx), d); r != pkt.DropNone {
					countDrop(&q.st, ps, r)
					sink.Drop(d, r)
					continue
				}
			}
			d.CopyToQueue(&q.ring[(head+pk)&q.mask], qi) // word copy: see pkt.Desc.CopyTo
			pk++
			by += l
		}
		n, b := pk-q.st.Pkts, by-q.st.Bytes
		q.st.admitN(n, b)
		ps.admitN(n, b)
		if i == len(ds) || port >= 0 && int(ds[i].OutPort) != port {
			break
		}
		d := &ds[i]
		d.Queue = qi
		q.admit(now, d, int(d.Len), ps, sink)
		i++
		head, pk, by = q.head, q.st.Pkts, q.st.Bytes
	}
	q.st.Arrivals += uint64(i)
	ps.Arrivals += uint64(i)
	return i
}

// admit is the enqueue rule for one packet d of l bytes (counted as an arrival by the
// caller), in Linux's order: the limit first (a packet refused for room never reaches
// the AQM, so it neither advances the AQM's state nor counts as an AQM drop; with
// head-drop the arrival is kept and the head goes instead), then the enqueue-time AQM,
// then head drops to make room, then the memory model.
func (q *queue) admit(now int64, d *pkt.Desc, l int, ps *QueueStats, sink pkt.DropSink) {
	full := !q.fits(q.st.Pkts, q.st.Bytes, l)
	if full && (!q.headDrop || l > q.maxBytes) {
		q.refuse(now, ps, d, pkt.DropTail, sink)
		return
	}
	if !q.enqPass && dropsOrMarks(q.pol.Enqueue(now, packetOf(d), aqm.Backlog{Packets: q.st.Pkts, Bytes: q.st.Bytes}), d, d) {
		q.refuse(now, ps, d, pkt.DropAQM, sink)
		return
	}
	// Head drops come before the memory model's Admit: the memory they release is what
	// the arrival needs. If the model refuses anyway, those packets are still gone.
	for !q.fits(q.st.Pkts, q.st.Bytes, l) { // terminates: an empty queue admits any l <= maxBytes
		q.dropHead(now, pkt.DropHead, sink)
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
// uncounted from the depth) to sink for reason r: the memory model gets it back
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

// Outcomes of leafBase.outcome for one popped packet.
const (
	outDeliver = 0                       // deliver it unchanged
	outMarked  = int(pkt.FlagMarkCE)     // deliver it, CE-marked by the AQM (or by a previous hop)
	outDropped = int(pkt.FlagMarkCE) + 1 // the AQM dropped it: counted, released and in the sink
)

// The dequeue rule for one packet taken off a leaf (a queue, or an FQ-CoDel flow):
// every dequeue loop asks the leaf's policy, if it has one, about the packet's slot h
// (intact until the next admission; the copy handed out is o), with what the policy
// governs after the removal as the backlog, and applies the verdict with outcome,
// which is inlined into the loops (TestInlining): the case without AQM and memory
// model costs no call, the AQM case only the policy's own. (The policy is asked in
// the loop itself: a helper taking the aqm.Packet would build it even without a
// policy, as the compiler does not sink those loads into the branch, and one taking
// the slot is over the inlining budget.)

// outcome applies verdict v to the popped packet: outDeliver or outMarked (o carries
// the AQM's mark, and the memory model has the packet back), or outDropped (counted
// in the queue and its port ps, released, and handed to sink as o). The caller counts
// the delivery, with its sojourn, by runs.
func (b *leafBase) outcome(now int64, v aqm.Verdict, ps *QueueStats, h, o *pkt.Desc, sink pkt.DropSink) int {
	if v == aqm.Pass && !b.mem {
		return int(h.Flags & pkt.FlagMarkCE) // outDeliver or outMarked
	}
	return b.outcomeSlow(now, v, ps, h, o, sink)
}

// outcomeSlow is outcome for a packet the AQM did not simply pass, or with a memory
// model.
func (b *leafBase) outcomeSlow(now int64, v aqm.Verdict, ps *QueueStats, h, o *pkt.Desc, sink pkt.DropSink) int {
	if dropsOrMarks(v, h, o) {
		countDrop(&b.st, ps, pkt.DropAQM)
		dropStored(now, b.idx, b.buf, b.obs, o, pkt.DropAQM, sink)
		return outDropped
	}
	if b.buf != nil {
		b.buf.Release(now, int(b.idx), h, true)
	}
	if v == aqm.Mark {
		return outMarked
	}
	return int(h.Flags & pkt.FlagMarkCE)
}

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
	q.decided = false
	dropStored(now, q.idx, q.buf, q.obs, h, r, sink)
	q.rewind()
}

// rewind restarts an empty queue at the first ring slot. A queue that drains every
// poll (the common case at line rate) then keeps reusing the same few slots, which stay
// in L1, instead of walking the whole ring (tens of KB) and missing on every write.
func (q *queue) rewind() {
	if q.st.Pkts == 0 {
		q.head = 0
	}
}

// peek returns the head packet, nil when empty. The pointer is valid until the next
// operation on q.
func (q *queue) peek() *pkt.Desc {
	if q.st.Pkts == 0 {
		return nil
	}
	return &q.ring[q.head]
}

// dequeueRun implements leaf: the counters are updated once per call and the sojourn
// histogram once per run of packets enqueued at the same time; the policy and outcome
// decide for each packet.
//
// An input FIFO (port >= 0) stops at a head for another port. When that head follows
// an AQM drop, the policy is still in the middle of one dequeue (CoDel's drop loop
// asks about the next head at the same time, see aqm.CoDel.Dequeue): finishAsk asks
// it now.
func (q *queue) dequeueRun(now int64, out []pkt.Desc, budget, port int, sink pkt.DropSink) (int, int) {
	if q.st.Pkts == 0 || len(out) == 0 || budget <= 0 {
		return 0, budget
	}
	q.led.touchQ(q.idx)
	ps := q.portOut(port)
	head, pk, by := q.head, q.st.Pkts, q.st.Bytes
	n, marks, budget0 := 0, 0, budget
	// The first run starts at the head's enqueue time: a run of one costs no call.
	runs := sojournRuns{st: &q.st, ps: ps, enq: q.ring[head].Enq}
	pol := q.pol // the policy to ask about the next head: none if it was decided
	if q.decided {
		pol, q.decided = nil, false
	}
	for n < len(out) && budget > 0 && pk > 0 {
		// The fields used here are read from the ring slot, not from the copy just
		// written (a narrow load from a wide store in flight may not be forwarded).
		h, o := &q.ring[head], &out[n]
		if port >= 0 && int(h.OutPort) != port {
			break
		}
		l, enq := int(h.Len), h.Enq
		h.CopyTo(o)
		head = (head + 1) & q.mask
		pk--
		by -= l
		v := aqm.Pass
		if pol != nil {
			v = pol.Dequeue(now, packetOf(h), aqm.Backlog{Packets: pk, Bytes: by})
		}
		r := q.outcome(now, v, ps, h, o, sink)
		pol = q.pol
		if r == outDropped {
			if port >= 0 {
				var stop bool
				if head, pk, by, stop = q.finishAsk(now, head, pk, by, port, ps, sink); stop {
					break
				}
			}
			continue
		}
		budget -= l
		n++
		if r == outMarked {
			marks++
		}
		runs.add(now, enq)
	}
	runs.flush(now)
	ps.Pkts -= q.st.Pkts - pk
	ps.Bytes -= q.st.Bytes - by
	q.head, q.st.Pkts, q.st.Bytes = head, pk, by
	q.rewind()
	q.st.delivered(n, budget0-budget, marks)
	ps.delivered(n, budget0-budget, marks)
	return n, budget
}

// finishAsk continues the policy's dequeue after an AQM drop in an input FIFO
// serving port (its counters ps) while the heads (the ring from head, pk packets of by
// bytes) are for other ports: the policy decides about each now, as the dequeue it
// began would have. A drop takes that head off (counted at its own port) and the next
// head is decided the same way; a pass leaves it at the head, decided (its mark, if
// any, written into the slot), for its port to deliver without asking again, and stop
// is true. It returns the new head and depth.
func (q *queue) finishAsk(now int64, head, pk, by, port int, ps *QueueStats, sink pkt.DropSink) (int, int, int, bool) {
	for pk > 0 {
		h := &q.ring[head]
		if int(h.OutPort) == port {
			return head, pk, by, false
		}
		l := int(h.Len)
		if !dropsOrMarks(q.pol.Dequeue(now, packetOf(h), aqm.Backlog{Packets: pk - 1, Bytes: by - l}), h, h) {
			q.decided = true
			return head, pk, by, true
		}
		head = (head + 1) & q.mask
		pk--
		by -= l
		// dequeueRun settles every removal with ps; this one belongs to h's port.
		ps.Pkts++
		ps.Bytes += l
		hs := q.led.port(h)
		hs.remove(l)
		countDrop(&q.st, hs, pkt.DropAQM)
		dropStored(now, q.idx, q.buf, q.obs, h, pkt.DropAQM, sink)
	}
	return head, pk, by, true
}

// passRun is Arch.PassBurst for this queue: ds (all for its port, qi its index) is
// counted as admitted and then delivered at now, as enqueueRun and a dequeueRun
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
		d.Queue = qi // as a queued packet carries it
		v := aqm.Pass
		if pol != nil {
			v = pol.Dequeue(now, packetOf(d), aqm.Backlog{Packets: pk, Bytes: by})
		}
		r := q.outcome(now, v, ps, d, d, sink)
		if r == outDropped {
			continue
		}
		if r == outMarked {
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
