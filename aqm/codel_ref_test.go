package aqm

import "math"

// refCoDel is a slow transcription of RFC 8289's pseudocode (section 5), with its own
// queue of time stamps. Times are float64 ns holding whole numbers, as the RFC's
// time_t; control_law() truncates like the RFC's conversion to time_t. ECN is the
// obvious extension the RFC describes in prose: where it would drop an ECT packet, it
// marks and delivers it instead. It records every decision it makes, in order.
type refCoDel struct {
	target, interval, ceThreshold float64
	maxPacket                     int
	ecn                           bool

	q     []simPkt
	bytes int

	firstAboveTime float64 // 0 = not above, as in the RFC
	dropNext       float64
	count          uint32
	lastCount      uint32
	dropping       bool

	out []decision
}

func newRefCoDel(p CoDelParams) *refCoDel {
	c, err := NewCoDelConfig(p) // only to fill defaults the same way
	if err != nil {
		panic(err)
	}
	return &refCoDel{
		target:      float64(c.target),
		interval:    float64(c.interval),
		ceThreshold: float64(c.ceThreshold),
		maxPacket:   c.mtu,
		ecn:         c.ecn,
	}
}

func (r *refCoDel) enqueue(p simPkt) {
	r.q = append(r.q, p)
	r.bytes += p.size
}

func (r *refCoDel) queueDequeue() *simPkt {
	if len(r.q) == 0 {
		return nil
	}
	p := r.q[0]
	r.q = r.q[1:]
	r.bytes -= p.size
	return &p
}

type refDodequeueResult struct {
	p        *simPkt
	okToDrop bool
}

func (r *refCoDel) dodequeue(now float64) refDodequeueResult {
	res := refDodequeueResult{p: r.queueDequeue()}
	if res.p == nil {
		r.firstAboveTime = 0
		return res
	}
	sojourn := now - res.p.enq
	if sojourn < r.target || r.bytes <= r.maxPacket {
		r.firstAboveTime = 0
	} else {
		if r.firstAboveTime == 0 {
			r.firstAboveTime = now + r.interval
		} else if now >= r.firstAboveTime {
			res.okToDrop = true
		}
	}
	return res
}

func (r *refCoDel) controlLaw(t float64, count uint32) float64 {
	return t + math.Trunc(r.interval/math.Sqrt(float64(count)))
}

func (r *refCoDel) drop(p *simPkt) { r.out = append(r.out, decision{p.id, Drop}) }

// dequeue is the RFC's codel_queue_t::dequeue; it returns the delivered packet or nil.
func (r *refCoDel) dequeue(now float64) *simPkt {
	res := r.dodequeue(now)
	marked := false
	if r.dropping {
		if !res.okToDrop {
			r.dropping = false
		}
		for now >= r.dropNext && r.dropping {
			if r.ecn && res.p.ect {
				r.count++
				marked = true
				r.dropNext = r.controlLaw(r.dropNext, r.count)
				break
			}
			r.drop(res.p)
			r.count++
			res = r.dodequeue(now)
			if !res.okToDrop {
				r.dropping = false
			} else {
				r.dropNext = r.controlLaw(r.dropNext, r.count)
			}
		}
	} else if res.okToDrop {
		if r.ecn && res.p.ect {
			marked = true
		} else {
			r.drop(res.p)
			res = r.dodequeue(now)
		}
		r.dropping = true
		delta := r.count - r.lastCount
		r.count = 1
		if delta > 1 && now-r.dropNext < 16*r.interval {
			r.count = delta
		}
		r.dropNext = r.controlLaw(now, r.count)
		r.lastCount = r.count
	}
	if res.p != nil {
		v := Pass
		if marked || (r.ceThreshold > 0 && res.p.ect && now-res.p.enq > r.ceThreshold) {
			v = Mark
		}
		r.out = append(r.out, decision{res.p.id, v})
	}
	return res.p
}
