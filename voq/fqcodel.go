package voq

import (
	"math"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
)

// FQ-CoDel (RFC 8290) as a class queue.
//
// Principles: packets are hashed (pkt.Desc.Hash, masked to the power-of-two flow
// count) into flow queues, each with its own AQM policy instance (the dataplane
// passes CoDel). Flows are scheduled by DRR with a byte quantum over two lists: a flow
// that becomes active joins the NEW list with a full quantum and is served before any
// flow on the OLD list, so a sparse flow (a DNS query, a TCP ACK, a game update)
// leaves almost at once. When a flow's deficit is spent it goes to the tail of the
// old list with one more quantum. A new flow found empty moves to the old list
// (RFC 8290 4.2), so that a flow which empties and refills quickly cannot re-enter the
// new list every round and starve the old flows; an old flow found empty leaves the
// lists.
//
// Storage: one slab of descriptors shared by all flows with per-flow singly linked
// lists (a next-index array beside the slab, and a free list through the same array).
// Per-flow rings would need each ring sized for the whole limit, because any one flow
// may legally hold all of it: 1024 flows x 10240 packets. The slab costs 36 bytes per
// packet of the limit and nothing per flow beyond a small header.
//
// Overflow: when the limit is reached the arriving packet is still admitted; first
// the flow holding the most bytes loses packets from its head. Like Linux (and unlike
// the single-packet drop in RFC 8290's text), it drops a batch: at most DropBatch (64)
// packets, stopping as soon as half of that flow's bytes are gone. One scan for the
// fattest flow (over the active flows) is then amortized over many packets, and a
// single unresponsive flow cannot make every arrival pay for a scan. Drops are
// counted as pkt.DropOverflow.
//
// AQM: each flow's policy sees that flow's own backlog (aqm.Backlog), which is the
// queue it governs; CoDel's "at most one MTU queued" exemption is therefore per flow.
type fqQueue struct {
	slab []pkt.Desc
	link []int32 // next packet of the same flow, or next free slot; -1 ends a list
	prev []int32 // previous packet of the same flow (valid from the tail back to the head)
	free int32   // head of the free-slot list

	flows      []fqFlow
	mask       uint32
	newL, oldL fqList

	quantum  int32
	maxPkts  int // total packets across flows
	maxBytes int // total bytes across flows, MaxInt when unset
	batch    int
	kind     aqm.Kind // of the flow policies, for the snapshot
	enqPass  bool     // the flow policies take no decision at enqueue (none, or aqm.DequeueOnly)

	leafBase
}

type fqFlow struct {
	head, tail int32 // packet slots, -1 when empty
	next       int32 // next flow on the same list, -1 at the end
	pkts       int32
	deficit    int32
	list       uint8 // onNone, onNew or onOld
	bytes      int
	pol        aqm.Policy
}

const (
	onNone uint8 = iota
	onNew
	onOld
)

// fqList is an intrusive FIFO of flow indices linked through fqFlow.next.
type fqList struct {
	head, tail int32
	n          int
}

var _ leaf = (*fqQueue)(nil)

func newFQ(idx int, class uint8, led *ledger, c *FQConfig, f Factory) *fqQueue {
	q := &fqQueue{
		flows:    make([]fqFlow, c.Flows),
		mask:     uint32(c.Flows - 1),
		newL:     fqList{head: -1, tail: -1},
		oldL:     fqList{head: -1, tail: -1},
		quantum:  int32(c.Quantum),
		batch:    c.DropBatch,
		free:     -1,
		leafBase: newLeafBase(idx, class, led),
	}
	for i := range q.flows {
		q.flows[i] = fqFlow{head: -1, tail: -1, next: -1}
	}
	_ = q.setLimit(c.LimitPkts, c.LimitBytes) // validated by the caller
	q.setPolicy(f)
	return q
}

func (l *fqList) push(flows []fqFlow, fi int32) {
	flows[fi].next = -1
	if l.tail < 0 {
		l.head = fi
	} else {
		flows[l.tail].next = fi
	}
	l.tail = fi
	l.n++
}

