// PIE (Proportional Integral controller Enhanced, RFC 8033; Linux net/sched/sch_pie.c).
//
// A periodic controller moves a drop probability so that the queueing delay
// settles at a target: every t_update it adds alpha*(qdelay-target) (the error) plus
// beta*(qdelay-qdelay_old) (the trend), both in 1/s with delays in seconds. Arriving
// packets are then dropped (or ECN-marked) at random with that probability. There is
// no timer: whichever call first finds now >= next_update runs the update, and runs it
// once per missed period, so a queue polled rarely still sees every period.
//
// Variant (pie.variant: rfc | linux; default rfc). The default follows RFC 8033,
// because the package and the README describe PIE as RFC 8033 and the RFC is what
// ns-3 and FreeBSD implement, which are what studies compare against; `linux` gives
// the behaviour of `tc qdisc add ... pie` instead. What the variant switches:
//
//	                             rfc (RFC 8033 sections 4 and 5, Appendix A)    linux (sch_pie.c)
//	qdelay > 250 ms              nothing extra                                   +0.02 per update
//	idle decay                   prob *= 0.98 when qdelay and qdelay_old are 0   prob -= prob/64, and only when the queue is empty
//	early-drop delay check       qdelay_old (the last update's) < target/2       the current qdelay < target/2
//	burst allowance shrinks      by t_update per update                          by the time between departures
//	burst allowance refills      at an arrival: prob 0, both delays < target/2   at an update: prob 0, both delays < target/2 (also clears the accumulator)
//	accumulator reset            every early drop or mark                        a drop or a random hit, not a mark forced at >= 8.5
//	timestamp qdelay             0 when the queue is empty at the update         0 when the last departure emptied the queue
//
// Options, independent of the variant (each off by default except derandomization):
//   - active_states (RFC 8033 section 5.3): PIE starts inactive, passes everything and
//     runs no update until an arrival finds at least active_threshold bytes queued
//     (default 10 full frames; the RFC suggests a third of the tail-drop limit, which
//     PIE does not see). Becoming active resets the probability, the accumulator and
//     the delay history and refills the burst allowance; PIE becomes inactive again at
//     an update that leaves the probability at 0 with both delays below target/2
//     (congestion over, which an idle queue reaches once its probability decays).
//   - derandomize (RFC 8033 section 5.4; on by default, as in Linux which has no
//     switch): the accumulator below. Off: each eligible arrival is dropped when a
//     uniform draw is below the probability.
//   - byte_mode (Linux bytemode): a packet of at most MTU bytes uses prob*len/MTU for
//     the accumulator and the draw (the ECN ceiling still compares prob itself).
//
// Choices, where the RFC leaves room (both variants):
//   - The drop probability and the de-randomization accumulator are float64 (the update
//     runs once per period; per packet only a comparison or two and one random number).
//     Linux keeps them in 32-bit fixed point; that rounding is not modelled.
//   - Update order: scale the step by the probability band; cap it at 0.02 once
//     prob >= 0.1; add it; (linux: add 0.02 when qdelay > 250 ms); decay; clamp to [0, 1].
//   - Burst allowance (RFC 8033 section 4.4): starts at max_burst. While it is > 0 no
//     early drop is considered at all (the random draw and the accumulator are skipped,
//     as in Linux).
//   - The accumulator (rfc) is reset by every early drop or mark (the RFC resets it on
//     drop and on a random hit; resetting on a mark too avoids marking every packet
//     once it passes 8.5).
//   - qdelay from timestamps: the sojourn of the last dequeued packet. From the
//     departure rate (RFC 8033 section 5.2, both variants): a measurement starts at a
//     departure that leaves at least dq_threshold bytes queued and ends when
//     dq_threshold bytes have left and time has moved (a burst dequeued under one clock
//     reading cannot end it); the rate sample feeds an EWMA with weight 1/4 (the RFC's
//     16 KB / 64 KB); qdelay = backlog / rate. Linux's estimator (10 000 B threshold,
//     weight 1/8, back-to-back measurements) is not modelled; with it, linux shrinks
//     the burst allowance by each measurement's duration, as Linux does.
//   - Comparisons with target/2 are done as 2*qdelay < target, exact in integers.

package aqm

import (
	"fmt"
	"strings"
	"time"
)

// PIEVariant selects whose behaviour PIE follows where RFC 8033 and Linux differ.
type PIEVariant uint8

