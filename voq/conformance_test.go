package voq

import (
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

// TestFQIdleRetiresFlows is the periodic case of RFC 8290 section 4.2 on an idle
// queue: every 100 ms flow 1 sends ten 1500 B packets and flow 2 one, then the queue
// drains. Each period starts from an empty queue, so both flows are new flows again
// and flow 2 is served third (index 2: flow 1 spends its quantum on two packets
// first), as in Linux and a by-hand run of the RFC. A flow left listed across the idle
// time would keep its stale list position and deficit, and flow 2 would then be served
// first. Once drained no flow is active. Each way of dequeueing is checked: bursts, one
// packet per call, and the class scheduler's per-packet path.
func TestFQIdleRetiresFlows(t *testing.T) {
	for _, c := range []struct {
		name    string
		classes int
		out     int
	}{{"burst", 1, 32}, {"one per call", 1, 1}, {"scheduler", 2, 8}} {
		t.Run(c.name, func(t *testing.T) {
			a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: c.classes, LimitPkts: 1000,
				FQ: &FQConfig{Flows: 64, Classes: []int{0}}})
			sink := &recSink{}
			out := make([]pkt.Desc, c.out)
			id := 0
			var pos []int
			for period := range 5 {
				now := int64(period) * 100e6
				for _, f := range []struct{ flow, n int }{{1, 10}, {2, 1}} {
					for range f.n {
						id++
						d := fqPkt(id, uint32(f.flow), 1500)
						d.Enq = now
						a.Enqueue(now, &d, sink)
					}
				}
				at := -1
				for k := 0; ; {
					n := a.Dequeue(now+1e6, 0, out, 1<<30, sink)
					if n == 0 {
						break
					}
					for _, d := range out[:n] {
						if d.Hash == 2 {
							at = k
						}
						k++
					}
				}
				pos = append(pos, at)
				var s ArchSnapshot
				a.Publish()
				a.Snapshot(&s)
				require.Zero(t, s.Queues[0].Pkts)
				require.Equal(t, FQState{}, s.Queues[0].FQState, "period %d: no flow listed or active on the idle queue", period)
			}
			require.Equal(t, []int{2, 2, 2, 2, 2}, pos, "flow 2's service position per period")
			require.Zero(t, sink.total())
		})
	}
}

// limitProbe is an enqueue-time policy that drops whenever the backlog it is shown has
// reached full packets, and counts the calls: a queue that asks the AQM before its
// own limit would label its tail drops as AQM drops, and advance the policy's state.
type limitProbe struct {
	full, calls int
}

func (p *limitProbe) Enqueue(_ int64, _ aqm.Packet, q aqm.Backlog) aqm.Verdict {
	p.calls++
	if q.Packets >= p.full {
		return aqm.Drop
	}
	return aqm.Pass
}
func (p *limitProbe) Dequeue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict { return aqm.Pass }
func (p *limitProbe) Snapshot() aqm.State                                { return aqm.State{Kind: aqm.KindPIE} }

// TestLimitBeforeEnqueueAQM: the queue's own limit is checked before the enqueue-time
// AQM (Linux's order), so an arrival to a full queue is a tail drop and the policy
// never sees it. For FQ-CoDel (which makes room by overflow drops) the limit that
// comes first is the packet larger than the byte limit.
func TestLimitBeforeEnqueueAQM(t *testing.T) {
	t.Run("fifo", func(t *testing.T) {
		probe := &limitProbe{full: 4}
		a := mustNew(t, Config{Kind: KindEgress, Ports: []int{1}, LimitPkts: 4,
			AQM: func(int, uint8) aqm.Policy { return probe }})
		sink := &recSink{}
		for i := range 7 {
			d := mk(i+1, 0, 1, 0, 100, 0)
			a.Enqueue(0, &d, sink)
		}
		require.Equal(t, 4, probe.calls, "only the arrivals that fit were shown to the AQM")
		require.Equal(t, 3, sink.by[pkt.DropTail])
		require.Zero(t, sink.by[pkt.DropAQM])
		checkBooks(t, a, 7, 0, sink)
	})
	t.Run("fq", func(t *testing.T) {
		probe := &limitProbe{full: 1 << 30}
		a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, FQ: &FQConfig{Flows: 4, LimitBytes: 1000},
			AQM: func(int, uint8) aqm.Policy { return probe }})
		sink := &recSink{}
		for i, l := range []int{500, 1500, 400} {
			d := fqPkt(i+1, 1, l)
			a.Enqueue(0, &d, sink)
		}
		require.Equal(t, 2, probe.calls, "the packet above the byte limit never reached the AQM")
		require.Equal(t, 1, sink.by[pkt.DropTail])
		checkBooks(t, a, 3, 0, sink)
	})
}