func (l *fqList) pop(flows []fqFlow) int32 {
	fi := l.head
	l.head = flows[fi].next
	if l.head < 0 {
		l.tail = -1
	}
	flows[fi].next = -1
	l.n--
	return fi
}

// setLimit sets the total packet (0 = keep the slab size) and byte (0 = none) limits,
// growing the slab if needed (control path). Slot indices survive growth, so the
// flow lists stay valid.
func (q *fqQueue) setLimit(pkts, bytes int) error {
	if err := checkLimits("pkts", "bytes", pkts, bytes); err != nil {
		return err
	}
	if pkts > len(q.slab) {
		old := len(q.slab)
		slab := make([]pkt.Desc, pkts)
		copy(slab, q.slab)
		link := make([]int32, pkts)
		copy(link, q.link)
		prev := make([]int32, pkts)
		copy(prev, q.prev)
		for i := pkts - 1; i >= old; i-- {
			link[i] = q.free
			q.free = int32(i)
		}
		q.slab, q.link, q.prev = slab, link, prev
	}
	q.maxPkts = pkts
	if pkts == 0 {
		q.maxPkts = len(q.slab)
	}
	q.maxBytes = bytes
	if bytes == 0 {
		q.maxBytes = math.MaxInt
	}
	return nil
}

func (q *fqQueue) setPolicy(f Factory) {
	q.kind = aqm.KindNone
	for i := range q.flows {
		q.flows[i].pol = nil
		if f != nil {
			q.flows[i].pol = f(int(q.idx), q.class)
		}
	}
	q.enqPass = true
	if p := q.flows[0].pol; p != nil {
		q.kind = p.Snapshot().Kind
		d, ok := p.(aqm.DequeueOnly)
		q.enqPass = ok && d.DequeueOnly()
	}
}

func (q *fqQueue) enqueue(now int64, d *pkt.Desc, sink pkt.DropSink) {
	ps := q.led.arrive(q.idx, d)
	q.st.Arrivals++
	fi := int32(d.Hash & q.mask)
	fl := &q.flows[fi]
	l := int(d.Len)
	if !q.enqPass && dropsOrMarks(fl.pol.Enqueue(now, packetOf(d), aqm.Backlog{Packets: int(fl.pkts), Bytes: fl.bytes}), d, d) {
		q.refuse(now, ps, d, pkt.DropAQM, sink)
		return
	}
	if l > q.maxBytes {
		q.refuse(now, ps, d, pkt.DropTail, sink) // could never fit, even alone
		return
	}
	// As with head drop, the overflow batch is released before the buffer is asked.
	for q.st.Pkts >= q.maxPkts || q.st.Bytes+l > q.maxBytes {
		q.dropFattest(now, q.batch, true, sink) // frees at least one packet
	}
	if q.buf != nil {
		if r := q.buf.Admit(now, int(q.idx), d); r != pkt.DropNone {
			countDrop(&q.st, ps, r)
			sink.Drop(d, r)
			return
		}
	}
	q.store(fi, d, d.Queue, l)
	ps.admit(l)
}

// store appends d (of length l, with Queue = qi) to flow fi, which joins the new list
// if it was on neither, and counts it in the queue (not in its port).
func (q *fqQueue) store(fi int32, d *pkt.Desc, qi uint32, l int) {
	fl := &q.flows[fi]
	s := q.free
	q.free = q.link[s]
	d.CopyToQueue(&q.slab[s], qi) // word copy: see pkt.Desc.CopyTo
	q.link[s] = -1
	q.prev[s] = fl.tail
	if fl.tail < 0 {
		fl.head = s
	} else {
		q.link[fl.tail] = s
	}
	fl.tail = s
	fl.pkts++
	fl.bytes += l
	q.st.admit(l)
	if fl.list == onNone {
		fl.deficit = q.quantum
		fl.list = onNew
		q.newL.push(q.flows, fi)
	}
}

