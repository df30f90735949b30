package traffic

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Frame is one frame a Source decided to send: what WriteFrame needs to build it.
type Frame struct {
	Due   int64  // due time, ns on the caller's clock
	Seq   uint64 // sequence number within the flow, from 0 (the payload carries its low 32 bits)
	Flow  uint16 // flow id within the source: Out × flows + k for flow k of the output
	Out   uint16 // output index (Addressing.DstIP index)
	Len   uint16 // frame length in bytes, without FCS
	SPort uint16 // UDP source port: 49152 + k
	DSCP  uint8
	ECN   uint8
}

type arrivalKind uint8

const (
	kConstant arrivalKind = iota
	kPoisson
	kBernoulli
	kOnOff
	kIncast
)

// SourceStats are a source's counters. Sent counts frames handed out by Due.
type SourceStats struct {
	Sent      uint64 // frames handed out
	SentBytes uint64 // their bytes (without FCS)
	Late      uint64 // frames handed out more than late_after after their due time
	MaxLateNs int64  // largest lateness of a handed-out frame
	SkippedNs int64  // schedule time skipped because the caller was behind by more than catch_up
	Skipped   uint64 // frames that schedule time would have held (estimate: SkippedNs × mean frame rate)
}

// Source generates the frame schedule of one traffic source. It is driven by one
// goroutine (the poll loop) through Due; Stats may be read from any goroutine.
//
// Falling behind: when Due is called late, the frames whose due times have passed are
// handed out late (up to len(out) per call, oldest first, keeping their due times and
// the sequence), so the configured rate holds over the run; each one more than
// late_after behind counts in Late. A backlog older than catch_up is not sent at all:
// the schedule is shifted forward to now - catch_up and the skipped time counts in
// SkippedNs (incast shifts by whole periods, keeping the bursts aligned). Skipped
// frames take no sequence numbers, so a sink does not see them as loss.
type Source struct {
	gen
	stats sourceStats // read by Stats from any goroutine; kept across Apply
}

type sourceStats struct {
	sent, bytes, late, skipped atomic.Uint64
	maxLate, skippedNs         atomic.Int64
}

// gen is the schedule and everything Apply replaces.
type gen struct {
	kind      arrivalKind
	rng       *rand.PCG
	due       int64 // due time of the next frame (including shift)
	startAbs  int64
	stopAbs   int64 // 0: never
	shift     int64 // schedule time skipped so far
	catchUp   int64 // <0: never skip
	lateAfter int64
	done      bool

	// rate
	bitRate   bool    // cost is bits (else frames)
	overhead  int     // bytes charged beyond the frame for bit rates
	nsPerUnit float64 // ns per unit of cost at the rate (constant, incast) or peak (onoff)
	meanPPS   float64 // mean frame rate, for Skipped

	// constant, incast: work (cost units) handed out since the schedule's origin
	units  uint64
	origin int64 // constant: startAbs; incast: start of the current burst

	// poisson, onoff: next due time on the schedule, float ns
	t       float64
	meanGap float64 // poisson: mean gap ns

	// bernoulli
	slot    int64
	slotK   int64
	logQ    float64 // ln(1-p)
	certain bool    // p == 1

	// onoff
	left      int64 // frames left in the current burst
	meanBurst float64
	meanIdle  float64 // ns
	fixedOn   bool
	carry     float64 // fixed bursts: fractional frames carried to the next burst
	logQBurst float64 // ln(1-1/meanBurst)

	// incast
	burst  int64
	period int64
	base   int64 // t0 + offset
	k      int64 // burst index

	// destinations and flows
	outs   []uint16 // output of each destination column
	dest   alias
	flows  int
	rr     []uint16 // next flow per destination column
	seq    []uint64 // per flow id
	dscpOf []uint8  // per flow k
	ecnOf  []uint8

	// sizes
	sizes []uint16
	size  alias
}

