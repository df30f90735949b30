package voq

import (
	"math/rand/v2"
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

// TestBurstPathsMatchPerPacket drives the same random traffic through two egress
// archs: one with a single class, where EnqueueBurst takes whole runs and Dequeue takes
// runs from the leaf, and one with two classes under DRR (every packet in class 0),
// where each packet goes through Enqueue and the scheduler's per-packet dequeue.
// Deliveries, drops and every counter must be identical.
func TestBurstPathsMatchPerPacket(t *testing.T) {
	codel := func(int, uint8) aqm.Policy {
		cfg, err := aqm.NewCoDelConfig(aqm.CoDelParams{ECN: true})
		require.NoError(t, err)
		return aqm.NewCoDel(cfg)
	}
	markEvery := func(int, uint8) aqm.Policy { return &everyNth{n: 5, verdict: aqm.Mark} }
	dropEvery := func(int, uint8) aqm.Policy { return &everyNth{n: 7, verdict: aqm.Drop} }
	for _, c := range []struct {
		name   string
		f      Factory
		pkts   int
		bytes  int
		budget int // per port and round (arrivals average about 6 kB per port)
		fq     bool
		buf    bool // with a buffer model (checkBuf: refuses at random and when full)
	}{
		{"tail-pkts", nil, 48, 0, 12000, false, false},
		{"tail-bytes", nil, 0, 20000, 12000, false, false},
		{"codel", codel, 1000, 0, 9000, false, false}, // overloaded: a standing queue builds
		{"mark", markEvery, 64, 0, 12000, false, false},
		{"drop", dropEvery, 64, 0, 12000, false, false},
		{"fq-codel", codel, 300, 0, 9000, true, false},  // FQ-CoDel, overloaded
		{"fq-overflow", nil, 40, 0, 12000, true, false}, // FQ without AQM: fattest-flow drops
		{"buffer-tail", nil, 48, 0, 12000, false, true},
		{"buffer-codel", codel, 1000, 0, 9000, false, true},
		{"buffer-drop", dropEvery, 64, 0, 12000, false, true},
		{"buffer-fq-codel", codel, 300, 0, 9000, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var bufs []*checkBuf
			mkCfg := func(classes int) Config {
				cfg := Config{Kind: KindEgress, Ports: []int{1, 2}, Inputs: []int{0, 3}, Classes: classes,
					LimitPkts: c.pkts, LimitBytes: c.bytes, AQM: c.f}
				if classes > 1 {
					// DRR takes its decision per packet (strict priority would take
					// class 0's packets as one run, see TestSPRunsMatchPerPacket).
					cfg.Sched = SchedConfig{Kind: SchedDRR}
				}
				if c.fq {
					cfg.FQ = &FQConfig{Flows: 16, LimitPkts: c.pkts}
				}
				if c.buf {
					b := newCheckBuf(t, 2*classes, 5, 0.03, 3*c.pkts/2) // the same seed for both
					bufs = append(bufs, b)
					cfg.Memory = b
				}
				return cfg
			}
			fast, ref := mustNew(t, mkCfg(1)), mustNew(t, mkCfg(2))
			fs, rs := &recSink{keep: true}, &recSink{keep: true}
			rng := rand.New(rand.NewPCG(7, 9))
			var now int64
			id := 0
			burst, copyB := make([]pkt.Desc, 32), make([]pkt.Desc, 32)
			fo, ro := make([]pkt.Desc, 32), make([]pkt.Desc, 32)
			delivered := 0
			for round := 0; round < 3000; round++ {
				now += int64(rng.IntN(2_000_000))
				n := rng.IntN(33)
				for i := range burst[:n] {
					id++
					burst[i] = pkt.Desc{Mbuf: uintptr(id), Enq: now, Len: uint32(64 + rng.IntN(1451)),
						InPort: uint16([]int{0, 3}[rng.IntN(2)]), OutPort: uint16(1 + rng.IntN(2)), ECN: uint8(rng.IntN(3)),
						Hash: uint32(rng.IntN(40))}
					if rng.IntN(50) == 0 {
						burst[i].OutPort = 9 // not routed by this arch
					}
				}
				copy(copyB, burst[:n])
				fast.EnqueueBurst(now, burst[:n], fs)
				for i := range copyB[:n] {
					ref.Enqueue(now, &copyB[i], rs)
				}
				for port := 1; port <= 2; port++ {
					budget, m := rng.IntN(c.budget), rng.IntN(33)
					k := fast.Dequeue(now, port, fo[:m], budget, fs)
					require.Equal(t, k, ref.Dequeue(now, port, ro[:m], budget, rs), "round %d port %d", round, port)
					for i := range fo[:k] {
						f, r := fo[i], ro[i]
						require.Equal(t, [3]uint64{uint64(r.Mbuf), uint64(r.Flags), uint64(r.Len)},
							[3]uint64{uint64(f.Mbuf), uint64(f.Flags), uint64(f.Len)}, "round %d port %d packet %d", round, port, i)
					}
					delivered += k
				}
			}
			fast.Drain(fs)
			ref.Drain(rs)
			require.Equal(t, len(rs.got), len(fs.got))
			for i := range rs.got {
				// Tier holds the drop reason (recSink)
				require.Equal(t, [2]uint64{uint64(rs.got[i].Mbuf), uint64(rs.got[i].Tier)},
					[2]uint64{uint64(fs.got[i].Mbuf), uint64(fs.got[i].Tier)}, "drop %d", i)
			}
			fast.Publish()
			ref.Publish()
			var fsn, rsn ArchSnapshot
			fast.Snapshot(&fsn)
			ref.Snapshot(&rsn)
			require.Equal(t, rsn.Unrouted, fsn.Unrouted)
			require.Equal(t, rsn.Ports, fsn.Ports)
			for p := range fsn.Ports {
				fq, rq := fsn.Queues[p], rsn.Queues[2*p]
				require.Equal(t, rq.QueueStats, fq.QueueStats, "queue of port %d", p)
				require.Equal(t, rq.AQM, fq.AQM)
			}
			if c.buf {
				f, r := bufs[0], bufs[1]
				require.Equal(t, r.admits, f.admits)
				require.Equal(t, r.releases, f.releases)
				require.Equal(t, r.refused, f.refused)
				require.Equal(t, r.observed, f.observed)
				require.Empty(t, f.held)
				require.Positive(t, f.refused, "the buffer refused some")
				require.Positive(t, f.releases[0], "some stored packets were dropped")
			}
			// The traffic exercised what it is meant to.
			require.Greater(t, delivered, 10000)
			require.Positive(t, fsn.Ports[0].Drops[pkt.DropShutdown]+fsn.Ports[1].Drops[pkt.DropShutdown])
			switch c.name {
			case "tail-pkts", "tail-bytes", "buffer-tail":
				require.Positive(t, fsn.Ports[0].Drops[pkt.DropTail])
			case "mark", "codel":
				require.Positive(t, fsn.Ports[0].Marks)
			case "drop", "buffer-drop":
				require.Positive(t, fsn.Ports[0].Drops[pkt.DropAQM])
			case "fq-codel", "buffer-fq-codel":
				require.Positive(t, fsn.Ports[0].Drops[pkt.DropAQM]+fsn.Ports[0].Marks)
			case "fq-overflow":
				require.Positive(t, fsn.Ports[0].Drops[pkt.DropOverflow])
			}
		})
	}
}

