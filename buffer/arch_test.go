package buffer

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/stretchr/testify/require"
)

// Tests that drive the models through a voq.Arch, as the dataplane will.

// sink counts drops by reason and remembers which packets it saw.
type sink struct {
	by   [pkt.NumDropReasons]int
	seen map[uintptr]pkt.DropReason // nil: do not record
}

func (s *sink) Drop(d *pkt.Desc, r pkt.DropReason) {
	s.by[r]++
	if s.seen != nil {
		s.seen[d.Mbuf] = r
	}
}

func (s *sink) total() int {
	n := 0
	for _, v := range s.by {
		n += v
	}
	return n
}

// randAQM drops at enqueue and at dequeue with fixed probabilities, so that every
// Release path (dequeue-time AQM drops included) is exercised.
type randAQM struct {
	rng        *rand.Rand
	pEnq, pDeq float64
}

func (p *randAQM) Enqueue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict {
	if p.rng.Float64() < p.pEnq {
		return aqm.Drop
	}
	return aqm.Pass
}

func (p *randAQM) Dequeue(int64, aqm.Packet, aqm.Backlog) aqm.Verdict {
	if p.rng.Float64() < p.pDeq {
		return aqm.Drop
	}
	return aqm.Pass
}

func (p *randAQM) Snapshot() aqm.State { return aqm.State{Kind: aqm.KindRED} }

func randFactory(seed uint64, pEnq, pDeq float64) voq.Factory {
	return func(q int, c uint8) aqm.Policy {
		return &randAQM{rng: rand.New(rand.NewPCG(seed, uint64(q)<<8|uint64(c))), pEnq: pEnq, pDeq: pDeq}
	}
}

var p4 = []int{0, 1, 2, 3}

// archCases covers the three architectures, with tail and head drop, AQM at both
// ends, FQ-CoDel overflow and the iSLIP arbiter.
func archCases() []struct {
	name string
	cfg  voq.Config
} {
	return []struct {
		name string
		cfg  voq.Config
	}{
		{"egress/drr/aqm", voq.Config{Kind: voq.KindEgress, Ports: p4, Classes: 2, LimitPkts: 64, Sched: voq.SchedConfig{Kind: voq.SchedDRR},
			AQM: randFactory(1, 0.01, 0.03)}},
		{"egress/fq", voq.Config{Kind: voq.KindEgress, Ports: p4, Classes: 2, FQ: &voq.FQConfig{Flows: 8, LimitPkts: 48, DropBatch: 4}}},
		{"voq/islip/head", voq.Config{Kind: voq.KindVOQ, Ports: p4, Classes: 2, LimitPkts: 24, Overflow: voq.OverflowHead, Arbiter: voq.ArbiterISLIP}},
		{"voq/drr/aqm", voq.Config{Kind: voq.KindVOQ, Ports: p4, Classes: 2, LimitPkts: 24, Arbiter: voq.ArbiterDRR, AQM: randFactory(2, 0.01, 0.03)}},
		{"input-fifo", voq.Config{Kind: voq.KindInputFIFO, Ports: p4, LimitPkts: 64}},
		{"input-fifo/head/bytes", voq.Config{Kind: voq.KindInputFIFO, Ports: p4, LimitBytes: 40000, Overflow: voq.OverflowHead}},
	}
}

// carvingTest is one dynamic pool whose shared area (32 KiB beyond the reserves) is
// well below what the queues' own limits allow, with 80 descriptors, and two
// profiles: class 1 gets a larger reserve and alpha 2.
func carvingTest(layout []voq.QueueInfo) *carving.Config {
	var reserved int64
	for _, q := range layout {
		reserved += 1024
		if q.Class == 1 {
			reserved += 1024
		}
	}
	return &carving.Config{
		CellSize: 256,
		Pools:    []carving.Pool{{Name: "shared", Size: reserved + 32<<10, Mode: carving.Dynamic, Descriptors: 80}},
		Profiles: []carving.Profile{
			{Name: "lo", Pool: "shared", Reserved: 1024, DynamicTh: 0},
			{Name: "hi", Pool: "shared", Reserved: 2048, DynamicTh: 1},
		},
	}
}

