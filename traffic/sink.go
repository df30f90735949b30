package traffic

import (
	"sync"
)

// LatencyRecorder takes one-way latencies in ns. The sink calls it from its owner
// goroutine once per recorded frame; a histogram is the intended implementation.
type LatencyRecorder interface {
	Record(ns int64)
}

// SinkParams size a sink. Keys are relative to the sink's section.
type SinkParams struct {
	Inputs       int     // inputs: source port indices 0..inputs-1 are counted
	Outputs      int     // outputs: output indices 0..outputs-1
	Classes      int     // classes: traffic classes 0..classes-1 (default 8)
	Flows        int     // flows: flow ids per input, 0..flows-1 (Source.NumFlowIDs of the largest source)
	NsPerTick    float64 // ns_per_tick: converts timestamp differences to ns (0 or 1: timestamps are ns)
	PublishEvery int     // publish_every: records between snapshots for readers (default 1024)
}

// Sink limits checked by NewSink.
const (
	MaxSinkFlows   = 1 << 22 // inputs × flows
	MaxSinkClasses = 256
)

// flowState is one (input, flow id).
type flowState struct {
	next                                     uint64 // next expected sequence number: highest seen + 1
	packets, bytes, lost, reordered, dup, ce uint64
	first, last                              int64
	cell                                     int32 // cell of the flow's first frame (where its losses count)
	out                                      uint16
	class                                    uint8
	dirty                                    bool
}

// cellState is one (input, output, class).
type cellState struct {
	packets, bytes, lost, reordered, ce uint64
	latSum, latMin, latMax              int64
	first, last                         int64
	dirty                               bool
}

type sinkTotals struct {
	packets, bytes, lost, reordered, dup, ce, unknown, negLat uint64
	first, last                                               int64
}

// Sink counts received frames per flow and per (input, output, class): packets,
// bytes, loss and reordering from sequence numbers, CE marks, and one-way latency.
//
// Sequence accounting per flow, with next = highest sequence seen + 1 (0 before the
// first frame, sources number each flow from 0):
//   - seq == next: in order.
//   - seq > next: the seq - next frames in between count as lost (for now).
//   - seq < next: the frame is reordered (late). It is taken to fill one of the gaps
//     counted as lost, so lost goes down by one; when the flow has no open gap it is a
//     duplicate (Dup) instead. The router never duplicates, so Dup > 0 means a bug.
//
// At the end, Lost is the frames missing before each flow's last received frame;
// frames lost after it are invisible to sequence numbers (compare Packets + Lost with
// Source.FlowSent). Sequence numbers travel as 32 bits and are widened against next,
// which is exact while a flow's reordering and loss runs stay below 2^31 frames.
//
// Record and Publish belong to one owner goroutine and never block or allocate;
// Snapshot may be called from any goroutine and sees the state as of the last
// publication, which the owner makes every publish_every records (skipped while a
// reader holds the copy, tried again at the next one) and on Publish.
type Sink struct {
	inputs, outputs, classes, nflows int
	nsPerTick                        float64
	every                            int
	lat                              LatencyRecorder
	cellLat                          []LatencyRecorder // per cell, nil entries for none

	flows      []flowState
	cells      []cellState
	tot        sinkTotals
	dirtyFlows []int32
	dirtyCells []int32
	sinceLast  int

	mu       sync.Mutex // guards the published copy
	pubFlows []flowState
	pubCells []cellState
	pubTot   sinkTotals
}

