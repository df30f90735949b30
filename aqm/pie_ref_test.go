package aqm

// refPIE is a slow model of PIE with its own queue, in two flavours. With the rfc
// variant it transcribes RFC 8033's pseudocode (sections 4 and 5.2); with linux it
// models sch_pie.c's behaviour in float64 (qdelay held from the last departure, burst
// time consumed between departures, the 250 ms boost, the 1/64 decay and the reset of
// the burst time at an update). The update runs from a plain periodic timer (every
// t_update from the first event), not from the fast code's catch-up logic. Times are
// float64 ns holding whole numbers; alpha and beta are per second, so delays are
// divided by 1e9 where the RFC uses seconds. It follows the same documented choices as
// pie.go (burst allowance checked before drop_early, the rfc accumulator reset on
// marks, the departure-rate EWMA and its guard against a zero-length measurement, the
// active/inactive states, byte mode) and draws random numbers from the same
// generator, so both make the same decision for every packet.
type refPIE struct {
	cfg   PIEConfig
	linux bool
	rnd   rng

	q     []simPkt
	bytes int

	dropProb       float64
	accuProb       float64
	qdelayOld      float64
	burstAllowance float64
	lastSojourn    float64
	lastDeparture  float64 // linux: time of the last departure; -1 = none since a reset
	active         bool

	inMeasurement    bool
	measurementStart float64
	dqCount          int
	avgDqRate        float64 // bytes/ns

	timerStarted bool
	nextTimer    float64

	updates int
	bands   map[int]int // how often each scaling band (0..6), the cap (7) and the >250 ms boost (8) applied
	out     []decision
}

func newRefPIE(p PIEParams) *refPIE {
	c, err := NewPIEConfig(p)
	if err != nil {
		panic(err)
	}
	return &refPIE{cfg: c, linux: p.Variant == PIELinux, rnd: newRNG(c.seed), burstAllowance: float64(c.maxBurst),
		lastDeparture: -1, active: !p.ActiveStates, bands: map[int]int{}}
}

// advance runs the periodic timer up to now; the harness calls it before every event.
// An inactive PIE has no timer.
func (r *refPIE) advance(now float64) {
	if !r.timerStarted {
		r.timerStarted = true
		r.nextTimer = now + float64(r.cfg.tUpdate)
		return
	}
	for r.active && r.nextTimer <= now {
		r.calculateDropProb()
		r.nextTimer += float64(r.cfg.tUpdate)
	}
}

func (r *refPIE) currentQdelay() float64 {
	if !r.cfg.rateEst {
		if r.linux {
			return r.lastSojourn // Linux sets it to 0 itself when a departure empties the queue
		}
		if r.bytes == 0 {
			return 0
		}
		return r.lastSojourn
	}
	if r.bytes == 0 || r.avgDqRate == 0 {
		return 0
	}
	return float64(int64(float64(r.bytes) / r.avgDqRate)) // whole ns, as the fast code
}

// calculateDropProb is the periodic update.
func (r *refPIE) calculateDropProb() {
	r.updates++
	cur := r.currentQdelay()
	target := float64(r.cfg.target)
	p := r.cfg.alpha*(cur-target)/1e9 + r.cfg.beta*(cur-r.qdelayOld)/1e9
	band := 6
	if r.dropProb < 0.000001 {
		p /= 2048
		band = 0
	} else if r.dropProb < 0.00001 {
		p /= 512
		band = 1
	} else if r.dropProb < 0.0001 {
		p /= 128
		band = 2
	} else if r.dropProb < 0.001 {
		p /= 32
		band = 3
	} else if r.dropProb < 0.01 {
		p /= 8
		band = 4
	} else if r.dropProb < 0.1 {
		p /= 2
		band = 5
	}
	r.bands[band]++
	if r.dropProb >= 0.1 && p > 0.02 {
		p = 0.02
		r.bands[7]++
	}
	r.dropProb += p
	if r.linux {
		// Linux: a fixed 2% more per update while the delay is above 250 ms; the decay
		// takes 1/64 off, and is skipped when a zero delay comes with a backlog.
		if cur > 250e6 {
			r.dropProb += 0.02
			r.bands[8]++
		}
		if cur == 0 && r.qdelayOld == 0 && r.bytes == 0 {
			r.dropProb -= r.dropProb / 64
		}
	} else if cur == 0 && r.qdelayOld == 0 {
		r.dropProb *= 0.98
	}
	if r.dropProb < 0 {
		r.dropProb = 0
	}
	if r.dropProb > 1 {
		r.dropProb = 1
	}
	calm := r.dropProb == 0 && cur < target/2 && r.qdelayOld < target/2
	r.qdelayOld = cur
	if r.linux {
		// Linux re-initialises its burst time, accumulator and departure clock once the
		// queue is calm (and, with the rate estimator, a rate has been measured).
		if calm && (!r.cfg.rateEst || r.avgDqRate > 0) {
			r.burstAllowance = float64(r.cfg.maxBurst)
			r.accuProb = 0
			r.lastDeparture = -1
			if r.cfg.rateEst {
				r.avgDqRate = 0
				r.inMeasurement = false
			}
		}
	} else {
		r.burstAllowance = max(0, r.burstAllowance-float64(r.cfg.tUpdate))
	}
	if calm && r.cfg.activeStates {
		r.active = false // RFC 8033 section 5.3: congestion is over
	}
}