// TestSPRunsMatchPerPacket: strict priority without class rates dequeues the top
// class's packets as one run; with rates (here too high to ever hold a class back) the
// scheduler decides packet by packet. Both must deliver, drop and count the same, with
// traffic over three classes, plain queues and an FQ-CoDel class, and CoDel.
func TestSPRunsMatchPerPacket(t *testing.T) {
	codel := func(int, uint8) aqm.Policy {
		cfg, err := aqm.NewCoDelConfig(aqm.CoDelParams{ECN: true})
		require.NoError(t, err)
		return aqm.NewCoDel(cfg)
	}
	huge := Rate{BitsPerSec: 1e12, BurstBytes: 1 << 30}
	mk := func(rates []Rate) Arch {
		return mustNew(t, Config{Kind: KindEgress, Ports: []int{1, 2}, Inputs: []int{0}, Classes: 3, LimitPkts: 200,
			AQM: codel, FQ: &FQConfig{Flows: 16, LimitPkts: 200, Classes: []int{1}}, Sched: SchedConfig{Rates: rates}})
	}
	fast, ref := mk(nil), mk([]Rate{huge, huge, huge})
	fs, rs := &recSink{keep: true}, &recSink{keep: true}
	rng := rand.New(rand.NewPCG(3, 5))
	burst, copyB := make([]pkt.Desc, 32), make([]pkt.Desc, 32)
	fo, ro := make([]pkt.Desc, 32), make([]pkt.Desc, 32)
	var now int64
	id, delivered := 0, 0
	for round := 0; round < 3000; round++ {
		now += int64(rng.IntN(2_000_000))
		n := rng.IntN(33)
		for i := range burst[:n] {
			id++
			burst[i] = pkt.Desc{Mbuf: uintptr(id), Enq: now, Len: uint32(64 + rng.IntN(1451)), OutPort: uint16(1 + rng.IntN(2)),
				Class: uint8(rng.IntN(3)), ECN: uint8(rng.IntN(3)), Hash: uint32(rng.IntN(40))}
		}
		copy(copyB, burst[:n])
		fast.EnqueueBurst(now, burst[:n], fs)
		ref.EnqueueBurst(now, copyB[:n], rs)
		for port := 1; port <= 2; port++ {
			budget, m := rng.IntN(9000), rng.IntN(33)
			k := fast.Dequeue(now, port, fo[:m], budget, fs)
			require.Equal(t, k, ref.Dequeue(now, port, ro[:m], budget, rs), "round %d port %d", round, port)
			for i := range fo[:k] {
				require.Equal(t, [2]uint64{uint64(ro[i].Mbuf), uint64(ro[i].Flags)}, [2]uint64{uint64(fo[i].Mbuf), uint64(fo[i].Flags)},
					"round %d port %d packet %d", round, port, i)
			}
			delivered += k
		}
	}
	require.Equal(t, rs.by, fs.by)
	fast.Publish()
	ref.Publish()
	var fsn, rsn ArchSnapshot
	fast.Snapshot(&fsn)
	ref.Snapshot(&rsn)
	require.Equal(t, rsn.Queues, fsn.Queues)
	require.Equal(t, rsn.Ports, fsn.Ports)
	require.Greater(t, delivered, 10000)
	require.Positive(t, fsn.Ports[0].Drops[pkt.DropAQM]+fsn.Ports[0].Marks, "CoDel acted")
	require.Positive(t, fsn.Queues[0].Dequeued*fsn.Queues[1].Dequeued*fsn.Queues[2].Dequeued, "every class delivered")
}

