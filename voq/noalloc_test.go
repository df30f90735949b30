package voq

import (
	"math/rand/v2"
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

// hotConfigs are the configurations whose hot path must not allocate and which the
// benchmarks measure: every architecture, scheduler and arbiter, FQ-CoDel, and AQM.
func hotConfigs() []struct {
	name string
	cfg  Config
} {
	p4 := ports(4)
	rates := []Rate{{}, {}, {BitsPerSec: 1e9, BurstBytes: 64000}, {BitsPerSec: 5e9, BurstBytes: 64000}}
	markEvery := func(int, uint8) aqm.Policy { return &everyNth{n: 7, verdict: aqm.Mark} }
	dropEvery := func(int, uint8) aqm.Policy { return &everyNth{n: 11, verdict: aqm.Drop} }
	return []struct {
		name string
		cfg  Config
	}{
		{"egress/sp", Config{Kind: KindEgress, Ports: p4, Classes: 4, LimitPkts: 256}},
		{"egress/drr", Config{Kind: KindEgress, Ports: p4, Classes: 4, LimitPkts: 256, Sched: SchedConfig{Kind: SchedDRR}}},
		{"egress/wdrr", Config{Kind: KindEgress, Ports: p4, Classes: 4, LimitPkts: 256, Sched: SchedConfig{Kind: SchedWDRR, Weights: []int{1, 2, 3, 4}}}},
		{"egress/sp+rates", Config{Kind: KindEgress, Ports: p4, Classes: 4, LimitPkts: 256, Sched: SchedConfig{Rates: rates}}},
		{"egress/head+aqm", Config{Kind: KindEgress, Ports: p4, Classes: 4, LimitPkts: 16, Overflow: OverflowHead, AQM: dropEvery}},
		{"egress/fq-codel", Config{Kind: KindEgress, Ports: p4, Classes: 2, FQ: &FQConfig{}, AQM: markEvery}},
		{"voq/rr", Config{Kind: KindVOQ, Ports: p4, Classes: 4, LimitPkts: 256, Arbiter: ArbiterRR}},
		{"voq/drr", Config{Kind: KindVOQ, Ports: p4, Classes: 4, LimitPkts: 256, Arbiter: ArbiterDRR, Sched: SchedConfig{Kind: SchedDRR}}},
		{"voq/islip", Config{Kind: KindVOQ, Ports: p4, Classes: 4, LimitPkts: 256, Arbiter: ArbiterISLIP}},
		{"voq/islip+speedup+wdrr+rates", Config{Kind: KindVOQ, Ports: p4, Classes: 4, LimitPkts: 256, Arbiter: ArbiterISLIP, ISLIPIterations: 3, Speedup: 1.5,
			Sched: SchedConfig{Kind: SchedWDRR, Rates: rates}}},
		{"voq/fq-codel", Config{Kind: KindVOQ, Ports: p4, Classes: 1, Arbiter: ArbiterDRR, FQ: &FQConfig{Flows: 64, LimitPkts: 512}, AQM: dropEvery}},
		{"input-fifo", Config{Kind: KindInputFIFO, Ports: p4, LimitPkts: 256}},
		{"input-fifo/head+aqm", Config{Kind: KindInputFIFO, Ports: p4, LimitPkts: 16, Overflow: OverflowHead, AQM: markEvery}},
	}
}

// traffic is a reusable burst of descriptors with random ports, classes, sizes and flows.
type traffic struct {
	tmpl, burst []pkt.Desc
	out         []pkt.Desc
	sink        *recSink
	now         int64
}

func newTraffic(n int, seed uint64) *traffic {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &traffic{tmpl: make([]pkt.Desc, n), burst: make([]pkt.Desc, n), out: make([]pkt.Desc, 32), sink: &recSink{}}
	for i := range t.tmpl {
		t.tmpl[i] = mk(i+1, rng.IntN(4), rng.IntN(4), uint8(rng.IntN(8)), 64+rng.IntN(1437), 0)
		t.tmpl[i].ECN = 2
	}
	return t
}

// round enqueues the burst and dequeues from every port until nothing more comes out
// (bounded, because a time-slotted arch may need several rounds).
func (t *traffic) round(a Arch) int {
	t.now += 10_000
	copy(t.burst, t.tmpl)
	for i := range t.burst {
		t.burst[i].Enq = t.now
		a.Enqueue(t.now, &t.burst[i], t.sink)
	}
	got := 0
	for range 64 {
		n := 0
		for p := range 4 {
			n += a.Dequeue(t.now, p, t.out, 1<<20, t.sink)
		}
		got += n
		if n == 0 {
			break
		}
	}
	return got
}

func TestNoAllocs(t *testing.T) {
	var sinkN int
	for _, hc := range hotConfigs() {
		t.Run(hc.name, func(t *testing.T) {
			a := mustNew(t, hc.cfg)
			tr := newTraffic(16, 1)
			tr.round(a) // warm: first use of every queue
			allocs := testing.AllocsPerRun(500, func() { sinkN += tr.round(a) })
			require.Zero(t, allocs, "Enqueue+Dequeue")
			allocs = testing.AllocsPerRun(500, func() {
				sinkN += tr.round(a)
				a.Publish()
				p, _ := a.Backlog(1)
				sinkN += p
			})
			require.Zero(t, allocs, "with Publish and Backlog")
			// EnqueueBurst and PassBurst: bursts for one port (passed where the arch can).
			one := make([]pkt.Desc, 16)
			allocs = testing.AllocsPerRun(500, func() {
				tr.now += 10_000
				for i := range one {
					one[i] = tr.tmpl[i]
					one[i].OutPort, one[i].Enq = 1, tr.now
				}
				if a.PassBurst(tr.now, one, tr.sink) < 0 {
					a.EnqueueBurst(tr.now, one, tr.sink)
				}
				sinkN += a.Dequeue(tr.now, 1, tr.out, 1<<20, tr.sink)
			})
			require.Zero(t, allocs, "EnqueueBurst/PassBurst")
			require.Positive(t, sinkN)
		})
	}
}

// BenchmarkEnqueueDequeue reports ns and allocations per packet (enqueue plus dequeue)
// for every configuration, with bursts of 32 random packets over 4 ports.
func BenchmarkEnqueueDequeue(b *testing.B) {
	for _, hc := range hotConfigs() {
		b.Run(hc.name, func(b *testing.B) {
			a := mustNew(b, hc.cfg)
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

// BenchmarkPublish measures one Publish after a burst of 32 packets touched the queues
// (the burst itself is included; compare with BenchmarkEnqueueDequeue).
func BenchmarkPublish(b *testing.B) {
	for _, name := range []string{"egress/sp", "voq/islip", "egress/fq-codel"} {
		for _, hc := range hotConfigs() {
			if hc.name != name {
				continue
			}
			b.Run(name, func(b *testing.B) {
				a := mustNew(b, hc.cfg)
				tr := newTraffic(32, 3)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					tr.round(a)
					a.Publish()
				}
			})
		}
	}
}

// BenchmarkSnapshot is the reader's cost for a 16x16x8 VOQ arch (2048 queues).
func BenchmarkSnapshot(b *testing.B) {
	a := mustNew(b, Config{Kind: KindVOQ, Ports: ports(16), Classes: 8, LimitPkts: 64})
	var s ArchSnapshot
	b.ReportAllocs()
	for range b.N {
		a.Snapshot(&s)
	}
}

// BenchmarkRouterShape is the dataplane's common case: one output port, one class,
// a 1024-packet limit, bursts of 32 packets offered with EnqueueBurst and dequeued in
// one call right after (the queue never builds up): plain FIFO, CoDel, and FQ-CoDel with
// 4 flows of 8 packets per burst, and with 32 flows of one packet (the worst case: every
// packet opens a flow, which is listed, served and retired). ns/op is per packet.
func BenchmarkRouterShape(b *testing.B) {
	codel := func(int, uint8) aqm.Policy {
		cfg, err := aqm.NewCoDelConfig(aqm.CoDelParams{})
		if err != nil {
			b.Fatal(err)
		}
		return aqm.NewCoDel(cfg)
	}
	for _, c := range []struct {
		name  string
		f     Factory
		fq    *FQConfig
		flows int
	}{{"fifo", nil, nil, 32}, {"codel", codel, nil, 32}, {"fq-codel/4-flows", codel, &FQConfig{}, 4},
		{"fq-codel/32-flows", codel, &FQConfig{}, 32}} {
		b.Run(c.name, func(b *testing.B) {
			a := mustNew(b, Config{Kind: KindEgress, Ports: []int{1}, Inputs: []int{0}, Classes: 1, LimitPkts: 1024, AQM: c.f, FQ: c.fq})
			burst := make([]pkt.Desc, 32)
			out := make([]pkt.Desc, 32)
			sink := &recSink{}
			var now int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += 32 {
				now += 3000
				for j := range burst {
					burst[j] = pkt.Desc{Mbuf: uintptr(j + 1), Enq: now, Hash: uint32(j % c.flows), Len: 64, InPort: 0, OutPort: 1}
				}
				a.EnqueueBurst(now, burst, sink)
				if n := a.Dequeue(now, 1, out, 1<<30, sink); n != 32 {
					b.Fatalf("dequeued %d, want 32", n)
				}
			}
		})
	}
}
