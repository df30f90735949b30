package voq

import (
	"math"
	"sync/atomic"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/internal/seqlock"
	"github.com/dpdkq/dpdkq/pkt"
)

// QueueStats are the counters of one queue or one output port. At every Publish they
// satisfy Arrivals == Dequeued + TotalDrops() + Pkts: each packet offered is either
// delivered, dropped for exactly one reason, or still queued.
type QueueStats struct {
	Pkts, Bytes         int    // current depth
	PeakPkts, PeakBytes int    // largest depth seen
	Arrivals            uint64 // packets offered (admitted or refused)
	Enqueued            uint64 // packets admitted
	Dequeued            uint64 // packets delivered to the caller of Dequeue
	DequeuedBytes       uint64
	Marks               uint64 // packets delivered with pkt.FlagMarkCE set by AQM
	Drops               [pkt.NumDropReasons]uint64
	// Sojourn is the enqueue-to-dequeue time of delivered packets. Not in the seqlock's
	// words: see Histogram.
	Sojourn Histogram
}

// TotalDrops sums Drops over all reasons.
func (s *QueueStats) TotalDrops() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}

func (s *QueueStats) admit(l int) {
	s.Enqueued++
	s.Pkts++
	s.Bytes += l
	if s.Pkts > s.PeakPkts {
		s.PeakPkts = s.Pkts
	}
	if s.Bytes > s.PeakBytes {
		s.PeakBytes = s.Bytes
	}
}

// admitN is admit for n packets of b bytes in all.
func (s *QueueStats) admitN(n, b int) {
	s.Enqueued += uint64(n)
	s.Pkts += n
	s.Bytes += b
	if s.Pkts > s.PeakPkts {
		s.PeakPkts = s.Pkts
	}
	if s.Bytes > s.PeakBytes {
		s.PeakBytes = s.Bytes
	}
}

// delivered is deliver for n packets of b bytes in all, m of them marked, already
// removed (their sojourns are added to the histogram by the caller).
func (s *QueueStats) delivered(n, b, m int) {
	s.Dequeued += uint64(n)
	s.DequeuedBytes += uint64(b)
	s.Marks += uint64(m)
}

// sojournRuns adds delivered packets' sojourns to a queue's and its port's histograms
// by runs of packets with the same enqueue time (a burst received together): one
// bucket computation per run rather than per packet. Call flush at the end.
type sojournRuns struct {
	enq    int64
	n      int
	st, ps *QueueStats
}

// add counts one packet delivered at now that was enqueued at enq.
func (r *sojournRuns) add(now, enq int64) {
	if enq == r.enq {
		r.n++
		return
	}
	r.next(now, enq)
}

// next starts a new run. Not inlined, so that add is small enough to be inlined into
// the burst loops.
//
//go:noinline
func (r *sojournRuns) next(now, enq int64) {
	r.flush(now)
	r.enq, r.n = enq, 1
}

func (r *sojournRuns) flush(now int64) {
	if r.n > 0 {
		r.st.Sojourn.addN(now-r.enq, r.n)
		r.ps.Sojourn.addN(now-r.enq, r.n)
		r.n = 0
	}
}

func (s *QueueStats) remove(l int) {
	s.Pkts--
	s.Bytes -= l
}

// statWords is the size of an encoded QueueStats (Sojourn publishes itself).
const statWords = 9 + int(pkt.NumDropReasons)

func (s *QueueStats) encode(w []atomic.Uint64) {
	_ = &w[statWords-1]
	put(&w[0], uint64(s.Pkts))
	put(&w[1], uint64(s.Bytes))
	put(&w[2], uint64(s.PeakPkts))
	put(&w[3], uint64(s.PeakBytes))
	put(&w[4], s.Arrivals)
	put(&w[5], s.Enqueued)
	put(&w[6], s.Dequeued)
	put(&w[7], s.DequeuedBytes)
	put(&w[8], s.Marks)
	w = w[9:]
	for i := range s.Drops {
		put(&w[i], s.Drops[i])
	}
}

func (s *QueueStats) decode(w []atomic.Uint64) {
	_ = &w[statWords-1]
	s.Pkts = int(w[0].Load())
	s.Bytes = int(w[1].Load())
	s.PeakPkts = int(w[2].Load())
	s.PeakBytes = int(w[3].Load())
	s.Arrivals = w[4].Load()
	s.Enqueued = w[5].Load()
	s.Dequeued = w[6].Load()
	s.DequeuedBytes = w[7].Load()
	s.Marks = w[8].Load()
	w = w[9:]
	for i := range s.Drops {
		s.Drops[i] = w[i].Load()
	}
}

// put is seqlock.Put: store unless unchanged.
var put = seqlock.Put

const aqmWords = 8

