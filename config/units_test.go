package config

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRate(t *testing.T) {
	good := []struct {
		in   string
		want float64
	}{
		{"62.5Mbps", 62.5e6},
		{"10Gbps", 10e9},
		{"10gbps", 10e9},
		{"1.5kbps", 1500},
		{"1.5Kbps", 1500},
		{"100Mbit/s", 100e6},
		{"100Mb/s", 100e6},
		{"2Gbits/s", 2e9},
		{"1e6bps", 1e6},
		{"2.5e3kbps", 2.5e6},
		{"1Tbps", 1e12},
		{" 62.5 Mbps ", 62.5e6},
		{"0", 0},
		{"0bps", 0},
	}
	for _, tc := range good {
		got, err := ParseRate(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	bad := []struct{ in, msg string }{
		{"", "empty"},
		{"-1Mbps", "negative"},
		{"NaN", "number"},
		{"nanbps", "number"},
		{"inf", "number"},
		{"10", "no unit"},
		{"10mbps", "milli"},
		{"10MBps", "bits"},
		{"10MB/s", "bits"},
		{"10Mbsp", "unknown unit"},
		{"1e999bps", "range"},
		{"0x10bps", "unknown unit"},
		{"Mbps", "number"},
		{"10Pbps", "unknown unit"},
	}
	for _, tc := range bad {
		_, err := ParseRate(tc.in)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.msg, tc.in)
	}
}

func TestFormatRate(t *testing.T) {
	assert.Equal(t, "62.5Mbps", FormatRate(62.5e6))
	assert.Equal(t, "1.5kbps", FormatRate(1500))
	assert.Equal(t, "10Gbps", FormatRate(10e9))
	assert.Equal(t, "999bps", FormatRate(999))
	assert.Equal(t, "0bps", FormatRate(0))
	for _, x := range []float64{62.5e6, 1e10, 1500, 1, 0, 123456789, 1.0 / 3, 7.77e11, 3.3e12, 0.1 + 0.2} {
		back, err := ParseRate(FormatRate(x))
		require.NoError(t, err, FormatRate(x))
		assert.Equal(t, x, back, "round trip of %v via %q", x, FormatRate(x))
	}
}

func TestParseSize(t *testing.T) {
	good := []struct {
		in   string
		want Size
		str  string // canonical String()
	}{
		{"1000", Size{1000, Packets}, "1000p"},
		{"1000p", Size{1000, Packets}, "1000p"},
		{"1000pkts", Size{1000, Packets}, "1000p"},
		{"1500B", Size{1500, Bytes}, "1500B"},
		{"64KB", Size{64000, Bytes}, "64KB"},
		{"64kB", Size{64000, Bytes}, "64KB"},
		{"64KiB", Size{65536, Bytes}, "64KiB"},
		{"1MB", Size{1e6, Bytes}, "1MB"},
		{"1MiB", Size{1 << 20, Bytes}, "1MiB"},
		{"1GB", Size{1e9, Bytes}, "1GB"},
		{"1.5KiB", Size{1536, Bytes}, "1536B"},
		{"0.1KB", Size{100, Bytes}, "100B"},
		{"10ms", Size{1e7, Time}, "10ms"},
		{"1.5s", Size{1.5e9, Time}, "1.5s"},
		{"500us", Size{5e5, Time}, "500µs"},
		{"43.5 ms", Size{43.5e6, Time}, "43.5ms"},
		{"0.5bdp", Size{0.5, BDP}, "0.5bdp"},
		{"2BDP", Size{2, BDP}, "2bdp"},
	}
	for _, tc := range good {
		got, err := ParseSize(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.Equal(t, tc.str, got.String(), tc.in)
		back, err := ParseSize(got.String())
		require.NoError(t, err, got.String())
		assert.Equal(t, got, back, "round trip of %q", tc.in)
	}
	bad := []struct{ in, msg string }{
		{"", "empty"},
		{"-5p", "negative"},
		{"1.5p", "whole number"},
		{"0.5B", "whole number of bytes"},
		{"10kb", "bits"},
		{"10Mb", "bits"},
		{"10M", "unknown unit"},
		{"abc", "number"},
		{"10 parsecs", "unknown unit"},
		{"1e300TB", "range"},
	}
	for _, tc := range bad {
		_, err := ParseSize(tc.in)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.msg, tc.in)
	}
}

// FuzzParseSize checks that every size that parses prints back to itself.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1000", "64KiB", "10ms", "0.5bdp", "1e3B", "1h2m", "3GiB", "7pkts"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sz, err := ParseSize(s)
		if err != nil {
			return
		}
		back, err := ParseSize(sz.String())
		require.NoError(t, err, "%q -> %q", s, sz.String())
		require.Equal(t, sz, back, "%q -> %q", s, sz.String())
	})
}