// enqueueRun is the leaf's run enqueue (see queue.enqueueRun): enqueue for each packet
// of ds, with the ledger's bookkeeping done once per run and the port counters updated
// once per stretch of admissions (an overflow batch drop settles them first, so the
// port's peak depth stays exact; a buffer model is asked packet by packet). Flow
// policies that decide at enqueue, or a queue without a port of its own, take the
// per-packet enqueue.
func (q *fqQueue) enqueueRun(now int64, ds []pkt.Desc, qi uint32, port int, sink pkt.DropSink) int {
	if !q.enqPass || q.port < 0 {
		return enqueueEach(q, now, ds, qi, port, sink)
	}
	q.led.touchQ(q.idx)
	ps := q.led.portAt(q.port)
	n, b := 0, 0 // admitted and not yet in ps
	i := 0
	for ; i < len(ds); i++ {
		d := &ds[i]
		if port >= 0 && int(d.OutPort) != port {
			break
		}
		l := int(d.Len)
		if q.st.Pkts >= q.maxPkts || q.st.Bytes+l > q.maxBytes {
			if l > q.maxBytes {
				d.Queue = qi
				q.refuse(now, ps, d, pkt.DropTail, sink) // could never fit, even alone
				continue
			}
			ps.admitN(n, b)
			n, b = 0, 0
			for q.st.Pkts >= q.maxPkts || q.st.Bytes+l > q.maxBytes {
				q.dropFattest(now, q.batch, true, sink)
			}
		}
		if q.buf != nil {
			d.Queue = qi
			if r := q.buf.Admit(now, int(q.idx), d); r != pkt.DropNone {
				countDrop(&q.st, ps, r)
				sink.Drop(d, r)
				continue
			}
		}
		q.store(int32(d.Hash&q.mask), d, qi, l)
		n++
		b += l
	}
	q.st.Arrivals += uint64(i)
	ps.Arrivals += uint64(i)
	ps.admitN(n, b)
	return i
}

// fattest returns the active flow with the most bytes (-1 if none), scanning only the
// flows on the two lists: every flow holding packets is on one of them.
func (q *fqQueue) fattest() int32 {
	best, bestBytes := int32(-1), 0
	for _, l := range [2]*fqList{&q.newL, &q.oldL} {
		for fi := l.head; fi >= 0; fi = q.flows[fi].next {
			if b := q.flows[fi].bytes; b > bestBytes {
				best, bestBytes = fi, b
			}
		}
	}
	return best
}

// dropFattest drops from the head of the fattest flow: up to n packets, and when
// halve is set it stops once half of that flow's bytes are gone.
func (q *fqQueue) dropFattest(now int64, n int, halve bool, sink pkt.DropSink) {
	fi := q.fattest()
	if fi < 0 {
		return
	}
	fl := &q.flows[fi]
	threshold, dropped := fl.bytes/2, 0
	for i := 0; i < n && fl.pkts > 0; i++ {
		dropped += q.dropFlowHead(now, fl, pkt.DropOverflow, sink)
		if halve && dropped >= threshold {
			break
		}
	}
}

// dropFlowHead removes fl's head packet for reason r and returns its length.
func (q *fqQueue) dropFlowHead(now int64, fl *fqFlow, r pkt.DropReason, sink pkt.DropSink) int {
	s := fl.head
	d := &q.slab[s]
	l := int(d.Len)
	fl.head = q.link[s]
	if fl.head < 0 {
		fl.tail = -1
	}
	fl.pkts--
	fl.bytes -= l
	q.st.remove(l)
	ps := q.led.port(d)
	ps.remove(l)
	countDrop(&q.st, ps, r)
	q.led.touchQ(q.idx)
	dropStored(now, q.idx, q.buf, q.obs, d, r, sink) // before the slot is reused
	q.link[s] = q.free
	q.free = s
	return l
}

