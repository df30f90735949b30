// Variant: the choices this CoDel makes where RFC 8289 leaves room or implementations
// differ. Tests compare it decision by decision with a float64 transcription of the
// RFC's pseudocode (codel_ref_test.go), so any change here must keep that test passing.
//
//   - Control law (codel.control_law: sqrt | linux; default sqrt). sqrt, RFC 8289's:
//     drop_next = t + interval/sqrt(count) with a true square root (math.Sqrt in
//     float64, a single SQRTSD on amd64, run only when a drop is scheduled), truncated
//     to whole ns as the RFC's control_law() truncates to time_t. It is the default
//     because it is the RFC's definition and the exact law. linux, Linux's
//     include/net/codel_impl.h: 1/sqrt(count) kept as a Q0.32 fraction of which the top
//     16 bits are stored (as the kernel's u16 rec_inv_sqrt), refined by one Newton step
//     (x' = x*(3 - count*x^2)/2, in Linux's integer order of operations) each time
//     count changes; set to the largest value (about 1) when an episode starts from
//     count 1, and stepped from the previous episode's value on re-entry, so the first
//     deadlines after a re-entry are approximate, as in Linux. The deadline is
//     t + reciprocal_scale(interval, x), i.e. floor(interval*x / 2^32), on the interval
//     in ns (Linux scales its 1.024 µs ticks; the difference is below one tick).
//     Linux's other differences from the RFC (a strict ">" at first_above_time, 32-bit
//     time stamps) are not part of this option.
//   - Boundaries: ">=" at both deadlines, as in the RFC (a drop may happen when now equals
//     first_above_time, which is when the sojourn first went above target plus interval,
//     and again when now equals drop_next). "Below target" is sojourn < target, so a
//     sojourn exactly at target counts as above. The MTU floor is bytes_left <= MTU.
//   - Re-entry: count restarts from count-lastcount when that is > 1 and
//     now - drop_next < 16*interval (drop_next of the previous episode; one still in the
//     future counts as recent), else from 1 (RFC 8289's, i.e. Linux's, rule).
//   - Time: int64 ns cannot wrap for 292 years, so plain comparisons replace the
//     wrap-safe helpers Linux needs for its 32-bit time stamps.
//   - ECN: with ECN on, an ECT packet that the control law would drop is marked and
//     delivered instead. It counts like a drop (count++, next deadline from drop_next),
//     but because it is delivered, the "drop several in one dequeue" loop stops at it.
//   - ce_threshold: independent of the ECN switch and of the control law: any ECT packet
//     that would be delivered unmarked is marked when its sojourn exceeds (>) it.
//   - Empty queue: the RFC calls dodequeue() on an empty queue, which resets
//     first_above_time and ends a dropping episode. Our queue never calls Dequeue when
//     empty, and need not: delivering the last packet has the same effect (0 bytes left
//     is within the MTU floor), and for the same reason a Drop always leaves more than
//     one MTU queued, so after a Drop there is always a next head to ask about.

package aqm

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// CoDelLaw selects how the control law computes interval/sqrt(count).
type CoDelLaw uint8

const (
	// CoDelLawSqrt: a true square root (RFC 8289; the default).
	CoDelLawSqrt CoDelLaw = iota
	// CoDelLawLinux: Linux's fixed-point reciprocal square root with one Newton step
	// per count change.
	CoDelLawLinux
)

// String returns "sqrt" or "linux".
func (l CoDelLaw) String() string {
	if l == CoDelLawLinux {
		return "linux"
	}
	return "sqrt"
}

// ParseCoDelLaw turns a config-file name into a CoDelLaw: "sqrt" or "linux"
// (case-insensitive); "" means sqrt.
func ParseCoDelLaw(s string) (CoDelLaw, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "sqrt":
		return CoDelLawSqrt, nil
	case "linux":
		return CoDelLawLinux, nil
	}
	return CoDelLawSqrt, paramErr("codel.control_law", fmt.Sprintf("%q", s), "want sqrt or linux")
}