// NewSink validates p (errors keyed under key) and returns an empty sink. lat may
// be nil (latency is then only summarised per cell).
func NewSink(key string, p SinkParams, lat LatencyRecorder) (*Sink, error) {
	var ps problems
	if p.Classes == 0 {
		p.Classes = 8
	}
	if p.PublishEvery == 0 {
		p.PublishEvery = 1024
	}
	if p.Inputs < 1 || p.Inputs > MaxPorts {
		ps.add(key+".inputs", p.Inputs, "want 1..%d inputs", MaxPorts)
	}
	if p.Outputs < 1 || p.Outputs > MaxPorts {
		ps.add(key+".outputs", p.Outputs, "want 1..%d outputs", MaxPorts)
	}
	if p.Classes < 1 || p.Classes > MaxSinkClasses {
		ps.add(key+".classes", p.Classes, "want 1..%d classes", MaxSinkClasses)
	}
	if p.Flows < 1 || p.Flows > MaxFlowIDs {
		ps.add(key+".flows", p.Flows, "want 1..%d flow ids per input", MaxFlowIDs)
	} else if p.Inputs >= 1 && p.Inputs*p.Flows > MaxSinkFlows {
		ps.add(key+".flows", p.Flows, "inputs × flows must be <= %d", MaxSinkFlows)
	}
	if !(p.NsPerTick >= 0) {
		ps.add(key+".ns_per_tick", p.NsPerTick, "want a positive conversion factor (0: timestamps are ns)")
	}
	if p.PublishEvery < 1 {
		ps.add(key+".publish_every", p.PublishEvery, "want >= 1 records")
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	if p.NsPerTick == 1 {
		p.NsPerTick = 0
	}
	nf := p.Inputs * p.Flows
	nc := p.Inputs * p.Outputs * p.Classes
	return &Sink{
		inputs: p.Inputs, outputs: p.Outputs, classes: p.Classes, nflows: p.Flows,
		nsPerTick: p.NsPerTick, every: p.PublishEvery, lat: lat,
		flows: make([]flowState, nf), cells: make([]cellState, nc),
		dirtyFlows: make([]int32, 0, nf), dirtyCells: make([]int32, 0, nc),
		pubFlows: make([]flowState, nf), pubCells: make([]cellState, nc),
	}, nil
}

// SetCellRecorder gives cell (in, out, class) its own latency recorder besides the
// sink-wide one (for per-input or per-class percentiles). Set up before recording
// starts, from the owner goroutine; nil removes it. It reports false for a cell out of
// range.
func (s *Sink) SetCellRecorder(in, out, class int, r LatencyRecorder) bool {
	if uint(in) >= uint(s.inputs) || uint(out) >= uint(s.outputs) || uint(class) >= uint(s.classes) {
		return false
	}
	if s.cellLat == nil {
		s.cellLat = make([]LatencyRecorder, len(s.cells))
	}
	s.cellLat[(in*s.outputs+out)*s.classes+class] = r
	return true
}

// Record accounts one received frame: p from ParseFrame, out the output (sink port)
// index it arrived on, class its traffic class (the router's classification, or
// DSCP>>3), now the receive time on the clock of p.Timestamp. It returns false, and
// counts the frame as Unknown, when the port, flow, output or class is out of the
// sink's range. Owner goroutine only; does not allocate.
func (s *Sink) Record(p *Payload, out, class int, now int64) bool {
	if int(p.Port) >= s.inputs || int(p.Flow) >= s.nflows || uint(out) >= uint(s.outputs) || uint(class) >= uint(s.classes) {
		s.tot.unknown++
		s.tick()
		return false
	}
	fi := int(p.Port)*s.nflows + int(p.Flow)
	ci := (int(p.Port)*s.outputs+out)*s.classes + class
	f := &s.flows[fi]
	c := &s.cells[ci]
	if f.packets == 0 && f.lost == 0 && f.dup == 0 {
		f.cell, f.out, f.class = int32(ci), uint16(out), uint8(class)
		f.first = now
	}
	if !f.dirty {
		f.dirty = true
		s.dirtyFlows = append(s.dirtyFlows, int32(fi))
	}
	s.markCell(c, ci)
	if c.packets == 0 {
		c.first, c.latMin = now, 1<<63-1
	}
	if s.tot.packets == 0 {
		s.tot.first = now
	}

	n := uint64(p.Len)
	switch d := int32(p.Seq - uint32(f.next)); {
	case d == 0:
		f.next++
	case d > 0:
		gap := uint64(d)
		f.lost += gap
		s.lostCell(f).lost += gap
		s.tot.lost += gap
		f.next += gap + 1
	default:
		if f.lost > 0 {
			f.lost--
			s.lostCell(f).lost--
			s.tot.lost--
			f.reordered++
			c.reordered++
			s.tot.reordered++
		} else {
			f.dup++
			s.tot.dup++
		}
	}
	f.packets++
	f.bytes += n
	f.last = now
	c.packets++
	c.bytes += n
	c.last = now
	s.tot.packets++
	s.tot.bytes += n
	s.tot.last = now
	if p.ECN == 3 {
		f.ce++
		c.ce++
		s.tot.ce++
	}

	ns := now - int64(p.Timestamp)
	if ns < 0 {
		s.tot.negLat++
		ns = 0
	} else if s.nsPerTick != 0 {
		ns = int64(float64(ns) * s.nsPerTick)
	}
	c.latSum += ns
	c.latMin = min(c.latMin, ns)
	c.latMax = max(c.latMax, ns)
	if s.lat != nil {
		s.lat.Record(ns)
	}
	if s.cellLat != nil {
		if r := s.cellLat[ci]; r != nil {
			r.Record(ns)
		}
	}
	s.tick()
	return true
}

// lostCell is where a flow's losses count: the cell of its first frame (the same as
// the current one unless the flow's class changed on the way).
func (s *Sink) lostCell(f *flowState) *cellState {
	c := &s.cells[f.cell]
	s.markCell(c, int(f.cell))
	return c
}

// markCell queues cell ci for the next publication.
func (s *Sink) markCell(c *cellState, ci int) {
	if !c.dirty {
		c.dirty = true
		s.dirtyCells = append(s.dirtyCells, int32(ci))
	}
}

func (s *Sink) tick() {
	if s.sinceLast++; s.sinceLast >= s.every {
		if s.mu.TryLock() {
			s.publishLocked()
			s.mu.Unlock()
		}
	}
}

// Publish makes the current state visible to Snapshot, waiting for a reader that
// holds the copy. Owner goroutine only (call it when a run ends).
func (s *Sink) Publish() {
	s.mu.Lock()
	s.publishLocked()
	s.mu.Unlock()
}

// publishLocked copies what changed since the last publication.
func (s *Sink) publishLocked() {
	for _, i := range s.dirtyFlows {
		s.flows[i].dirty = false
		s.pubFlows[i] = s.flows[i]
	}
	for _, i := range s.dirtyCells {
		s.cells[i].dirty = false
		s.pubCells[i] = s.cells[i]
	}
	s.dirtyFlows = s.dirtyFlows[:0]
	s.dirtyCells = s.dirtyCells[:0]
	s.pubTot = s.tot
	s.sinceLast = 0
}

// FlowStats are one flow's figures at the sink.
type FlowStats struct {
	Input, Flow, Output uint16
	Class               uint8
	Packets, Bytes      uint64
	Lost, Reordered     uint64 // see Sink for the definitions
	Dup, CE             uint64
	First, Last         int64 // receive times of the first and last frame
}

// CellStats are the figures of one (input, output, class).
type CellStats struct {
	Input, Output          uint16
	Class                  uint8
	Packets, Bytes         uint64
	Lost, Reordered, CE    uint64
	LatSum, LatMin, LatMax int64 // one-way latency, ns
	First, Last            int64
}

// MeanLatency is the mean one-way latency in ns (0 without packets).
func (c *CellStats) MeanLatency() float64 {
	if c.Packets == 0 {
		return 0
	}
	return float64(c.LatSum) / float64(c.Packets)
}

// SinkReport is a snapshot of a sink.
type SinkReport struct {
	Packets, Bytes, Lost, Reordered, Dup, CE uint64
	Unknown                                  uint64      // frames outside the sink's inputs/flows/outputs/classes
	NegLatency                               uint64      // frames whose timestamp was after the receive time (recorded as 0)
	First, Last                              int64       // receive times of the first and last frame
	Flows                                    []FlowStats // flows that received frames, by input then flow id
	Cells                                    []CellStats // cells that received frames, by input, output, class
	Jain                                     float64     // Jain's index over Flows' throughputs (bytes over the same run)
}

// Duration is the receive span of the run, ns.
func (r *SinkReport) Duration() int64 { return r.Last - r.First }

// Bps is bytes received over d ns, in bits/s (the throughput of a flow or cell over
// the run when d is the run's Duration).
func Bps(bytes uint64, d int64) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) * 8e9 / float64(d)
}