func (q *fqQueue) dequeue(now int64, out *pkt.Desc, sink pkt.DropSink) bool {
	for {
		fi, fromNew, ok := q.nextFlow()
		if !ok {
			return false
		}
		fl := &q.flows[fi]
		if q.popFlow(now, fl, out, sink) {
			fl.deficit -= int32(out.Len)
			return true
		}
		q.retire(fi, fromNew)
	}
}

// nextFlow picks the flow to serve by DRR over the two lists, the new list first. A
// flow whose turn is spent gets one more quantum and goes to the back of the old list
// on the way. ok is false when both lists are empty.
func (q *fqQueue) nextFlow() (fi int32, fromNew, ok bool) {
	for {
		fromNew = q.newL.n > 0
		switch {
		case fromNew:
			fi = q.newL.head
		case q.oldL.n > 0:
			fi = q.oldL.head
		default:
			return -1, false, false
		}
		fl := &q.flows[fi]
		if fl.deficit > 0 {
			return fi, fromNew, true
		}
		fl.deficit += q.quantum
		if fromNew {
			q.newL.pop(q.flows)
		} else {
			q.oldL.pop(q.flows)
		}
		fl.list = onOld
		q.oldL.push(q.flows, fi)
	}
}

// retire handles flow fi, at the head of its list, found empty: a new flow moves to
// the old list (RFC 8290 section 4.2), an old one leaves the lists.
func (q *fqQueue) retire(fi int32, fromNew bool) {
	fl := &q.flows[fi]
	if fromNew {
		q.newL.pop(q.flows)
		fl.list = onOld
		q.oldL.push(q.flows, fi)
	} else {
		q.oldL.pop(q.flows)
		fl.list = onNone
	}
}

// popFlow delivers fl's next packet that its policy lets through.
func (q *fqQueue) popFlow(now int64, fl *fqFlow, out *pkt.Desc, sink pkt.DropSink) bool {
	for fl.head >= 0 {
		s := fl.head
		q.slab[s].CopyTo(out)
		fl.head = q.link[s]
		if fl.head < 0 {
			fl.tail = -1
		}
		q.link[s] = q.free
		q.free = s
		l := int(q.slab[s].Len) // the slot, not the copy just written (see pkt.Desc.CopyTo)
		fl.pkts--
		fl.bytes -= l
		q.st.remove(l)
		ps := q.led.port(&q.slab[s])
		ps.remove(l)
		q.led.touchQ(q.idx)
		if q.deliverPopped(now, fl.pol, aqm.Backlog{Packets: int(fl.pkts), Bytes: fl.bytes}, ps, &q.slab[s], out, sink) {
			return true
		}
	}
	return false
}