// NewSource validates p (errors are keyed under key, e.g. "ports[2].source") and
// returns its source. t0 is the run's time origin on the caller's ns clock: start,
// stop and incast's offset count from it, so sources given the same t0 are aligned.
func NewSource(key string, p SourceParams, t0 int64) (*Source, error) {
	if err := p.Validate(key); err != nil {
		return nil, err
	}
	var ps problems
	sizes, _ := p.sizeTable(key, &ps)
	w, _, _ := p.destWeights(key, &ps)

	s := &Source{gen: gen{
		rng:       rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15),
		startAbs:  t0 + int64(p.Start),
		bitRate:   p.Rate != 0,
		lateAfter: int64(p.LateAfter),
		catchUp:   int64(p.CatchUp),
		flows:     max(p.Flows, 1),
		meanPPS:   p.meanPPS(sizes),
	}}
	if p.Stop != 0 {
		s.stopAbs = t0 + int64(p.Stop)
	}
	if p.CatchUp == 0 {
		s.catchUp = int64(DefaultCatchUp)
	} else if p.CatchUp < 0 {
		s.catchUp = -1
	}
	if p.LateAfter == 0 {
		s.lateAfter = int64(DefaultLateAfter)
	}
	if p.Layer != LayerL2 {
		s.overhead = L1Overhead
	}
	rate := p.Rate + p.PPS // units per second
	s.nsPerUnit = 1e9 / rate

	// Destinations: one column per output with weight > 0.
	var cw []float64
	for o, x := range w {
		if x > 0 {
			s.outs = append(s.outs, uint16(o))
			cw = append(cw, x)
		}
	}
	s.dest = newAlias(cw)
	s.rr = make([]uint16, len(s.outs))
	s.seq = make([]uint64, (int(s.outs[len(s.outs)-1])+1)*s.flows)
	s.dscpOf = make([]uint8, s.flows)
	s.ecnOf = make([]uint8, s.flows)
	for k := range s.flows {
		if len(p.DSCP) > 0 {
			s.dscpOf[k] = uint8(p.DSCP[k%len(p.DSCP)])
		}
		if len(p.ECN) > 0 {
			s.ecnOf[k] = uint8(p.ECN[k%len(p.ECN)])
		}
	}
	var sw []float64
	for _, x := range sizes {
		if x.Weight > 0 {
			s.sizes = append(s.sizes, uint16(x.Len))
			sw = append(sw, x.Weight)
		}
	}
	s.size = newAlias(sw)

	switch p.Arrival {
	case "", ArrivalConstant:
		s.kind = kConstant
		s.origin = s.startAbs
	case ArrivalPoisson:
		s.kind = kPoisson
		s.meanGap = 1e9 / s.meanPPS
		s.t = float64(s.startAbs) + s.expo()*s.meanGap
	case ArrivalBernoulli:
		s.kind = kBernoulli
		s.slot = int64(p.Slot)
		prob := s.meanPPS * p.Slot.Seconds()
		s.certain = prob >= 1
		s.logQ = math.Log1p(-prob)
		s.slotK = s.geom(s.logQ, s.certain) - 1 // first arrival in slot 0, 1, ...
	case ArrivalOnOff:
		s.kind = kOnOff
		s.meanBurst = p.Burst
		s.fixedOn = p.BurstDist == "fixed"
		s.logQBurst = math.Log1p(-1 / p.Burst)
		cycle := p.Burst / s.meanPPS * 1e9 // ns per mean cycle at the mean rate
		if p.Peak != 0 {
			s.nsPerUnit = 1e9 / p.Peak
			s.meanIdle = cycle - p.Burst*p.meanCost(sizes)*s.nsPerUnit
		} else {
			s.meanIdle = float64(p.Idle)
			s.nsPerUnit = (cycle - s.meanIdle) / (p.Burst * p.meanCost(sizes))
		}
		s.meanIdle = max(s.meanIdle, 0)
		s.t = float64(s.startAbs) + s.idle()
		s.left = s.burstLen()
	case ArrivalIncast:
		s.kind = kIncast
		s.burst = int64(p.Burst)
		s.period = int64(p.Period)
		s.base = t0 + int64(p.Offset)
		if s.startAbs > s.base {
			s.k = (s.startAbs - s.base + s.period - 1) / s.period
		}
		s.origin = s.base + s.k*s.period
		s.meanPPS = float64(s.burst) / p.Period.Seconds()
	}
	s.due = s.schedule()
	return s, nil
}