// Snapshot returns the state as of the last publication. Any goroutine; it
// allocates the report.
func (s *Sink) Snapshot() SinkReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.pubTot
	r := SinkReport{
		Packets: t.packets, Bytes: t.bytes, Lost: t.lost, Reordered: t.reordered,
		Dup: t.dup, CE: t.ce, Unknown: t.unknown, NegLatency: t.negLat,
		First: t.first, Last: t.last,
	}
	var xs []float64
	for i := range s.pubFlows {
		f := &s.pubFlows[i]
		if f.packets == 0 {
			continue
		}
		r.Flows = append(r.Flows, FlowStats{
			Input: uint16(i / s.nflows), Flow: uint16(i % s.nflows), Output: f.out, Class: f.class,
			Packets: f.packets, Bytes: f.bytes, Lost: f.lost, Reordered: f.reordered,
			Dup: f.dup, CE: f.ce, First: f.first, Last: f.last,
		})
		xs = append(xs, float64(f.bytes))
	}
	for i := range s.pubCells {
		c := &s.pubCells[i]
		if c.packets == 0 && c.lost == 0 {
			continue
		}
		cls := i % s.classes
		io := i / s.classes
		lmin := c.latMin
		if c.packets == 0 {
			lmin = 0
		}
		r.Cells = append(r.Cells, CellStats{
			Input: uint16(io / s.outputs), Output: uint16(io % s.outputs), Class: uint8(cls),
			Packets: c.packets, Bytes: c.bytes, Lost: c.lost, Reordered: c.reordered, CE: c.ce,
			LatSum: c.latSum, LatMin: lmin, LatMax: c.latMax, First: c.first, Last: c.last,
		})
	}
	r.Jain = JainIndex(xs)
	return r
}

// JainIndex is Jain's fairness index (Σx)² / (n·Σx²) of xs: 1 when all are equal,
// 1/n when one takes everything; 0 for no values or all zero. Include zeros for
// flows that were sent but received nothing, or they do not count.
func JainIndex(xs []float64) float64 {
	var s, s2 float64
	for _, x := range xs {
		s += x
		s2 += x * x
	}
	if s2 == 0 {
		return 0
	}
	return s * s / (float64(len(xs)) * s2)
}