func encodeAQM(st *aqm.State, w []atomic.Uint64) {
	_ = &w[aqmWords-1]
	put(&w[0], uint64(st.Kind))
	var dropping uint64
	if st.Dropping {
		dropping = 1
	}
	put(&w[1], dropping)
	put(&w[2], uint64(st.Count))
	put(&w[3], math.Float64bits(st.DropProb))
	put(&w[4], uint64(st.QDelay))
	put(&w[5], math.Float64bits(st.AvgQueue))
	put(&w[6], st.Drops)
	put(&w[7], st.Marks)
}

func decodeAQM(st *aqm.State, w []atomic.Uint64) {
	_ = &w[aqmWords-1]
	st.Kind = aqm.Kind(w[0].Load())
	st.Dropping = w[1].Load() != 0
	st.Count = uint32(w[2].Load())
	st.DropProb = math.Float64frombits(w[3].Load())
	st.QDelay = int64(w[4].Load())
	st.AvgQueue = math.Float64frombits(w[5].Load())
	st.Drops = w[6].Load()
	st.Marks = w[7].Load()
}

// FQState is the flow bookkeeping of an FQ-CoDel class queue.
type FQState struct {
	ActiveFlows int // flows holding packets
	NewFlows    int // flows on the new list (one that emptied stays until its turn)
	OldFlows    int // flows on the old list (likewise); none once the queue is empty
}

// QueueSnapshot is one queue as last published.
type QueueSnapshot struct {
	Index int // pkt.Desc.Queue of packets in this queue
	Port  int // global output port, -1 for an input FIFO (it holds packets for any port)
	Input int // global input port, -1 for an egress queue (shared by all inputs)
	Class int // class 0..7, -1 for an input FIFO
	FQ    bool
	QueueStats
	// HeadSojourn is Now - (enqueue time of the head packet), 0 when empty. For FQ-CoDel
	// it is the oldest head among its flows.
	HeadSojourn int64
	// AQM is the policy's own Snapshot (the zero State without AQM). For FQ-CoDel, Kind
	// comes from the flow policies and Drops/Marks are this queue's AQM drops and marks
	// summed over flows; the per-flow state machines are not published.
	AQM     aqm.State
	FQState FQState
}

// PortSnapshot aggregates everything destined to one output port.
type PortSnapshot struct {
	Port int // global output port
	QueueStats
	// HeadSojourn is Now minus the enqueue time of the oldest head packet among the
	// port's queues (all its VOQs for voq); for input-fifo, among the FIFOs whose head is
	// for this port. 0 when there is none.
	HeadSojourn int64
}

// ArchSnapshot is a consistent copy of an Arch's published statistics.
type ArchSnapshot struct {
	Kind      Kind
	Publishes uint64 // how many times Publish ran
	Now       int64  // the latest clock value the owner passed to Enqueue or Dequeue before publishing
	Unrouted  uint64 // packets refused with pkt.DropNoRoute (output or input not in this Arch)
	Queues    []QueueSnapshot
	Ports     []PortSnapshot
}

// noHead is the head enqueue time reported for an empty queue; it loses every min().
const noHead = int64(math.MaxInt64)

// ledger is the owner-side bookkeeping shared by all queues of one Arch: per-port
// counters (what Backlog reads) and the lists of queues and ports changed since the
// last Publish, so that Publish copies only those.
type ledger struct {
	portIdx []int16 // global port -> local output index, -1 when not owned
	inIdx   []int16 // global port -> local input index, -1 when not an input
	ports   []QueueStats
	qDirty  []bool
	qList   []int32 // capacity = number of queues, so appends never allocate
	pDirty  []bool
	pList   []int32
}

func (l *ledger) touchQ(q int32) {
	if !l.qDirty[q] {
		l.qDirty[q] = true
		l.qList = append(l.qList, q)
	}
}

// port returns the counters of d's output port and marks them changed. Only valid for
// packets already admitted by the Arch (their OutPort is owned).
func (l *ledger) port(d *pkt.Desc) *QueueStats {
	p := l.portIdx[d.OutPort]
	if !l.pDirty[p] {
		l.pDirty[p] = true
		l.pList = append(l.pList, int32(p))
	}
	return &l.ports[p]
}

// portAt returns the counters of local output port p and marks them changed.
func (l *ledger) portAt(p int32) *QueueStats {
	if !l.pDirty[p] {
		l.pDirty[p] = true
		l.pList = append(l.pList, p)
	}
	return &l.ports[p]
}

// Layout of the published words: a header, then queueWords per queue, then portWords
// per port.
const (
	hdrNow      = 0
	hdrUnrouted = 1
	hdrWords    = 2
	queueWords  = statWords + 1 + aqmWords + 3 // stats, head enqueue time, AQM, FQ flows
	portWords   = statWords + 1                // stats, head enqueue time
)