func TestSizeResolve(t *testing.T) {
	const rate = 62.5e6 // the bottleneck of the Stanford CS244 buffer-sizing reproduction
	mustSize := func(s string) Size {
		sz, err := ParseSize(s)
		require.NoError(t, err, s)
		return sz
	}
	cases := []struct {
		size    string
		rate    float64
		rtt     time.Duration
		mtu     int
		bytes   int64
		packets int64
	}{
		// 62.5e6 b/s * 0.010 s / 8 = 78125 B exactly; 78125/1500 = 52.08 -> 53 packets.
		{"10ms", rate, 0, 1500, 78125, 53},
		// 0.5 * 62.5e6 * 0.087 / 8 = 339843.75 B, rounded up to 339844; /1500 = 226.56 -> 227.
		{"0.5bdp", rate, 87 * time.Millisecond, 1500, 339844, 227},
		// one BDP of that reproduction: 679687.5 B -> 679688 B, 453.125 -> 454 packets of 1500 B.
		{"1bdp", rate, 87 * time.Millisecond, 1500, 679688, 454},
		{"1500B", 0, 0, 1500, 1500, 1},
		{"1501B", 0, 0, 1500, 1501, 2},
		{"1000p", 0, 0, 1500, 1500000, 1000},
		{"64KiB", 0, 0, 9000, 65536, 8}, // 65536/9000 = 7.28 -> 8
		// 1 Gb/s for 1 us = 125 B.
		{"1us", 1e9, 0, 1500, 125, 1},
	}
	for _, tc := range cases {
		sz := mustSize(tc.size)
		b, err := sz.Bytes(tc.rate, tc.rtt, tc.mtu)
		require.NoError(t, err, tc.size)
		assert.Equal(t, tc.bytes, b, "%s bytes", tc.size)
		n, err := sz.Packets(tc.rate, tc.rtt, tc.mtu)
		require.NoError(t, err, tc.size)
		assert.Equal(t, tc.packets, n, "%s packets", tc.size)
	}

	_, err := mustSize("10ms").Bytes(0, 0, 1500)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unshaped")
	_, err = mustSize("0.5bdp").Packets(0, time.Second, 1500)
	assert.ErrorContains(t, err, "unshaped")
	_, err = mustSize("0.5bdp").Bytes(rate, 0, 1500)
	assert.ErrorContains(t, err, "RTT")
	_, err = mustSize("10p").Bytes(0, 0, 0)
	assert.ErrorContains(t, err, "MTU")
	_, err = mustSize("1500B").Packets(0, 0, 0)
	assert.ErrorContains(t, err, "MTU")
	_, err = Size{1e9, BDP}.Bytes(1e12, time.Hour, 1500)
	assert.ErrorContains(t, err, "2^62")

	assert.Equal(t, "10ms = 78125 B at 62.5Mbps", mustSize("10ms").Describe(rate, 0, 1500))
	assert.Equal(t, "0.5bdp = 339844 B at 62.5Mbps, RTT 87ms", mustSize("0.5bdp").Describe(rate, 87*time.Millisecond, 1500))
	assert.Equal(t, "1000p = 1500000 B at MTU 1500", mustSize("1000p").Describe(0, 0, 1500))
	assert.Contains(t, mustSize("10ms").Describe(0, 0, 1500), "unresolved")
}

func TestCeilSnap(t *testing.T) {
	assert.Equal(t, 78125.0, ceilSnap(78125*(1+1e-12)), "float noise above an integer is absorbed")
	assert.Equal(t, 78125.0, ceilSnap(78125*(1-1e-12)), "float noise below an integer is absorbed")
	assert.Equal(t, 78126.0, ceilSnap(78125.2))
	assert.Equal(t, 339844.0, ceilSnap(339843.75))
	assert.Equal(t, 0.0, ceilSnap(0))
	assert.True(t, math.IsNaN(ceilSnap(math.NaN())))
}

func BenchmarkParseRate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRate("62.5Mbps"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSize("64KiB"); err != nil {
			b.Fatal(err)
		}
	}
}
