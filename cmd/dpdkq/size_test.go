package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func runSize(t *testing.T, args ...string) (string, error) {
	c := newSizeCmd()
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetArgs(args)
	err := c.Execute()
	return out.String(), err
}

func TestSizeHandComputed(t *testing.T) {
	// 10 Gb/s x 100 ms = 125,000,000 B = 83,333.3 packets of 1500 B; /sqrt(10000) =
	// 1,250,000 B = 1 ms; 16 MB at 10 Gb/s lasts 12.8 ms.
	out, err := runSize(t, "--rate", "10Gbps", "--rtt", "100ms", "--flows", "10000")
	require.NoError(t, err)
	require.Regexp(t, `BDP \(RTT x C\)\s+125\.00 MB\s+83333\.3\s+100\.000 ms`, out)
	require.Regexp(t, `BDP/sqrt\(N\), N=10000\s+1\.25 MB\s+833\.3\s+1\.000 ms`, out)
	require.Regexp(t, `core role, low \(5 ms\)\s+6\.25 MB`, out)
	require.Regexp(t, `edge role, high \(30 ms\)\s+37\.50 MB`, out)
	require.Regexp(t, `on-chip buffer \(16MB\)\s+16\.00 MB\s+10666\.7\s+12\.800 ms`, out)

	// The CS244 buffer-sizing bottleneck: 62.5 Mb/s, 87 ms: BDP 679,687.5 B = 453.1 packets.
	out, err = runSize(t, "--rate", "62.5Mbps", "--rtt", "87ms", "--onchip", "0")
	require.NoError(t, err)
	require.Regexp(t, `BDP \(RTT x C\)\s+679\.69 kB\s+453\.1\s+87\.000 ms`, out)
	require.NotContains(t, out, "on-chip")

	_, err = runSize(t, "--rate", "fast")
	require.ErrorContains(t, err, "--rate")
	_, err = runSize(t, "--rate", "1Gbps", "--flows", "0", "--rtt", "-1s")
	require.Error(t, err)
}
