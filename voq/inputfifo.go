package voq

import (
	"unsafe"

	"github.com/dpdkq/dpdkq/pkt"
)

// fifoArch keeps one FIFO per input port and no classes: the input-queued switch with
// head-of-line blocking (Karol, Hluchyj, Morgan 1987). An output may only take a
// packet at the head of an input FIFO, and picks round robin among the inputs whose
// head is for it. Slots and speedup work as for voq/islip (see slotter): in its turn an
// output is matched to one input, and an input serves at most S outputs per slot. The
// matched output then takes that input's consecutive head packets for it, up to the
// budget. Queue index = local input index.
type fifoArch struct {
	base
	fifos []*queue
	slots slotter
}

var _ Arch = (*fifoArch)(nil)

func newInputFIFO(cfg Config) *fifoArch {
	a := &fifoArch{}
	a.initBase(cfg)
	a.fifos = make([]*queue, len(cfg.Inputs))
	for i, in := range cfg.Inputs {
		a.fifos[i] = a.newLeaf(i, -1, in, -1).(*queue)
	}
	a.slots = newSlotter(len(cfg.Ports), len(cfg.Inputs), cfg.Speedup)
	return a
}

func (a *fifoArch) enqueue(now int64, d *pkt.Desc, sink pkt.DropSink) {
	i := lookup(a.led.inIdx, d.InPort)
	if i < 0 || lookup(a.led.portIdx, d.OutPort) < 0 {
		a.refuseUnrouted(d, sink)
		return
	}
	d.Queue = uint32(i)
	a.fifos[i].enqueueRun(now, unsafe.Slice(d, 1), d.Queue, -1, sink)
}

// Dequeue implements Arch.
func (a *fifoArch) Dequeue(now int64, port int, out []pkt.Desc, budget int, sink pkt.DropSink) int {
	a.pre(now, sink)
	// A call that cannot take a packet is not a turn: the port is not ready to send.
	if budget <= 0 || len(out) == 0 || port < 0 || port >= len(a.led.portIdx) || a.led.portIdx[port] < 0 {
		return 0
	}
	o := int(a.led.portIdx[port])
	s := &a.slots
	s.take(o)
	i := s.match[o]
	if i < 0 {
		n := len(a.fifos)
		for k := range n {
			j := (s.gptr[o] + k) % n
			if s.full&(1<<uint(j)) != 0 {
				continue
			}
			if h := a.fifos[j].peek(); h != nil && int(h.OutPort) == port {
				i = j
				break
			}
		}
		if i < 0 {
			return 0
		}
		s.bind(o, i)
		s.gptr[o] = i + 1
	}
	n, _ := a.fifos[i].dequeueRun(now, out, budget, port, sink)
	return n
}

func (a *fifoArch) portHead(p int) int64 {
	h := noHead
	g := a.cfg.Ports[p]
	for _, f := range a.fifos {
		if d := f.peek(); d != nil && int(d.OutPort) == g {
			h = min(h, d.Enq)
		}
	}
	return h
}

func (a *fifoArch) refreshAll() {}
