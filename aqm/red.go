// RED and WRED (Floyd & Jacobson, "Random Early Detection Gateways for Congestion
// Avoidance", 1993).
//
// At each arrival the average queue length avg moves toward the instantaneous length
// with weight w = 2^-wq_log2. An arrival that finds the queue empty instead ages avg as
// if m small packets had been sent while the queue was idle: avg *= (1-w)^m with
// m = idle_time / tx_time (m is not rounded, so the decay is smooth in time).
//
// Against the profile of the packet's class: below min_th the packet passes; at or
// above max_th it is dropped; in between the base probability pb rises linearly from
// 0 to maxp = 1/maxp_inv, and the packet is dropped with pa = pb / (1 - count*pb),
// where count is the number of packets of that class accepted since its last drop.
// That spacing makes the gap between drops uniform on 1..1/pb instead of geometric
// (fewer clustered drops), for a drop fraction of about 2pb/(1+pb). The test
// "u < pa" is evaluated as u*(1 - count*pb) < pb, which needs no division and drops
// for certain once count*pb >= 1.
//
// WRED here is one average per queue (the queue's congestion) and up to 8 profiles
// (thresholds and maxp) selected by Packet.Class (taken modulo 8), each class keeping
// its own count.
//
// Options (each named as in the config file; all off by default, which is Floyd and
// Jacobson's 1993 algorithm and what Linux's sch_red and DPDK's rte_red do unless told
// otherwise):
//   - gentle (Floyd, "Recommendation on using the gentle_ variant of RED", 2000; ns-3's
//     Gentle): between max_th and 2*max_th pb rises linearly from maxp to 1 instead of
//     jumping to 1, with the same count spacing; the forced region starts at 2*max_th.
//   - adaptive (Floyd, Gummadi, Shenker, "Adaptive RED", 2001; Linux's adaptive flag):
//     every adapt_interval (500 ms) maxp moves toward the band
//     [min_th + 0.4*(max_th-min_th), min_th + 0.6*(max_th-min_th)]: above it and with
//     maxp <= 0.5, maxp += min(0.01, maxp/4); below it and with maxp >= 0.01,
//     maxp *= 0.9. The average used is the one at the period's time (aged over an idle
//     queue). Each profile adapts its own maxp. Like PIE's update, the periods are run
//     by the first arrival after them, each with the average of its own time. NewRED
//     returns an *AdaptiveRED for it, a type of its own, so plain RED pays nothing.
//   - ECN as in Linux: with ecn on, an ECT packet is marked instead of dropped, in the
//     probabilistic region and in the forced one (at or above max_th, or 2*max_th when
//     gentle), unless harddrop is on, which drops in the forced region as before.
//     A non-ECT packet is dropped.

package aqm

import (
	"fmt"
	"math"
	"time"
)

// REDUnit says what the thresholds and the average count.
type REDUnit uint8

const (
	// REDPackets: thresholds and the average are in packets.
	REDPackets REDUnit = iota
	// REDBytes: thresholds and the average are in bytes.
	REDBytes
)

// String returns "packets" or "bytes".
func (u REDUnit) String() string {
	if u == REDBytes {
		return "bytes"
	}
	return "packets"
}

// REDProfile is one drop profile: thresholds in the params' Unit, and maxp = 1/MaxPInv.
type REDProfile struct {
	MinTh   int // below this average nothing is dropped
	MaxTh   int // at or above this average everything is dropped; must exceed MinTh
	MaxPInv int // 1/maxp, the drop probability just below MaxTh; 0 means 10
}

// REDParams are RED/WRED settings in human units.
type REDParams struct {
	Unit     REDUnit      // unit of MinTh/MaxTh and of the average
	WqLog2   uint         // EWMA weight 2^-WqLog2; 0 means 9 (w = 1/512, close to Floyd's 0.002)
	Profiles []REDProfile // 1..8 profiles; class c uses Profiles[c], classes beyond the list use Profiles[0]
	// Idle decay needs the transmission time of a typical small packet: either TxTime,
	// or LinkRate with IdlePktBytes (TxTime = IdlePktBytes*8/LinkRate). One is required.
	TxTime       time.Duration
	LinkRate     float64 // bits/s, used when TxTime is 0
	IdlePktBytes int     // bytes of the "small packet" of the idle decay; 0 means 64
	ECN          bool    // mark ECT packets instead of dropping them (see HardDrop)
	Seed         uint64  // seed of the random stream (mixed with the per-queue seed by Spec.New)

	HardDrop      bool          // with ECN: drop (never mark) in the forced region; off by default
	Gentle        bool          // pb from maxp to 1 between MaxTh and 2*MaxTh; off by default
	Adaptive      bool          // adapt maxp toward the target band (Adaptive RED); off by default
	AdaptInterval time.Duration // period of the adaptation; 0 means 500 ms
}

