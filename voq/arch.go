package voq

import (
	"fmt"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/hist"
	"github.com/dpdkq/dpdkq/internal/seqlock"
	"github.com/dpdkq/dpdkq/pkt"
)

// Arch is one queueing architecture instance. All methods except Snapshot belong to
// the single owner lcore: no locks, no atomics on the hot path.
type Arch interface {
	// Enqueue takes ownership of d (the caller has set d.Enq) and sets d.Queue (and
	// d.Tier when the Config has a Memory). A packet refused, or one pushed out by
	// head-drop, is handed to sink with its reason (pkt.DropTail, DropHead, DropAQM,
	// DropOverflow; the Memory's reason, such as DropNoBuffer, when it refuses;
	// DropNoRoute when its output port or input port is not part of this Arch). The
	// *Desc given to sink is valid only during the call.
	Enqueue(now int64, d *pkt.Desc, sink pkt.DropSink)
	// EnqueueBurst is Enqueue of ds[0], ds[1], ... in order, in one call (the
	// dataplane's per-burst entry point; the descriptors stay the caller's memory).
	EnqueueBurst(now int64, ds []pkt.Desc, sink pkt.DropSink)
	// PassBurst is EnqueueBurst of ds followed at once by a Dequeue of their output
	// port that takes them all, for a port that keeps up (the empty-queue bypass of a
	// work-conserving qdisc): when every packet of ds is for the same output port, the
	// port has one class, no class rate limit, and its queue is a plain queue that is
	// empty, has no buffer model and no enqueue-time AQM decision, and holds all of ds
	// within its limits, the packets are counted exactly as queued and delivered at
	// now (arrivals, peak depth, sojourn now-Enq, the dequeue-time AQM asked for each
	// with the backlog it would see), AQM drops go to sink, and the delivered packets
	// are moved to the front of ds in order; it returns their count. Otherwise it
	// changes nothing and returns -1: the caller uses EnqueueBurst. Whether the port
	// may send at once (no shaper, no delay) is the caller's to know.
	PassBurst(now int64, ds []pkt.Desc, sink pkt.DropSink) int
	// Dequeue fills out with up to len(out) packets for output port `port` while
	// budget > 0 bytes (each packet subtracts its Len; the last may overshoot). AQM
	// drops at dequeue go to sink; marked packets carry pkt.FlagMarkCE. Returns the
	// count. For input-fifo and voq/islip each call with budget > 0 and len(out) > 0
	// is this port's turn in a crossbar slot (see the package doc).
	Dequeue(now int64, port int, out []pkt.Desc, budget int, sink pkt.DropSink) int
	// Backlog returns what is queued for output port (packets, bytes) in O(1); 0, 0
	// for a port this Arch does not own.
	Backlog(port int) (pkts, bytes int)
	// Drain hands every queued packet to sink with pkt.DropShutdown; returns the count.
	Drain(sink pkt.DropSink) int
	// SetLimit changes the packet and byte limits (0 = unset; not both) of the queues
	// of (port, class): for egress the port's class queue, for voq that class's VOQs
	// from every input to port, for input-fifo the FIFO of input port `port` (class is
	// ignored). class < 0 means every class. For FQ-CoDel queues the limits are the
	// totals across flows. A queue left above its new limit drops from the head
	// (pkt.DropOverflow) at the start of the next Enqueue, Dequeue or Drain. Growing a
	// queue past its preallocated ring allocates; call it between bursts.
	// Walk calls fn for queued packets (each queue oldest first) until fn returns
	// false. Owner lcore only, between bursts; it does not change any state.
	Walk(fn func(q int, d *pkt.Desc) bool)
	SetLimit(port, class, pkts, bytes int) error
	// SetPolicy replaces the AQM policies of the same queues as SetLimit with fresh
	// instances from f (nil = no AQM). Call it between bursts.
	SetPolicy(port, class int, f Factory) error
	// Publish copies changed statistics to the published block (owner lcore, about
	// once per burst or every few bursts; cost is proportional to the queues touched).
	Publish()
	// Snapshot copies the last published statistics into dst, reusing its slices. Safe
	// from any goroutine at any time.
	Snapshot(dst *ArchSnapshot)
	// QueueInfo returns the global output port, input port and class of queue q (the
	// QueueSnapshot.Index; -1 where QueueSnapshot has -1); ok is false when q is not a
	// queue of this Arch. The identities never change after New and equal Layout's, so
	// any goroutine may call it.
	QueueInfo(q int) (port, input, class int, ok bool)
	// UsesFlowHash reports whether any queue reads pkt.Desc.Hash (FQ-CoDel's flow
	// queues); when none does, the caller may leave Hash zero and save computing it.
	UsesFlowHash() bool
	// Memory returns the packet-memory model the Arch was built with (Config.Memory),
	// or nil when it has none. Any goroutine may call it.
	Memory() Memory
}