// hybridTest has a small on-chip tier, queues evicted past 6 packets, and off-chip
// bandwidth (bits/s, 16 KiB bucket) below what the traffic would need off-chip.
func hybridTest(rate float64) *hybrid.Params {
	return &hybrid.Params{Enabled: true, OnchipBytes: 24 << 10, OffchipBytes: 256 << 10, OffchipRate: rate, OffchipBurst: 16 << 10,
		EvictPackets: 6, EvictBytes: -1}
}

type modelKind struct {
	name       string
	carving    bool
	hybridRate float64 // off-chip bits/s; 0 = no hybrid
}

// With both models, off-chip bandwidth is raised so that queues grow long enough for
// the carving pool to refuse too.
var modelKinds = []modelKind{
	{"carving", true, 0},
	{"hybrid", false, 1e9},
	{"both", true, 4e9},
}

// build returns the Model and the Arch for cfg, constructed in the documented order.
func build(t testing.TB, cfg voq.Config, mk modelKind) (*Model, voq.Arch, []voq.QueueInfo) {
	t.Helper()
	layout, err := voq.Layout(cfg)
	require.NoError(t, err)
	var bc Config
	if mk.carving {
		bc.Carving = carvingTest(layout)
	}
	if mk.hybridRate > 0 {
		bc.Hybrid = hybridTest(mk.hybridRate)
	}
	bc.SetLayout(layout, func(q voq.QueueInfo) string {
		if q.Class == 1 {
			return "hi"
		}
		return "lo"
	})
	m := mustModel(t, bc)
	cfg.Memory = m
	a, err := voq.New(cfg)
	require.NoError(t, err)
	return m, a, layout
}

type snaps struct {
	arch voq.ArchSnapshot
	c    carving.Snapshot
	h    hybrid.Snapshot
}

func (s *snaps) take(m *Model, a voq.Arch) {
	a.Publish()
	a.Snapshot(&s.arch)
	if m.Carver() != nil {
		m.Carver().Snapshot(&s.c)
	}
	if m.Hybrid() != nil {
		m.Hybrid().Snapshot(&s.h)
	}
}

// checkBooks asserts that the Arch's books balance, that each model holds exactly
// what each queue holds, that every refusal the sink saw is one the models counted,
// and that every packet voq stored was admitted once by each model.
func checkBooks(t *testing.T, m *Model, a voq.Arch, s *snaps, offered, delivered int, sk *sink) {
	t.Helper()
	s.take(m, a)
	var enq, deq, queued uint64
	for _, q := range s.arch.Queues {
		require.Equal(t, q.Arrivals, q.Dequeued+q.TotalDrops()+uint64(q.Pkts), "queue %d books", q.Index)
		enq += q.Enqueued
		deq += q.Dequeued
		queued += uint64(q.Pkts)
		if m.Carver() != nil {
			cq := s.c.Queues[q.Index]
			require.Equal(t, int64(q.Pkts), cq.Packets, "queue %d: carving holds what the queue holds", q.Index)
			require.Equal(t, int64(q.Bytes), cq.StoredBytes, "queue %d bytes in carving", q.Index)
		}
		if m.Hybrid() != nil {
			hq := s.h.Queues[q.Index]
			require.Equal(t, int64(q.Pkts), hq.Packets[0]+hq.Packets[1], "queue %d: hybrid holds what the queue holds", q.Index)
			require.Equal(t, int64(q.Bytes), hq.Bytes[0]+hq.Bytes[1], "queue %d bytes in hybrid", q.Index)
		}
	}
	var drops [pkt.NumDropReasons]uint64
	for _, p := range s.arch.Ports {
		require.Equal(t, p.Arrivals, p.Dequeued+p.TotalDrops()+uint64(p.Pkts), "port %d books", p.Port)
		for r, v := range p.Drops {
			drops[r] += v
		}
	}
	drops[pkt.DropNoRoute] += s.arch.Unrouted
	for r := range drops {
		require.Equal(t, uint64(sk.by[r]), drops[r], "drops for %s", pkt.DropReason(r))
	}
	require.Equal(t, uint64(delivered), deq)
	require.Equal(t, offered, delivered+sk.total()+int(queued), "conservation")

	// Refusals: each pkt reason is the sum of the model reasons that map to it.
	var cNoDesc, cNoBuf, hNoBuf, hBW uint64
	if m.Carver() != nil {
		pd := s.c.Pools[0].Drops
		cNoDesc, cNoBuf = pd[carving.NoDescriptor], pd[carving.NoSharedSpace]+pd[carving.OverThreshold]
		var admitted uint64
		for _, q := range s.c.Queues {
			admitted += q.Admitted
		}
		require.Equal(t, enq, admitted-m.RolledBack(), "carving admitted each stored packet once")
		require.Zero(t, s.c.AccountingErrs)
	}
	if m.Hybrid() != nil {
		hNoBuf, hBW = s.h.Drops[hybrid.OnchipFull]+s.h.Drops[hybrid.OffchipFull], s.h.BandwidthDrops()
		require.Equal(t, enq, s.h.Admitted[0]+s.h.Admitted[1], "hybrid admitted each stored packet once")
		require.Equal(t, deq, s.h.Dequeued[0]+s.h.Dequeued[1], "one dequeued Release per delivered packet")
		require.Zero(t, s.h.AccountingErrs)
	}
	require.Equal(t, uint64(sk.by[pkt.DropNoDescriptor]), cNoDesc)
	require.Equal(t, uint64(sk.by[pkt.DropNoBuffer]), cNoBuf+hNoBuf)
	require.Equal(t, uint64(sk.by[pkt.DropOffchipBW]), hBW)
}