// callLog is a dequeue-time policy that drops the packets whose Mbuf is in drop and
// logs every call; after a Drop it checks aqm.CoDel's contract: the queue's next call
// (about the next head) comes with the same now, as part of the same dequeue.
type callLog struct {
	t        *testing.T
	drop     map[uintptr]bool
	mbufs    []uintptr
	lastDrop bool
	dropAt   int64
	calls    [][2]int64
}

func (p *callLog) Enqueue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict { return aqm.Pass }
func (p *callLog) DequeueOnly() bool                                  { return true }
func (p *callLog) Snapshot() aqm.State                                { return aqm.State{Kind: aqm.KindCoDel} }
func (p *callLog) Dequeue(now int64, pk aqm.Packet, _ aqm.Backlog) aqm.Verdict {
	id := pk.EnqTime // the tests store the packet id there
	p.calls = append(p.calls, [2]int64{now, id})
	if p.lastDrop {
		require.Equal(p.t, p.dropAt, now, "the call after a Drop (packet %d) is part of the same dequeue", id)
	}
	p.lastDrop, p.dropAt = p.drop[uintptr(id)], now
	if p.lastDrop {
		return aqm.Drop
	}
	return aqm.Pass
}

// TestInputFIFOAQMDropThenOtherPort: in an input FIFO an AQM drop at dequeue may
// uncover a head for another output port. The policy's dequeue is not over (CoDel
// asks about the next head at the same time), so that head is decided at once: passed,
// it stays at the head and its own port delivers it later without a second decision;
// dropped, the FIFO goes on to the next head, which the calling port may take.
func TestInputFIFOAQMDropThenOtherPort(t *testing.T) {
	for _, c := range []struct {
		name      string
		drop      []uintptr
		firstN    int        // delivered by port 1's first call
		wantCalls [][2]int64 // (now, packet id) of every policy call
		bDrops    int        // AQM drops counted at port 2
	}{
		{"next head passes", []uintptr{2}, 1, [][2]int64{{10, 1}, {10, 2}, {10, 3}, {30, 4}}, 0},
		{"next head dropped too", []uintptr{2, 3}, 2, [][2]int64{{10, 1}, {10, 2}, {10, 3}, {10, 4}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			pol := &callLog{t: t, drop: map[uintptr]bool{}}
			for _, id := range c.drop {
				pol.drop[id] = true
			}
			a := mustNew(t, Config{Kind: KindInputFIFO, Ports: []int{1, 2}, Inputs: []int{0}, LimitPkts: 16,
				AQM: func(int, uint8) aqm.Policy { return pol }})
			sink := &recSink{}
			for i, out := range []int{1, 1, 2, 1} {
				d := mk(i+1, 0, out, 0, 100, int64(i+1))
				a.Enqueue(0, &d, sink)
			}
			out := make([]pkt.Desc, 8)
			require.Equal(t, c.firstN, a.Dequeue(10, 1, out, 1<<20, sink))
			delivered := c.firstN
			if len(c.drop) == 1 {
				// Port 2's turn in the next crossbar slot (the first call shares port 1's).
				n := 0
				for try := 0; try < 3 && n == 0; try++ {
					n = a.Dequeue(20, 2, out, 1<<20, sink)
				}
				require.Equal(t, 1, n, "the decided head goes to its port")
				require.Equal(t, uintptr(3), out[0].Mbuf)
				n = 0
				for try := 0; try < 3 && n == 0; try++ {
					n = a.Dequeue(30, 1, out, 1<<20, sink)
				}
				require.Equal(t, 1, n)
				delivered += 2
			}
			require.Equal(t, c.wantCalls, pol.calls)
			var s ArchSnapshot
			a.Publish()
			a.Snapshot(&s)
			require.Equal(t, uint64(c.bDrops), s.Ports[1].Drops[pkt.DropAQM])
			checkBooks(t, a, 4, delivered, sink)
		})
	}
}
