package aqm

// refPIE is a slow transcription of RFC 8033's pseudocode (sections 4 and 5.2) with
// its own queue. The update runs from a plain periodic timer (every t_update from the
// first event), not from the fast code's catch-up logic. Times are float64 ns holding
// whole numbers; alpha and beta are per second, so delays are divided by 1e9 where the
// RFC uses seconds. It follows the same documented choices as pie.go (burst allowance
// checked before drop_early, accumulator reset on marks, timestamp qdelay 0 on an
// empty queue, the departure-rate EWMA and its guard against a zero-length
// measurement) and draws random numbers from the same generator, so both make the same
// decision for every packet.
type refPIE struct {
	cfg PIEConfig
	rnd rng

	q     []simPkt
	bytes int

	dropProb       float64
	accuProb       float64
	qdelayOld      float64
	burstAllowance float64
	lastSojourn    float64

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
	return &refPIE{cfg: c, rnd: newRNG(c.seed), burstAllowance: float64(c.maxBurst), bands: map[int]int{}}
}

// advance runs the periodic timer up to now; the harness calls it before every event.
func (r *refPIE) advance(now float64) {
	if !r.timerStarted {
		r.timerStarted = true
		r.nextTimer = now + float64(r.cfg.tUpdate)
		return
	}
	for r.nextTimer <= now {
		r.calculateDropProb()
		r.nextTimer += float64(r.cfg.tUpdate)
	}
}

func (r *refPIE) currentQdelay() float64 {
	if r.bytes == 0 {
		return 0
	}
	if !r.cfg.rateEst {
		return r.lastSojourn
	}
	if r.avgDqRate == 0 {
		return 0
	}
	return float64(int64(float64(r.bytes) / r.avgDqRate)) // whole ns, as the fast code
}

// calculateDropProb is the RFC's periodic update.
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
	if cur > 250e6 {
		r.dropProb += 0.02
		r.bands[8]++
	}
	if cur == 0 && r.qdelayOld == 0 {
		r.dropProb *= 0.98
	}
	if r.dropProb < 0 {
		r.dropProb = 0
	}
	if r.dropProb > 1 {
		r.dropProb = 1
	}
	r.qdelayOld = cur
	r.burstAllowance = max(0, r.burstAllowance-float64(r.cfg.tUpdate))
}

// dropEarly is the RFC's drop_early().
func (r *refPIE) dropEarly() bool {
	target := float64(r.cfg.target)
	if (r.qdelayOld < target/2 && r.dropProb < 0.2) || r.bytes < 2*r.cfg.mtu {
		return false
	}
	if r.dropProb == 0 {
		r.accuProb = 0
	}
	r.accuProb += r.dropProb
	if r.accuProb < 0.85 {
		return false
	}
	if r.accuProb >= 8.5 {
		return true
	}
	u := r.rnd.float()
	return u < r.dropProb
}

// enque is the RFC's enque() without its tail drop (the queue's limit is not PIE's).
func (r *refPIE) enque(p simPkt, now float64) Verdict {
	r.advance(now)
	target := float64(r.cfg.target)
	if r.dropProb == 0 && r.currentQdelay() < target/2 && r.qdelayOld < target/2 {
		r.burstAllowance = float64(r.cfg.maxBurst)
	}
	v := Pass
	if r.burstAllowance == 0 && r.dropEarly() {
		r.accuProb = 0
		if r.cfg.ecn && p.ect && r.dropProb <= r.cfg.ecnThreshold {
			v = Mark
		} else {
			v = Drop
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