type orderKey struct {
	queue uint32
	flow  uint32
}

// TestRandomizedWithModels runs every architecture with each model: random arrivals
// (some unroutable), random dequeues and budgets, random live limit and alpha
// changes, then Drain. Every admitted packet is released exactly once (the models
// return to zero), the books balance with the buffer reasons, each packet leaves once,
// and packets of one queue (one flow for FQ-CoDel) leave in order whatever their tier.
func TestRandomizedWithModels(t *testing.T) {
	totals := map[string]map[pkt.DropReason]int{}
	for _, mk := range modelKinds {
		totals[mk.name] = map[pkt.DropReason]int{}
	}
	for _, ac := range archCases() {
		for _, mk := range modelKinds {
			t.Run(ac.name+"/"+mk.name, func(t *testing.T) {
				m, a, layout := build(t, ac.cfg, mk)
				rng := rand.New(rand.NewPCG(5, uint64(len(ac.name)*31+len(mk.name))))
				sk := &sink{seen: map[uintptr]pkt.DropReason{}}
				var s snaps
				out := make([]pkt.Desc, 16)
				last := map[orderKey]uintptr{}
				delivered := map[uintptr]bool{}
				var tiers [2]int
				now := int64(1_000_000)
				offered := 0
				for range 6000 {
					now += int64(rng.IntN(3000))
					switch x := rng.IntN(100); {
					case x < 55: // a burst: on average more than the dequeues take
						for range 1 + rng.IntN(8) {
							offered++
							d := pkt.Desc{Mbuf: uintptr(offered), Enq: now, Hash: uint32(rng.IntN(6)), Len: uint32(64 + rng.IntN(1437)),
								InPort: uint16(rng.IntN(4)), OutPort: uint16(rng.IntN(5)), Class: uint8(rng.IntN(3)), Tier: 1}
							a.Enqueue(now, &d, sk)
						}
					case x < 97:
						port := rng.IntN(4)
						n := a.Dequeue(now, port, out[:1+rng.IntN(len(out))], 1+rng.IntN(6000), sk)
						for _, d := range out[:n] {
							k := orderKey{queue: d.Queue}
							if layout[d.Queue].FQ {
								k.flow = d.Hash & uint32(ac.cfg.FQ.Flows-1)
							}
							require.Greater(t, d.Mbuf, last[k], "order in %+v (tier %d)", k, d.Tier)
							last[k] = d.Mbuf
							require.False(t, delivered[d.Mbuf])
							delivered[d.Mbuf] = true
							require.LessOrEqual(t, d.Tier, uint8(1))
							tiers[d.Tier]++
							if mk.hybridRate == 0 {
								require.Zero(t, d.Tier, "no tiers without hybrid")
							}
						}
					case x < 99:
						if ac.cfg.FQ != nil {
							require.NoError(t, a.SetLimit(rng.IntN(4), -1, 1+rng.IntN(48), 0))
						} else {
							require.NoError(t, a.SetLimit(rng.IntN(4), rng.IntN(max(ac.cfg.Classes, 1)), 1+rng.IntN(24), 0))
						}
						if mk.carving {
							require.NoError(t, m.SetAlpha("lo", rng.IntN(3)-1))
						}
					default:
						checkBooks(t, m, a, &s, offered, len(delivered), sk)
					}
				}
				checkBooks(t, m, a, &s, offered, len(delivered), sk)
				t.Logf("offered %d delivered %d (on-chip %d, off-chip %d) drops %v", offered, len(delivered), tiers[0], tiers[1], sk.by)
				require.Positive(t, sk.by[pkt.DropNoBuffer]+sk.by[pkt.DropNoDescriptor]+sk.by[pkt.DropOffchipBW], "the model is small enough to refuse")
				if mk.hybridRate > 0 {
					require.Positive(t, tiers[1], "some packets were delivered from off-chip")
				}
				require.Positive(t, tiers[0])
				for _, r := range []pkt.DropReason{pkt.DropNoBuffer, pkt.DropNoDescriptor, pkt.DropOffchipBW} {
					totals[mk.name][r] += sk.by[r]
				}

				a.Drain(sk)
				checkBooks(t, m, a, &s, offered, len(delivered), sk)
				for id := range sk.seen {
					require.False(t, delivered[id], "packet %d delivered and dropped", id)
				}
				require.Equal(t, offered, len(delivered)+len(sk.seen), "every packet left exactly once")
				if m.Carver() != nil {
					p := s.c.Pools[0]
					require.Zero(t, p.Used)
					require.Zero(t, p.SharedUsed)
					require.Zero(t, p.Descriptors)
					require.Zero(t, s.c.Descriptors)
					for _, q := range s.c.Queues {
						require.Zero(t, q.Used)
					}
				}
				if m.Hybrid() != nil {
					require.Equal(t, [2]int64{}, s.h.Used)
					require.Equal(t, [2]int64{}, s.h.Packets)
					for tier := range 2 {
						require.Equal(t, s.h.Admitted[tier], s.h.Dequeued[tier]+s.h.Dropped[tier], "tier %d: every admitted packet released once", tier)
					}
					for _, q := range s.h.Queues {
						require.False(t, q.Evicted, "an empty queue is readmitted")
					}
				}
			})
		}
	}
	// Over all architectures, each model refused for each of its reasons.
	for _, mk := range modelKinds {
		tot := totals[mk.name]
		t.Logf("%s: refusals %v", mk.name, tot)
		if mk.carving {
			require.Positive(t, tot[pkt.DropNoBuffer], "%s: carving thresholds refuse", mk.name)
			require.Positive(t, tot[pkt.DropNoDescriptor], "%s: carving descriptors run out", mk.name)
		}
		if mk.hybridRate > 0 {
			require.Positive(t, tot[pkt.DropOffchipBW], "%s: off-chip bandwidth refuses", mk.name)
		} else {
			require.Zero(t, tot[pkt.DropOffchipBW])
		}
	}
}