// dropEarly is the RFC's drop_early() (with Linux's delay check and accumulator rules
// for linux); it returns the decision and whether it came from the forced (>= 8.5) path.
func (r *refPIE) dropEarly(size int) (drop, forced bool) {
	target := float64(r.cfg.target)
	delay := r.qdelayOld
	if r.linux && !r.cfg.rateEst {
		delay = r.lastSojourn
	}
	if (delay < target/2 && r.dropProb < 0.2) || r.bytes < 2*r.cfg.mtu {
		return false, false
	}
	prob := r.dropProb
	if r.cfg.byteMode && size <= r.cfg.mtu {
		prob = prob * float64(size) / float64(r.cfg.mtu)
	}
	if !r.cfg.derandomize {
		return r.rnd.float() < prob, false
	}
	if prob == 0 {
		r.accuProb = 0
	}
	r.accuProb += prob
	if r.accuProb < 0.85 {
		return false, false
	}
	if r.accuProb >= 8.5 {
		return true, true
	}
	if r.rnd.float() < prob {
		r.accuProb = 0
		return true, false
	}
	return false, false
}

// enque is the RFC's enque() without its tail drop (the queue's limit is not PIE's).
func (r *refPIE) enque(p simPkt, now float64) Verdict {
	if !r.active && r.bytes >= r.cfg.activeThreshold {
		r.active = true
		r.dropProb, r.accuProb, r.qdelayOld = 0, 0, 0
		r.burstAllowance = float64(r.cfg.maxBurst)
		r.timerStarted, r.nextTimer = true, now+float64(r.cfg.tUpdate)
	}
	r.advance(now)
	target := float64(r.cfg.target)
	if !r.linux && r.dropProb == 0 && r.currentQdelay() < target/2 && r.qdelayOld < target/2 {
		r.burstAllowance = float64(r.cfg.maxBurst)
	}
	v := Pass
	if r.active && r.burstAllowance == 0 {
		if drop, forced := r.dropEarly(p.size); drop {
			if r.cfg.ecn && p.ect && r.dropProb <= r.cfg.ecnThreshold {
				v = Mark
				if !r.linux || !forced {
					r.accuProb = 0
				}
			} else {
				v = Drop
				r.accuProb = 0
			}
		}
	}
	r.out = append(r.out, decision{p.id, v})
	if v != Drop {
		r.q = append(r.q, p)
		r.bytes += p.size
	}
	return v
}

// deque removes the head and measures it (RFC section 5.2 for the rate estimator).
func (r *refPIE) deque(now float64) *simPkt {
	r.advance(now)
	if len(r.q) == 0 {
		return nil
	}
	p := r.q[0]
	r.q = r.q[1:]
	r.bytes -= p.size
	r.lastSojourn = now - p.enq
	if r.linux && !r.cfg.rateEst {
		if r.bytes == 0 {
			r.lastSojourn = 0
		}
		if r.lastDeparture >= 0 {
			r.burstAllowance = max(0, r.burstAllowance-(now-r.lastDeparture))
		}
		r.lastDeparture = now
	}
	if r.cfg.rateEst {
		if r.inMeasurement {
			r.dqCount += p.size
			if r.dqCount >= r.cfg.dqThreshold && now > r.measurementStart {
				rate := float64(r.dqCount) / (now - r.measurementStart)
				if r.avgDqRate == 0 {
					r.avgDqRate = rate
				} else {
					r.avgDqRate = r.avgDqRate + (rate-r.avgDqRate)*0.25
				}
				r.inMeasurement = false
				if r.linux {
					r.burstAllowance = max(0, r.burstAllowance-(now-r.measurementStart))
				}
			}
		}
		if r.bytes >= r.cfg.dqThreshold && !r.inMeasurement {
			r.inMeasurement = true
			r.measurementStart = now
			r.dqCount = 0
		}
	}
	return &p
}