// Adaptive RED's constants (Floyd, Gummadi, Shenker 2001).
const (
	aredMaxP     = 0.5  // maxp is not increased beyond this
	aredMinP     = 0.01 // nor decreased below this
	aredAlphaMax = 0.01 // largest additive step
	aredBeta     = 0.9  // multiplicative decrease
	aredBandLo   = 0.4  // target band, as fractions of max_th - min_th above min_th
	aredBandHi   = 0.6
)

// MaxREDProfiles is the number of traffic classes, hence of WRED profiles.
const MaxREDProfiles = 8

// redProfile is a profile converted for the hot path.
// Each RED holds its own copy of its config, so adaptive RED adapts maxp and slope in
// place (SetConfig restores the configured values). The hot path reads only redProfile;
// maxp and the adaptive band live beside it in redMaxP.
type redProfile struct {
	minTh, maxTh float64
	slope        float64 // maxp / (maxTh - minTh)
}

// redMaxP is a profile's maxp (1/maxp_inv, then adapted when adaptive) and the target
// band of Adaptive RED.
type redMaxP struct {
	maxp, bandLo, bandHi float64
}

// REDConfig is a validated REDParams. Build it with NewREDConfig.
type REDConfig struct {
	unit REDUnit
	// The option switches sit beside unit, in the first cache line the hot path reads.
	ecn         bool
	markForced  bool // ECN on and harddrop off: ECT packets are marked in the forced region
	gentle      bool
	adaptive    bool
	w           float64 // EWMA weight
	log1mw      float64 // ln(1-w), so (1-w)^m = exp(m*log1mw)
	txTime      float64 // ns per small packet
	profile     [MaxREDProfiles]redProfile
	maxp        [MaxREDProfiles]redMaxP
	adaptPeriod int64 // ns
	seed        uint64
	valid       bool
}

// NewREDConfig validates p, fills defaults and resolves the per-class profiles.
func NewREDConfig(p REDParams) (REDConfig, error) {
	if p.Unit != REDPackets && p.Unit != REDBytes {
		return REDConfig{}, paramErr("red.unit", int(p.Unit), "want packets (0) or bytes (1)")
	}
	if p.WqLog2 == 0 {
		p.WqLog2 = 9
	}
	if p.WqLog2 > 20 {
		return REDConfig{}, paramErr("red.wq_log2", p.WqLog2, "want 1..20")
	}
	if n := len(p.Profiles); n < 1 || n > MaxREDProfiles {
		return REDConfig{}, fmt.Errorf("aqm: red.profiles has %d entries, want 1..%d", n, MaxREDProfiles)
	}
	if p.IdlePktBytes == 0 {
		p.IdlePktBytes = 64
	}
	if p.AdaptInterval == 0 {
		p.AdaptInterval = 500 * time.Millisecond
	}
	if err := checkDuration("red.adapt_interval", p.AdaptInterval, 10*time.Millisecond, 100*time.Second); err != nil {
		return REDConfig{}, err
	}
	c := REDConfig{unit: p.Unit, ecn: p.ECN, markForced: p.ECN && !p.HardDrop, gentle: p.Gentle,
		adaptive: p.Adaptive, adaptPeriod: int64(p.AdaptInterval), seed: p.Seed, valid: true}
	c.w = math.Ldexp(1, -int(p.WqLog2))
	c.log1mw = math.Log1p(-c.w)
	switch {
	case p.TxTime < 0:
		return REDConfig{}, paramErr("red.tx_time", p.TxTime, "want > 0 (or 0 to derive it from red.link_rate)")
	case p.TxTime > 0:
		if p.TxTime > time.Second {
			return REDConfig{}, paramErr("red.tx_time", p.TxTime, "want 1ns..1s")
		}
		c.txTime = float64(p.TxTime)
	default:
		if !(p.LinkRate >= 1e3 && p.LinkRate <= 1e13) {
			return REDConfig{}, paramErrUnit("red.link_rate", p.LinkRate, "bit/s", "want 1e3..1e13 (or set red.tx_time)")
		}
		if p.IdlePktBytes < 1 || p.IdlePktBytes > maxMTUParam {
			return REDConfig{}, paramErr("red.idle_pkt_bytes", p.IdlePktBytes, "want 1..%d", maxMTUParam)
		}
		c.txTime = float64(p.IdlePktBytes) * 8 / p.LinkRate * 1e9
	}
	for i, pr := range p.Profiles {
		if pr.MaxPInv == 0 {
			pr.MaxPInv = 10
		}
		if pr.MinTh < 0 || pr.MinTh > 1<<30 {
			return REDConfig{}, paramErrUnit(fmt.Sprintf("red.profiles[%d].min_th", i), pr.MinTh, p.Unit.String(), "want 0..%d", 1<<30)
		}
		if pr.MaxTh <= pr.MinTh || pr.MaxTh > 1<<30 {
			return REDConfig{}, paramErrUnit(fmt.Sprintf("red.profiles[%d].max_th", i), pr.MaxTh, p.Unit.String(), "want %d..%d (above min_th)",
				pr.MinTh+1, 1<<30)
		}
		if pr.MaxPInv < 1 || pr.MaxPInv > 1000 {
			return REDConfig{}, paramErr(fmt.Sprintf("red.profiles[%d].maxp_inv", i), pr.MaxPInv, "want 1..1000")
		}
		d := float64(pr.MaxTh - pr.MinTh)
		c.profile[i] = redProfile{
			minTh: float64(pr.MinTh),
			maxTh: float64(pr.MaxTh),
			slope: 1 / float64(pr.MaxPInv) / d,
		}
		c.maxp[i] = redMaxP{
			maxp:   1 / float64(pr.MaxPInv),
			bandLo: float64(pr.MinTh) + aredBandLo*d,
			bandHi: float64(pr.MinTh) + aredBandHi*d,
		}
	}
	for i := len(p.Profiles); i < MaxREDProfiles; i++ {
		c.profile[i] = c.profile[0]
		c.maxp[i] = c.maxp[0]
	}
	return c, nil
}