// Memory implements Arch.
func (b *base) Memory() Memory { return b.cfg.Memory }

// UsesFlowHash implements Arch.
func (b *base) UsesFlowHash() bool {
	for i := range b.meta {
		if b.meta[i].fq {
			return true
		}
	}
	return false
}

// queueMeta is the fixed identity of a queue, read by Snapshot from any goroutine.
type queueMeta struct {
	port, input, class int
	fq                 bool
	sojourn            *hist.Shared // the queue's sojourn recorder
}

// hooks are the architecture-specific parts the shared code needs.
type hooks interface {
	// enqueue is Enqueue after pre.
	enqueue(now int64, d *pkt.Desc, sink pkt.DropSink)
	// portHead returns the oldest head enqueue time among packets for local port p.
	portHead(p int) int64
	// refreshAll recomputes the schedulers' non-empty masks after trim or drain.
	refreshAll()
}

// base is what every architecture shares: the queues, their identities, accounting,
// the published statistics and the control path.
type base struct {
	cfg         Config
	kind        Kind
	led         ledger
	leaves      []leaf
	meta        []queueMeta
	portSojourn []*hist.Shared // per local output port, read by Snapshot
	hooks       hooks
	pub         publisher
	now         int64
	unrouted    uint64
	trimPending bool
	aqmScratch  aqm.State // Publish's buffer: a local would escape through the leaf interface
	buf         Memory    // cfg.Memory, nil without a buffer model
}

// New builds an Arch from cfg, preallocating every queue.
func New(cfg Config) (Arch, error) {
	scheds, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	if err := checkMemory(&cfg); err != nil {
		return nil, err
	}
	var a interface {
		Arch
		hooks
		b() *base
	}
	switch cfg.Kind {
	case KindEgress:
		a = newEgress(cfg, scheds)
	case KindVOQ:
		a = newVOQ(cfg, scheds)
	default:
		a = newInputFIFO(cfg)
	}
	b := a.b()
	b.hooks = a
	nq, np := len(b.leaves), len(cfg.Ports)
	if qc, ok := cfg.Memory.(interface{ Queues() int }); ok && qc.Queues() != nq {
		return nil, fmt.Errorf("voq: Memory has %d queues, this %s Arch has %d: build the buffer model from voq.Layout of the same Config",
			qc.Queues(), cfg.Kind, nq)
	}
	b.led.qDirty = make([]bool, nq)
	b.led.qList = make([]int32, 0, nq)
	b.led.pDirty = make([]bool, np)
	b.led.pList = make([]int32, 0, np)
	b.pub.Block = seqlock.NewBlock(hdrWords + nq*queueWords + np*portWords)
	// Publish everything once so that a Snapshot taken before the first burst already
	// shows every queue (empty, with no head).
	for q := range b.leaves {
		b.led.touchQ(int32(q))
	}
	for p := range np {
		b.led.pDirty[p] = true
		b.led.pList = append(b.led.pList, int32(p))
	}
	b.Publish()
	return a, nil
}

// checkMemory refuses configurations whose preallocation would be absurd.
func checkMemory(c *Config) error {
	var queues, per int
	switch c.Kind {
	case KindEgress:
		queues = len(c.Ports) * c.Classes
	case KindVOQ:
		queues = len(c.Ports) * len(c.Inputs) * c.Classes
	default:
		queues = len(c.Inputs)
	}
	if c.FQ != nil {
		per = c.FQ.LimitPkts
	}
	if c.LimitPkts != 0 || c.LimitBytes != 0 {
		per = max(per, ringCap(c.LimitPkts, c.LimitBytes))
	}
	if total := queues * per; total > MaxDescriptors {
		return fmt.Errorf("voq: %d queues x %d descriptors each = %d preallocated descriptors, want at most %d: lower LimitPkts/LimitBytes (or FQ.LimitPkts), Classes, Ports or Inputs",
			queues, per, total, MaxDescriptors)
	}
	return nil
}

func (b *base) b() *base { return b }

// initBase fills the shared fields; the architecture then appends its queues.
func (b *base) initBase(cfg Config) {
	b.cfg, b.kind, b.buf = cfg, cfg.Kind, cfg.Memory
	b.led.portIdx = portTable(cfg.Ports)
	b.led.inIdx = portTable(cfg.Inputs)
	b.led.ports = make([]QueueStats, len(cfg.Ports))
	b.portSojourn = make([]*hist.Shared, len(cfg.Ports))
	for i := range b.led.ports {
		b.portSojourn[i] = newSojourn(&b.led.ports[i])
	}
}

func portTable(ports []int) []int16 {
	hi := 0
	for _, p := range ports {
		hi = max(hi, p)
	}
	t := make([]int16, hi+1)
	for i := range t {
		t[i] = -1
	}
	for i, p := range ports {
		t[p] = int16(i)
	}
	return t
}

