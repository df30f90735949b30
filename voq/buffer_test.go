package voq

import (
	"math/rand/v2"
	"testing"

	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

// checkBuf is a Memory that checks the Arch's contract packet by packet: Admit once
// per stored packet with q == d.Queue, Release once per admitted packet with the tier
// Admit set, nothing left held after Drain. It refuses at random and when more than
// capPkts packets are held, and records what the DropObserver hears.
type checkBuf struct {
	t        *testing.T
	queues   int
	rng      *rand.Rand
	pRefuse  float64
	capPkts  int
	held     map[uintptr]int // packet id -> queue
	perQ     []int
	admits   int
	releases [2]int // [dropped, dequeued]
	refused  int
	observed [pkt.NumDropReasons]int
	pubs     int
}

func newCheckBuf(t *testing.T, queues int, seed uint64, pRefuse float64, capPkts int) *checkBuf {
	return &checkBuf{t: t, queues: queues, rng: rand.New(rand.NewPCG(seed, 9)), pRefuse: pRefuse, capPkts: capPkts,
		held: map[uintptr]int{}, perQ: make([]int, queues)}
}

func (b *checkBuf) Queues() int { return b.queues }

func (b *checkBuf) Admit(_ int64, q int, d *pkt.Desc) pkt.DropReason {
	require.Equal(b.t, int(d.Queue), q, "Admit queue index")
	_, dup := b.held[d.Mbuf]
	require.False(b.t, dup, "packet %d admitted twice", d.Mbuf)
	if len(b.held) >= b.capPkts || b.rng.Float64() < b.pRefuse {
		b.refused++
		return pkt.DropNoBuffer
	}
	b.held[d.Mbuf] = q
	b.perQ[q]++
	b.admits++
	d.Tier = uint8(d.Mbuf & 1)
	return pkt.DropNone
}

func (b *checkBuf) Release(_ int64, q int, d *pkt.Desc, dequeued bool) {
	hq, ok := b.held[d.Mbuf]
	require.True(b.t, ok, "packet %d released but not held", d.Mbuf)
	require.Equal(b.t, hq, q, "Release queue index")
	require.Equal(b.t, uint8(d.Mbuf&1), d.Tier, "tier stored with the packet")
	delete(b.held, d.Mbuf)
	b.perQ[q]--
	if dequeued {
		b.releases[1]++
	} else {
		b.releases[0]++
	}
}

func (b *checkBuf) QueueDrop(_ int64, q int, r pkt.DropReason) {
	require.True(b.t, q >= 0 && q < b.queues)
	require.Contains(b.t, []pkt.DropReason{pkt.DropTail, pkt.DropHead, pkt.DropAQM, pkt.DropOverflow}, r)
	b.observed[r]++
}

func (b *checkBuf) Publish() { b.pubs++ }

// heldSink checks that no packet reaches the sink while the buffer still holds it
// (Release comes first), and counts like recSink.
type heldSink struct {
	recSink
	buf  *checkBuf
	seen map[uintptr]pkt.DropReason
}

func (s *heldSink) Drop(d *pkt.Desc, r pkt.DropReason) {
	_, held := s.buf.held[d.Mbuf]
	require.False(s.buf.t, held, "packet %d dropped (%s) while still held by the buffer", d.Mbuf, r)
	_, dup := s.seen[d.Mbuf]
	require.False(s.buf.t, dup, "packet %d dropped twice", d.Mbuf)
	s.seen[d.Mbuf] = r
	s.recSink.Drop(d, r)
}

// TestBufferContractRandomized drives every random configuration with a checking
// buffer that refuses some packets, and checks the contract (see checkBuf), that the
// books still balance with the buffer's reason among the drops, that the observer
// heard exactly the queue's own drops, and that Drain returns everything.
func TestBufferContractRandomized(t *testing.T) {
	for name, cfg := range randomConfigs() {
		t.Run(name, func(t *testing.T) {
			layout, err := Layout(cfg)
			require.NoError(t, err)
			buf := newCheckBuf(t, len(layout), uint64(len(name)), 0.05, 40)
			cfg.Memory = buf
			a := mustNew(t, cfg)
			rng := rand.New(rand.NewPCG(11, uint64(len(name))))
			sink := &heldSink{buf: buf, seen: map[uintptr]pkt.DropReason{}}
			classes := max(cfg.Classes, 1)
			out := make([]pkt.Desc, 16)
			delivered := map[uintptr]bool{}
			now := int64(1_000_000)
			offered := 0
			checkHeld := func() {
				a.Publish()
				var s ArchSnapshot
				a.Snapshot(&s)
				for _, q := range s.Queues {
					require.Equal(t, q.Pkts, buf.perQ[q.Index], "queue %d: buffer holds what the queue holds", q.Index)
				}
			}
			for range 5000 {
				now += int64(rng.IntN(3000))
				switch x := rng.IntN(100); {
				case x < 55:
					offered++
					d := mk(offered, rng.IntN(4), rng.IntN(5), uint8(rng.IntN(8)), 64+rng.IntN(1437), now)
					d.Hash = uint32(rng.IntN(6))
					d.ECN = uint8(rng.IntN(3))
					a.Enqueue(now, &d, sink)
				case x < 97:
					n := a.Dequeue(now, rng.IntN(4), out[:1+rng.IntN(len(out))], 1+rng.IntN(6000), sink)
					for _, d := range out[:n] {
						_, held := buf.held[d.Mbuf]
						require.False(t, held, "delivered packet %d still held", d.Mbuf)
						require.Equal(t, uint8(d.Mbuf&1), d.Tier, "tier set by Admit travels with the packet")
						require.False(t, delivered[d.Mbuf])
						delivered[d.Mbuf] = true
					}
				case x < 99:
					if cfg.FQ != nil && cfg.FQ.Classes == nil {
						require.NoError(t, a.SetLimit(rng.IntN(4), -1, 1+rng.IntN(cfg.FQ.LimitPkts), 0))
					} else {
						require.NoError(t, a.SetLimit(rng.IntN(4), rng.IntN(classes), 1+rng.IntN(20), 0))
					}
				default:
					checkHeld()
					checkBooks(t, a, offered, len(delivered), &sink.recSink)
				}
			}
			checkHeld()
			checkBooks(t, a, offered, len(delivered), &sink.recSink)
			require.Positive(t, buf.refused)
			require.Equal(t, buf.refused, sink.by[pkt.DropNoBuffer], "every refusal reached the sink with the buffer's reason")
			require.Equal(t, buf.releases[1], len(delivered), "one dequeued Release per delivered packet")
			a.Drain(sink)
			require.Empty(t, buf.held, "every admitted packet released")
			require.Equal(t, buf.admits, buf.releases[0]+buf.releases[1])
			for _, r := range []pkt.DropReason{pkt.DropTail, pkt.DropHead, pkt.DropAQM, pkt.DropOverflow} {
				require.Equal(t, sink.by[r], buf.observed[r], "observer heard every %s drop", r)
			}
			require.Len(t, sink.seen, offered-len(delivered), "every packet left exactly once")
			checkBooks(t, a, offered, len(delivered), &sink.recSink)
			require.Positive(t, buf.pubs, "Arch.Publish publishes the buffer")
			t.Logf("offered %d delivered %d admitted %d refused %d drops %v", offered, len(delivered), buf.admits, buf.refused, sink.by)
		})
	}
}

// TestBufferHeadDropReleasesFirst: with a buffer exactly as large as the queue, a full
// head-drop queue (or FQ-CoDel at its limit) must release what it pushes out before
// asking the buffer for the arrival, so no arrival is refused for memory.
func TestBufferHeadDropReleasesFirst(t *testing.T) {
	for name, cfg := range map[string]Config{
		"head": {Kind: KindEgress, Ports: ports(1), LimitPkts: 4, Overflow: OverflowHead},
		"fq":   {Kind: KindEgress, Ports: ports(1), FQ: &FQConfig{Flows: 4, LimitPkts: 4, DropBatch: 1}},
		"fifo": {Kind: KindInputFIFO, Ports: ports(1), LimitPkts: 4, Overflow: OverflowHead},
	} {
		t.Run(name, func(t *testing.T) {
			buf := newCheckBuf(t, 1, 1, 0, 4)
			cfg.Memory = buf
			a := mustNew(t, cfg)
			sink := &heldSink{buf: buf, seen: map[uintptr]pkt.DropReason{}}
			for i := 1; i <= 10; i++ {
				d := mk(i, 0, 0, 0, 100, int64(i))
				d.Hash = 1 // one flow: FQ overflow drops from this same flow
				a.Enqueue(int64(i), &d, sink)
			}
			require.Zero(t, buf.refused)
			require.Equal(t, 6, sink.total(), "six pushed out")
			require.Equal(t, 4, len(buf.held))
			got := drainPort(a, 20, 0, sink)
			require.Len(t, got, 4)
			for i, d := range got {
				require.Equal(t, uintptr(7+i), d.Mbuf, "the newest four remain, in order")
			}
			require.Empty(t, buf.held)
		})
	}
}

// TestBufferRefusalCounts: a refusal is counted under the buffer's reason in the
// queue and the port, and the packet is not stored.
func TestBufferRefusalCounts(t *testing.T) {
	cfg := Config{Kind: KindVOQ, Ports: ports(2), Classes: 2, LimitPkts: 100}
	buf := newCheckBuf(t, 8, 1, 0, 3)
	cfg.Memory = buf
	a := mustNew(t, cfg)
	sink := &heldSink{buf: buf, seen: map[uintptr]pkt.DropReason{}}
	for i := 1; i <= 5; i++ {
		d := mk(i, 1, 0, 1, 200, 0)
		a.Enqueue(0, &d, sink)
	}
	a.Publish()
	var s ArchSnapshot
	a.Snapshot(&s)
	q := s.Queues[(0*2+1)*2+1] // output 0, input 1, class 1
	require.Equal(t, 3, q.Pkts)
	require.Equal(t, uint64(2), q.Drops[pkt.DropNoBuffer])
	require.Equal(t, uint64(2), s.Ports[0].Drops[pkt.DropNoBuffer])
	require.Equal(t, 2, sink.by[pkt.DropNoBuffer])
	require.Equal(t, []uintptr{1, 2, 3}, ids(drainPort(a, 1, 0, sink)))
}

func ids(ds []pkt.Desc) []uintptr {
	out := make([]uintptr, len(ds))
	for i, d := range ds {
		out[i] = d.Mbuf
	}
	return out
}

// TestLayoutMatchesArch: Layout numbers the queues exactly as New builds them, and
// QueueInfo and the snapshot agree with it.
func TestLayoutMatchesArch(t *testing.T) {
	cfgs := randomConfigs()
	for _, hc := range hotConfigs() {
		cfgs["hot/"+hc.name] = hc.cfg
	}
	cfgs["voq/uneven"] = Config{Kind: KindVOQ, Ports: []int{9, 3, 5}, Inputs: []int{1, 7}, Classes: 3, LimitPkts: 4,
		FQ: &FQConfig{Flows: 2, Classes: []int{2}}}
	cfgs["fifo/uneven"] = Config{Kind: KindInputFIFO, Ports: []int{2, 4}, Inputs: []int{8, 6, 1}, LimitPkts: 4}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			layout, err := Layout(cfg)
			require.NoError(t, err)
			a := mustNew(t, cfg)
			var s ArchSnapshot
			a.Snapshot(&s)
			require.Len(t, layout, len(s.Queues))
			for i, li := range layout {
				require.Equal(t, i, li.Index)
				port, input, class, ok := a.QueueInfo(i)
				require.True(t, ok)
				require.Equal(t, li, QueueInfo{Index: i, Port: port, Input: input, Class: class, FQ: li.FQ})
				qs := s.Queues[i]
				require.Equal(t, li, QueueInfo{Index: qs.Index, Port: qs.Port, Input: qs.Input, Class: qs.Class, FQ: qs.FQ})
			}
			for _, bad := range []int{-1, len(layout)} {
				_, _, _, ok := a.QueueInfo(bad)
				require.False(t, ok)
			}
		})
	}
	// A packet lands in the queue Layout names for its (input, output, class).
	cfg := cfgs["voq/uneven"]
	layout, _ := Layout(cfg)
	a := mustNew(t, cfg)
	d := mk(1, 7, 5, 1, 100, 0)
	a.Enqueue(0, &d, &recSink{})
	li := layout[d.Queue]
	require.Equal(t, QueueInfo{Index: int(d.Queue), Port: 5, Input: 7, Class: 1}, li)

	_, err := Layout(Config{Kind: KindEgress, Ports: ports(2)})
	require.ErrorContains(t, err, "LimitPkts and LimitBytes")
}