// RED is one queue's RED/WRED state machine. It decides at enqueue; Dequeue only
// notes when the queue goes idle.
type RED struct {
	cfg       REDConfig
	rng       rng
	avg       float64                // EWMA of the queue length, in cfg.unit
	idleStart int64                  // when the queue last became empty
	lastP     float64                // base probability pb of the last decision
	count     [MaxREDProfiles]uint32 // per class: packets accepted since its last drop
	drops     uint64
	marks     uint64
}

var (
	_ Policy = (*RED)(nil)
	_ Policy = (*AdaptiveRED)(nil)
)

// NewRED returns a RED with an empty average: a *RED, or an *AdaptiveRED when the
// config has adaptive on.
func NewRED(cfg REDConfig) Policy {
	if !cfg.valid {
		panic("aqm: NewRED needs a config from NewREDConfig")
	}
	r := RED{cfg: cfg, rng: newRNG(cfg.seed)}
	if cfg.adaptive {
		return &AdaptiveRED{RED: r}
	}
	return &r
}

// AdaptiveRED is RED whose Enqueue first runs the Adaptive RED periods that are due.
// It is a type of its own so that plain RED's Enqueue carries no test for them.
type AdaptiveRED struct {
	RED
	nextAdapt int64 // time of the next adaptation; 0 = not started
}

// Enqueue runs the due adaptation periods, then decides as RED does.
func (a *AdaptiveRED) Enqueue(now int64, p Packet, q Backlog) Verdict {
	if now >= a.nextAdapt {
		// An arrival that finds the queue empty means it has been empty since idleStart;
		// one that finds packets means it has been busy since the previous arrival.
		a.adapt(now, q.Packets == 0)
	}
	return a.RED.Enqueue(now, p, q)
}

// SetConfig is RED's SetConfig; the config must keep adaptive on. A changed period
// restarts the schedule at the next arrival.
func (a *AdaptiveRED) SetConfig(cfg REDConfig) {
	if !cfg.adaptive {
		panic("aqm: AdaptiveRED.SetConfig needs an adaptive config (build a new policy with NewRED)")
	}
	if cfg.adaptPeriod != a.cfg.adaptPeriod {
		a.nextAdapt = 0
	}
	a.apply(cfg)
}

// SetConfig applies a new configuration live. The average, the per-class counts and
// the random stream are kept, unless the unit changes: then the average no longer
// means anything and restarts from 0. maxp restarts from the new profiles' values.
// adaptive cannot be turned on here (NewRED builds an *AdaptiveRED for that).
func (r *RED) SetConfig(cfg REDConfig) {
	if cfg.adaptive {
		panic("aqm: RED.SetConfig cannot turn adaptive on (build a new policy with NewRED)")
	}
	r.apply(cfg)
}

