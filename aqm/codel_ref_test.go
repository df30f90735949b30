package aqm

import (
	"math"
	mbig "math/big"
)

// refCoDel is a slow transcription of RFC 8289's pseudocode (section 5), with its own
// queue of time stamps. Times are float64 ns holding whole numbers, as the RFC's
// time_t; control_law() truncates like the RFC's conversion to time_t. ECN is the
// obvious extension the RFC describes in prose: where it would drop an ECT packet, it
// marks and delivers it instead. It records every decision it makes, in order.
//
// With the linux control law it models include/net/codel_impl.h instead: the
// reciprocal square root is a 16-bit value read as a Q0.32 fraction, refined by one
// Newton step whenever count changes, in exact integer arithmetic (math/big) with
// C's u32/u64 truncations made explicit.
type refCoDel struct {
	target, interval, ceThreshold float64
	maxPacket                     int
	ecn                           bool
	linux                         bool
	recInvSqrt                    uint64 // linux: Linux's rec_inv_sqrt, 16 bits

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
		linux:       p.ControlLaw == CoDelLawLinux,
	}
}

// newton is Linux's codel_Newton_step for the current count, computed on big
// integers: every intermediate is reduced modulo 2^32 or 2^64 where the C code's type
// would truncate it.
func (r *refCoDel) newton() {
	mod := func(x *mbig.Int, bits uint) *mbig.Int {
		m := new(mbig.Int).Lsh(mbig.NewInt(1), bits)
		return x.Mod(x, m) // mbig.Int.Mod is Euclidean: the result is in [0, 2^bits)
	}
	inv := mod(new(mbig.Int).Lsh(new(mbig.Int).SetUint64(r.recInvSqrt), 16), 32)
	inv2 := mod(new(mbig.Int).Rsh(new(mbig.Int).Mul(inv, inv), 32), 32)
	val := new(mbig.Int).Lsh(mbig.NewInt(3), 32)
	val = mod(val.Sub(val, new(mbig.Int).Mul(mbig.NewInt(int64(r.count)), inv2)), 64)
	val.Rsh(val, 2)
	val = mod(val.Mul(val, inv), 64)
	val.Rsh(val, 31)
	r.recInvSqrt = mod(val.Rsh(val, 16), 16).Uint64()
}

// countChanged keeps the linux law's reciprocal square root in step with count.
func (r *refCoDel) countChanged() {
	if r.linux {
		r.newton()
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
	if r.linux {
		// reciprocal_scale(interval, rec_inv_sqrt << 16): the high 32 bits of the product.
		return t + math.Floor(r.interval*float64(r.recInvSqrt<<16)/(1<<32))
	}
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
				r.countChanged()
				marked = true
				r.dropNext = r.controlLaw(r.dropNext, r.count)
				break
			}
			r.drop(res.p)
			r.count++
			r.countChanged()
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
		if delta > 1 && now-r.dropNext < 16*r.interval {
			r.count = delta
			r.countChanged() // Newton from the last episode's value
		} else {
			r.count = 1
			r.recInvSqrt = 0xffff
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