// TestPassBurstMatchesQueueing: PassBurst must count and deliver exactly what
// EnqueueBurst followed by a Dequeue taking everything would. Two identical egress archs
// get the same random traffic (bursts for one port or mixed, some larger than the
// limit, dequeues that sometimes leave a standing queue); where the first passes a
// burst, the second queues it and dequeues the port at once. Deliveries, drops and
// every counter must be identical, and both outcomes of PassBurst must occur.
func TestPassBurstMatchesQueueing(t *testing.T) {
	codel := func(int, uint8) aqm.Policy {
		cfg, err := aqm.NewCoDelConfig(aqm.CoDelParams{ECN: true})
		require.NoError(t, err)
		return aqm.NewCoDel(cfg)
	}
	markEvery := func(int, uint8) aqm.Policy { return &everyNth{n: 5, verdict: aqm.Mark, dqOnly: true} }
	dropEvery := func(int, uint8) aqm.Policy { return &everyNth{n: 7, verdict: aqm.Drop, dqOnly: true} }
	enqPolicy := func(int, uint8) aqm.Policy { return &everyNth{n: 7, verdict: aqm.Drop} } // not dequeue-only
	for _, c := range []struct {
		name      string
		f         Factory
		pkts      int
		bytes     int
		head      bool
		neverPass bool
	}{
		{"tail", nil, 24, 0, false, false},
		{"bytes", nil, 0, 20000, false, false},
		{"head", nil, 24, 0, true, false},
		{"codel", codel, 1000, 0, false, false},
		{"mark", markEvery, 64, 0, false, false},
		{"drop", dropEvery, 64, 0, false, false},
		{"enqueue-aqm", enqPolicy, 64, 0, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			mk := func() Arch {
				ov := OverflowTail
				if c.head {
					ov = OverflowHead
				}
				return mustNew(t, Config{Kind: KindEgress, Ports: []int{1, 2}, Inputs: []int{0, 3}, Classes: 1,
					LimitPkts: c.pkts, LimitBytes: c.bytes, AQM: c.f, Overflow: ov})
			}
			pa, qa := mk(), mk()
			ps, qs := &recSink{keep: true}, &recSink{keep: true}
			rng := rand.New(rand.NewPCG(11, 13))
			var now int64
			id, passed, refused := 0, 0, 0
			burst, copyB := make([]pkt.Desc, 32), make([]pkt.Desc, 32)
			po, qo := make([]pkt.Desc, 32), make([]pkt.Desc, 32)
			for round := 0; round < 4000; round++ {
				now += int64(rng.IntN(3_000_000))
				n := 1 + rng.IntN(32)
				mixed := rng.IntN(4) == 0
				port := uint16(1 + rng.IntN(2))
				for i := range burst[:n] {
					id++
					burst[i] = pkt.Desc{Mbuf: uintptr(id), Enq: now - int64(rng.IntN(3)), Len: uint32(64 + rng.IntN(1451)),
						InPort: uint16([]int{0, 3}[rng.IntN(2)]), OutPort: port, ECN: uint8(rng.IntN(3)), Hash: rng.Uint32()}
					if mixed {
						burst[i].OutPort = uint16(1 + rng.IntN(2))
					}
				}
				port = burst[0].OutPort // a mixed burst may be for one port all the same
				copy(copyB, burst[:n])
				k := pa.PassBurst(now, burst[:n], ps)
				if k < 0 {
					refused++
					pa.EnqueueBurst(now, burst[:n], ps)
					qa.EnqueueBurst(now, copyB[:n], qs)
				} else {
					passed++
					qa.EnqueueBurst(now, copyB[:n], qs)
					out := make([]pkt.Desc, n)
					m := qa.Dequeue(now, int(port), out, 1<<40, qs)
					require.Equal(t, m, k, "round %d", round)
					for i := range out[:m] {
						require.Equal(t, [3]uint64{uint64(out[i].Mbuf), uint64(out[i].Flags), uint64(out[i].Len)},
							[3]uint64{uint64(burst[i].Mbuf), uint64(burst[i].Flags), uint64(burst[i].Len)}, "round %d packet %d", round, i)
					}
					bp, _ := qa.Backlog(int(port))
					require.Zero(t, bp, "round %d: the reference kept packets the pass delivered", round)
				}
				// Dequeues that sometimes drain the ports and sometimes leave a queue.
				for port := 1; port <= 2; port++ {
					if rng.IntN(3) == 0 {
						continue
					}
					budget, m := rng.IntN(40000), rng.IntN(33)
					x := pa.Dequeue(now, port, po[:m], budget, ps)
					require.Equal(t, x, qa.Dequeue(now, port, qo[:m], budget, qs), "round %d port %d", round, port)
					for i := range po[:x] {
						require.Equal(t, qo[i].Mbuf, po[i].Mbuf, "round %d port %d packet %d", round, port, i)
					}
				}
			}
			pa.Drain(ps)
			qa.Drain(qs)
			require.Equal(t, len(qs.got), len(ps.got))
			for i := range qs.got {
				require.Equal(t, [3]uint64{uint64(qs.got[i].Mbuf), uint64(qs.got[i].Tier), uint64(qs.got[i].Queue)},
					[3]uint64{uint64(ps.got[i].Mbuf), uint64(ps.got[i].Tier), uint64(ps.got[i].Queue)}, "drop %d", i)
			}
			pa.Publish()
			qa.Publish()
			var psn, qsn ArchSnapshot
			pa.Snapshot(&psn)
			qa.Snapshot(&qsn)
			require.Equal(t, qsn.Ports, psn.Ports)
			require.Equal(t, qsn.Queues, psn.Queues)
			require.Positive(t, refused)
			if c.neverPass {
				require.Zero(t, passed)
				return
			}
			require.Greater(t, passed, 100)
			switch c.name {
			case "codel":
				require.Positive(t, psn.Ports[0].Marks+psn.Ports[0].Drops[pkt.DropAQM])
			case "mark":
				require.Positive(t, psn.Ports[0].Marks)
			case "drop":
				require.Positive(t, psn.Ports[0].Drops[pkt.DropAQM])
			case "tail":
				require.Positive(t, psn.Ports[0].Drops[pkt.DropTail])
			case "head":
				require.Positive(t, psn.Ports[0].Drops[pkt.DropHead])
			}
		})
	}
}