func (r *RED) apply(cfg REDConfig) {
	if !cfg.valid {
		panic("aqm: RED.SetConfig needs a config from NewREDConfig")
	}
	if cfg.unit != r.cfg.unit {
		r.avg = 0
		r.count = [MaxREDProfiles]uint32{}
	}
	r.cfg = cfg
}

// maxREDCount bounds count: once count*pb >= 1 the drop is certain anyway, and a
// bound keeps a class sitting exactly at min_th (pb = 0) from wrapping the counter.
const maxREDCount = 1 << 30

// Enqueue updates the average and decides for an arriving packet (q excludes it).
func (r *RED) Enqueue(now int64, p Packet, q Backlog) Verdict {
	c := &r.cfg
	if q.Packets == 0 {
		if idle := now - r.idleStart; idle > 0 {
			r.avg *= math.Exp(float64(idle) / c.txTime * c.log1mw)
		}
		r.idleStart = now // a dropped arrival leaves the queue idle; don't age twice
	} else {
		qlen := q.Packets
		if c.unit == REDBytes {
			qlen = q.Bytes
		}
		r.avg += (float64(qlen) - r.avg) * c.w
	}
	cl := p.Class & (MaxREDProfiles - 1)
	pr := &c.profile[cl]
	var pb float64
	switch {
	case r.avg < pr.minTh:
		r.lastP = 0
		r.count[cl] = 0
		return Pass
	case r.avg < pr.maxTh:
		pb = (r.avg - pr.minTh) * pr.slope
	case c.gentle && r.avg < 2*pr.maxTh:
		mp := c.maxp[cl].maxp
		pb = mp + (r.avg-pr.maxTh)*(1-mp)/pr.maxTh
	default:
		r.lastP = 1
		r.count[cl] = 0
		if c.markForced && p.ECT {
			r.marks++
			return Mark
		}
		r.drops++
		return Drop
	}
	r.lastP = pb
	if r.rng.float()*(1-float64(r.count[cl])*pb) >= pb {
		if r.count[cl] < maxREDCount {
			r.count[cl]++
		}
		return Pass
	}
	r.count[cl] = 0
	if c.ecn && p.ECT {
		r.marks++
		return Mark
	}
	r.drops++
	return Drop
}

// adapt runs every Adaptive RED period whose time has come, each with the average of
// its own time: the current one, aged over the idle time when the queue has been
// empty since before the period. A period that changes nothing is followed by
// identical ones while the average cannot move (queue busy, or every class below its
// band), so those are skipped.
func (a *AdaptiveRED) adapt(now int64, idle bool) {
	r := &a.RED
	c := &r.cfg
	if a.nextAdapt == 0 {
		a.nextAdapt = now + c.adaptPeriod
		return
	}
	for now >= a.nextAdapt {
		t := a.nextAdapt
		avg := r.avg
		if idle && t > r.idleStart {
			avg *= math.Exp(float64(t-r.idleStart) / c.txTime * c.log1mw)
		}
		changed, settled := false, true
		for cl := range c.maxp {
			m := &c.maxp[cl]
			switch mp := m.maxp; {
			case avg > m.bandHi && mp <= aredMaxP:
				m.maxp = mp + min(aredAlphaMax, mp/4)
				changed = true
			case avg < m.bandLo && mp >= aredMinP:
				m.maxp = mp * aredBeta
				changed = true
			}
			pr := &c.profile[cl]
			pr.slope = m.maxp / (pr.maxTh - pr.minTh)
			settled = settled && avg < m.bandLo
		}
		a.nextAdapt += c.adaptPeriod
		if !changed && (!idle || settled) && now >= a.nextAdapt {
			a.nextAdapt += (now-a.nextAdapt)/c.adaptPeriod*c.adaptPeriod + c.adaptPeriod
		}
	}
}

// Dequeue notes the start of an idle period when the queue becomes empty; it always
// passes.
func (r *RED) Dequeue(now int64, p Packet, q Backlog) Verdict {
	if q.Packets == 0 {
		r.idleStart = now
	}
	return Pass
}

// Snapshot reports the average and the base probability pb of the last decision.
func (r *RED) Snapshot() State {
	return State{
		Kind:     KindRED,
		DropProb: r.lastP,
		AvgQueue: r.avg,
		Drops:    r.drops,
		Marks:    r.marks,
	}
}
