package link

// Shaper is the egress token bucket that makes a port behave like a link of a given
// rate. Tokens are bytes on the wire: each frame is charged its length plus the
// configured per-frame overhead (Ethernet preamble, SFD, FCS and inter-frame gap: 24
// bytes by default), so "62.5Mbps" is 62.5 Mb/s of line rate (L1) as on a real link.
//
// The queue hands out whole packets while the balance is positive and the last one may
// leave a debt that the next refills repay (see Bucket).
//
// Catch-up: a software poll loop can be descheduled for milliseconds on a shared
// machine, and a plain bucket of ~1 ms would lose that link time for good. With a
// catch-up window W > 0, while the queue stays backlogged the bucket may bank up to W of
// missed link time and send it as soon as the loop runs again: the long-term rate holds,
// but the output shows a burst faster than the link where the host stalled — which a
// real link never does. With W = 0 the shaper behaves as a link would: time the router
// lost is lost, and the long-term rate falls short after a stall. An idle port banks
// only the depth either way, so a new burst of traffic is shaped as on a real link.
//
// Time is a parameter (ns); the dataplane reads the TSC once per loop iteration.
type Shaper struct {
	b        Bucket
	catchUp  int64 // catch-up window, ns (0: none)
	bankMax  int   // bank limit while backlogged, bytes (>= depth)
	overhead int   // per-frame bytes charged beyond the frame itself
	busy     bool  // the queue was still backlogged after the last service
}

// DefaultCatchUp is NewShaper's catch-up window. The dataplane sets each port's window
// from ports[].catch_up, whose default is 0 (as a link; see README, Shaping).
const DefaultCatchUp = 20e6 // ns

// Unlimited is the budget of an unshaped port: far beyond any burst.
const Unlimited = 1 << 30

// NewShaper builds a shaper for rateBps bits/s with a bucket of depthBytes, charging
// overhead bytes per frame, with the default catch-up window. A zero rate gives an
// unshaped port (Budget is always Unlimited).
func NewShaper(rateBps float64, depthBytes, overhead int) *Shaper {
	s := &Shaper{catchUp: DefaultCatchUp}
	s.Set(rateBps, depthBytes, overhead)
	s.b.tokens = s.b.depth
	return s
}

// Set changes rate, depth and overhead (live changes keep the current balance, clamped).
func (s *Shaper) Set(rateBps float64, depthBytes, overhead int) {
	s.b.Set(rateBps, depthBytes)
	s.overhead = overhead
	s.setBank()
}

// SetCatchUp sets the catch-up window in ns (0 disables catch-up; see Shaper).
func (s *Shaper) SetCatchUp(ns int64) {
	if ns < 0 {
		ns = 0
	}
	s.catchUp = ns
	s.setBank()
}

// CatchUp is the catch-up window in ns.
func (s *Shaper) CatchUp() int64 { return s.catchUp }

func (s *Shaper) setBank() {
	bank := s.b.RateBps() / 8e9 * float64(s.catchUp)
	if bank > MaxDepthBytes {
		bank = MaxDepthBytes
	}
	s.bankMax = int(bank)
	if d := s.b.DepthBytes(); s.bankMax < d {
		s.bankMax = d
	}
}

// Unshaped reports whether the port has no rate limit.
func (s *Shaper) Unshaped() bool { return s.b.Unlimited() }

// RateBps is the shaped rate (0 = unshaped); DepthBytes the bucket depth.
func (s *Shaper) RateBps() float64 { return s.b.RateBps() }

// DepthBytes is the bucket depth in bytes.
func (s *Shaper) DepthBytes() int { return s.b.DepthBytes() }

// Budget refills the bucket up to now and returns how many bytes may be dequeued now
// (0 when the bucket is empty or in debt).
func (s *Shaper) Budget(now int64) int {
	if s.b.rate == 0 {
		return Unlimited
	}
	if s.busy {
		s.b.RefillUpTo(now, s.bankMax)
	} else {
		s.b.Refill(now)
	}
	if s.b.tokens <= 0 {
		return 0
	}
	return int(s.b.Bytes()) + 1 // +1: a fractional balance still lets one packet go
}

// Charge debits what was actually sent: bytes of frames plus overhead per frame.
func (s *Shaper) Charge(bytes, frames int) { s.b.Charge(bytes + frames*s.overhead) }

// SetBusy records whether the queue is still backlogged after a service, which lets
// the bucket bank missed link time (see Catch-up above).
func (s *Shaper) SetBusy(b bool) { s.busy = b }

// Level is the bucket balance in bytes (negative while in debt), for observers.
func (s *Shaper) Level() float64 { return s.b.Level() }
