package voq

import (
	"math/rand/v2"
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/hist"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

// randomConfigs covers every architecture, scheduler, arbiter, overflow policy, FQ and
// AQM at least once.
func randomConfigs() map[string]Config {
	p4 := ports(4)
	rates := []Rate{{}, {BitsPerSec: 50e6, BurstBytes: 3000}, {}, {BitsPerSec: 200e6, BurstBytes: 1500}}
	return map[string]Config{
		"egress/sp/tail":         {Kind: KindEgress, Ports: p4, Classes: 4, LimitPkts: 20},
		"egress/drr/head/bytes":  {Kind: KindEgress, Ports: p4, Classes: 4, LimitBytes: 12000, Overflow: OverflowHead, Sched: SchedConfig{Kind: SchedDRR}},
		"egress/wdrr/rates/aqm":  {Kind: KindEgress, Ports: p4, Classes: 4, LimitPkts: 30, LimitBytes: 30000, Sched: SchedConfig{Kind: SchedWDRR, Weights: []int{1, 2, 3, 4}, Rates: rates}, AQM: randFactory(1, 0.02, 0.03, 0.05)},
		"egress/fq/aqm":          {Kind: KindEgress, Ports: p4, Classes: 2, FQ: &FQConfig{Flows: 16, LimitPkts: 40, DropBatch: 4}, AQM: randFactory(2, 0.01, 0.03, 0.05)},
		"voq/rr/tail":            {Kind: KindVOQ, Ports: p4, Classes: 2, LimitPkts: 8, Arbiter: ArbiterRR},
		"voq/drr/head/aqm":       {Kind: KindVOQ, Ports: p4, Classes: 3, LimitPkts: 8, Overflow: OverflowHead, Arbiter: ArbiterDRR, Sched: SchedConfig{Kind: SchedDRR}, AQM: randFactory(3, 0.02, 0.03, 0.05)},
		"voq/islip/speedup/rate": {Kind: KindVOQ, Ports: p4, Classes: 4, LimitPkts: 8, Arbiter: ArbiterISLIP, ISLIPIterations: 2, Speedup: 1.5, Sched: SchedConfig{Kind: SchedSP, Rates: rates}},
		"voq/islip/fq":           {Kind: KindVOQ, Ports: p4, Classes: 1, Arbiter: ArbiterISLIP, FQ: &FQConfig{Flows: 8, LimitPkts: 10}},
		"voq/drr/fq-on-class-1":  {Kind: KindVOQ, Ports: p4, Classes: 2, LimitPkts: 6, Arbiter: ArbiterDRR, Sched: SchedConfig{Kind: SchedDRR}, FQ: &FQConfig{Flows: 4, LimitPkts: 12, Classes: []int{1}}},
		"fifo/tail":              {Kind: KindInputFIFO, Ports: p4, LimitPkts: 16},
		"fifo/head/aqm/speedup":  {Kind: KindInputFIFO, Ports: p4, LimitBytes: 20000, Overflow: OverflowHead, Speedup: 2, AQM: randFactory(4, 0.02, 0.03, 0.05)},
	}
}

type flowKey struct {
	in, out uint16
	class   uint8
	hash    uint32
}

// TestRandomizedOrderAndConservation drives every configuration with random arrivals
// (including packets for ports the Arch does not own), random dequeues with random
// budgets, random live limit changes, and finally a Drain. It checks that packets of
// one (input, output, class) — and of one flow for FQ-CoDel — leave in arrival order,
// that every packet leaves exactly once (delivered or dropped, with its reason), and
// that the published books balance at every check.
func TestRandomizedOrderAndConservation(t *testing.T) {
	for name, cfg := range randomConfigs() {
		t.Run(name, func(t *testing.T) {
			a := mustNew(t, cfg)
			rng := rand.New(rand.NewPCG(7, uint64(len(name))))
			sink := &recSink{keep: true}
			classes := max(cfg.Classes, 1)
			lastSeq := map[flowKey]int{}
			lastIn := map[uint16]int{}
			seen := map[int]bool{}
			out := make([]pkt.Desc, 16)
			now := int64(1_000_000)
			offered, delivered, id := 0, 0, 0
			key := func(d *pkt.Desc) flowKey {
				k := flowKey{in: d.InPort, out: d.OutPort}
				if cfg.Kind != KindInputFIFO {
					k.class = min(d.Class, uint8(classes-1))
				}
				if cfg.FQ.has(int(k.class)) {
					k.hash = d.Hash & uint32(cfg.FQ.Flows-1)
				}
				return k
			}
			for step := range 6000 {
				now += int64(rng.IntN(3000))
				switch x := rng.IntN(100); {
				case x < 55:
					id++
					outPort := rng.IntN(5) // port 4 is not owned: DropNoRoute
					d := mk(id, rng.IntN(4), outPort, uint8(rng.IntN(8)), 64+rng.IntN(1437), now)
					d.Hash = uint32(rng.IntN(6)) // few flows so FQ flows share queues
					d.ECN = uint8(rng.IntN(3))
					a.Enqueue(now, &d, sink)
					offered++
				case x < 97:
					port := rng.IntN(4)
					n := a.Dequeue(now, port, out[:1+rng.IntN(len(out))], 1+rng.IntN(6000), sink)
					for _, d := range out[:n] {
						require.Equal(t, port, int(d.OutPort))
						k := key(&d)
						require.Greater(t, int(d.Mbuf), lastSeq[k], "order within %+v", k)
						lastSeq[k] = int(d.Mbuf)
						if cfg.Kind == KindInputFIFO {
							require.Greater(t, int(d.Mbuf), lastIn[d.InPort], "input FIFO order")
							lastIn[d.InPort] = int(d.Mbuf)
						}
						require.False(t, seen[int(d.Mbuf)], "delivered twice")
						seen[int(d.Mbuf)] = true
					}
					delivered += n
				case x < 99:
					if cfg.FQ != nil && cfg.FQ.Classes == nil {
						require.NoError(t, a.SetLimit(rng.IntN(4), -1, 1+rng.IntN(cfg.FQ.LimitPkts), 0))
					} else {
						p := rng.IntN(4)
						require.NoError(t, a.SetLimit(p, rng.IntN(classes), 1+rng.IntN(20), 0))
					}
				default:
					checkBooks(t, a, offered, delivered, sink)
				}
				_ = step
			}
			checkBooks(t, a, offered, delivered, sink)
			require.Positive(t, delivered)
			t.Logf(name+" offered %d delivered %d drops %v", offered, delivered, sink.by)
			drained := a.Drain(sink)
			require.Equal(t, drained, sink.by[pkt.DropShutdown])
			for _, d := range sink.got {
				require.False(t, seen[int(d.Mbuf)], "packet %d both delivered and dropped (%s)", d.Mbuf, pkt.DropReason(d.Tier))
				seen[int(d.Mbuf)] = true
			}
			require.Len(t, seen, offered, "every packet left exactly once")
			checkBooks(t, a, offered, delivered, sink)
			for p := range 4 {
				n, b := a.Backlog(p)
				require.Zero(t, n)
				require.Zero(t, b)
			}
		})
	}
}

func TestEnqueueSetsQueueIndexAndUnrouted(t *testing.T) {
	sink := &recSink{}
	a := mustNew(t, Config{Kind: KindVOQ, Ports: []int{3, 5}, Inputs: []int{1, 3, 5}, Classes: 4, LimitPkts: 4})
	d := mk(1, 5, 3, 2, 100, 0)
	a.Enqueue(0, &d, sink)
	// output 3 is local 0, input 5 is local 2: (0*3+2)*4 + 2
	require.Equal(t, uint32(10), d.Queue)
	bad := []pkt.Desc{mk(2, 5, 4, 0, 100, 0), mk(3, 2, 3, 0, 100, 0), mk(4, 9999, 9999, 0, 100, 0)}
	for i := range bad {
		a.Enqueue(0, &bad[i], sink)
	}
	require.Equal(t, 3, sink.by[pkt.DropNoRoute])
	require.Zero(t, a.Dequeue(0, 4, make([]pkt.Desc, 4), 1<<20, sink), "unknown port")
	n, b := a.Backlog(3)
	require.Equal(t, 1, n)
	require.Equal(t, 100, b)
	var s ArchSnapshot
	a.Publish()
	a.Snapshot(&s)
	require.Equal(t, uint64(3), s.Unrouted)
	q := s.Queues[10]
	require.Equal(t, QueueSnapshot{Index: 10, Port: 3, Input: 5, Class: 2}, QueueSnapshot{Index: q.Index, Port: q.Port, Input: q.Input, Class: q.Class})
	require.Equal(t, 1, q.Pkts)

	e := mustNew(t, Config{Kind: KindEgress, Ports: []int{0, 1}, Classes: 3, LimitPkts: 4})
	d = mk(1, 9, 1, 7, 100, 0) // class 7 clamps to the top class 2; egress accepts any input
	e.Enqueue(0, &d, sink)
	require.Equal(t, uint32(1*3+2), d.Queue)
}

func TestHeadVersusTailDrop(t *testing.T) {
	for _, tc := range []struct {
		name       string
		of         Overflow
		pkts, by   int
		wantKept   []int
		wantReason pkt.DropReason
	}{
		{"tail/pkts", OverflowTail, 4, 0, []int{1, 2, 3, 4}, pkt.DropTail},
		{"head/pkts", OverflowHead, 4, 0, []int{3, 4, 5, 6}, pkt.DropHead},
		{"tail/bytes", OverflowTail, 0, 450, []int{1, 2, 3, 4}, pkt.DropTail},
		{"head/bytes", OverflowHead, 0, 450, []int{3, 4, 5, 6}, pkt.DropHead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, LimitPkts: tc.pkts, LimitBytes: tc.by, Overflow: tc.of})
			sink := &recSink{keep: true}
			for i := 1; i <= 6; i++ {
				d := mk(i, 0, 0, 0, 100, int64(i))
				a.Enqueue(int64(i), &d, sink)
			}
			got := drainPort(a, 10, 0, sink)
			var ids []int
			for _, d := range got {
				ids = append(ids, int(d.Mbuf))
			}
			require.Equal(t, tc.wantKept, ids)
			require.Equal(t, 2, sink.by[tc.wantReason])
			require.Equal(t, 2, sink.total())
			checkBooks(t, a, 6, 4, sink)
		})
	}
	t.Run("head/oversized", func(t *testing.T) {
		// A packet bigger than the whole byte limit must not flush the queue.
		a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, LimitBytes: 1000, Overflow: OverflowHead})
		sink := &recSink{}
		for i := 1; i <= 3; i++ {
			d := mk(i, 0, 0, 0, 300, 0)
			a.Enqueue(0, &d, sink)
		}
		d := mk(4, 0, 0, 0, 1500, 0)
		a.Enqueue(0, &d, sink)
		require.Equal(t, 1, sink.by[pkt.DropTail])
		n, _ := a.Backlog(0)
		require.Equal(t, 3, n)
	})
}