const (
	// PIERFC follows RFC 8033 (the default).
	PIERFC PIEVariant = iota
	// PIELinux follows Linux's sch_pie.c.
	PIELinux
)

// String returns "rfc" or "linux".
func (v PIEVariant) String() string {
	if v == PIELinux {
		return "linux"
	}
	return "rfc"
}

// ParsePIEVariant turns a config-file name into a PIEVariant: "rfc" or "linux"
// (case-insensitive); "" means rfc.
func ParsePIEVariant(s string) (PIEVariant, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "rfc":
		return PIERFC, nil
	case "linux":
		return PIELinux, nil
	}
	return PIERFC, paramErr("pie.variant", fmt.Sprintf("%q", s), "want rfc or linux")
}

// PIEParams are PIE's settings in human units. Zero values select RFC 8033 defaults.
type PIEParams struct {
	Target           time.Duration // queue delay reference (QDELAY_REF); 0 means 15 ms
	TUpdate          time.Duration // period of the probability update; 0 means 15 ms
	Alpha            float64       // weight of the delay error, 1/s; 0 means 0.125
	Beta             float64       // weight of the delay trend, 1/s; 0 means 1.25
	MaxBurst         time.Duration // burst allowance; 0 means 150 ms
	NoBurstAllowance bool          // disable the burst allowance entirely
	MTU              int           // bytes: no early drop while less than 2*MTU is queued; 0 means 1514
	ECN              bool          // mark ECT packets instead of dropping while prob <= ECNThreshold
	ECNThreshold     float64       // highest probability at which ECT packets are marked; 0 means 0.1
	RateEstimator    bool          // qdelay from the departure rate (RFC 8033 section 5.2), not timestamps
	DQThreshold      int           // bytes per departure-rate measurement; 0 means 16384
	Seed             uint64        // seed of the random stream (mixed with the per-queue seed by Spec.New)

	Variant         PIEVariant // rfc (default) or linux; see the file header
	ActiveStates    bool       // RFC 8033 section 5.3 active/inactive states; off by default
	ActiveThreshold int        // bytes queued that make an inactive PIE active; 0 means 10*MTU
	NoDerandomize   bool       // turn the RFC 8033 section 5.4 accumulator off (it is on by default)
	ByteMode        bool       // scale the probability by len/MTU (Linux bytemode); off by default
}

// PIEConfig is a validated PIEParams in ns and bytes. Build it with NewPIEConfig.
type PIEConfig struct {
	target, tUpdate, maxBurst int64 // ns
	alpha, beta               float64
	mtu                       int
	ecn                       bool
	ecnThreshold              float64
	rateEst                   bool
	dqThreshold               int
	seed                      uint64
	linux                     bool // Variant == PIELinux
	activeStates              bool
	activeThreshold           int
	derandomize               bool
	byteMode                  bool
	options                   bool // any of linux, activeStates, !derandomize, byteMode
	valid                     bool
}

// Constants of the update and of the drop decision. The step scaling bands are in
// update; the 0.02 cap, the 250 ms boost and the decays are RFC 8033's and Linux's.
const (
	pieHighDelay  = int64(250 * time.Millisecond) // linux: the boost applies above this
	pieMaxStep    = 0.02                          // cap of the step once prob >= 0.1, and linux's boost
	pieIdleDecay  = 0.98                          // rfc: multiplier per update while the queue is idle
	pieLinuxDecay = 64                            // linux: prob -= prob/64 per idle update
	pieAccuLow    = 0.85                          // no drop while the accumulated probability is below this
	pieAccuHigh   = 8.5                           // always drop once the accumulated probability reaches this
	pieRateW      = 0.25                          // EWMA weight of a departure-rate sample
	pieNoDeq      = -1 << 63                      // linux: no departure seen since the last reset
)

