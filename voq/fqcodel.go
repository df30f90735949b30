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
// lists. When the whole queue empties every flow leaves the lists at once, as the
// RFC's dequeue on the empty queue would retire them one by one (the Arch never asks
// an empty leaf): after an idle time every flow starts again as a new flow.
//
// Storage: one slab of descriptors shared by all flows with per-flow singly linked
// lists (a next-index array beside the slab, and a free list through the same array).
// Per-flow rings would need each ring sized for the whole limit, because any one flow
// may legally hold all of it: 1024 flows x 10240 packets. The slab costs one
// descriptor (see pkt.Desc for its size) and its int32 links per packet of the limit,
// and nothing per flow beyond a small header.
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
	free int32   // head of the free-slot list

	flows      []fqFlow
	mask       uint32
	newL, oldL fqList
	epoch      uint32 // see fqFlow.epoch; never 0

	quantum  int32
	maxPkts  int // total packets across flows
	maxBytes int // total bytes across flows, MaxInt when unset
	batch    int
	kind     aqm.Kind // of the flow policies, for the snapshot
	enqPass  bool     // the flow policies take no decision at enqueue (none, or aqm.DequeueOnly)
	busy     int      // flows holding packets

	leafBase
}

type fqFlow struct {
	head, tail int32 // packet slots, -1 when empty
	next       int32 // next flow on the same list, -1 at the end
	pkts       int32
	deficit    int32
	epoch      uint32 // listed (on the new or old list) when it equals the queue's epoch
	bytes      int
	pol        aqm.Policy
}

// fqList is an intrusive FIFO of flow indices linked through fqFlow.next.
type fqList struct {
	head, tail int32
	n          int
}

var _ leaf = (*fqQueue)(nil)

