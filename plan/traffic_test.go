package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/config"
)

const trafficYAML = `
eal: {lcores: "0-1"}
queueing: {classes: 2}
ports:
  - name: src0
    device: source
    ipv4: 10.0.0.1/24
    source: {rate: 100Mbps, arrival: poisson, flows: 4, dest: {kind: hotspot, ports: [snk0, snk1], hot: snk1, fraction: 0.5}}
  - name: src1
    device: source
    ipv4: 10.3.0.1/24
    source: {pps: 1000, dest: {kind: weights, weights: {snk0: 1, snk1: 3}}}
  - {name: snk0, device: sink, ipv4: 10.1.0.1/24}
  - {name: snk1, device: sink, ipv4: 10.2.0.254/24, sink: {publish_every: 64}}
`

func TestTrafficPorts(t *testing.T) {
	p, err := build(t, trafficYAML, nil, machine)
	require.NoError(t, err)
	require.Len(t, p.Traffic, 4)
	s0 := p.Traffic[0].Source
	require.NotNil(t, s0)
	assert.Equal(t, 100e6, s0.Rate)
	assert.Equal(t, []int{2, 3}, s0.Dest.Outputs, "port names become port indices")
	assert.Equal(t, 3, s0.Dest.Hot)
	assert.Equal(t, []float64{0, 0, 1, 3}, p.Traffic[1].Source.Dest.Weights)
	a := p.Traffic[0].Addr
	assert.Equal(t, uint32(0x0a000002), a.SrcIP, "the host behind the source port")
	assert.Equal(t, uint32(0x0a010002), a.DstIP[2], "the next address on snk0's subnet")
	assert.Equal(t, uint32(0x0a0200fd), a.DstIP[3], "before .254 when .255 is the broadcast")
	k := p.Traffic[3].Sink
	require.NotNil(t, k)
	assert.Equal(t, 64, k.PublishEvery)
	assert.Equal(t, 2, k.Classes)
	assert.Equal(t, 4*4, k.Flows, "sized for the largest source: 4 flows for each of 4 ports")
	assert.Nil(t, p.Traffic[2].Source)
	// Frames to a sink need no ARP: the host behind it is a static neighbour.
	found := 0
	for _, n := range p.Dataplane.Neighbors {
		if n.MAC == SinkHostMAC {
			found++
		}
	}
	assert.Equal(t, 2, found, "one static neighbour per sink port")
}

func TestTrafficRefusals(t *testing.T) {
	for _, c := range []struct{ set, key, msg string }{
		{"ports.0.source.rate=fast", "ports[0].source.rate", "must start with a number"},
		{"ports.0.source.dest.ports.1=nowhere", "ports[0].source.dest.ports[1]", "no such port"},
		{"ports.0.source.arrival=bursty", "ports[0].source.arrival", ""},
		{"ports.1.source.pps=0", "ports[1].source.rate", "required"},
		{"ports.0.source.flows=-1", "ports[0].source.flows", ""},
	} {
		_, err := build(t, trafficYAML, []string{c.set}, machine)
		require.Error(t, err, c.set)
		ps := config.Problems(err)
		require.NotEmpty(t, ps, "%s: %v", c.set, err)
		assert.Equal(t, c.key, ps[0].Key, "%s: %v", c.set, err)
		assert.Contains(t, ps[0].Msg, c.msg, c.set)
	}
}
