package aqm

import "math"

// refRED is a slow float64 model of RED with its own queue, written from Floyd and
// Jacobson's description (1993, section 4 and figure 2) plus the options of red.go:
// gentle (Floyd 2000), Adaptive RED (Floyd, Gummadi, Shenker 2001) run from a plain
// periodic timer, and Linux's ECN rule for the forced region. It uses the textbook
// forms: avg <- (1-w)*avg + w*q at a busy arrival, avg <- (1-w)^m * avg with
// m = idle/tx_time at an arrival to an empty queue, pa = pb/(1 - count*pb). The
// documented choices it shares with red.go: count is the number of packets that
// passed since the last selected one (so the gap between selections is uniform on
// 1..1/pb), an arrival to an empty queue restarts the idle clock, one uniform draw
// from the same generator per probabilistic decision, one average per queue.
type refRED struct {
	w, txTime    float64
	minTh, maxTh float64
	maxp         float64
	bytes        bool
	ecn, hard    bool
	gentle       bool
	adaptive     bool
	period       float64
	rnd          rng

	q      []simPkt
	qBytes int

	avg      float64
	qTime    float64 // when the queue last became empty
	count    int
	started  bool
	nextTick float64

	out []decision
}

func newRefRED(p REDParams) *refRED {
	c, err := NewREDConfig(p) // only to fill defaults the same way
	if err != nil {
		panic(err)
	}
	pr := p.Profiles[0]
	inv := pr.MaxPInv
	if inv == 0 {
		inv = 10
	}
	return &refRED{
		w: c.w, txTime: c.txTime, minTh: float64(pr.MinTh), maxTh: float64(pr.MaxTh), maxp: 1 / float64(inv),
		bytes: p.Unit == REDBytes, ecn: p.ECN, hard: p.HardDrop, gentle: p.Gentle,
		adaptive: p.Adaptive, period: float64(c.adaptPeriod), rnd: newRNG(c.seed),
	}
}

// avgAt is the average as it stands at time t: aged over the idle time if the queue is
// empty.
func (r *refRED) avgAt(t float64) float64 {
	if len(r.q) == 0 && t > r.qTime {
		return r.avg * math.Pow(1-r.w, (t-r.qTime)/r.txTime)
	}
	return r.avg
}

// advance runs the Adaptive RED timer up to now (called before every event).
func (r *refRED) advance(now float64) {
	if !r.adaptive {
		return
	}
	if !r.started {
		r.started, r.nextTick = true, now+r.period
		return
	}
	for r.nextTick <= now {
		avg := r.avgAt(r.nextTick)
		d := r.maxTh - r.minTh
		lo, hi := r.minTh+0.4*d, r.minTh+0.6*d
		if avg > hi && r.maxp <= 0.5 {
			r.maxp += math.Min(0.01, r.maxp/4)
		} else if avg < lo && r.maxp >= 0.01 {
			r.maxp *= 0.9
		}
		r.nextTick += r.period
	}
}

// arrive decides for one arriving packet and queues it unless dropped.
func (r *refRED) arrive(p simPkt, now float64) Verdict {
	r.advance(now)
	if len(r.q) > 0 {
		qlen := float64(len(r.q))
		if r.bytes {
			qlen = float64(r.qBytes)
		}
		r.avg = (1-r.w)*r.avg + r.w*qlen
	} else {
		r.avg = r.avgAt(now)
		r.qTime = now
	}
	v := Pass
	var pb float64
	probabilistic := false
	switch {
	case r.avg < r.minTh:
		r.count = 0
	case r.avg < r.maxTh:
		pb = r.maxp * (r.avg - r.minTh) / (r.maxTh - r.minTh)
		probabilistic = true
	case r.gentle && r.avg < 2*r.maxTh:
		pb = r.maxp + (1-r.maxp)*(r.avg-r.maxTh)/r.maxTh
		probabilistic = true
	default:
		r.count = 0
		v = Drop
		if r.ecn && !r.hard && p.ect {
			v = Mark
		}
	}
	if probabilistic {
		u := r.rnd.float()
		den := 1 - float64(r.count)*pb
		if den <= 0 || u < pb/den {
			r.count = 0
			v = Drop
			if r.ecn && p.ect {
				v = Mark
			}
		} else {
			r.count++
		}
	}
	r.out = append(r.out, decision{p.id, v})
	if v != Drop {
		r.q = append(r.q, p)
		r.qBytes += p.size
	}
	return v
}

// depart removes the head; the idle clock starts when the queue empties.
func (r *refRED) depart(now float64) *simPkt {
	r.advance(now)
	if len(r.q) == 0 {
		return nil
	}
	p := r.q[0]
	r.q = r.q[1:]
	r.qBytes -= p.size
	if len(r.q) == 0 {
		r.qTime = now
	}
	return &p
}