// TestFIFOAcrossTiers: a queue keeps one FIFO whatever the tier. Past its eviction
// threshold its packets go off-chip and leave after the on-chip ones ahead of them;
// once it empties it is readmitted and the next packet is on-chip again.
func TestFIFOAcrossTiers(t *testing.T) {
	for _, ac := range archCases() {
		t.Run(ac.name, func(t *testing.T) {
			cfg := ac.cfg
			cfg.AQM = nil
			cfg.Overflow = voq.OverflowTail
			layout, err := voq.Layout(cfg)
			require.NoError(t, err)
			var bc Config
			bc.Hybrid = &hybrid.Params{Enabled: true, OnchipBytes: 1 << 20, OffchipBytes: 1 << 20, OffchipRate: 1e10, EvictPackets: 4, EvictBytes: -1}
			bc.SetLayout(layout, nil)
			m := mustModel(t, bc)
			cfg.Memory = m
			a, err := voq.New(cfg)
			require.NoError(t, err)
			sk := &sink{}
			id := 0
			enq := func(n int) {
				for range n {
					id++
					d := pkt.Desc{Mbuf: uintptr(id), Len: 100, InPort: 1, OutPort: 2, Hash: 3}
					a.Enqueue(int64(id), &d, sk)
				}
			}
			out := make([]pkt.Desc, 1)
			deq := func(n int) (got []pkt.Desc) {
				for len(got) < n {
					k := a.Dequeue(int64(1000+id), 2, out, 1<<20, sk)
					require.Equal(t, 1, k)
					got = append(got, out[0])
				}
				return got
			}
			tiersOf := func(ds []pkt.Desc) (ids []uintptr, tiers []uint8) {
				for _, d := range ds {
					ids, tiers = append(ids, d.Mbuf), append(tiers, d.Tier)
				}
				return ids, tiers
			}
			enq(10) // 1-4 on-chip, 5-10 off-chip (evicted at 5)
			ids, tiers := tiersOf(deq(3))
			require.Equal(t, []uintptr{1, 2, 3}, ids)
			require.Equal(t, []uint8{0, 0, 0}, tiers)
			enq(2) // still evicted: 11, 12 off-chip even though the depth is back to 9
			ids, tiers = tiersOf(deq(9))
			require.Equal(t, []uintptr{4, 5, 6, 7, 8, 9, 10, 11, 12}, ids)
			require.Equal(t, []uint8{0, 1, 1, 1, 1, 1, 1, 1, 1}, tiers)
			require.Zero(t, a.Dequeue(0, 2, out, 1<<20, sk))
			enq(1) // readmitted: on-chip
			ids, tiers = tiersOf(deq(1))
			require.Equal(t, []uintptr{13}, ids)
			require.Equal(t, []uint8{0}, tiers)
			a.Publish()
			var hs hybrid.Snapshot
			m.Hybrid().Snapshot(&hs)
			q := hs.Queues[out[0].Queue]
			require.Equal(t, uint64(1), q.Evictions)
			require.Equal(t, uint64(1), q.Readmissions)
			require.Equal(t, [2]uint64{5, 8}, hs.Dequeued)
		})
	}
}