// NewPIEConfig validates p, fills defaults and converts it to ns and bytes.
func NewPIEConfig(p PIEParams) (PIEConfig, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&p.Target, 15*time.Millisecond)
	def(&p.TUpdate, 15*time.Millisecond)
	def(&p.MaxBurst, 150*time.Millisecond)
	if p.Alpha == 0 {
		p.Alpha = 0.125
	}
	if p.Beta == 0 {
		p.Beta = 1.25
	}
	if p.MTU == 0 {
		p.MTU = 1514
	}
	if p.ECNThreshold == 0 {
		p.ECNThreshold = 0.1
	}
	if p.DQThreshold == 0 {
		p.DQThreshold = 16384
	}
	if p.ActiveThreshold == 0 {
		p.ActiveThreshold = 10 * p.MTU
	}
	if err := checkDuration("pie.target", p.Target, minDelayParam, 10*time.Second); err != nil {
		return PIEConfig{}, err
	}
	if err := checkDuration("pie.t_update", p.TUpdate, 100*time.Microsecond, 10*time.Second); err != nil {
		return PIEConfig{}, err
	}
	if err := checkDuration("pie.max_burst", p.MaxBurst, 0, maxDelayParam); err != nil {
		return PIEConfig{}, err
	}
	// Linux accepts alpha and beta up to 32 (in 1/8 steps); the RFC's are 0.125 and 1.25.
	if !(p.Alpha > 0 && p.Alpha <= 32) {
		return PIEConfig{}, paramErr("pie.alpha", p.Alpha, "want (0, 32]")
	}
	if !(p.Beta > 0 && p.Beta <= 32) {
		return PIEConfig{}, paramErr("pie.beta", p.Beta, "want (0, 32]")
	}
	if p.MTU < minMTUParam || p.MTU > maxMTUParam {
		return PIEConfig{}, paramErrUnit("pie.mtu", p.MTU, "bytes", "want %d..%d", minMTUParam, maxMTUParam)
	}
	if !(p.ECNThreshold > 0 && p.ECNThreshold <= 1) {
		return PIEConfig{}, paramErr("pie.ecn_threshold", p.ECNThreshold, "want (0, 1]")
	}
	if p.DQThreshold < 1500 || p.DQThreshold > 1<<24 {
		return PIEConfig{}, paramErrUnit("pie.dq_threshold", p.DQThreshold, "bytes", "want 1500..%d", 1<<24)
	}
	if p.Variant != PIERFC && p.Variant != PIELinux {
		return PIEConfig{}, paramErr("pie.variant", int(p.Variant), "want rfc (0) or linux (1)")
	}
	if p.ActiveThreshold < 1 || p.ActiveThreshold > 1<<30 {
		return PIEConfig{}, paramErrUnit("pie.active_threshold", p.ActiveThreshold, "bytes", "want 1..%d", 1<<30)
	}
	c := PIEConfig{
		target:          int64(p.Target),
		tUpdate:         int64(p.TUpdate),
		maxBurst:        int64(p.MaxBurst),
		alpha:           p.Alpha,
		beta:            p.Beta,
		mtu:             p.MTU,
		ecn:             p.ECN,
		ecnThreshold:    p.ECNThreshold,
		rateEst:         p.RateEstimator,
		dqThreshold:     p.DQThreshold,
		seed:            p.Seed,
		linux:           p.Variant == PIELinux,
		activeStates:    p.ActiveStates,
		activeThreshold: p.ActiveThreshold,
		derandomize:     !p.NoDerandomize,
		byteMode:        p.ByteMode,
		valid:           true,
	}
	c.options = c.linux || c.activeStates || !c.derandomize || c.byteMode
	if p.NoBurstAllowance {
		c.maxBurst = 0
	}
	return c, nil
}

// PIE is one queue's PIE state machine. It decides at enqueue; Dequeue only measures.
type PIE struct {
	cfg        PIEConfig
	rng        rng
	prob       float64 // drop probability
	accu       float64 // de-randomization accumulator (sum of prob since the last drop)
	qdelayOld  int64   // qdelay estimate of the last update, ns (the RFC's qdelay_old_)
	burst      int64   // remaining burst allowance, ns
	nextUpdate int64   // time of the next periodic update
	started    bool    // nextUpdate is set (first call seen)
	inactive   bool    // active_states: PIE is inactive (passes everything, no updates)
	sojourn    int64   // timestamps mode: sojourn of the last dequeued packet
	lastDeq    int64   // linux: time of the last departure, pieNoDeq after a reset
	inMeasure  bool    // rate mode: a departure-rate measurement is running
	measStart  int64   // rate mode: when it started
	dqCount    int     // rate mode: bytes departed since it started
	rate       float64 // rate mode: EWMA departure rate, bytes/ns; 0 = none yet
	drops      uint64
	marks      uint64
}

var _ Policy = (*PIE)(nil)

