package link

import "github.com/dpdkq/dpdkq/pkt"

// DelayLine holds packets for a fixed one-way delay after they leave the shaper, like
// the propagation delay of a long link. Because the delay is the same for every packet,
// release times are non-decreasing and a FIFO ring suffices (no timer wheel). The ring
// is preallocated; a full line refuses packets (the caller counts DropDelayLine).
type DelayLine struct {
	delay int64
	ring  []delayed
	head  int
	n     int
}

type delayed struct {
	d   pkt.Desc
	due int64
}

// NewDelayLine makes a line of fixed delay ns able to hold capacity packets.
func NewDelayLine(delay int64, capacity int) *DelayLine {
	if capacity < 1 {
		capacity = 1
	}
	return &DelayLine{delay: delay, ring: make([]delayed, capacity)}
}

// Delay is the configured delay in ns.
func (l *DelayLine) Delay() int64 { return l.delay }

// SetDelay changes the delay for packets entering from now on. Packets already in the
// line keep their due time; a shorter delay never reorders because Pop releases in
// FIFO order (a later packet waits for its predecessor).
func (l *DelayLine) SetDelay(d int64) { l.delay = d }

// Len is the number of packets in the line.
func (l *DelayLine) Len() int { return l.n }

// Push adds a packet that left the shaper at now. It returns false when full.
func (l *DelayLine) Push(now int64, d *pkt.Desc) bool {
	if l.n == len(l.ring) {
		return false
	}
	i := l.head + l.n
	if i >= len(l.ring) {
		i -= len(l.ring)
	}
	l.ring[i] = delayed{d: *d, due: now + l.delay}
	l.n++
	return true
}

// Pop moves packets due at or before now into out and returns how many.
func (l *DelayLine) Pop(now int64, out []pkt.Desc) int {
	k := 0
	for k < len(out) && l.n > 0 && l.ring[l.head].due <= now {
		out[k] = l.ring[l.head].d
		k++
		l.head++
		if l.head == len(l.ring) {
			l.head = 0
		}
		l.n--
	}
	return k
}

// Drain hands every packet to sink with the given reason.
func (l *DelayLine) Drain(sink pkt.DropSink, r pkt.DropReason) int {
	n := l.n
	for l.n > 0 {
		sink.Drop(&l.ring[l.head].d, r)
		l.head++
		if l.head == len(l.ring) {
			l.head = 0
		}
		l.n--
	}
	return n
}