// Apply replaces the source's parameters between two Due calls (owner goroutine), as
// a live change: validated like NewSource (nothing changes on error), the schedule
// restarts with p's arrival process from the next frame's due time (or t0 + p.start
// if later), sequence numbers continue per flow id, and the counters continue. t0
// should be the one the source was made with, which keeps incast bursts aligned.
func (s *Source) Apply(key string, p SourceParams, t0 int64) error {
	if err := p.Validate(key); err != nil {
		return err
	}
	if next, ok := s.Next(); ok && next-t0 > int64(p.Start) {
		p.Start = time.Duration(next - t0)
		if p.Stop != 0 && p.Stop <= p.Start {
			p.Stop = p.Start + 1 // already past the new stop: nothing more
		}
	} else if !ok {
		// stopped: restart from the old stop time at the earliest.
		if st := s.stopAbs - t0; s.stopAbs != 0 && st > int64(p.Start) {
			p.Start = time.Duration(st)
		}
	}
	n, err := NewSource(key, p, t0)
	if err != nil {
		return err
	}
	copy(n.seq, s.seq)
	s.gen = n.gen
	return nil
}

// u01 is a uniform float64 in (0, 1].
func (s *Source) u01() float64 {
	return float64(s.rng.Uint64()>>11+1) * (1.0 / (1 << 53))
}

// expo is an exponential variate with mean 1.
func (s *Source) expo() float64 { return -math.Log(s.u01()) }

// geom is a geometric variate >= 1 with success probability p, given ln(1-p).
func (s *Source) geom(logQ float64, certain bool) int64 {
	if certain {
		return 1
	}
	return 1 + int64(math.Log(s.u01())/logQ)
}

func (s *Source) idle() float64 {
	if s.fixedOn {
		return s.meanIdle
	}
	return s.expo() * s.meanIdle
}

func (s *Source) burstLen() int64 {
	if s.fixedOn {
		// A fractional mean burst mixes floor and ceil lengths to keep the mean.
		s.carry += s.meanBurst
		n := int64(s.carry)
		s.carry -= float64(n)
		return n
	}
	return s.geom(s.logQBurst, s.meanBurst == 1)
}

func (s *Source) cost(n uint16) uint64 {
	if !s.bitRate {
		return 1
	}
	if s.overhead != 0 {
		return uint64(int(n)+s.overhead) * 8
	}
	return uint64(n) * 8
}

// schedule is the due time of the next frame from the schedule state.
func (s *Source) schedule() int64 {
	switch s.kind {
	case kConstant, kIncast:
		return s.origin + int64(float64(s.units)*s.nsPerUnit) + s.shift
	case kBernoulli:
		return s.startAbs + s.slotK*s.slot + s.shift
	default:
		return int64(s.t) + s.shift
	}
}

// advance moves the schedule past a frame of n bytes.
func (s *Source) advance(n uint16) {
	switch s.kind {
	case kConstant:
		s.units += s.cost(n)
	case kPoisson:
		s.t += s.expo() * s.meanGap
	case kBernoulli:
		s.slotK += s.geom(s.logQ, s.certain)
	case kOnOff:
		s.t += float64(s.cost(n)) * s.nsPerUnit
		if s.left--; s.left <= 0 {
			s.t += s.idle()
			s.left = s.burstLen()
		}
	case kIncast:
		s.units += s.cost(n)
		if s.left++; s.left >= s.burst {
			s.k++
			s.origin = s.base + s.k*s.period
			s.units = 0
			s.left = 0
		}
	}
	s.due = s.schedule()
}