// NewPIE returns a PIE with zero probability and a full burst allowance (inactive,
// with active_states on).
func NewPIE(cfg PIEConfig) *PIE {
	if !cfg.valid {
		panic("aqm: NewPIE needs a config from NewPIEConfig")
	}
	return &PIE{cfg: cfg, rng: newRNG(cfg.seed), burst: cfg.maxBurst, inactive: cfg.activeStates, lastDeq: pieNoDeq}
}

// SetConfig applies a new configuration live, keeping the probability, the delay
// history, the accumulator and the update schedule. The burst allowance is clipped to
// the new max_burst; switching the qdelay source restarts the rate measurement;
// turning active_states on or off leaves PIE active.
func (e *PIE) SetConfig(cfg PIEConfig) {
	if !cfg.valid {
		panic("aqm: PIE.SetConfig needs a config from NewPIEConfig")
	}
	if cfg.rateEst != e.cfg.rateEst {
		e.inMeasure, e.dqCount, e.rate, e.sojourn = false, 0, 0, 0
	}
	if cfg.linux != e.cfg.linux {
		e.lastDeq = pieNoDeq
	}
	if !cfg.activeStates {
		e.inactive = false
	}
	e.burst = min(e.burst, cfg.maxBurst)
	e.cfg = cfg
}

// Enqueue decides for an arriving packet; q is the backlog before it is added.
func (e *PIE) Enqueue(now int64, p Packet, q Backlog) Verdict {
	c := &e.cfg
	if c.options {
		return e.enqueueOptions(now, p, q)
	}
	// The default: rfc, de-randomized, no byte mode, always active.
	e.catchUp(now, q.Bytes)
	if e.prob == 0 && 2*e.qdelayOld < c.target && 2*e.qdelay(q.Bytes) < c.target {
		e.burst = c.maxBurst
	}
	if e.burst > 0 ||
		(2*e.qdelayOld < c.target && e.prob < 0.2) ||
		q.Bytes < 2*c.mtu {
		return Pass
	}
	if e.prob == 0 {
		e.accu = 0
	}
	e.accu += e.prob
	if e.accu < pieAccuLow {
		return Pass
	}
	if e.accu < pieAccuHigh && e.rng.float() >= e.prob {
		return Pass
	}
	e.accu = 0
	if c.ecn && p.ECT && e.prob <= c.ecnThreshold {
		e.marks++
		return Mark
	}
	e.drops++
	return Drop
}

// enqueueOptions is Enqueue for every other combination of variant and options (kept
// apart so that the default path carries no test for them).
func (e *PIE) enqueueOptions(now int64, p Packet, q Backlog) Verdict {
	c := &e.cfg
	if e.inactive {
		if q.Bytes < c.activeThreshold {
			return Pass
		}
		e.activate(now)
	}
	e.catchUp(now, q.Bytes)
	// The delay that the early-drop safeguard compares with target/2.
	cur := e.qdelayOld
	if c.linux {
		if !c.rateEst {
			cur = e.sojourn
		}
	} else if e.prob == 0 && 2*e.qdelayOld < c.target && 2*e.qdelay(q.Bytes) < c.target {
		e.burst = c.maxBurst
	}
	if e.burst > 0 ||
		(2*cur < c.target && e.prob < 0.2) ||
		q.Bytes < 2*c.mtu {
		return Pass
	}
	prob := e.prob
	if c.byteMode && p.Len <= c.mtu {
		prob = prob * float64(p.Len) / float64(c.mtu)
	}
	if c.derandomize {
		if prob == 0 {
			e.accu = 0
		}
		e.accu += prob
		if e.accu < pieAccuLow {
			return Pass
		}
		if e.accu < pieAccuHigh {
			if e.rng.float() >= prob {
				return Pass
			}
			e.accu = 0
		} else if !c.linux {
			e.accu = 0
		}
	} else if e.rng.float() >= prob {
		return Pass
	}
	if c.ecn && p.ECT && e.prob <= c.ecnThreshold {
		e.marks++
		return Mark
	}
	e.accu = 0
	e.drops++
	return Drop
}

// activate makes an inactive PIE active (RFC 8033 section 5.3): a fresh controller
// with a full burst allowance, its first update one period from now.
func (e *PIE) activate(now int64) {
	e.inactive = false
	e.prob, e.accu, e.qdelayOld = 0, 0, 0
	e.burst = e.cfg.maxBurst
	e.started, e.nextUpdate = true, now+e.cfg.tUpdate
}

