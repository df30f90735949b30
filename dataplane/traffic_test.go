package dataplane_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/traffic"
)

// trafficConfig: source src0 (10.0.0.1/24) sending to sink snk0 (10.1.0.1/24, the host
// 10.1.0.2 behind it a static neighbour), and a second sink snk1 shaped to rate.
func trafficConfig(src traffic.SourceParams, rate float64) dataplane.Config {
	sink := &traffic.SinkParams{Inputs: 3, Outputs: 3, Classes: 1, Flows: 3 * max(src.Flows, 1)}
	cfg := dataplane.Config{
		Ports: []dataplane.PortConfig{
			{Name: "src0", Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1, Source: &src,
				SourceAddr: traffic.Addressing{SrcIP: 0x0a000002, DstIP: []uint32{0x0a000002, 0x0a010002, 0x0a020002}}},
			{Name: "snk0", Addr: netip.MustParsePrefix("10.1.0.1/24"), EgressLcore: -1, Sink: sink},
			{Name: "snk1", Addr: netip.MustParsePrefix("10.2.0.1/24"), EgressLcore: -1, Sink: sink, RateBps: rate, Overhead: 24},
		},
		Neighbors: []dataplane.StaticNeighbor{
			{IP: netip.MustParseAddr("10.1.0.2"), MAC: [6]byte{2, 0, 0, 0, 0, 9}},
			{IP: netip.MustParseAddr("10.2.0.2"), MAC: [6]byte{2, 0, 0, 0, 0, 9}},
		},
		Workers: []uint{1}, Mbufs: 4095, MbufCache: 64, DataRoom: 2176, Burst: 32, FIFOLimit: 256,
	}
	return cfg
}

func TestSourceToSinkExact(t *testing.T) {
	// A constant-rate source of 4 flows into an unshaped sink: everything sent arrives,
	// in order, none lost; the rate over the run is the configured one within 1%.
	const pps = 200e3
	src := traffic.SourceParams{Port: 0, PPS: pps, Size: 128, Flows: 4, CatchUp: -1,
		Dest: traffic.DestParams{Outputs: []int{1}}}
	r, err := dataplane.Start(trafficConfig(src, 0), nil)
	require.NoError(t, err)
	time.Sleep(time.Second)
	s := r.Stop()
	require.True(t, s.Balanced, "rx = tx + drops + queued on every port")
	require.Zero(t, s.MempoolLeaked)
	require.Len(t, s.Traffic, 3)
	var sent, got dataplane.TrafficSummary
	for _, tr := range s.Traffic {
		switch tr.Port {
		case "src0":
			sent = tr
		case "snk0":
			got = tr
		}
	}
	require.NotZero(t, sent.Sent)
	assert.Equal(t, sent.Sent, got.Received, "every frame sent reaches the sink")
	assert.Zero(t, got.Lost)
	assert.Zero(t, got.Reordered)
	assert.Zero(t, got.Foreign)
	assert.Equal(t, s.Ports[0].RxPackets, sent.Sent, "what the source sent is what its port received")
	assert.Equal(t, s.Ports[1].TxPackets, got.Received)
	assert.Len(t, got.Flows, 4)
	// The schedule started at the router's start: frames due by the stop were sent
	// (catch_up -1: late ones are sent late, never skipped).
	want := pps * s.Duration
	assert.InEpsilon(t, want, float64(sent.Sent), 0.01, "sent %d in %.3fs", sent.Sent, s.Duration)
	require.NotNil(t, got.LatencyUs)
	assert.GreaterOrEqual(t, got.LatencyUs["max"], got.LatencyUs["p50"])
}

func TestSourceIntoShapedSinkCountsLoss(t *testing.T) {
	// 64 B frames at 100k pps (67.2 Mb/s on the wire) into a 20 Mb/s sink: the queue
	// tail-drops, the sink sees that loss in the sequence numbers, and the latency is the
	// queue's (256 packets of 88 B on the wire at 20 Mb/s = ~9 ms once full).
	src := traffic.SourceParams{Port: 0, PPS: 100e3, Size: 60, Flows: 1, CatchUp: -1,
		Dest: traffic.DestParams{Outputs: []int{2}}}
	r, err := dataplane.Start(trafficConfig(src, 20e6), nil)
	require.NoError(t, err)
	time.Sleep(700 * time.Millisecond)
	live := r.TrafficSummary()
	require.Len(t, live, 3, "live figures while running")
	s := r.Stop()
	require.True(t, s.Balanced)
	require.Zero(t, s.MempoolLeaked)
	var sent, got dataplane.TrafficSummary
	for _, tr := range s.Traffic {
		switch tr.Port {
		case "src0":
			sent = tr
		case "snk1":
			got = tr
		}
	}
	drops := s.Ports[0].DropTotal
	require.NotZero(t, drops, "the shaped sink's queue drops")
	queued := s.Ports[0].Queued
	// Lost counts the gaps a later frame revealed: every tail drop but those after the
	// last frame that got through, i.e. those that arrived while it waited in the full
	// queue (~9 ms at 100k pps: ~900).
	assert.Equal(t, sent.Sent, got.Received+drops+queued)
	assert.LessOrEqual(t, got.Lost, drops)
	assert.GreaterOrEqual(t, got.Lost+1500, drops)
	assert.Greater(t, got.LatencyUs["p50"], 5000.0, "a full 256-packet queue at 20 Mb/s")
	assert.Less(t, got.LatencyUs["p50"], 20000.0)
}
