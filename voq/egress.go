package voq

import (
	"math/bits"

	"github.com/dpdkq/dpdkq/pkt"
)

// egressArch keeps one queue per (output port, class), shared by all inputs: the
// output-queued switch. Queue index = localPort*Classes + class.
type egressArch struct {
	base
	nCls    int
	ports   []outPort
	sets    []classSet // per local port
	scratch uint64     // parent mask for the class sets; egress has no arbiter to tell
}

var _ Arch = (*egressArch)(nil)

func newEgress(cfg Config, scheds []sched) *egressArch {
	a := &egressArch{nCls: cfg.Classes}
	a.initBase(cfg)
	a.ports = make([]outPort, len(cfg.Ports))
	a.sets = make([]classSet, len(cfg.Ports))
	for p, g := range cfg.Ports {
		a.ports[p] = newOutPort(g, cfg.Classes, scheds[p])
		leaves := make([]leaf, cfg.Classes)
		for c := range leaves {
			leaves[c] = a.newLeaf(p*cfg.Classes+c, g, -1, c)
		}
		a.sets[p] = newClassSet(leaves, &a.ports[p], &a.scratch, 0)
	}
	return a
}

// EnqueueBurst implements Arch. Consecutive packets for the same queue go in as one
// run (one bookkeeping step for the leaf).
func (a *egressArch) EnqueueBurst(now int64, ds []pkt.Desc, sink pkt.DropSink) {
	a.pre(now, sink)
	for i := 0; i < len(ds); {
		d := &ds[i]
		p := lookup(a.led.portIdx, d.OutPort)
		if p < 0 {
			a.refuseUnrouted(d, sink)
			i++
			continue
		}
		c := min(int(d.Class), a.nCls-1)
		cs := &a.sets[p]
		qi := uint32(p*a.nCls + c)
		if a.nCls == 1 {
			// One class: the leaf takes the run of packets for this port itself.
			i += cs.leaves[0].enqueueRun(now, ds[i:], qi, int(d.OutPort), sink)
			cs.refresh(0)
			continue
		}
		j := i + 1
		for j < len(ds) && ds[j].OutPort == d.OutPort && min(int(ds[j].Class), a.nCls-1) == c {
			j++
		}
		cs.leaves[c].enqueueRun(now, ds[i:j], qi, -1, sink)
		cs.refresh(c) // once per run: nothing reads the set's bits within it
		i = j
	}
}

// PassBurst implements Arch.
func (a *egressArch) PassBurst(now int64, ds []pkt.Desc, sink pkt.DropSink) int {
	a.pre(now, sink)
	if a.nCls != 1 || len(ds) == 0 {
		return -1
	}
	port := ds[0].OutPort
	p := lookup(a.led.portIdx, port)
	if p < 0 || a.ports[p].limited != 0 {
		return -1
	}
	q := a.sets[p].qs[0]
	if q == nil {
		return -1
	}
	for i := 1; i < len(ds); i++ {
		if ds[i].OutPort != port {
			return -1
		}
	}
	// The class set stays empty: its bits need no refresh.
	return q.passRun(now, ds, uint32(p), sink)
}

func (a *egressArch) enqueue(now int64, d *pkt.Desc, sink pkt.DropSink) {
	p := lookup(a.led.portIdx, d.OutPort)
	if p < 0 {
		a.refuseUnrouted(d, sink)
		return
	}
	c := min(int(d.Class), a.nCls-1)
	d.Queue = uint32(p*a.nCls + c)
	a.sets[p].enqueue(now, c, d, sink)
}

// Dequeue implements Arch.
func (a *egressArch) Dequeue(now int64, port int, out []pkt.Desc, budget int, sink pkt.DropSink) int {
	a.pre(now, sink)
	// A call that cannot take a packet is not a turn: the port is not ready to send.
	if budget <= 0 || len(out) == 0 || port < 0 || port >= len(a.led.portIdx) || a.led.portIdx[port] < 0 {
		return 0
	}
	p := int(a.led.portIdx[port])
	op, cs := &a.ports[p], &a.sets[p]
	if op.limited == 0 && (a.nCls == 1 || op.sp) {
		// Nothing to schedule between packets: without class rates, strict priority
		// keeps serving the highest class holding packets until it is empty (or out and
		// budget are used up), so that class's packets leave as one run, exactly as the
		// scheduler would pick them one by one (TestSPRunsMatchPerPacket). An empty
		// leaf is not asked, as the scheduler never asks one: an FQ-CoDel dequeue
		// would still rotate its flow lists.
		n := 0
		for n < len(out) && budget > 0 && cs.nonEmpty != 0 {
			c := bits.Len8(cs.nonEmpty) - 1
			k, left := cs.leaves[c].dequeueRun(now, out[n:], budget, -1, sink)
			n, budget = n+k, left
			cs.refresh(c) // a run that ends short emptied the class
		}
		return n
	}
	elig := op.eligible(now)
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

func (a *egressArch) portHead(p int) int64 {
	h := noHead
	for _, l := range a.sets[p].leaves {
		h = min(h, l.headEnq())
	}
	return h
}

func (a *egressArch) refreshAll() {
	for i := range a.sets {
		a.sets[i].refreshAll()
	}
}