// publisher is the Arch's published statistics: a header, then queueWords per queue,
// then portWords per port, under one seqlock.Block, so that a Snapshot never mixes two
// Publish calls (the owner lcore is the only writer). The words are atomics only so
// that the Go memory model (and the race detector) sees no data race; on amd64 a load
// is a plain MOV, and only Publish pays for the stores. A reader that keeps losing to
// Publish makes it skip (see seqlock.Block): nothing is lost, the dirty lists keep
// growing until the next Publish.
type publisher struct {
	seqlock.Block
}

func (p *publisher) queueBlock(q int) []atomic.Uint64 {
	o := hdrWords + q*queueWords
	return p.Words()[o : o+queueWords]
}

func (p *publisher) portBlock(nq, port int) []atomic.Uint64 {
	o := hdrWords + nq*queueWords + port*portWords
	return p.Words()[o : o+portWords]
}

// Publish copies every queue and port changed since the last call into the published
// block, and publishes the Config's Memory, if any. Owner lcore only; it does not
// allocate.
func (b *base) Publish() {
	if b.buf != nil {
		b.buf.Publish() // its own seqlock: independent of whether readers hold ours off
	}
	p := &b.pub
	if !p.BeginWrite() {
		return // a reader is waiting: publish next time
	}
	hdr := p.Words()
	put(&hdr[hdrNow], uint64(b.now))
	put(&hdr[hdrUnrouted], b.unrouted)
	st := &b.aqmScratch
	for _, q := range b.led.qList {
		lf := b.leaves[q]
		w := p.queueBlock(int(q))
		lf.stats().encode(w)
		lf.stats().Sojourn.publish()
		w = w[statWords:]
		put(&w[0], uint64(lf.headEnq()))
		lf.aqmState(st)
		encodeAQM(st, w[1:])
		fs := lf.fqState()
		w = w[1+aqmWords:]
		put(&w[0], uint64(fs.ActiveFlows))
		put(&w[1], uint64(fs.NewFlows))
		put(&w[2], uint64(fs.OldFlows))
		b.led.qDirty[q] = false
	}
	b.led.qList = b.led.qList[:0]
	if b.kind == KindInputFIFO && len(b.led.pList) > 0 {
		// A FIFO's new head may be for a port whose counters did not change; republish
		// every port so that head sojourns stay right. Input-fifo is the small baseline.
		for i := range b.led.ports {
			if !b.led.pDirty[i] {
				b.led.pDirty[i] = true
				b.led.pList = append(b.led.pList, int32(i))
			}
		}
	}
	nq := len(b.leaves)
	for _, i := range b.led.pList {
		w := p.portBlock(nq, int(i))
		b.led.ports[i].encode(w)
		b.led.ports[i].Sojourn.publish()
		put(&w[statWords], uint64(b.hooks.portHead(int(i))))
		b.led.pDirty[i] = false
	}
	b.led.pList = b.led.pList[:0]
	p.EndWrite()
}

// Snapshot copies the last published statistics into dst, reusing dst's slices. It is
// safe from any goroutine at any time and retries while the owner is publishing.
func (b *base) Snapshot(dst *ArchSnapshot) {
	p := &b.pub
	nq, np := len(b.leaves), len(b.led.ports)
	if cap(dst.Queues) < nq {
		dst.Queues = make([]QueueSnapshot, nq)
	}
	dst.Queues = dst.Queues[:nq]
	if cap(dst.Ports) < np {
		dst.Ports = make([]PortSnapshot, np)
	}
	dst.Ports = dst.Ports[:np]
	dst.Kind = b.kind
	dst.Publishes = p.Read(func() { b.copyPublished(dst) })
	b.loadSojourns(dst) // outside the seqlock: its readers need no retry
}

// copyPublished is Snapshot's copy of the published words into dst (sized).
func (b *base) copyPublished(dst *ArchSnapshot) {
	p := &b.pub
	hdr := p.Words()
	nq := len(b.leaves)
	dst.Now = int64(hdr[hdrNow].Load())
	dst.Unrouted = hdr[hdrUnrouted].Load()
	for q := range dst.Queues {
		qs := &dst.Queues[q]
		m := &b.meta[q]
		qs.Index, qs.Port, qs.Input, qs.Class, qs.FQ = q, m.port, m.input, m.class, m.fq
		w := p.queueBlock(q)
		qs.QueueStats.decode(w)
		w = w[statWords:]
		qs.HeadSojourn = sojourn(dst.Now, int64(w[0].Load()))
		decodeAQM(&qs.AQM, w[1:])
		w = w[1+aqmWords:]
		qs.FQState = FQState{ActiveFlows: int(w[0].Load()), NewFlows: int(w[1].Load()), OldFlows: int(w[2].Load())}
	}
	for i := range dst.Ports {
		ps := &dst.Ports[i]
		ps.Port = b.cfg.Ports[i]
		w := p.portBlock(nq, i)
		ps.QueueStats.decode(w)
		ps.HeadSojourn = sojourn(dst.Now, int64(w[statWords].Load()))
	}
}

func sojourn(now, head int64) int64 {
	if head == noHead || now < head {
		return 0
	}
	return now - head
}
