package aqm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file holds the traffic driver shared by the reference comparisons: a FIFO for
// the fast policy, a link that serves bytes at a fixed rate in bursts (many packets
// under one clock reading, like the dataplane's tx bursts), and generators of arrival
// patterns from a seed or from fuzz bytes.

// simPkt is a packet of the simulation; id is its arrival index.
type simPkt struct {
	id   int
	enq  float64 // ns
	size int
	ect  bool
}

// decision is one verdict about one packet.
type decision struct {
	id int
	v  Verdict
}

// fifo is the queue the fast policy governs.
type fifo struct {
	pkts  []simPkt
	head  int
	bytes int
}

func (f *fifo) len() int          { return len(f.pkts) - f.head }
func (f *fifo) backlog() Backlog  { return Backlog{Packets: f.len(), Bytes: f.bytes} }
func (f *fifo) push(p simPkt)     { f.pkts = append(f.pkts, p); f.bytes += p.size }
func (f *fifo) peek() *simPkt     { return &f.pkts[f.head] }
func (f *fifo) pop() simPkt       { p := f.pkts[f.head]; f.head++; f.bytes -= p.size; return p }
func (p simPkt) packet() Packet   { return Packet{Len: p.size, EnqTime: int64(p.enq), ECT: p.ect} }
func (d decision) String() string { return fmt.Sprintf("pkt %d: %v", d.id, d.v) }

// arrival is one packet arriving during a tick.
type arrival struct {
	size int
	ect  bool
}

// tick is one step of a traffic pattern: time moves by dt, the link may send what it
// earned meanwhile, then the arrivals join the queue at the new time.
type tick struct {
	dt       int64
	arrivals []arrival
}

// Offered loads, relative to the link rate, that genTicks picks from for each phase.
// Open-loop traffic is not slowed by marks, so ECN tests also use mild overloads, under
// which a probability-based AQM settles low enough to mark.
var (
	heavyLoads = []float64{0, 0.2, 0.7, 0.95, 1.02, 1.05, 1.1, 1.3, 2, 4}
	mildLoads  = []float64{0, 0.5, 0.95, 1.02, 1.05, 1.1}
)

// genTicks returns a generator of a random pattern: phases of 0.2-6 s with a load
// picked from loads (nil: heavyLoads), ticks of 0.1-1 ms, now and then an idle gap of
// 1-3 s (longer than CoDel's 16-interval re-entry horizon), a size mix of small and
// full-size frames, and about half of the packets ECT.
func genTicks(seed uint64, dur int64, linkBps float64, loads []float64) func() (tick, bool) {
	r := newRNG(seed)
	if loads == nil {
		loads = heavyLoads
	}
	var elapsed, phaseEnd int64
	load := 0.0
	buf := make([]arrival, 0, 64)
	return func() (tick, bool) {
		if elapsed >= dur {
			return tick{}, false
		}
		if elapsed >= phaseEnd {
			phaseEnd = elapsed + 200e6 + int64(r.float()*6e9)
			load = loads[r.next()%uint64(len(loads))]
		}
		// Whole multiples of 100 µs, so event times often coincide exactly with CoDel
		// deadlines (now+interval, and interval/sqrt(count) for count 1, 4, 16, 25...)
		// and the ">=" boundaries get exercised.
		dt := (1 + int64(r.next()%10)) * 100e3
		const meanSize = 640.0 // of the size mix below
		expect := load * linkBps / 8 / meanSize * float64(dt) / 1e9
		if r.float() < 0.0001 { // about every 5 s: a silent gap
			dt = 1e9 + int64(r.float()*2e9)
			expect = 0
		}
		elapsed += dt
		n := int(expect + r.float())
		buf = buf[:0]
		for i := 0; i < n; i++ {
			size := 64 + int(r.next()%137)
			if r.float() < 0.45 {
				size = 1000 + int(r.next()%515)
			}
			buf = append(buf, arrival{size: size, ect: r.next()&1 == 0})
		}
		return tick{dt: dt, arrivals: buf}, true
	}
}

// fuzzTicks turns fuzz bytes into a pattern, three bytes per tick: b0 the time step
// (255 = an idle gap of 2 s), b1&7 the number of arrivals, b1>>3 their ECT bits and
// b2 their sizes.
func fuzzTicks(data []byte) func() (tick, bool) {
	buf := make([]arrival, 0, 8)
	return func() (tick, bool) {
		if len(data) < 3 {
			return tick{}, false
		}
		b0, b1, b2 := data[0], data[1], data[2]
		data = data[3:]
		dt := int64(b0)*20e3 + 1
		if b0 == 255 {
			dt = 2e9
		}
		buf = buf[:0]
		for i := 0; i < int(b1&7); i++ {
			size := 64 + int(b2)*6 + i*97%300
			buf = append(buf, arrival{size: min(size, 1514), ect: (b1>>(3+i%5))&1 == 1})
		}
		return tick{dt: dt, arrivals: buf}, true
	}
}

// requireSameDecisions compares two decision sequences and reports the first
// difference with some context.
func requireSameDecisions(t testing.TB, want, got []decision, what string) {
	t.Helper()
	n := min(len(want), len(got))
	for i := 0; i < n; i++ {
		if want[i] != got[i] {
			lo := max(0, i-5)
			require.Failf(t, what+": decisions differ",
				"at decision %d: reference %v, fast %v\nreference %v\nfast      %v",
				i, want[i], got[i], want[lo:min(i+5, len(want))], got[lo:min(i+5, len(got))])
		}
	}
	require.Equalf(t, len(want), len(got), "%s: number of decisions", what)
}

// countVerdicts counts drops and marks in a decision sequence.
func countVerdicts(ds []decision) (drops, marks int) {
	for _, d := range ds {
		switch d.v {
		case Drop:
			drops++
		case Mark:
			marks++
		}
	}
	return
}