// TestSetLimitShrink: a queue shrunk below its depth loses its oldest packets with
// DropOverflow at the next operation, and the books stay exact; growing past the ring
// reallocates without losing order.
func TestSetLimitShrink(t *testing.T) {
	for _, kind := range []Kind{KindEgress, KindVOQ, KindInputFIFO} {
		t.Run(kind.String(), func(t *testing.T) {
			a := mustNew(t, Config{Kind: kind, Ports: []int{0, 1}, Classes: 2, LimitPkts: 10})
			sink := &recSink{keep: true}
			for i := 1; i <= 10; i++ {
				d := mk(i, 1, 0, 1, 100, 0)
				a.Enqueue(0, &d, sink)
			}
			class := 1
			port := 0
			if kind == KindInputFIFO {
				port = 1 // input-fifo limits are per input
			}
			require.Error(t, a.SetLimit(7, class, 4, 0))
			require.Error(t, a.SetLimit(port, class, 0, 0))
			require.NoError(t, a.SetLimit(port, class, 4, 0))
			n, _ := a.Backlog(0)
			require.Equal(t, 10, n, "nothing happens until the next operation")
			out := make([]pkt.Desc, 1)
			require.Equal(t, 1, a.Dequeue(1, 0, out, 1<<20, sink))
			require.Equal(t, uintptr(7), out[0].Mbuf, "the six oldest went first")
			require.Equal(t, 6, sink.by[pkt.DropOverflow])
			for i, d := range sink.got {
				require.Equal(t, uintptr(i+1), d.Mbuf)
			}
			checkBooks(t, a, 10, 1, sink)
			// Grow well past the ring and fill: order survives the reallocation.
			require.NoError(t, a.SetLimit(port, class, 100, 0))
			for i := 11; i <= 80; i++ {
				d := mk(i, 1, 0, 1, 100, 0)
				a.Enqueue(2, &d, sink)
			}
			got := drainPort(a, 3, 0, sink)
			require.Len(t, got, 73)
			for i := 1; i < len(got); i++ {
				require.Less(t, got[i-1].Mbuf, got[i].Mbuf)
			}
			checkBooks(t, a, 80, 74, sink)
		})
	}
}