// CoDelParams are CoDel's settings in human units, as they appear in the config file.
// Zero values select the RFC 8289 defaults.
type CoDelParams struct {
	Target      time.Duration // acceptable standing queue delay; 0 means 5 ms
	Interval    time.Duration // window over which the delay must stay above Target; ~ worst RTT; 0 means 100 ms
	MTU         int           // bytes: no drop while at most this many bytes remain queued; 0 means 1514
	ECN         bool          // mark ECT packets instead of dropping them
	CEThreshold time.Duration // mark every ECT packet whose sojourn exceeds this; 0 disables
	ControlLaw  CoDelLaw      // sqrt (default) or linux; see the file header
}

// CoDelConfig is a validated CoDelParams in ns and bytes. Build it with NewCoDelConfig.
type CoDelConfig struct {
	target      int64 // ns
	interval    int64 // ns
	ceThreshold int64 // ns, 0 = off
	mtu         int   // bytes
	ecn         bool
	linuxLaw    bool // ControlLaw == CoDelLawLinux
	valid       bool // built by NewCoDelConfig
}

// Limits of the accepted parameter ranges. They are wide on purpose (lab use), and
// keep 16*interval and interval/sqrt(count) far from int64 overflow.
const (
	minDelayParam = time.Microsecond
	maxDelayParam = 100 * time.Second
	minMTUParam   = 64      // smallest Ethernet frame
	maxMTUParam   = 1 << 20 // far above any jumbo frame; the floor is a backlog size
)

// NewCoDelConfig validates p, fills defaults and converts it to ns and bytes.
func NewCoDelConfig(p CoDelParams) (CoDelConfig, error) {
	if p.Target == 0 {
		p.Target = 5 * time.Millisecond
	}
	if p.Interval == 0 {
		p.Interval = 100 * time.Millisecond
	}
	if p.MTU == 0 {
		p.MTU = 1514
	}
	if err := checkDuration("codel.interval", p.Interval, minDelayParam, maxDelayParam); err != nil {
		return CoDelConfig{}, err
	}
	if err := checkDuration("codel.target", p.Target, minDelayParam, p.Interval); err != nil {
		return CoDelConfig{}, err
	}
	if p.MTU < minMTUParam || p.MTU > maxMTUParam {
		return CoDelConfig{}, paramErrUnit("codel.mtu", p.MTU, "bytes", "want %d..%d", minMTUParam, maxMTUParam)
	}
	if p.ControlLaw != CoDelLawSqrt && p.ControlLaw != CoDelLawLinux {
		return CoDelConfig{}, paramErr("codel.control_law", int(p.ControlLaw), "want sqrt (0) or linux (1)")
	}
	if p.CEThreshold != 0 {
		if err := checkDuration("codel.ce_threshold", p.CEThreshold, minDelayParam, maxDelayParam); err != nil {
			return CoDelConfig{}, fmt.Errorf("%w (or 0 to disable)", err)
		}
	}
	return CoDelConfig{
		target:      int64(p.Target),
		interval:    int64(p.Interval),
		ceThreshold: int64(p.CEThreshold),
		mtu:         p.MTU,
		ecn:         p.ECN,
		linuxLaw:    p.ControlLaw == CoDelLawLinux,
		valid:       true,
	}, nil
}

// checkDuration reports a duration outside [lo, hi], naming the parameter.
func checkDuration(name string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return paramErr(name, d, "want %v..%v", lo, hi)
	}
	return nil
}

// codelNext says what the next Dequeue call continues, because one RFC dequeue() that
// drops packets is spread over several of our calls (one per removed packet).
type codelNext uint8

const (
	codelFresh      codelNext = iota // a new dequeue()
	codelAfterLoop                   // the previous call dropped inside the dropping loop
	codelAfterEntry                  // the previous call dropped the packet that began an episode
)