// TestCongestedQueueEvicted: one port is overloaded (3 arrivals for 2 departures per
// step), another lightly loaded (1 for 1). Only the congested queue is evicted; the
// light one stays on-chip, and the congested one's tiers never go back from off-chip
// to on-chip while it stays non-empty.
func TestCongestedQueueEvicted(t *testing.T) {
	for _, kind := range []voq.Kind{voq.KindEgress, voq.KindVOQ, voq.KindInputFIFO} {
		t.Run(kind.String(), func(t *testing.T) {
			cfg := voq.Config{Kind: kind, Ports: []int{0, 1}, LimitPkts: 512}
			layout, err := voq.Layout(cfg)
			require.NoError(t, err)
			var bc Config
			bc.Hybrid = &hybrid.Params{Enabled: true, OnchipBytes: 1 << 20, OffchipBytes: 16 << 20, OffchipRate: 1e11, EvictPackets: 32, EvictBytes: -1}
			bc.SetLayout(layout, nil)
			m := mustModel(t, bc)
			cfg.Memory = m
			a, err := voq.New(cfg)
			require.NoError(t, err)
			sk := &sink{}
			out := make([]pkt.Desc, 2)
			var tiers [2][2]int // [port][tier]
			var lastTier [2]uint8
			id := 0
			now := int64(0)
			// Input-fifo: the heavy port's traffic comes from input 0, the light one's
			// from input 1, so each has a FIFO of its own.
			send := func(port int) {
				id++
				d := pkt.Desc{Mbuf: uintptr(id), Len: 500, InPort: uint16(port), OutPort: uint16(port)}
				a.Enqueue(now, &d, sk)
			}
			for range 400 {
				now += 1000
				send(0)
				send(0)
				send(0)
				send(1)
				for p, n := range []int{2, 1} {
					k := a.Dequeue(now, p, out[:n], 1<<20, sk)
					require.Equal(t, n, k)
					for _, d := range out[:k] {
						tiers[p][d.Tier]++
						if p == 0 {
							require.GreaterOrEqual(t, d.Tier, lastTier[0], "on-chip packets leave before later off-chip ones: id %d tiers %v", d.Mbuf, tiers)
							lastTier[0] = d.Tier
						}
					}
				}
			}
			a.Publish()
			var hs hybrid.Snapshot
			m.Hybrid().Snapshot(&hs)
			heavy, light := queueOf(t, a, layout, 0, 0), queueOf(t, a, layout, 1, 1)
			require.True(t, hs.Queues[heavy].Evicted)
			require.Equal(t, uint64(1), hs.Queues[heavy].Evictions)
			require.Positive(t, hs.Queues[heavy].Packets[hybrid.Offchip])
			require.False(t, hs.Queues[light].Evicted)
			require.Zero(t, hs.Queues[light].Evictions)
			require.Zero(t, tiers[1][1], "the light queue never went off-chip")
			require.Equal(t, 400, tiers[1][0])
			require.Positive(t, tiers[0][1], "the congested queue's later packets came from off-chip")
			require.Zero(t, sk.total(), "no drops: the queue limit is not reached in 400 steps")
			a.Drain(sk)
			a.Publish()
			m.Hybrid().Snapshot(&hs)
			require.Equal(t, uint64(1), hs.Queues[heavy].Readmissions, "draining empties and readmits it")
		})
	}
}