// dequeueBurst is the leaf's burst dequeue (see queue.dequeueBurst): dequeue in a
// loop while the queue holds packets, len(out) and budget > 0 bytes allow, with the
// counters updated once per call and the sojourn histogram once per run of packets
// enqueued at the same time. Each iteration is exactly one dequeue call: its search
// over the flow lists goes on past AQM drops until it delivers or the lists are empty.
// A buffer model gets each packet back one by one. Without a port of its own, it is
// dequeue in a loop.
func (q *fqQueue) dequeueBurst(now int64, out []pkt.Desc, budget int, sink pkt.DropSink) (int, int) {
	n := 0
	if q.port < 0 {
		for n < len(out) && budget > 0 && q.st.Pkts > 0 && q.dequeue(now, &out[n], sink) {
			budget -= int(out[n].Len)
			n++
		}
		return n, budget
	}
	if q.st.Pkts == 0 {
		return 0, budget
	}
	q.led.touchQ(q.idx)
	ps := q.led.portAt(q.port)
	pk, by := q.st.Pkts, q.st.Bytes
	db, marks := 0, 0
	runs := sojournRuns{st: &q.st, ps: ps}
	flows, slab, link := q.flows, q.slab, q.link
search:
	for n < len(out) && budget > 0 && pk > 0 {
		for { // one dequeue
			// nextFlow, with its common case (the head flow has quantum left) inline
			var fi int32
			var fromNew, ok bool
			switch {
			case q.newL.n > 0 && flows[q.newL.head].deficit > 0:
				fi, fromNew = q.newL.head, true
			case q.newL.n == 0 && q.oldL.n > 0 && flows[q.oldL.head].deficit > 0:
				fi = q.oldL.head
			default:
				if fi, fromNew, ok = q.nextFlow(); !ok {
					break search
				}
			}
			fl := &flows[fi]
			for fl.head >= 0 {
				s := fl.head
				// Fields are read from the slab slot, not from the copy just written
				// (see pkt.Desc.CopyTo); the slot stays intact until the next enqueue.
				h, o := &slab[s], &out[n]
				l, enq, flags := int(h.Len), h.Enq, h.Flags
				h.CopyTo(o)
				fl.head = link[s]
				if fl.head < 0 {
					fl.tail = -1
				}
				link[s] = q.free
				q.free = s
				fl.pkts--
				fl.bytes -= l
				pk--
				by -= l
				// deliverPopped's steps, written out (see queue.dequeueBurst)
				if fl.pol != nil {
					v := fl.pol.Dequeue(now, packetOf(h), aqm.Backlog{Packets: int(fl.pkts), Bytes: fl.bytes})
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
				fl.deficit -= int32(l)
				db += l
				budget -= l
				n++
				if flags&pkt.FlagMarkCE != 0 {
					marks++
				}
				runs.add(now, enq)
				continue search
			}
			q.retire(fi, fromNew) // it ran dry without delivering
		}
	}
	runs.flush(now)
	ps.Pkts -= q.st.Pkts - pk
	ps.Bytes -= q.st.Bytes - by
	q.st.Pkts, q.st.Bytes = pk, by
	q.st.delivered(n, db, marks)
	ps.delivered(n, db, marks)
	return n, budget
}

func (q *fqQueue) headEnq() int64 {
	h := noHead
	for _, l := range [2]*fqList{&q.newL, &q.oldL} {
		for fi := l.head; fi >= 0; fi = q.flows[fi].next {
			if s := q.flows[fi].head; s >= 0 && q.slab[s].Enq < h {
				h = q.slab[s].Enq
			}
		}
	}
	return h
}

// trim drops one packet at a time from the head of the fattest flow until the limits
// hold again, so a shrunk limit loses exactly the excess.
func (q *fqQueue) trim(now int64, sink pkt.DropSink) {
	for q.st.Pkts > q.maxPkts || q.st.Bytes > q.maxBytes {
		q.dropFattest(now, 1, false, sink)
	}
}

func (q *fqQueue) drain(now int64, sink pkt.DropSink) int {
	n := q.st.Pkts
	for i := range q.flows {
		fl := &q.flows[i]
		for fl.pkts > 0 {
			q.dropFlowHead(now, fl, pkt.DropShutdown, sink)
		}
	}
	return n
}

func (q *fqQueue) aqmState(dst *aqm.State) {
	*dst = aqm.State{Kind: q.kind, Drops: q.st.Drops[pkt.DropAQM], Marks: q.st.Marks}
}

func (q *fqQueue) fqState() FQState {
	return FQState{ActiveFlows: q.newL.n + q.oldL.n, NewFlows: q.newL.n, OldFlows: q.oldL.n}
}

// walkNewest walks each flow from its tail back through the prev links.
func (f *fqQueue) walkNewest(fn func(d *pkt.Desc) bool) {
	for i := range f.flows {
		fl := &f.flows[i]
		for s := fl.tail; s >= 0 && fn(&f.slab[s]); s = f.prev[s] {
			if s == fl.head {
				break
			}
		}
	}
}

// walk calls fn for every queued packet, flow by flow (each flow oldest first), until
// fn returns false.
func (f *fqQueue) walk(fn func(d *pkt.Desc) bool) bool {
	for i := range f.flows {
		for s := f.flows[i].head; s >= 0; s = f.link[s] {
			if !fn(&f.slab[s]) {
				return false
			}
		}
	}
	return true
}
