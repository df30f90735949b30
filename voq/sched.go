package voq

import (
	"math"
	"math/bits"
	"unsafe"

	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/pkt"
)

// nextBit returns the lowest set bit of m at or after position from, wrapping around
// to the lowest set bit of m; m must not be 0. Round-robin pointers are bit positions,
// and a pointer one past the last member wraps naturally.
func nextBit(m uint64, from int) int {
	if from < 64 {
		if h := m & (^uint64(0) << uint(from)); h != 0 {
			return bits.TrailingZeros64(h)
		}
	}
	return bits.TrailingZeros64(m)
}

// drr is byte-deficit round robin over up to 64 members (classes or inputs), in the
// form where a member may overdraw: it is served while its deficit is positive and the
// last packet may leave it negative; when the turn reaches it, it gains its quantum.
// This needs no head-of-line length before the dequeue, which matters because an AQM
// may drop the head at dequeue and an FQ-CoDel leaf chooses its packet only then.
// Long-run shares are exactly proportional to the quanta.
type drr struct {
	quantum []int32 // per member, bytes
	deficit []int32
	cur     int // member holding the turn, -1 before the first pick
}

func newDRR(quantum []int32) drr {
	return drr{quantum: quantum, deficit: make([]int32, len(quantum)), cur: -1}
}

// pick returns the member to serve among active (a bitmask, not 0).
func (r *drr) pick(active uint64) int {
	c := r.cur
	if c >= 0 && active&(1<<uint(c)) != 0 && r.deficit[c] > 0 {
		return c
	}
	for {
		c = nextBit(active, c+1)
		r.deficit[c] += r.quantum[c]
		r.cur = c
		if r.deficit[c] > 0 {
			return c
		}
	}
}

// idle is called when member m has emptied: it forfeits unused credit (a member must
// not bank service while it has nothing to send) but keeps any debt.
func (r *drr) idle(m int) {
	if r.deficit[m] > 0 {
		r.deficit[m] = 0
	}
}

// outPort is the per-output-port scheduler configuration and shaper state; for voq it
// is shared by the class sets of all inputs, so a class rate limit is per output port.
type outPort struct {
	global  int
	sp      bool
	quantum []int32       // per class (drr, wdrr)
	tb      []link.Bucket // per class: a class is eligible while its balance is positive
	limited uint8         // classes with a rate limit
	all     uint8         // all classes
}

func newOutPort(global, classes int, s sched) outPort {
	p := outPort{global: global, sp: s.kind == SchedSP, quantum: s.quantum, all: uint8(1<<classes - 1)}
	p.tb = make([]link.Bucket, classes)
	for c, r := range s.rates {
		if r.BitsPerSec > 0 {
			p.tb[c] = link.NewBucket(float64(r.BitsPerSec), r.BurstBytes)
			p.limited |= 1 << c
		}
	}
	return p
}

// eligible returns the classes allowed to send now.
func (p *outPort) eligible(now int64) uint8 {
	if p.limited == 0 {
		return p.all
	}
	e := p.all &^ p.limited
	for m := p.limited; m != 0; m &= m - 1 {
		c := bits.TrailingZeros8(m)
		if p.tb[c].Refill(now); p.tb[c].Positive() {
			e |= 1 << c
		}
	}
	return e
}

// classSet is the class queues behind one scheduler: those of an egress port, or those
// of one (input, output) pair of VOQs.
type classSet struct {
	leaves   []leaf
	qs       []*queue // leaves[c] when it is a plain queue, else nil
	nonEmpty uint8    // classes holding packets
	drr      drr      // unused for strict priority
	parent   *uint64
	bit      uint64 // this set's bit in *parent (the output's mask of non-empty inputs)
}

func newClassSet(leaves []leaf, p *outPort, parent *uint64, bit uint64) classSet {
	cs := classSet{leaves: leaves, parent: parent, bit: bit, qs: make([]*queue, len(leaves))}
	for c, l := range leaves {
		cs.qs[c], _ = l.(*queue)
	}
	if !p.sp {
		cs.drr = newDRR(p.quantum)
	}
	return cs
}

// enqueue offers d to class c (a plain queue without the interface call).
func (cs *classSet) enqueue(now int64, c int, d *pkt.Desc, sink pkt.DropSink) {
	if q := cs.qs[c]; q != nil {
		q.enqueueRun(now, unsafe.Slice(d, 1), d.Queue, -1, sink)
	} else {
		enqueueOne(cs.leaves[c], now, d, sink)
	}
	cs.refresh(c)
}

// refresh updates the non-empty bits after class c changed and reports whether the
// whole set is empty.
func (cs *classSet) refresh(c int) bool {
	if q := cs.qs[c]; q != nil {
		return cs.note(c, q.st.Pkts)
	}
	return cs.note(c, cs.leaves[c].depth())
}

// note is refresh with class c's depth known.
func (cs *classSet) note(c, depth int) bool {
	b := uint8(1) << c
	if depth > 0 && cs.nonEmpty&b != 0 {
		return false // nothing changes: the set and its parent bit are already marked
	}
	if depth > 0 {
		cs.nonEmpty |= b
	} else if cs.nonEmpty&b != 0 {
		cs.nonEmpty &^= b
		if cs.drr.deficit != nil {
			cs.drr.idle(c)
		}
	}
	if cs.nonEmpty != 0 {
		*cs.parent |= cs.bit
		return false
	}
	*cs.parent &^= cs.bit
	return true
}

func (cs *classSet) refreshAll() {
	for c := range cs.leaves {
		cs.refresh(c)
	}
}

// Results of classSet.serve.
const (
	serveNone      = iota // no eligible class holds packets
	serveDropped          // the chosen class's AQM dropped what it had; ask again
	serveDelivered        // one packet is in *out
)

// serve dequeues one packet from the class the port's scheduler picks among the
// eligible (*elig) non-empty classes, and charges the scheduler and the class shaper.
// A class whose bucket runs dry is removed from *elig for the rest of the call.
func (cs *classSet) serve(now int64, p *outPort, elig *uint8, out *pkt.Desc, sink pkt.DropSink) int {
	act := cs.nonEmpty & *elig
	if act == 0 {
		return serveNone
	}
	var c int
	if p.sp {
		c = bits.Len8(act) - 1
	} else {
		c = cs.drr.pick(uint64(act))
	}
	var ok bool
	if q := cs.qs[c]; q != nil { // a plain queue without the interface call
		n, _ := q.dequeueRun(now, unsafe.Slice(out, 1), math.MaxInt, -1, sink)
		ok = n == 1
	} else {
		ok = dequeueOne(cs.leaves[c], now, out, sink)
	}
	cs.refresh(c)
	if !ok {
		return serveDropped
	}
	l := int(out.Len)
	if !p.sp {
		cs.drr.deficit[c] -= int32(l)
	}
	if p.limited&(1<<c) != 0 && !p.tb[c].Charge(l) {
		*elig &^= 1 << c
	}
	return serveDelivered
}
