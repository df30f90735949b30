package dataplane

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/traffic"
)

// sourceSinkCycle starts a router (loop not launched) with a source port sending pps
// frames/s of size bytes to a sink port, and returns the function that runs one loop
// iteration's traffic work by hand, 10 µs later than the previous one.
func sourceSinkCycle(tb testing.TB, pps float64, size int) (*Router, func()) {
	src := traffic.SourceParams{PPS: pps, Size: size, Flows: 4, CatchUp: -1, Dest: traffic.DestParams{Outputs: []int{1}}}
	cfg := Config{
		Ports: []PortConfig{
			{Name: "src", Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1, Source: &src,
				SourceAddr: traffic.Addressing{SrcIP: 0x0a000002, DstIP: []uint32{0, 0x0a010002}}},
			{Name: "snk", Addr: netip.MustParsePrefix("10.1.0.1/24"), EgressLcore: -1,
				Sink: &traffic.SinkParams{Inputs: 2, Outputs: 2, Classes: 1, Flows: 8}},
		},
		Neighbors: []StaticNeighbor{{IP: netip.MustParseAddr("10.1.0.2"), MAC: [6]byte{2, 0, 0, 0, 0, 9}}},
	}
	handConfig(&cfg)
	r, err := start(cfg, nil, false)
	require.NoError(tb, err)
	w := r.workers[0]
	var now int64
	return r, func() {
		now += 10_000
		w.now = now
		w.pollSources(now)
		for _, e := range w.egress {
			w.serveEgress(e, now)
		}
		w.flushFree()
	}
}

func TestSourceSinkNoAllocs(t *testing.T) {
	r, cycle := sourceSinkCycle(t, 3.2e6, 64) // 32 frames per 10 µs iteration
	cycle()
	require.Zero(t, testing.AllocsPerRun(500, cycle), "source, route, queue bypass and sink allocate nothing")
	s := r.Stop()
	require.True(t, s.Balanced)
	require.Zero(t, s.MempoolLeaked)
	require.Len(t, s.Traffic, 2)
	require.Equal(t, s.Traffic[0].Sent, s.Traffic[1].Received)
	require.Zero(t, s.Traffic[1].Lost)
}

// BenchmarkSourceSink is the Go side of generating frames in a source port, routing
// them and terminating them in a sink port, per frame (64 B, bursts of 32 per loop
// iteration: mbuf allocation in bulk, frame writing, parse/route/rewrite, the queue
// bypass, sink parsing and recording with an HDR latency histogram, bulk free).
func BenchmarkSourceSink(b *testing.B) {
	r, cycle := sourceSinkCycle(b, 3.2e6, 64)
	cycle()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 32 {
		cycle()
	}
	b.StopTimer()
	s := r.Stop()
	require.True(b, s.Balanced)
	require.Zero(b, s.MempoolLeaked)
}