// newLeaf builds queue idx of the given class with the configured limits and AQM.
func (b *base) newLeaf(idx, port, input, class int) leaf {
	c := &b.cfg
	cl := uint8(max(class, 0))
	var l leaf
	lb := newLeafBase(idx, cl, &b.led, c.Memory)
	if port >= 0 {
		lb.port = int32(b.led.portIdx[port])
	}
	fq := c.FQ.has(class)
	if fq {
		l = newFQ(lb, c.FQ, c.AQM)
	} else {
		l = newQueue(lb, c.LimitPkts, c.LimitBytes, c.Overflow == OverflowHead, c.AQM)
	}
	b.leaves = append(b.leaves, l)
	b.meta = append(b.meta, queueMeta{port: port, input: input, class: class, fq: fq, sojourn: newSojourn(l.stats())})
	return l
}

func lookup(t []int16, p uint16) int {
	if int(p) >= len(t) {
		return -1
	}
	return int(t[p])
}

// pre runs at the start of every hot-path call: it records the clock and applies
// limits shrunk by SetLimit.
func (b *base) pre(now int64, sink pkt.DropSink) {
	b.now = now
	if b.trimPending {
		b.trimPending = false
		for _, l := range b.leaves {
			l.trim(now, sink)
		}
		b.hooks.refreshAll()
	}
}

// Enqueue implements Arch.
func (b *base) Enqueue(now int64, d *pkt.Desc, sink pkt.DropSink) {
	b.pre(now, sink)
	b.hooks.enqueue(now, d, sink)
}

// EnqueueBurst implements Arch (egress has a faster one of its own).
func (b *base) EnqueueBurst(now int64, ds []pkt.Desc, sink pkt.DropSink) {
	b.pre(now, sink)
	for i := range ds {
		b.hooks.enqueue(now, &ds[i], sink)
	}
}

// PassBurst implements Arch for the architectures that do not bypass (their Dequeue
// calls are crossbar turns).
func (b *base) PassBurst(int64, []pkt.Desc, pkt.DropSink) int { return -1 }

func (b *base) refuseUnrouted(d *pkt.Desc, sink pkt.DropSink) {
	b.unrouted++
	sink.Drop(d, pkt.DropNoRoute)
}

// Backlog implements Arch.
func (b *base) Backlog(port int) (pkts, bytes int) {
	if port < 0 || port >= len(b.led.portIdx) || b.led.portIdx[port] < 0 {
		return 0, 0
	}
	s := &b.led.ports[b.led.portIdx[port]]
	return s.Pkts, s.Bytes
}

// Drain implements Arch: it applies pending limit changes first, then drains.
func (b *base) Drain(sink pkt.DropSink) int {
	b.pre(b.now, sink)
	n := 0
	for _, l := range b.leaves {
		n += l.drain(b.now, sink)
	}
	b.hooks.refreshAll()
	return n
}

// selectQueues returns the indices of the queues SetLimit/SetPolicy address.
func (b *base) selectQueues(port, class int) ([]int, error) {
	var out []int
	for i, m := range b.meta {
		if b.kind == KindInputFIFO {
			if m.input == port {
				out = append(out, i)
			}
		} else if m.port == port && (class < 0 || m.class == class) {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		what := "output port"
		if b.kind == KindInputFIFO {
			what = "input port"
		}
		return nil, fmt.Errorf("voq: no queue for %s %d class %d in this %s Arch (ports %v, inputs %v, classes 0..%d)",
			what, port, class, b.kind, b.cfg.Ports, b.cfg.Inputs, b.cfg.Classes-1)
	}
	return out, nil
}

// SetLimit implements Arch.
func (b *base) SetLimit(port, class, pkts, bytes int) error {
	qs, err := b.selectQueues(port, class)
	if err != nil {
		return err
	}
	if err := checkLimits("pkts", "bytes", pkts, bytes); err != nil {
		return err
	}
	for _, q := range qs {
		if err := b.leaves[q].setLimit(pkts, bytes); err != nil {
			return err
		}
	}
	b.trimPending = true
	return nil
}

// SetPolicy implements Arch.
func (b *base) SetPolicy(port, class int, f Factory) error {
	qs, err := b.selectQueues(port, class)
	if err != nil {
		return err
	}
	for _, q := range qs {
		b.leaves[q].setPolicy(f)
		b.led.touchQ(int32(q))
	}
	return nil
}

// Walk implements Arch.
func (b *base) Walk(fn func(q int, d *pkt.Desc) bool) {
	for q, l := range b.leaves {
		if !l.walk(func(d *pkt.Desc) bool { return fn(q, d) }) {
			return
		}
	}
}
