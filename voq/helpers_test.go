package voq

import (
	"math/rand/v2"
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

// recSink counts drops by reason and, when keep is set, records the dropped packets.
type recSink struct {
	by   [pkt.NumDropReasons]int
	keep bool
	got  []pkt.Desc
}

func (s *recSink) Drop(d *pkt.Desc, r pkt.DropReason) {
	s.by[r]++
	if s.keep {
		c := *d
		c.Tier = uint8(r) // remember the reason beside the copy
		s.got = append(s.got, c)
	}
}

func (s *recSink) total() int {
	n := 0
	for _, v := range s.by {
		n += v
	}
	return n
}

// mk builds a descriptor whose Mbuf field is its id.
func mk(id int, in, out int, class uint8, l int, now int64) pkt.Desc {
	return pkt.Desc{Mbuf: uintptr(id), Enq: now, Hash: uint32(id*2654435761) ^ uint32(in<<16|out), Len: uint32(l),
		InPort: uint16(in), OutPort: uint16(out), Class: class}
}

func mustNew(t testing.TB, c Config) Arch {
	t.Helper()
	a, err := New(c)
	require.NoError(t, err)
	return a
}

// drainPort dequeues everything that port will give, in bursts, at time now.
func drainPort(a Arch, now int64, port int, sink pkt.DropSink) []pkt.Desc {
	var got []pkt.Desc
	out := make([]pkt.Desc, 32)
	for {
		n := a.Dequeue(now, port, out, 1<<30, sink)
		if n == 0 {
			return got
		}
		got = append(got, out[:n]...)
	}
}

// everyNth drops (or marks) every n-th packet at dequeue; it passes all at enqueue.
type everyNth struct {
	n, seen int
	verdict aqm.Verdict
	st      aqm.State
	dqOnly  bool // claims aqm.DequeueOnly, so queues may skip its Enqueue
}

func (p *everyNth) DequeueOnly() bool { return p.dqOnly }

func (p *everyNth) Enqueue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict { return aqm.Pass }
func (p *everyNth) Dequeue(_ int64, _ aqm.Packet, _ aqm.Backlog) aqm.Verdict {
	p.seen++
	if p.seen%p.n == 0 {
		if p.verdict == aqm.Drop {
			p.st.Drops++
		} else {
			p.st.Marks++
		}
		return p.verdict
	}
	return aqm.Pass
}
func (p *everyNth) Snapshot() aqm.State { s := p.st; s.Kind = aqm.KindCoDel; return s }

// randPolicy drops at enqueue, drops at dequeue and marks with fixed probabilities.
type randPolicy struct {
	rng                  *rand.Rand
	pEnq, pDeq, pMarkDeq float64
	st                   aqm.State
}

func (p *randPolicy) Enqueue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict {
	if p.rng.Float64() < p.pEnq {
		p.st.Drops++
		return aqm.Drop
	}
	return aqm.Pass
}
func (p *randPolicy) Dequeue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict {
	x := p.rng.Float64()
	switch {
	case x < p.pDeq:
		p.st.Drops++
		return aqm.Drop
	case x < p.pDeq+p.pMarkDeq:
		p.st.Marks++
		return aqm.Mark
	}
	return aqm.Pass
}
func (p *randPolicy) Snapshot() aqm.State { s := p.st; s.Kind = aqm.KindRED; return s }

func randFactory(seed uint64, pEnq, pDeq, pMark float64) Factory {
	return func(q int, c uint8) aqm.Policy {
		return &randPolicy{rng: rand.New(rand.NewPCG(seed, uint64(q)<<8|uint64(c))), pEnq: pEnq, pDeq: pDeq, pMarkDeq: pMark}
	}
}

func ports(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// checkBooks asserts the published statistics add up: per queue and per port
// Arrivals == Dequeued + drops + queued, port totals equal queue totals, and the
// drops by reason equal what the sink saw (minus unrouted, which no queue counts).
func checkBooks(t *testing.T, a Arch, offered, delivered int, sink *recSink) {
	t.Helper()
	a.Publish()
	var s ArchSnapshot
	a.Snapshot(&s)
	var arr, deq, queued uint64
	var drops [pkt.NumDropReasons]uint64
	for _, q := range s.Queues {
		require.Equal(t, q.Arrivals, q.Dequeued+q.TotalDrops()+uint64(q.Pkts), "queue %d books", q.Index)
		require.Equal(t, q.Dequeued, q.Sojourn.Count(), "queue %d: one sojourn per delivered packet, all published", q.Index)
		arr += q.Arrivals
		deq += q.Dequeued
		queued += uint64(q.Pkts)
	}
	var parr, pdeq, pq uint64
	for _, p := range s.Ports {
		require.Equal(t, p.Arrivals, p.Dequeued+p.TotalDrops()+uint64(p.Pkts), "port %d books", p.Port)
		require.Equal(t, p.Dequeued, p.Sojourn.Count(), "port %d: one sojourn per delivered packet, all published", p.Port)
		bp, bb := a.Backlog(p.Port)
		require.Equal(t, bp, p.Pkts)
		require.Equal(t, bb, p.Bytes)
		parr += p.Arrivals
		pdeq += p.Dequeued
		pq += uint64(p.Pkts)
		for r, v := range p.Drops {
			drops[r] += v
		}
	}
	require.Equal(t, arr, parr)
	require.Equal(t, deq, pdeq)
	require.Equal(t, queued, pq)
	require.Equal(t, uint64(offered), arr+s.Unrouted)
	require.Equal(t, uint64(delivered), deq)
	drops[pkt.DropNoRoute] += s.Unrouted
	for r := range drops {
		require.Equal(t, uint64(sink.by[r]), drops[r], "drops for %s", pkt.DropReason(r))
	}
	require.Equal(t, offered, delivered+sink.total()+int(queued), "conservation")
}
