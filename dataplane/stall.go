package dataplane

import (
	"context"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/dpdkq/dpdkq/internal/seqlock"
)

// Stall detection. A poll loop that is descheduled (a shared core, an interrupt storm,
// a stop-the-world pause) stops polling and serving its ports: counters freeze, queues
// grow and, on a shaped port with a catch-up window, a burst faster than the link
// follows. The loop notices it afterwards from the clock it reads anyway: every
// iteration's poll call returns the TSC, and a gap between two consecutive readings
// above the threshold is one stall of that length. Per lcore the worker keeps the
// count, the total and the worst stall, and the last StallRing stalls (start, length),
// published with its port counters.

// DefaultStallThreshold is the iteration gap counted as a stall unless configured
// (stall_threshold). An idle iteration takes well under 10 µs; 1 ms is a tenth of a
// CoDel target and ~80 full-size frames at 1 Gb/s.
const DefaultStallThreshold = time.Millisecond

// StallRing is how many of the most recent stalls each lcore keeps.
const StallRing = 8

// stallWords is the published stall record: count, total ns, worst ns, then StallRing
// (start, length) pairs, stall k (0-based) in slot k % StallRing.
const stallWords = 3 + 2*StallRing

// stallState is one worker's detector. words is what gets published as is.
type stallState struct {
	threshold int64 // ns
	prev      int64 // clock at the previous iteration's poll; noReading before the first
	words     [stallWords]uint64
}

func newStallState(threshold time.Duration) stallState {
	if threshold <= 0 {
		threshold = DefaultStallThreshold
	}
	return stallState{threshold: int64(threshold), prev: noReading}
}

// noReading is the previous reading before the first: any clock (ns since the router
// started, >= 0) minus it is negative, so the first iteration is never a stall.
const noReading = math.MaxInt64

// stallCheck is the length of the gap from prev to now when it is a stall (longer than
// threshold), else 0. prev is noReading when there is no earlier reading.
func stallCheck(prev, now, threshold int64) int64 {
	if gap := now - prev; gap > threshold {
		return gap
	}
	return 0
}

// gap takes one iteration's clock reading (ns since the router started) and returns
// the stall it ends, 0 for none. It inlines into the loop: a subtraction and a
// compare (go build -gcflags=-m ./dataplane); the loop calls record on a stall.
func (s *stallState) gap(now int64) int64 {
	d := stallCheck(s.prev, now, s.threshold)
	s.prev = now
	return d
}

// observe is gap and record together, as the loop does them.
func (s *stallState) observe(now int64) {
	if d := s.gap(now); d > 0 {
		s.record(now-d, d)
	}
}

// record counts a stall that started at start and lasted d ns (out of line: the loop
// reaches it only on a stall).
//
//go:noinline
func (s *stallState) record(start, d int64) {
	w := &s.words
	slot := 3 + 2*int(w[0]%StallRing)
	w[0]++
	w[1] += uint64(d)
	if uint64(d) > w[2] {
		w[2] = uint64(d)
	}
	w[slot] = uint64(start)
	w[slot+1] = uint64(d)
}

// Stall is one loop stall: when the gap began (since the router started) and its length.
type Stall struct {
	Start    time.Duration `json:"start_ns"`
	Duration time.Duration `json:"duration_ns"`
}

// StallStats are one lcore's stalls since the router started.
type StallStats struct {
	Count  uint64        `json:"stalls"`
	Total  time.Duration `json:"stalled_ns"`
	Worst  time.Duration `json:"worst_ns"`
	Recent []Stall       `json:"recent"` // the last StallRing at most, oldest first
}

// LcoreStalls are the stalls of one worker lcore.
type LcoreStalls struct {
	Lcore uint `json:"lcore"`
	StallStats
}

func stallStats(w *[stallWords]uint64) StallStats {
	s := StallStats{Count: w[0], Total: time.Duration(w[1]), Worst: time.Duration(w[2])}
	n := w[0]
	if n > StallRing {
		n = StallRing
	}
	for k := w[0] - n; k < w[0]; k++ {
		slot := 3 + 2*int(k%StallRing)
		s.Recent = append(s.Recent, Stall{Start: time.Duration(w[slot]), Duration: time.Duration(w[slot+1])})
	}
	return s
}

func newStallSet() seqlock.Set { return seqlock.New(1, stallWords) }

// Stalls reads every worker's published stalls, in worker order.
func (r *Router) Stalls() []LcoreStalls {
	out := make([]LcoreStalls, len(r.workers))
	for i, w := range r.workers {
		var words [stallWords]uint64
		w.pub.stall.Read(0, words[:])
		out[i] = LcoreStalls{Lcore: w.lcore, StallStats: stallStats(&words)}
	}
	return out
}

// StallThreshold is the iteration gap counted as a stall.
func (r *Router) StallThreshold() time.Duration { return time.Duration(r.workers[0].stall.threshold) }

// stallWarner turns published stall counts into log lines: at most one line per lcore
// per interval, naming the last stall seen and how many others were not logged.
type stallWarner struct {
	every time.Duration
	seen  []uint64    // count already reported, per worker
	last  []time.Time // when a line was last logged, per worker
}

// stallWarning is one line to log.
type stallWarning struct {
	Lcore      uint
	Last       Stall  // the most recent stall
	New        uint64 // stalls since the previous check
	Suppressed uint64 // of them, the ones not described by Last
	Total      uint64
}

// check compares the stalls with what was seen and returns the lines due at now. A
// worker whose line is not due yet keeps its new stalls for a later line.
func (sw *stallWarner) check(now time.Time, st []LcoreStalls) []stallWarning {
	if len(sw.seen) != len(st) {
		sw.seen = make([]uint64, len(st))
		sw.last = make([]time.Time, len(st))
	}
	var out []stallWarning
	for i := range st {
		n := st[i].Count - sw.seen[i]
		if n == 0 || (!sw.last[i].IsZero() && now.Sub(sw.last[i]) < sw.every) {
			continue
		}
		var last Stall
		if len(st[i].Recent) > 0 {
			last = st[i].Recent[len(st[i].Recent)-1]
		}
		out = append(out, stallWarning{Lcore: st[i].Lcore, Last: last, New: n, Suppressed: n - 1, Total: st[i].Count})
		sw.seen[i] = st[i].Count
		sw.last[i] = now
	}
	return out
}

// WarnStalls logs stalls as they are published, at most one line per lcore per second
// (with the count of stalls the line does not describe), until ctx ends.
func (r *Router) WarnStalls(ctx context.Context) {
	sw := stallWarner{every: time.Second}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if r.stop.Load() {
				return
			}
			for _, wn := range sw.check(now, r.Stalls()) {
				r.log.Warn("poll loop stalled: the lcore did not poll its queues for longer than stall_threshold",
					zap.Uint("lcore", wn.Lcore), zap.Duration("stall", wn.Last.Duration),
					zap.Duration("at", wn.Last.Start), zap.Uint64("suppressed", wn.Suppressed),
					zap.Uint64("stalls_total", wn.Total), zap.Duration("threshold", r.StallThreshold()))
			}
		}
	}
}