// CoDel is one queue's CoDel state machine (RFC 8289). It decides at dequeue only.
type CoDel struct {
	cfg        CoDelConfig
	firstAbove int64     // time from which dropping is allowed, when above is set
	dropNext   int64     // next drop time while dropping (kept after an episode for re-entry)
	sojourn    int64     // sojourn of the last packet seen, ns
	count      uint32    // drops (and marks) in this episode, seeded on re-entry
	invSqrt    uint16    // linux law: top 16 bits of 1/sqrt(count) in Q0.32
	lastCount  uint32    // count at the start of the previous episode
	above      bool      // sojourn has been above target since firstAbove-interval
	dropping   bool      // in the dropping state
	next       codelNext // continuation of a multi-drop dequeue
	drops      uint64
	marks      uint64
}

var _ Policy = (*CoDel)(nil)

// NewCoDel returns a CoDel in the idle state. cfg must come from NewCoDelConfig.
func NewCoDel(cfg CoDelConfig) *CoDel {
	if !cfg.valid {
		panic("aqm: NewCoDel needs a config from NewCoDelConfig")
	}
	return &CoDel{cfg: cfg}
}

// SetConfig applies a new configuration live. The episode state (dropping, count,
// deadlines already computed) is kept; the new target, interval, MTU and ECN settings
// apply from the next decision, so a pending deadline keeps its old value.
func (c *CoDel) SetConfig(cfg CoDelConfig) {
	if !cfg.valid {
		panic("aqm: CoDel.SetConfig needs a config from NewCoDelConfig")
	}
	c.cfg = cfg
}

// Enqueue always passes: CoDel acts on the sojourn time, known only at dequeue.
func (c *CoDel) Enqueue(now int64, p Packet, q Backlog) Verdict { return Pass }

// DequeueOnly implements DequeueOnly: CoDel's Enqueue is a constant Pass.
func (c *CoDel) DequeueOnly() bool { return true }

// Dequeue decides for the packet just removed from the head; q is what remains.
// After Drop the queue must remove the next head and call Dequeue again with the same
// now: together those calls are one RFC dequeue(), which may drop several packets.
func (c *CoDel) Dequeue(now int64, p Packet, q Backlog) Verdict {
	sojourn := now - p.EnqTime
	c.sojourn = sojourn
	ok := c.okToDrop(now, sojourn, q.Bytes)
	v := Pass
	switch c.next {
	case codelAfterLoop:
		// Rest of the RFC's drop loop body after "r = dodequeue(now)".
		c.next = codelFresh
		if !ok {
			c.dropping = false
		} else {
			c.dropNext = c.deadline(c.dropNext)
		}
		if c.dropping && now >= c.dropNext {
			if c.cfg.linuxLaw {
				v = c.dropInEpisodeLinux(p)
			} else {
				v = c.dropInEpisode(p)
			}
		}
	case codelAfterEntry:
		// The RFC returns the packet after the one that began the episode, whatever
		// its sojourn; only dodequeue's bookkeeping (done above) applies to it.
		c.next = codelFresh
	default:
		if c.dropping {
			if !ok {
				c.dropping = false
			} else if now >= c.dropNext {
				if c.cfg.linuxLaw {
					v = c.dropInEpisodeLinux(p)
				} else {
					v = c.dropInEpisode(p)
				}
			}
		} else if ok {
			v = c.beginEpisode(now, p)
		}
	}
	if v == Pass && c.cfg.ceThreshold > 0 && p.ECT && sojourn > c.cfg.ceThreshold {
		v = Mark
	}
	switch v {
	case Drop:
		c.drops++
	case Mark:
		c.marks++
	}
	return v
}

