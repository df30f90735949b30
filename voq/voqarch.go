package voq

import (
	"math/bits"

	"github.com/dpdkq/dpdkq/pkt"
)

// voqArch keeps one queue per (input, output, class): virtual output queues. Each
// output arbitrates among the inputs holding packets for it (rr, drr or islip), then
// the output's class scheduler picks the class inside the chosen (input, output) pair.
// Queue index = (localOut*nIn + localIn)*Classes + class.
type voqArch struct {
	base
	nIn, nOut, nCls int
	arb             ArbiterKind
	iters           int
	ports           []outPort  // per output
	sets            []classSet // per (output, input): o*nIn + i
	inMask          []uint64   // per output: inputs whose VOQs for it hold packets
	rrPtr           []int      // per output (rr)
	arbDRR          []drr      // per output (drr)
	slots           slotter    // islip
	req             []uint64   // islip scratch: per output, requesting inputs
	grants          []uint64   // islip scratch: per input, granting outputs
}

var _ Arch = (*voqArch)(nil)

func newVOQ(cfg Config, scheds []sched) *voqArch {
	nIn, nOut := len(cfg.Inputs), len(cfg.Ports)
	a := &voqArch{nIn: nIn, nOut: nOut, nCls: cfg.Classes, arb: cfg.Arbiter, iters: cfg.ISLIPIterations}
	a.initBase(cfg)
	a.ports = make([]outPort, nOut)
	a.sets = make([]classSet, nOut*nIn)
	a.inMask = make([]uint64, nOut)
	a.rrPtr = make([]int, nOut)
	a.arbDRR = make([]drr, nOut)
	q := make([]int32, nIn)
	for i := range q {
		q[i] = int32(cfg.ArbiterQuantum)
	}
	for o, g := range cfg.Ports {
		a.ports[o] = newOutPort(g, cfg.Classes, scheds[o])
		a.arbDRR[o] = newDRR(q)
		for i, in := range cfg.Inputs {
			leaves := make([]leaf, cfg.Classes)
			for c := range leaves {
				leaves[c] = a.newLeaf((o*nIn+i)*cfg.Classes+c, g, in, c)
			}
			a.sets[o*nIn+i] = newClassSet(leaves, &a.ports[o], &a.inMask[o], 1<<uint(i))
		}
	}
	a.slots = newSlotter(nOut, nIn, cfg.Speedup)
	a.req = make([]uint64, nOut)
	a.grants = make([]uint64, nIn)
	return a
}

func (a *voqArch) enqueue(now int64, d *pkt.Desc, sink pkt.DropSink) {
	o := lookup(a.led.portIdx, d.OutPort)
	i := lookup(a.led.inIdx, d.InPort)
	if o < 0 || i < 0 {
		a.refuseUnrouted(d, sink)
		return
	}
	c := min(int(d.Class), a.nCls-1)
	s := o*a.nIn + i
	d.Queue = uint32(s*a.nCls + c)
	a.sets[s].enqueue(now, c, d, sink)
}

// active returns the inputs with an eligible class holding packets for output o.
func (a *voqArch) active(o int, elig uint8) uint64 {
	m := a.inMask[o]
	if elig == a.ports[o].all {
		return m
	}
	var act uint64
	base := o * a.nIn
	for r := m; r != 0; r &= r - 1 {
		i := bits.TrailingZeros64(r)
		if a.sets[base+i].nonEmpty&elig != 0 {
			act |= 1 << uint(i)
		}
	}
	return act
}

// Dequeue implements Arch.
func (a *voqArch) Dequeue(now int64, port int, out []pkt.Desc, budget int, sink pkt.DropSink) int {
	a.pre(now, sink)
	// A call that cannot take a packet is not a turn: the port is not ready to send.
	if budget <= 0 || len(out) == 0 || port < 0 || port >= len(a.led.portIdx) || a.led.portIdx[port] < 0 {
		return 0
	}
	o := int(a.led.portIdx[port])
	if a.arb == ArbiterISLIP {
		return a.dequeueISLIP(now, o, out, budget, sink)
	}
	op := &a.ports[o]
	elig := op.eligible(now)
	n := 0
	for n < len(out) && budget > 0 {
		act := a.active(o, elig)
		if act == 0 {
			break
		}
		var i int
		if a.arb == ArbiterRR {
			i = nextBit(act, a.rrPtr[o])
			a.rrPtr[o] = i + 1 // one packet per input turn
		} else {
			i = a.arbDRR[o].pick(act)
		}
		cs := &a.sets[o*a.nIn+i]
		if cs.serve(now, op, &elig, &out[n], sink) == serveDelivered {
			l := int(out[n].Len)
			budget -= l
			n++
			if a.arb == ArbiterDRR {
				a.arbDRR[o].deficit[i] -= int32(l)
			}
		}
		if a.arb == ArbiterDRR && cs.nonEmpty == 0 {
			a.arbDRR[o].idle(i)
		}
	}
	return n
}

