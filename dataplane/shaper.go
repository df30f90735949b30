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
// Catch-up: a software poll loop can be descheduled for milliseconds on a shared
// machine, and a plain bucket of ~1 ms would lose that link time for good (a 20 Mb/s
// port measured 12 Mb/s on a loaded 2-core host). A real link never pauses, so while
// the queue stays backlogged the bucket may bank up to CatchUp of missed link time and
// send it as soon as the loop runs again: the long-term rate holds, and the output
// shows a burst where the host stalled. An idle port still banks only the depth, so a
// new burst of traffic is shaped as on a real link.
//
// Time is a parameter (ns); the dataplane reads the TSC once per burst.
type Shaper struct {
	bytesPerNs float64 // rate / 8 / 1e9; 0 means unshaped
	depth      float64 // bucket depth, bytes
	catchUp    float64 // bank limit while backlogged, bytes (>= depth)
	overhead   int     // per-frame bytes charged beyond the frame itself
	tokens     float64
	last       int64
	busy       bool // the queue was still backlogged after the last service
}

// DefaultCatchUp is the link time a backlogged shaped port may recover after a stall.
const DefaultCatchUp = 20e6 // ns

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
	s.catchUp = s.bytesPerNs * DefaultCatchUp
	if s.catchUp < s.depth {
		s.catchUp = s.depth
	}
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
		limit := s.depth
		if s.busy {
			limit = s.catchUp
		}
		if s.tokens > limit {
			s.tokens = limit
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

// SetBusy records whether the queue is still backlogged after a service, which lets
// the bucket bank missed link time (see Catch-up above).
func (s *Shaper) SetBusy(b bool) { s.busy = b }

// NextReady is the earliest time the balance becomes positive again (for idle loops
// and tests); now when already positive or unshaped.
func (s *Shaper) NextReady(now int64) int64 {
	if s.bytesPerNs == 0 || s.tokens > 0 {
		return now
	}
	return now + int64(-s.tokens/s.bytesPerNs) + 1
}
