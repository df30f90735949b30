package dataplane

// Shaper is the egress token bucket that makes a port behave like a link of a given
// rate. Tokens are bytes on the wire; each frame is charged its length plus the
// configured per-frame overhead (Ethernet preamble, SFD, FCS and inter-frame gap: 24
// bytes by default), so "62.5Mbps" means 62.5 Mb/s of line rate as on a real link.
//
// The bucket may go negative: the queue hands out whole packets while the balance is
// positive and the last one leaves a debt that the next refills repay. Over any long
// interval the sent bytes equal rate*time + depth, within one frame.
//
// Time is a parameter (ns); the dataplane reads the TSC once per burst.
type Shaper struct {
	bytesPerNs float64 // rate / 8 / 1e9; 0 means unshaped
	depth      float64 // bucket depth, bytes
	overhead   int     // per-frame bytes charged beyond the frame itself
	tokens     float64
	last       int64
}

// NewShaper builds a shaper for rateBps bits/s with a bucket of depthBytes. A zero rate
// gives an unshaped port (Budget is always large).
func NewShaper(rateBps float64, depthBytes, overhead int) *Shaper {
	s := &Shaper{}
	s.Set(rateBps, depthBytes, overhead)
	s.tokens = s.depth
	return s
}

// Set changes rate, depth and overhead (live changes keep the current balance, clamped).
func (s *Shaper) Set(rateBps float64, depthBytes, overhead int) {
	s.bytesPerNs = rateBps / 8e9
	s.depth = float64(depthBytes)
	s.overhead = overhead
	if s.tokens > s.depth {
		s.tokens = s.depth
	}
}

// Unshaped reports whether the port has no rate limit.
func (s *Shaper) Unshaped() bool { return s.bytesPerNs == 0 }

// unlimited is the budget of an unshaped port: far beyond any burst.
const unlimited = 1 << 30

// Budget refills the bucket up to now and returns how many bytes may be dequeued now
// (0 when the bucket is empty or in debt).
func (s *Shaper) Budget(now int64) int {
	if s.bytesPerNs == 0 {
		return unlimited
	}
	if now > s.last {
		s.tokens += float64(now-s.last) * s.bytesPerNs
		if s.tokens > s.depth {
			s.tokens = s.depth
		}
	}
	s.last = now
	if s.tokens <= 0 {
		return 0
	}
	return int(s.tokens) + 1 // +1: a fractional balance still lets one packet go
}

// Charge debits what was actually sent: bytes of frames plus overhead per frame.
func (s *Shaper) Charge(bytes, frames int) {
	if s.bytesPerNs != 0 {
		s.tokens -= float64(bytes + frames*s.overhead)
	}
}

// NextReady is the earliest time the balance becomes positive again (for idle loops
// and tests); now when already positive or unshaped.
func (s *Shaper) NextReady(now int64) int64 {
	if s.bytesPerNs == 0 || s.tokens > 0 {
		return now
	}
	return now + int64(-s.tokens/s.bytesPerNs) + 1
}