// dequeueISLIP is output o's turn in the current iSLIP slot. The matching of a slot is
// computed lazily by the first port that calls after having had its turn (see
// slotter); the matched (input, output) pair then transfers up to the caller's budget
// and len(out) in this call, so a slot moves a burst rather than one cell. An output
// left unmatched (it joined late, or lost every iteration) tries once more among the
// inputs still free in this slot, as one extra iSLIP iteration of its own.
func (a *voqArch) dequeueISLIP(now int64, o int, out []pkt.Desc, budget int, sink pkt.DropSink) int {
	s := &a.slots
	if began, parts := s.take(o); began {
		a.match(now, parts)
	}
	op := &a.ports[o]
	elig := op.eligible(now)
	i := s.match[o]
	if i < 0 {
		r := a.active(o, elig) &^ s.full
		if r == 0 {
			return 0
		}
		i = nextBit(r, s.gptr[o])
		s.bind(o, i)
		s.gptr[o], s.aptr[i] = i+1, o+1
	}
	cs := &a.sets[o*a.nIn+i]
	n := 0
	for n < len(out) && budget > 0 {
		r := cs.serve(now, op, &elig, &out[n], sink)
		if r == serveNone {
			break
		}
		if r == serveDelivered {
			budget -= int(out[n].Len)
			n++
		}
	}
	return n
}

// match runs iSLIP (McKeown 1999) for a new slot among the participating outputs:
//   - request: every input with capacity left requests each participating unmatched
//     output for which it holds eligible packets;
//   - grant: each unmatched output grants the requesting input at or after its grant
//     pointer;
//   - accept: each input accepts, from its accept pointer on, as many grants as its
//     capacity allows (one without speedup).
//
// Pointers move only for grants accepted in the first iteration: the output's to one
// past the input, the input's to one past the (last) accepted output. That is what
// desynchronizes the outputs and gives iSLIP 100% throughput under uniform load.
func (a *voqArch) match(now int64, parts uint64) {
	s := &a.slots
	for m := parts; m != 0; m &= m - 1 {
		o := bits.TrailingZeros64(m)
		a.req[o] = a.active(o, a.ports[o].eligible(now))
	}
	free := parts
	for it := 0; it < a.iters && free != 0; it++ {
		granted := false
		for m := free; m != 0; m &= m - 1 {
			o := bits.TrailingZeros64(m)
			r := a.req[o] &^ s.full
			if r == 0 {
				continue
			}
			i := nextBit(r, s.gptr[o])
			a.grants[i] |= 1 << uint(o)
			granted = true
		}
		if !granted {
			break
		}
		for i := range a.grants {
			g := a.grants[i]
			a.grants[i] = 0
			from := s.aptr[i]
			for g != 0 && s.full&(1<<uint(i)) == 0 {
				o := nextBit(g, from)
				g &^= 1 << uint(o)
				s.bind(o, i)
				free &^= 1 << uint(o)
				if it == 0 {
					s.gptr[o], s.aptr[i] = i+1, o+1
				}
				from = o + 1
			}
		}
	}
}

func (a *voqArch) portHead(o int) int64 {
	h := noHead
	base := o * a.nIn
	for m := a.inMask[o]; m != 0; m &= m - 1 {
		for _, l := range a.sets[base+bits.TrailingZeros64(m)].leaves {
			h = min(h, l.headEnq())
		}
	}
	return h
}

func (a *voqArch) refreshAll() {
	for s := range a.sets {
		a.sets[s].refreshAll()
		if a.sets[s].nonEmpty == 0 {
			a.arbDRR[s/a.nIn].idle(s % a.nIn)
		}
	}
}