// queueOf finds the queue index holding traffic from input in to output port out.
func queueOf(t *testing.T, a voq.Arch, layout []voq.QueueInfo, in, out int) int {
	t.Helper()
	for q := range layout {
		port, input, _, ok := a.QueueInfo(q)
		require.True(t, ok)
		if (port == out || port < 0) && (input == in || input < 0) {
			return q
		}
	}
	t.Fatalf("no queue for input %d output %d", in, out)
	return -1
}

// noObserver hides the Model's DropObserver side from voq.
type noObserver struct{ voq.Memory }

// TestTailDropMarksDropping: when voq tail-drops a packet of an evicted queue, that
// queue loses access to the off-chip bandwidth reserve (hybrid.MarkDropping), while
// an evicted queue that is not dropping keeps it. Without the observer the same
// arrival gets through.
func TestTailDropMarksDropping(t *testing.T) {
	for _, observe := range []bool{true, false} {
		t.Run(fmt.Sprintf("observer=%v", observe), func(t *testing.T) {
			cfg := voq.Config{Kind: voq.KindEgress, Ports: []int{0, 1}, LimitPkts: 6}
			// A 10000 B bucket with a 5000 B reserve, refilled at 1 kb/s (nothing over
			// these few ns); queues are evicted at their third packet.
			m := mustModel(t, Config{Queues: 2, Hybrid: &hybrid.Params{Enabled: true, OnchipBytes: 1 << 20, OffchipBytes: 1 << 20,
				OffchipRate: 1e3, OffchipBurst: 10000, BWReserve: 5000, EvictPackets: 2, EvictBytes: -1}})
			cfg.Memory = m
			if !observe {
				cfg.Memory = noObserver{m}
			}
			a, err := voq.New(cfg)
			require.NoError(t, err)
			sk := &sink{}
			const now = 1000
			send := func(port int) {
				d := pkt.Desc{Len: 1000, OutPort: uint16(port)}
				a.Enqueue(now, &d, sk)
			}
			for range 7 {
				send(0) // 2 on-chip, 4 off-chip (bucket 6000), the 7th tail-dropped
			}
			require.Equal(t, 1, sk.by[pkt.DropTail])
			for range 3 {
				send(1) // 2 on-chip, 1 off-chip (bucket 5000)
			}
			out := make([]pkt.Desc, 1)
			require.Equal(t, 1, a.Dequeue(now, 0, out, 1<<20, sk)) // an on-chip packet: no read cost
			send(0)                                                // evicted: needs 1000 B, plus the 5000 B reserve if dropping
			send(1)                                                // evicted, not dropping: 1000 <= 5000
			a.Publish()
			var as voq.ArchSnapshot
			a.Snapshot(&as)
			var hs hybrid.Snapshot
			m.Hybrid().Snapshot(&hs)
			if observe {
				require.Equal(t, 1, sk.by[pkt.DropOffchipBW], "the dropping queue may not use the reserve")
				require.Equal(t, uint64(1), as.Queues[0].Drops[pkt.DropOffchipBW])
				require.Equal(t, uint64(1), hs.Queues[0].Drops[hybrid.BandwidthReserve])
				require.Equal(t, 5, as.Queues[0].Pkts)
			} else {
				require.Zero(t, sk.by[pkt.DropOffchipBW])
				require.Equal(t, 6, as.Queues[0].Pkts)
			}
			require.Equal(t, 4, as.Queues[1].Pkts, "the queue that is not dropping still writes off-chip")
			require.Zero(t, as.Queues[1].TotalDrops())
		})
	}
}
