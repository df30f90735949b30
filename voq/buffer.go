package voq

import "github.com/dpdkq/dpdkq/pkt"

// Memory is an admission model for packet memory (shared-pool carving, a two-tier
// buffer). Queue-level limits and AQM still apply; the buffer is asked last at enqueue.
//
// The Arch calls it from its owner lcore only, and keeps this contract:
//   - Admit is called exactly once for every packet that passed its queue's own limit
//     (after any head drops or FQ-CoDel overflow drops that made room, whose packets
//     are released first) and enqueue-time AQM, just before it is stored;
//   - Release is called exactly once for every packet Admit accepted, on whichever
//     path it leaves (delivered, AQM at dequeue, head drop, FQ-CoDel overflow, a shrunk
//     limit, Drain), before the packet is handed to the caller or the DropSink, with
//     the Desc as stored (so d.Len and the d.Tier that Admit set are what they were);
//   - a packet Admit refuses is never released: it goes to the DropSink with the
//     returned reason, counted in its queue's and port's Drops.
//
// Queue indices are those of Layout and QueueInfo (the QueueSnapshot.Index). A Memory
// that has a method Queues() int is checked against the Arch's queue count at New.
type Memory interface {
	// Admit reserves memory for d in queue q (q = the QueueSnapshot.Index of the queue,
	// i.e. d.Queue); it may set d.Tier. A non-DropNone reason refuses the packet (voq
	// counts that reason); it must be a valid pkt.DropReason.
	Admit(now int64, q int, d *pkt.Desc) pkt.DropReason
	// Release gives back d's memory when it leaves queue q: dequeued true when
	// delivered, false when dropped (AQM at dequeue, head drop, overflow, shrink, Drain).
	Release(now int64, q int, d *pkt.Desc, dequeued bool)
	// Publish makes the model's statistics visible to readers; Arch.Publish calls it.
	Publish()
}

// DropObserver is an optional extension of Memory. When the Config's Memory also
// implements it, the Arch reports every packet of queue q that the queueing code
// itself drops: DropTail, DropAQM (at enqueue or dequeue), DropHead and DropOverflow.
// Shutdown drains and the Memory's own refusals are not reported. It is called after
// the packet's Release (if it had been admitted) and before the DropSink sees it. A
// two-tier buffer uses it to treat a queue that is overrunning its limit as one that
// should lose off-chip bandwidth first.
type DropObserver interface {
	QueueDrop(now int64, q int, r pkt.DropReason)
}

// QueueInfo is the fixed identity of one queue of an Arch.
type QueueInfo struct {
	Index int  // queue index: pkt.Desc.Queue, QueueSnapshot.Index, the Memory's q
	Port  int  // global output port, -1 for an input FIFO (it holds packets for any port)
	Input int  // global input port, -1 for an egress queue (shared by all inputs)
	Class int  // class 0..7, -1 for an input FIFO
	FQ    bool // the queue is an FQ-CoDel instance
}

// Layout returns the queues New(cfg) would build, in index order, without building
// anything. It exists for the construction order of a buffer model: the model needs
// the queue count and each queue's (port, class) before the Arch, and the Arch needs
// the model in its Config:
//
//	layout, err := voq.Layout(cfg)     // validate and number the queues
//	model, err := buffer.New(...)      // sized and bound from layout
//	cfg.Memory = model
//	arch, err := voq.New(cfg)          // same cfg (Memory aside): same layout
//
// The numbering depends only on Kind, Ports, Inputs, Classes and FQ (egress:
// localPort*Classes + class; voq: (localOut*len(Inputs) + localIn)*Classes + class;
// input-fifo: local input), so it is stable for a given Config. It returns New's
// validation error for an invalid cfg.
func Layout(cfg Config) ([]QueueInfo, error) {
	if _, err := cfg.normalize(); err != nil {
		return nil, err
	}
	return layoutOf(&cfg), nil
}

// layoutOf numbers the queues of a normalized Config, in the same order as the
// architectures' constructors create them (TestLayoutMatchesArch holds them together).
func layoutOf(c *Config) []QueueInfo {
	var out []QueueInfo
	add := func(port, input, class int) {
		out = append(out, QueueInfo{Index: len(out), Port: port, Input: input, Class: class, FQ: c.FQ.has(class)})
	}
	switch c.Kind {
	case KindEgress:
		for _, g := range c.Ports {
			for cl := range c.Classes {
				add(g, -1, cl)
			}
		}
	case KindVOQ:
		for _, g := range c.Ports {
			for _, in := range c.Inputs {
				for cl := range c.Classes {
					add(g, in, cl)
				}
			}
		}
	default:
		for _, in := range c.Inputs {
			add(-1, in, -1)
		}
	}
	return out
}

// QueueInfo implements Arch.
func (b *base) QueueInfo(q int) (port, input, class int, ok bool) {
	if q < 0 || q >= len(b.meta) {
		return 0, 0, 0, false
	}
	m := &b.meta[q]
	return m.port, m.input, m.class, true
}
