package buffer

import (
	"math/rand/v2"
	"testing"

	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/stretchr/testify/require"
)

// hotArchs are the configurations of the alloc test and the benchmarks: one of each
// architecture, plus FQ-CoDel.
func hotArchs() []struct {
	name string
	cfg  voq.Config
} {
	return []struct {
		name string
		cfg  voq.Config
	}{
		{"egress/sp", voq.Config{Kind: voq.KindEgress, Ports: p4, Classes: 4, LimitPkts: 256}},
		{"egress/fq-codel", voq.Config{Kind: voq.KindEgress, Ports: p4, Classes: 2, FQ: &voq.FQConfig{Flows: 64, LimitPkts: 512}}},
		{"voq/islip", voq.Config{Kind: voq.KindVOQ, Ports: p4, Classes: 4, LimitPkts: 256, Arbiter: voq.ArbiterISLIP}},
		{"input-fifo", voq.Config{Kind: voq.KindInputFIFO, Ports: p4, LimitPkts: 256}},
	}
}

// benchModel builds the named model for cfg ("none" returns cfg unchanged). Queues
// past 8 packets go off-chip. By default the pools are large and the off-chip
// bandwidth high so that the benchmarks measure admission and release rather than
// refusals; tight makes both models refuse part of every burst (20 descriptors, an
// 8 KiB on-chip tier, 1 Gb/s off-chip).
func benchModel(t testing.TB, cfg voq.Config, kind string, tight bool) (voq.Config, *Model) {
	if kind == "none" {
		return cfg, nil
	}
	layout, err := voq.Layout(cfg)
	require.NoError(t, err)
	var bc Config
	if kind == "carving" || kind == "both" {
		bc.Carving = &carving.Config{
			Pools:    []carving.Pool{{Name: "p", Size: 16 << 20, Mode: carving.Dynamic, Descriptors: 1 << 16}},
			Profiles: []carving.Profile{{Name: "q", Pool: "p", Reserved: 4096, DynamicTh: 1}},
		}
	}
	if kind == "hybrid" || kind == "both" {
		bc.Hybrid = &hybrid.Params{Enabled: true, OnchipBytes: 1 << 20, OffchipBytes: 64 << 20, OffchipRate: 1e12, EvictPackets: 8, EvictBytes: -1}
	}
	if tight && bc.Carving != nil {
		bc.Carving.Pools[0].Descriptors = 20
	}
	if tight && bc.Hybrid != nil {
		bc.Hybrid.OnchipBytes, bc.Hybrid.OffchipRate = 8<<10, 1e9
	}
	bc.SetLayout(layout, func(voq.QueueInfo) string { return "q" })
	m := mustModel(t, bc)
	cfg.Memory = m
	return cfg, m
}

// burst is a reusable set of random packets over 4 ports, enqueued then dequeued.
type burst struct {
	tmpl, pkts, out []pkt.Desc
	sink            *sink
	now             int64
}

func newBurst(n int, seed uint64) *burst {
	rng := rand.New(rand.NewPCG(seed, 3))
	b := &burst{tmpl: make([]pkt.Desc, n), pkts: make([]pkt.Desc, n), out: make([]pkt.Desc, 32), sink: &sink{}}
	for i := range b.tmpl {
		b.tmpl[i] = pkt.Desc{Mbuf: uintptr(i + 1), Hash: rng.Uint32(), Len: uint32(64 + rng.IntN(1437)),
			InPort: uint16(rng.IntN(4)), OutPort: uint16(rng.IntN(4)), Class: uint8(rng.IntN(8))}
	}
	return b
}

// round enqueues the burst, then dequeues from every port until nothing comes out.
func (b *burst) round(a voq.Arch) int {
	b.now += 10_000
	copy(b.pkts, b.tmpl)
	for i := range b.pkts {
		b.pkts[i].Enq = b.now
		a.Enqueue(b.now, &b.pkts[i], b.sink)
	}
	got := 0
	for range 64 {
		n := 0
		for p := range 4 {
			n += a.Dequeue(b.now, p, b.out, 1<<20, b.sink)
		}
		got += n
		if n == 0 {
			break
		}
	}
	return got
}

// TestNoAllocs: enqueue+dequeue (and Publish) through every architecture with both
// models allocate nothing, on paths that include off-chip tiers and refusals.
func TestNoAllocs(t *testing.T) {
	var sinkN int
	for _, ha := range hotArchs() {
		for _, kind := range []string{"carving", "hybrid", "both"} {
			t.Run(ha.name+"/"+kind, func(t *testing.T) {
				cfg, m := benchModel(t, ha.cfg, kind, true)
				a, err := voq.New(cfg)
				require.NoError(t, err)
				b := newBurst(32, 1)
				b.round(a)
				allocs := testing.AllocsPerRun(300, func() {
					sinkN += b.round(a)
					a.Publish()
				})
				require.Zero(t, allocs)
				a.Publish()
				if h := m.Hybrid(); h != nil {
					var hs hybrid.Snapshot
					h.Snapshot(&hs)
					require.Positive(t, hs.Admitted[hybrid.Offchip], "off-chip path exercised")
				}
				require.Positive(t, b.sink.by[pkt.DropNoBuffer]+b.sink.by[pkt.DropNoDescriptor]+b.sink.by[pkt.DropOffchipBW], "refusals exercised")
			})
		}
	}
	require.Positive(t, sinkN)
}

// BenchmarkEnqueueDequeue reports ns and allocations per packet (enqueue plus dequeue)
// for each architecture without a buffer model, and with carving, hybrid and both.
func BenchmarkEnqueueDequeue(b *testing.B) {
	for _, ha := range hotArchs() {
		for _, kind := range []string{"none", "carving", "hybrid", "both"} {
			b.Run(ha.name+"/"+kind, func(b *testing.B) {
				cfg, _ := benchModel(b, ha.cfg, kind, false)
				a, err := voq.New(cfg)
				require.NoError(b, err)
				br := newBurst(32, 2)
				br.round(a)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += 32 {
					br.round(a)
				}
			})
		}
	}
}