// Due fills out with the frames due at or before now, oldest first, and returns how
// many it wrote (at most len(out); the rest stay due for the next call). It does not
// allocate. now is on the same ns clock as t0.
func (s *Source) Due(now int64, out []Frame) int {
	if s.done || s.due > now {
		return 0
	}
	if s.catchUp >= 0 && now-s.due > s.catchUp {
		s.skip(now - s.catchUp - s.due)
	}
	n := 0
	var late uint64
	var bytes uint64
	maxLate := int64(0)
	for n < len(out) && s.due <= now {
		if s.stopAbs != 0 && s.due >= s.stopAbs {
			s.done = true
			break
		}
		f := &out[n]
		s.fill(f)
		if d := now - f.Due; d > maxLate {
			maxLate = d
		}
		if now-f.Due > s.lateAfter {
			late++
		}
		bytes += uint64(f.Len)
		s.advance(f.Len)
		n++
	}
	if n > 0 {
		s.stats.sent.Add(uint64(n))
		s.stats.bytes.Add(bytes)
		if late != 0 {
			s.stats.late.Add(late)
		}
		if maxLate > s.stats.maxLate.Load() {
			s.stats.maxLate.Store(maxLate)
		}
	}
	return n
}

// fill draws the next frame's destination, flow and size.
func (s *Source) fill(f *Frame) {
	d := 0
	if len(s.outs) > 1 {
		d = s.dest.pick(s.rng.Uint64())
	}
	k := s.rr[d]
	if int(k)+1 == s.flows {
		s.rr[d] = 0
	} else {
		s.rr[d] = k + 1
	}
	out := s.outs[d]
	flow := int(out)*s.flows + int(k)
	f.Due = s.due
	f.Seq = s.seq[flow]
	s.seq[flow]++
	f.Flow = uint16(flow)
	f.Out = out
	f.SPort = basePort + k
	f.DSCP = s.dscpOf[k]
	f.ECN = s.ecnOf[k]
	if len(s.sizes) > 1 {
		f.Len = s.sizes[s.size.pick(s.rng.Uint64())]
	} else {
		f.Len = s.sizes[0]
	}
}

// skip shifts the schedule forward by about d ns (incast: whole periods).
func (s *Source) skip(d int64) {
	if s.kind == kIncast {
		d -= d % s.period
		if d == 0 {
			return
		}
	}
	s.shift += d
	s.due = s.schedule()
	s.stats.skippedNs.Add(d)
	s.stats.skipped.Add(uint64(float64(d) * s.meanPPS / 1e9))
}

// Stats returns the counters; safe from any goroutine.
func (s *Source) Stats() SourceStats {
	return SourceStats{
		Sent:      s.stats.sent.Load(),
		SentBytes: s.stats.bytes.Load(),
		Late:      s.stats.late.Load(),
		MaxLateNs: s.stats.maxLate.Load(),
		SkippedNs: s.stats.skippedNs.Load(),
		Skipped:   s.stats.skipped.Load(),
	}
}

// Next returns the due time of the next frame and false once the source has stopped
// (its next frame would be due at or after stop). Owner goroutine only.
func (s *Source) Next() (int64, bool) {
	if s.done || (s.stopAbs != 0 && s.due >= s.stopAbs) {
		return 0, false
	}
	return s.due, true
}

// FlowSent is the number of frames handed out on flow id (the next sequence number):
// comparing it with a sink's count shows losses after a flow's last received frame,
// which sequence numbers alone cannot. Owner goroutine only.
func (s *Source) FlowSent(flow int) uint64 {
	if flow < 0 || flow >= len(s.seq) {
		return 0
	}
	return s.seq[flow]
}

// NumFlowIDs is one more than the largest flow id the source can use.
func (s *Source) NumFlowIDs() int { return len(s.seq) }

// MeanPPS is the mean frame rate the configuration gives (for a bit rate, over the
// mean frame cost of the size distribution).
func (s *Source) MeanPPS() float64 { return s.meanPPS }