// Dequeue measures the packet just removed (q is what remains) and always passes.
func (e *PIE) Dequeue(now int64, p Packet, q Backlog) Verdict {
	c := &e.cfg
	e.catchUp(now, q.Bytes+p.Len) // periods that ended before this departure (none while inactive)
	if !c.rateEst {
		e.sojourn = now - p.EnqTime
		if c.linux {
			if q.Bytes == 0 {
				e.sojourn = 0
			}
			if e.lastDeq != pieNoDeq {
				e.burst = max(e.burst-(now-e.lastDeq), 0)
			}
			e.lastDeq = now
		}
		return Pass
	}
	if e.inMeasure {
		e.dqCount += p.Len
		if e.dqCount >= c.dqThreshold && now > e.measStart {
			sample := float64(e.dqCount) / float64(now-e.measStart)
			if e.rate == 0 {
				e.rate = sample
			} else {
				e.rate += (sample - e.rate) * pieRateW
			}
			e.inMeasure = false
			if c.linux {
				e.burst = max(e.burst-(now-e.measStart), 0)
			}
		}
	}
	if !e.inMeasure && q.Bytes >= c.dqThreshold {
		e.inMeasure, e.measStart, e.dqCount = true, now, 0
	}
	return Pass
}

// qdelay is the current queue delay estimate for a backlog of the given bytes.
func (e *PIE) qdelay(backlog int) int64 {
	if !e.cfg.rateEst {
		if backlog == 0 && !e.cfg.linux {
			return 0
		}
		return e.sojourn
	}
	if backlog == 0 || e.rate == 0 {
		return 0
	}
	return int64(float64(backlog) / e.rate)
}

// catchUp runs every periodic update whose time has come, with the backlog of the
// moment (nothing was enqueued or dequeued between those periods and now). Once an
// update leaves the state unchanged, the remaining ones would too, so they are skipped.
func (e *PIE) catchUp(now int64, backlog int) {
	if !e.started {
		e.started = true
		e.nextUpdate = now + e.cfg.tUpdate
		return
	}
	for now >= e.nextUpdate && !e.inactive {
		prob, old, burst := e.prob, e.qdelayOld, e.burst
		e.update(e.qdelay(backlog), backlog)
		e.nextUpdate += e.cfg.tUpdate
		if e.prob == prob && e.qdelayOld == old && e.burst == burst && now >= e.nextUpdate {
			e.nextUpdate += (now - e.nextUpdate) / e.cfg.tUpdate * e.cfg.tUpdate
			e.nextUpdate += e.cfg.tUpdate
		}
	}
}

// update is one periodic probability update with the current delay estimate cur and
// the backlog of the moment.
func (e *PIE) update(cur int64, backlog int) {
	c := &e.cfg
	step := c.alpha*float64(cur-c.target)/1e9 + c.beta*float64(cur-e.qdelayOld)/1e9
	switch {
	case e.prob < 1e-6:
		step /= 2048
	case e.prob < 1e-5:
		step /= 512
	case e.prob < 1e-4:
		step /= 128
	case e.prob < 1e-3:
		step /= 32
	case e.prob < 1e-2:
		step /= 8
	case e.prob < 1e-1:
		step /= 2
	default:
		step = min(step, pieMaxStep)
	}
	e.prob += step
	idle := cur == 0 && e.qdelayOld == 0
	if c.linux {
		if cur > pieHighDelay {
			e.prob += pieMaxStep
		}
		if idle && backlog == 0 {
			e.prob -= e.prob / pieLinuxDecay
		}
	} else if idle {
		e.prob *= pieIdleDecay
	}
	e.prob = min(max(e.prob, 0), 1)
	low := e.prob == 0 && 2*cur < c.target && 2*e.qdelayOld < c.target
	e.qdelayOld = cur
	if c.linux {
		if low && (!c.rateEst || e.rate > 0) {
			e.burst, e.accu, e.lastDeq = c.maxBurst, 0, pieNoDeq
			if c.rateEst {
				e.rate, e.inMeasure = 0, false
			}
		}
	} else {
		e.burst = max(e.burst-c.tUpdate, 0)
	}
	if low && c.activeStates {
		e.inactive = true
	}
}

// Snapshot reports the probability and the delay estimate of the last update.
func (e *PIE) Snapshot() State {
	return State{
		Kind:     KindPIE,
		DropProb: e.prob,
		QDelay:   e.qdelayOld,
		Drops:    e.drops,
		Marks:    e.marks,
	}
}