// okToDrop is the RFC's dodequeue(): it tracks how long the sojourn has been above
// target and says whether it has been so for a whole interval.
func (c *CoDel) okToDrop(now, sojourn int64, bytesLeft int) bool {
	if sojourn < c.cfg.target || bytesLeft <= c.cfg.mtu {
		c.above = false
		return false
	}
	if !c.above {
		c.above = true
		c.firstAbove = now + c.cfg.interval
		return false
	}
	return now >= c.firstAbove
}

// The control law is chosen where Dequeue uses it rather than inside the small
// functions, so that the sqrt law's drop step and deadline stay small enough to be
// inlined into Dequeue.

// deadline is the configured control law.
func (c *CoDel) deadline(t int64) int64 {
	if c.cfg.linuxLaw {
		return c.linuxControlLaw(t)
	}
	return c.controlLaw(t)
}

// dropInEpisode is one pass of the RFC's drop loop: drop (or mark) p and count it.
func (c *CoDel) dropInEpisode(p Packet) Verdict {
	c.count++
	if c.cfg.ecn && p.ECT {
		c.dropNext = c.controlLaw(c.dropNext)
		return Mark
	}
	c.next = codelAfterLoop
	return Drop
}

// dropInEpisodeLinux is dropInEpisode with the linux law: a Newton step per count++.
func (c *CoDel) dropInEpisodeLinux(p Packet) Verdict {
	c.count++
	c.newtonStep()
	if c.cfg.ecn && p.ECT {
		c.dropNext = c.linuxControlLaw(c.dropNext)
		return Mark
	}
	c.next = codelAfterLoop
	return Drop
}

// beginEpisode enters the dropping state, dropping (or marking) p. If the previous
// episode ended recently and dropped more than once, count restarts from the drops of
// that episode beyond its starting count, on the idea that the drop rate which last
// controlled the queue is a good starting point; otherwise from 1.
func (c *CoDel) beginEpisode(now int64, p Packet) Verdict {
	prev := c.count
	if prev > c.lastCount+1 && now-c.dropNext < 16*c.cfg.interval {
		c.count = prev - c.lastCount
		c.newtonStep() // from the previous episode's value, as Linux does
	} else {
		c.count = 1
		c.invSqrt = math.MaxUint16
	}
	c.lastCount = c.count
	c.dropNext = c.deadline(now)
	c.dropping = true
	if c.cfg.ecn && p.ECT {
		return Mark
	}
	c.next = codelAfterEntry
	return Drop
}

// controlLaw returns t + interval/sqrt(count), truncated to ns (the sqrt law).
func (c *CoDel) controlLaw(t int64) int64 {
	return t + int64(float64(c.cfg.interval)/math.Sqrt(float64(c.count)))
}

// linuxControlLaw returns t + floor(interval*invSqrt/2^16): Linux's reciprocal_scale
// by the Q0.32 value whose low 16 bits are zero (the product stays below 2^53 for any
// accepted interval).
func (c *CoDel) linuxControlLaw(t int64) int64 {
	return t + c.cfg.interval*int64(c.invSqrt)>>16
}

// newtonStep refines invSqrt toward 1/sqrt(count) by one Newton iteration in Q0.32,
// x' = x/2 * (3 - count*x^2), with Linux's shifts and its modulo-2^64 wrap.
func (c *CoDel) newtonStep() {
	x := uint64(c.invSqrt) << 16        // Q0.32
	x2 := (x * x) >> 32                 // x^2, Q0.32
	v := (3 << 32) - uint64(c.count)*x2 // 3 - count*x^2, Q32.32
	v = ((v >> 2) * x) >> (32 - 2 + 1)  // times x/2, back to Q0.32
	c.invSqrt = uint16(v >> 16)
}

// Snapshot reports the episode state; QDelay is the sojourn of the last packet seen.
func (c *CoDel) Snapshot() State {
	return State{
		Kind:     KindCoDel,
		Dropping: c.dropping,
		Count:    c.count,
		QDelay:   c.sojourn,
		Drops:    c.drops,
		Marks:    c.marks,
	}
}