func newFQ(lb leafBase, c *FQConfig, f Factory) *fqQueue {
	q := &fqQueue{
		flows:    make([]fqFlow, c.Flows),
		mask:     uint32(c.Flows - 1),
		newL:     fqList{head: -1, tail: -1},
		oldL:     fqList{head: -1, tail: -1},
		quantum:  int32(c.Quantum),
		batch:    c.DropBatch,
		free:     -1,
		epoch:    1,
		leafBase: lb,
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
		for i := pkts - 1; i >= old; i-- {
			link[i] = q.free
			q.free = int32(i)
		}
		q.slab, q.link = slab, link
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

// store appends d (of length l, with Queue = qi) to flow fi, which joins the new list
// if it was on neither, and counts it in the queue (not in its port).
func (q *fqQueue) store(fi int32, d *pkt.Desc, qi uint32, l int) {
	fl := &q.flows[fi]
	s := q.free
	q.free = q.link[s]
	d.CopyToQueue(&q.slab[s], qi) // word copy: see pkt.Desc.CopyTo
	q.link[s] = -1
	if fl.tail < 0 {
		fl.head = s
		q.busy++
	} else {
		q.link[fl.tail] = s
	}
	fl.tail = s
	fl.pkts++
	fl.bytes += l
	q.st.admit(l)
	if fl.epoch != q.epoch {
		fl.deficit = q.quantum
		fl.epoch = q.epoch
		q.newL.push(q.flows, fi)
	}
}

// enqueueRun implements leaf: packets that need no decision (no enqueue-time AQM,
// no memory model, room left) are stored and counted in the port once per stretch;
// any other packet settles the port's count first and takes admit, the one-packet
// rule (so an overflow batch finds the port's depth exact, and its peak stays right).
func (q *fqQueue) enqueueRun(now int64, ds []pkt.Desc, qi uint32, port int, sink pkt.DropSink) int {
	if len(ds) == 0 {
		return 0
	}
	q.led.touchQ(q.idx)
	ps := q.led.portAt(q.port)
	plain := q.enqPass && q.buf == nil
	n, b := 0, 0 // stored and not yet in ps
	i := 0
	for ; i < len(ds); i++ {
		d := &ds[i]
		if port >= 0 && int(d.OutPort) != port {
			break
		}
		l := int(d.Len)
		if plain && q.fits(l) {
			q.store(int32(d.Hash&q.mask), d, qi, l)
			n++
			b += l
			continue
		}
		ps.admitN(n, b)
		n, b = 0, 0
		d.Queue = qi
		q.admit(now, d, l, ps, sink)
	}
	ps.admitN(n, b)
	q.st.Arrivals += uint64(i)
	ps.Arrivals += uint64(i)
	return i
}

// fits reports whether a packet of l bytes fits beside what is queued.
func (q *fqQueue) fits(l int) bool { return q.st.Pkts < q.maxPkts && q.st.Bytes+l <= q.maxBytes }

// admit is the enqueue rule for one packet d of l bytes (counted as an arrival by the
// caller): a packet larger than the byte limit is refused first (Linux's order: no
// AQM decision for a packet refused for room), then the flow's enqueue-time AQM
// decides, then overflow batches make room (the arrival itself is always kept), then
// the memory model is asked.
func (q *fqQueue) admit(now int64, d *pkt.Desc, l int, ps *QueueStats, sink pkt.DropSink) {
	if l > q.maxBytes {
		q.refuse(now, ps, d, pkt.DropTail, sink) // could never fit, even alone
		return
	}
	fi := int32(d.Hash & q.mask)
	fl := &q.flows[fi]
	if !q.enqPass && dropsOrMarks(fl.pol.Enqueue(now, packetOf(d), aqm.Backlog{Packets: int(fl.pkts), Bytes: fl.bytes}), d, d) {
		q.refuse(now, ps, d, pkt.DropAQM, sink)
		return
	}
	// As with head drop, the overflow batch is released before the memory model is
	// asked.
	for !q.fits(l) {
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
		q.busy--
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
		q.oldL.push(q.flows, fi)
	}
}

// retire handles flow fi, at the head of its list, found empty: a new flow moves to
// the old list (RFC 8290 section 4.2), an old one leaves the lists.
func (q *fqQueue) retire(fi int32, fromNew bool) {
	fl := &q.flows[fi]
	if fromNew {
		q.newL.pop(q.flows)
		q.oldL.push(q.flows, fi)
	} else {
		q.oldL.pop(q.flows)
		fl.epoch = 0
	}
}

// dequeueRun implements leaf: one dequeue per delivered packet, in RFC 8290's
// order, with the counters updated once per call and the sojourn histogram once per
// run of packets enqueued at the same time; the policy and outcome decide for each packet. Each
// iteration's search over the flow lists goes on past AQM drops until it delivers or
// the lists are empty. port is ignored (an FQ-CoDel queue has a port of its own).
//
// When the queue runs empty, every flow still listed leaves the lists: that is what
// the dequeue RFC 8290 (and Linux) runs on the empty queue would do, visiting each
// empty flow (a new one moves to the old list, an old one is removed), and the Arch
// never asks an empty leaf. The next packet of any flow then finds it a new flow with
// a fresh quantum, however long ago it last sent.
func (q *fqQueue) dequeueRun(now int64, out []pkt.Desc, budget, _ int, sink pkt.DropSink) (int, int) {
	if q.st.Pkts == 0 || len(out) == 0 || budget <= 0 {
		return 0, budget
	}
	q.led.touchQ(q.idx)
	ps := q.led.portAt(q.port)
	pk, by := q.st.Pkts, q.st.Bytes
	n, db, marks := 0, 0, 0
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
				l, enq := int(h.Len), h.Enq
				h.CopyTo(o)
				fl.head = link[s]
				if fl.head < 0 {
					fl.tail = -1
					q.busy--
				}
				link[s] = q.free
				q.free = s
				fl.pkts--
				fl.bytes -= l
				pk--
				by -= l
				v := aqm.Pass
				if fl.pol != nil {
					v = fl.pol.Dequeue(now, packetOf(h), aqm.Backlog{Packets: int(fl.pkts), Bytes: fl.bytes})
				}
				r := q.outcome(now, v, ps, h, o, sink)
				if r == outDropped {
					continue
				}
				fl.deficit -= int32(l)
				db += l
				budget -= l
				n++
				if r == outMarked {
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
	if pk == 0 {
		q.idle()
	}
	return n, budget
}

// idle takes every flow off the lists once the queue is empty (see dequeueRun), in
// O(1): the lists are emptied and the epoch moves on, so no flow's epoch matches.
func (q *fqQueue) idle() {
	q.newL = fqList{head: -1, tail: -1}
	q.oldL = fqList{head: -1, tail: -1}
	if q.epoch++; q.epoch == 0 { // wrapped: clear the flows' epochs once
		for i := range q.flows {
			q.flows[i].epoch = 0
		}
		q.epoch = 1
	}
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
	if q.st.Pkts == 0 {
		q.idle()
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
	q.idle()
	return n
}

func (q *fqQueue) aqmState(dst *aqm.State) {
	*dst = aqm.State{Kind: q.kind, Drops: q.st.Drops[pkt.DropAQM], Marks: q.st.Marks}
}

func (q *fqQueue) fqState() FQState {
	return FQState{ActiveFlows: q.busy, NewFlows: q.newL.n, OldFlows: q.oldL.n}
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
