package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/api/apitest"
	"github.com/dpdkq/dpdkq/hist"
)

// advancingFake moves the router 2 s forward at every Status call (top reads status
// first in each refresh): p0 receives 2000 packets of 1500 B, p1 sends 1800 of 1000 B,
// queue 0 delivers 1620 packets with a sojourn of 700 µs and 180 of 1.04 ms, and
// tail-drops 6. Expected rates: p0 rx 1000 pps and 12 Mb/s, p1 tx 900 pps and 7.2 Mb/s.
func advancingFake() *apitest.Fake {
	f := apitest.New(apitest.Sample())
	f.OnStatus = func(s *apitest.State) {
		s.Status.Uptime += 2 * time.Second
		s.Ports[0].RxPackets += 2000
		s.Ports[0].RxBytes += 2000 * 1500
		s.Ports[1].TxPackets += 1800
		s.Ports[1].TxBytes += 1800 * 1000
		q := &s.Queues[0]
		q.Dequeued += 1800
		q.SojournBuckets = addSojourn(q.SojournBuckets, 700_000, 1620)
		q.SojournBuckets = addSojourn(q.SojournBuckets, 1_040_000, 180)
		q.Drops["tail"] += 6
		s.Buffer.Tiers.Evictions += 4
		s.Status.Workers[0].Stalls++
	}
	return f
}

// addSojourn returns b with n more sojourns of ns, counted as the dataplane counts them.
func addSojourn(b []api.SojournBucket, ns int64, n uint64) []api.SojournBucket {
	h := new(hist.Histogram)
	var s hist.Sparse
	api.SojournSparse(b, &s)
	s.Add(h)
	h.RecordN(ns, n)
	h.Sparse(&s)
	return api.SojournBuckets(&s)
}

func frames(out string) []string {
	parts := strings.Split(out, clearHome)
	return parts[1:] // the output starts with a clear
}

func TestTopRatesFromDeltas(t *testing.T) {
	url := fakeRouter(t, advancingFake(), "")
	out, err := runCmd(t, newTopCmd(), "--api", url, "--count", "2", "--interval", "1ms")
	require.NoError(t, err)
	fr := frames(out)
	require.Len(t, fr, 2)

	// First frame: no previous reading, so no rates.
	assert.Regexp(t, `(?m)^p0\s+-\s+-\s+-\s+-\s+0p/0 B\s+-$`, fr[0])
	assert.Regexp(t, `(?m)^0\s+p1\s+-\s+0\s+50p/75\.00 kB\s+200p/300\.00 kB\s+-\s+-\s+-\s+-\s+codel`, fr[0])
	assert.Contains(t, fr[0], "total: evictions 11")

	// Second frame: one 2 s step between the readings.
	assert.Regexp(t, `(?m)^PORT\s+RX PPS\s+RX RATE\s+TX PPS\s+TX RATE\s+QUEUED\s+DROPS \(INTERVAL\)$`, fr[1])
	assert.Regexp(t, `(?m)^p0\s+1000\s+12 Mb/s\s+0\s+0 b/s\s+0p/0 B\s+-$`, fr[1])
	assert.Regexp(t, `(?m)^p1\s+0\s+0 b/s\s+900\s+7\.2 Mb/s\s+60p/90\.00 kB\s+-$`, fr[1])
	// Interval sojourn: p50 700 µs and p99 1.04 ms (each within 1/128), not the
	// cumulative histogram's (Sample's older packets). The drops column shows the delta.
	assert.Regexp(t, `(?m)^0\s+p1\s+-\s+0\s+50p/75\.00 kB\s+200p/300\.00 kB\s+900\s+70[0-9]µs\s+1\.0[34]ms\s+tail=6\s+codel dropping count=3`, fr[1])
	assert.Contains(t, fr[1], "last interval: evictions 4, readmissions 0, bandwidth drops 0")
	assert.Contains(t, fr[1], "dpdkq 1.2.3 (DPDK 22.11.4), up 1m34s")
	// A line per lcore with its stalls, and in top the ones since the previous frame.
	assert.Regexp(t, `(?m)^lcore 1: stalls 4 \(\+1\), stalled 35ms, worst 30ms`, fr[1])
}

func TestTopRestartShowsNoRates(t *testing.T) {
	prev := snapshot{Status: api.Status{Uptime: time.Hour}, Ports: []api.Port{{Name: "p0", RxPackets: 1e6}}}
	cur := snapshot{Status: api.Status{Uptime: time.Second}, Ports: []api.Port{{Name: "p0", RxPackets: 10}}}
	var buf bytes.Buffer
	renderTop(&buf, &prev, &cur, topOpts{interval: time.Second})
	assert.Regexp(t, `(?m)^p0\s+-\s+-\s+-\s+-`, buf.String())
}

func TestTopStopsOnCancel(t *testing.T) {
	f := advancingFake()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	step := f.OnStatus
	f.OnStatus = func(s *apitest.State) {
		step(s)
		if calls++; calls == 3 {
			cancel() // what Ctrl-C does through signal.NotifyContext
		}
	}
	cl, err := api.NewClient(fakeRouter(t, f, ""), "", nil)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, runTop(ctx, &out, cl, topOpts{interval: time.Millisecond}), "an interrupt is not an error")
	n := len(frames(out.String()))
	assert.True(t, n == 2 || n == 3, "stopped after the third reading, got %d frames", n)
}

func TestTopFlagsAndErrors(t *testing.T) {
	_, err := runCmd(t, newTopCmd(), "--interval", "0s")
	require.ErrorContains(t, err, "--interval")
	_, err = runCmd(t, newTopCmd(), "--count", "-1")
	require.ErrorContains(t, err, "--count")
	url := fakeRouter(t, apitest.New(apitest.Sample()), "tok")
	_, err = runCmd(t, newTopCmd(), "--api", url, "--count", "1")
	require.ErrorContains(t, err, "401")
}