func TestBufferQueueCountChecked(t *testing.T) {
	cfg := Config{Kind: KindEgress, Ports: ports(2), Classes: 4, LimitPkts: 8}
	cfg.Memory = newCheckBuf(t, 7, 1, 0, 1)
	_, err := New(cfg)
	require.ErrorContains(t, err, "Memory has 7 queues, this egress Arch has 8")
	cfg.Memory = newCheckBuf(t, 8, 1, 0, 1)
	_, err = New(cfg)
	require.NoError(t, err)
}

// countBuf is an allocation-free Memory for the alloc test and the benchmark: it
// admits up to capPkts packets, alternates tiers and counts.
type countBuf struct {
	held, capPkts int
	admits, rels  uint64
}

func (b *countBuf) Admit(_ int64, _ int, d *pkt.Desc) pkt.DropReason {
	if b.held >= b.capPkts {
		return pkt.DropNoBuffer
	}
	b.held++
	b.admits++
	d.Tier = uint8(b.admits & 1)
	return pkt.DropNone
}
func (b *countBuf) Release(int64, int, *pkt.Desc, bool)  { b.held--; b.rels++ }
func (b *countBuf) QueueDrop(int64, int, pkt.DropReason) {}
func (b *countBuf) Publish()                             {}

func TestNoAllocsWithBuffer(t *testing.T) {
	var sinkN int
	for _, hc := range hotConfigs() {
		t.Run(hc.name, func(t *testing.T) {
			cfg := hc.cfg
			buf := &countBuf{capPkts: 24}
			cfg.Memory = buf
			a := mustNew(t, cfg)
			tr := newTraffic(32, 1)
			tr.round(a)
			allocs := testing.AllocsPerRun(300, func() {
				sinkN += tr.round(a)
				a.Publish()
			})
			require.Zero(t, allocs)
			require.Positive(t, buf.rels)
			require.Positive(t, tr.sink.by[pkt.DropNoBuffer], "the buffer refused some")
			require.Equal(t, buf.admits-buf.rels, uint64(buf.held))
		})
	}
	require.Positive(t, sinkN)
}

// BenchmarkEnqueueDequeueBuffer is BenchmarkEnqueueDequeue with a trivial buffer model,
// measuring the cost of the hook itself (package buffer benchmarks the real models).
func BenchmarkEnqueueDequeueBuffer(b *testing.B) {
	for _, hc := range hotConfigs() {
		b.Run(hc.name, func(b *testing.B) {
			cfg := hc.cfg
			cfg.Memory = &countBuf{capPkts: 1 << 30}
			a := mustNew(b, cfg)
			tr := newTraffic(32, 2)
			tr.round(a)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += 32 {
				tr.round(a)
			}
		})
	}
}