func TestAQMVerdicts(t *testing.T) {
	t.Run("drop every 3rd at dequeue", func(t *testing.T) {
		a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, LimitPkts: 64,
			AQM: func(int, uint8) aqm.Policy { return &everyNth{n: 3, verdict: aqm.Drop} }})
		sink := &recSink{keep: true}
		for i := 1; i <= 9; i++ {
			d := mk(i, 0, 0, 0, 100, 0)
			a.Enqueue(0, &d, sink)
		}
		got := drainPort(a, 5000, 0, sink)
		require.Len(t, got, 6)
		require.Equal(t, 3, sink.by[pkt.DropAQM])
		for i, d := range sink.got {
			require.Equal(t, uintptr(3*(i+1)), d.Mbuf)
		}
		var s ArchSnapshot
		a.Publish()
		a.Snapshot(&s)
		require.Equal(t, uint64(3), s.Queues[0].AQM.Drops, "policy state is published")
		// Every sojourn is 5000 ns: one bucket, [4992, 5056), and its quantiles read
		// 5000 within the histogram's 1/128.
		require.Equal(t, []hist.Bucket{{Lo: 4992, Hi: 5056, Count: 6}}, s.Queues[0].Sojourn.Buckets)
		require.InDelta(t, 5000, s.Queues[0].Sojourn.Quantile(0.5), 5000.0/128)
		require.InDelta(t, 5000, s.Queues[0].Sojourn.Quantile(0.99), 5000.0/128)
		require.Equal(t, s.Queues[0].Sojourn.Buckets, s.Ports[0].Sojourn.Buckets, "the port counts them too")
	})
	t.Run("mark: ECT marked, not-ECT dropped", func(t *testing.T) {
		a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, LimitPkts: 64,
			AQM: func(int, uint8) aqm.Policy { return &everyNth{n: 1, verdict: aqm.Mark} }})
		sink := &recSink{}
		for i := 1; i <= 4; i++ {
			d := mk(i, 0, 0, 0, 100, 0)
			d.ECN = uint8(i % 2 * 2) // odd ids ECT(0)
			a.Enqueue(0, &d, sink)
		}
		got := drainPort(a, 1, 0, sink)
		require.Len(t, got, 2)
		for _, d := range got {
			require.Equal(t, pkt.FlagMarkCE, d.Flags)
			require.Equal(t, uintptr(1), d.Mbuf%2)
		}
		require.Equal(t, 2, sink.by[pkt.DropAQM])
		var s ArchSnapshot
		a.Publish()
		a.Snapshot(&s)
		require.Equal(t, uint64(2), s.Queues[0].Marks)
		require.Equal(t, uint64(2), s.Ports[0].Marks)
	})
	t.Run("SetPolicy", func(t *testing.T) {
		a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, Classes: 2, LimitPkts: 64})
		require.NoError(t, a.SetPolicy(0, 1, func(int, uint8) aqm.Policy { return &everyNth{n: 1, verdict: aqm.Drop} }))
		require.Error(t, a.SetPolicy(1, 1, nil))
		sink := &recSink{}
		for c := range 2 {
			d := mk(c+1, 0, 0, uint8(c), 100, 0)
			a.Enqueue(0, &d, sink)
		}
		got := drainPort(a, 1, 0, sink)
		require.Len(t, got, 1)
		require.Equal(t, uint8(0), got[0].Class)
		require.Equal(t, 1, sink.by[pkt.DropAQM])
	})
}

