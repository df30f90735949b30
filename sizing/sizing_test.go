package sizing

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestComputeStanfordExample(t *testing.T) {
	r := Compute(10e9, 100*time.Millisecond, 10000, 1500)
	// Hand-computed: 10e9 b/s x 0.1 s / 8 = 125,000,000 B; / 1500 = 83,333.3 packets;
	// sqrt(10000) = 100, so BDP/sqrt(N) = 1,250,000 B, 1 ms at 10 Gb/s.
	assert.InDelta(t, 125_000_000, r.BDP.Bytes, 1e-6)
	assert.InDelta(t, 83_333.333, r.BDP.Packets, 1e-3)
	assert.Equal(t, 100*time.Millisecond, r.BDP.Time)
	assert.InDelta(t, 1.0, r.BDP.OfBDP, 1e-12)
	assert.InDelta(t, 1_250_000, r.BDPSqrtN.Bytes, 1e-6)
	assert.InDelta(t, 833.333, r.BDPSqrtN.Packets, 1e-3)
	assert.Equal(t, time.Millisecond, r.BDPSqrtN.Time)
	assert.InDelta(t, 0.01, r.BDPSqrtN.OfBDP, 1e-12)
	// Roles at 10 Gb/s = 1.25 GB/s: 5 ms = 6.25 MB, 10 ms = 12.5 MB, 30 ms = 37.5 MB.
	assert.InDelta(t, 6_250_000, r.CoreLow.Bytes, 1e-6)
	assert.InDelta(t, 12_500_000, r.CoreHigh.Bytes, 1e-6)
	assert.InDelta(t, 12_500_000, r.EdgeLow.Bytes, 1e-6)
	assert.InDelta(t, 37_500_000, r.EdgeHigh.Bytes, 1e-6)
	assert.InDelta(t, 25_000, r.EdgeHigh.Packets, 1e-9)
	assert.Equal(t, 30*time.Millisecond, r.EdgeHigh.Time)
	assert.InDelta(t, 0.3, r.EdgeHigh.OfBDP, 1e-12)
}

func TestComputeSeed002Testbed(t *testing.T) {
	r := Compute(62.5e6, 87*time.Millisecond, 1, 1500)
	// 62.5e6 x 0.087 / 8 = 679,687.5 B = 453.125 packets of 1500 B (the Stanford CS244 sizing reproduction: ~453).
	assert.InDelta(t, 679_687.5, r.BDP.Bytes, 1e-6)
	assert.InDelta(t, 453.125, r.BDP.Packets, 1e-9)
	assert.Equal(t, r.BDP.Bytes, r.BDPSqrtN.Bytes, "N=1: the small-buffer rule is the BDP")
	r = Compute(62.5e6, 87*time.Millisecond, 400, 1500)
	assert.InDelta(t, 453.125/20, r.BDPSqrtN.Packets, 1e-9)
	assert.Equal(t, 1, Compute(62.5e6, time.Second, 0, 1500).Flows, "flows < 1 taken as 1")
}

func TestOnchipTime(t *testing.T) {
	assert.Equal(t, 12800*time.Microsecond, OnchipTime(16_000_000, 10e9))
	assert.Equal(t, 1342177*time.Nanosecond, OnchipTime(16<<20, 100e9)) // 16 MiB at 100G
	assert.Zero(t, OnchipTime(100, 0))
}

func TestValidate(t *testing.T) {
	require.NoError(t, Validate(1e9, time.Millisecond, 1, 64))
	for _, tc := range []struct {
		rate  float64
		rtt   time.Duration
		flows int
		pkt   int
		want  string
	}{
		{0, time.Second, 1, 1500, "rate 0"},
		{1e9, 0, 1, 1500, "rtt 0s"},
		{1e9, time.Second, 0, 1500, "flows 0"},
		{1e9, time.Second, 1, 0, "packet size 0"},
	} {
		assert.ErrorContains(t, Validate(tc.rate, tc.rtt, tc.flows, tc.pkt), tc.want)
	}
}

func TestFormat(t *testing.T) {
	r := Compute(10e9, 100*time.Millisecond, 10000, 1500)
	r.AddBuffer("on-chip tier (16 MB)", 16_000_000)
	var buf bytes.Buffer
	require.NoError(t, Format(&buf, r))
	out := buf.String()
	t.Log("\n" + out)
	assert.Contains(t, out, "port 10 Gb/s, RTT 100.000 ms, 10000 long-lived flow(s), 1500 B packets")
	for _, want := range []string{
		"125.00 MB", "83333.3", "100.000 ms", // BDP
		"1.25 MB", "833.3", "1.000 ms", "0.010", // BDP/sqrt(N)
		"37.50 MB", "30.000 ms", // edge high
		"on-chip tier (16 MB)", "16.00 MB", "12.800 ms", "0.128",
	} {
		assert.Contains(t, out, want)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	table := lines[2:] // after the title and a blank line
	require.Len(t, table, 1+7)
	for _, l := range table {
		assert.Equal(t, len(table[0]), len(l), "columns are right-aligned to one width: %q", l)
	}
}

func TestFormatUnits(t *testing.T) {
	assert.Equal(t, "512 B", FormatBytes(512))
	assert.Equal(t, "679.69 kB", FormatBytes(679_687.5))
	assert.Equal(t, "4.29 GB", FormatBytes(1<<32))
	assert.Equal(t, "62.5 Mb/s", FormatRate(62.5e6))
	assert.Equal(t, "10 Gb/s", FormatRate(10e9))
	assert.Equal(t, "900 Gb/s", FormatRate(900e9))
}