func TestHeadSojournAndPortAggregate(t *testing.T) {
	a := mustNew(t, Config{Kind: KindVOQ, Ports: []int{0, 1}, Classes: 2, LimitPkts: 8})
	sink := &recSink{}
	d1 := mk(1, 1, 0, 1, 100, 1000)
	d2 := mk(2, 0, 0, 0, 200, 500) // older head, other input and class
	d3 := mk(3, 0, 1, 0, 300, 900)
	a.Enqueue(1000, &d1, sink)
	a.Enqueue(1000, &d2, sink)
	a.Enqueue(2500, &d3, sink)
	a.Publish()
	var s ArchSnapshot
	a.Snapshot(&s)
	require.Equal(t, int64(2500), s.Now)
	require.Equal(t, 2, s.Ports[0].Pkts)
	require.Equal(t, 300, s.Ports[0].Bytes)
	require.Equal(t, int64(2000), s.Ports[0].HeadSojourn, "oldest head across all VOQs of port 0")
	require.Equal(t, int64(1600), s.Ports[1].HeadSojourn)
	var withHead int
	for _, q := range s.Queues {
		if q.Pkts > 0 {
			withHead++
			require.Positive(t, q.HeadSojourn)
		} else {
			require.Zero(t, q.HeadSojourn)
		}
	}
	require.Equal(t, 3, withHead)
}
