package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/api/apitest"
)

// fakeRouter serves f through the real API handler and returns its URL.
func fakeRouter(t *testing.T, f api.Source, token string) string {
	t.Helper()
	s, err := api.NewServer(f, api.Options{Listen: "127.0.0.1:0", Token: token})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func runCmd(t *testing.T, c *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetArgs(args)
	c.SilenceUsage = true
	err := c.Execute()
	return out.String(), err
}

func TestStatsJSON(t *testing.T) {
	st := apitest.Sample()
	url := fakeRouter(t, apitest.New(st), "")
	out, err := runCmd(t, newStatsCmd(), "--api", url, "--json")
	require.NoError(t, err)
	var got map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got, 4)
	for key, want := range map[string]any{"status": st.Status, "ports": st.Ports, "queues": st.Queues, "buffer": st.Buffer} {
		b, err := json.Marshal(want)
		require.NoError(t, err)
		assert.JSONEq(t, string(b), string(got[key]), key)
	}
}

func TestStatsTables(t *testing.T) {
	st := apitest.Sample()
	st.Queues = append(st.Queues, api.Queue{Index: 3, Port: "p0", Class: 0, AQM: api.AQMState{Kind: "none"}})
	url := fakeRouter(t, apitest.New(st), "")
	out, err := runCmd(t, newStatsCmd(), "--api", url)
	require.NoError(t, err)

	for _, re := range []string{
		`dpdkq 1\.2\.3 \(DPDK 22\.11\.4\), up 1m30s, mbufs in use 1500/8191`,
		`(?m)^lcore 1: stalls 2, stalled 35ms, worst 30ms, last 30ms at 1m0s \(over 1ms\)$`,
		`(?m)^PORT\s+MODE\s+RATE\s+DELAY\s+RX PKTS\s+RX BYTES\s+TX PKTS\s+TX BYTES\s+FORWARDED\s+CE\s+QUEUED\s+TX HELD\s+DROPS$`,
		`(?m)^p0\s+route\s+unshaped\s+0\s+1000\s+1\.50 MB\s+10\s+640 B\s+990\s+0\s+0p/0 B\s+0\s+no_route=4 ttl_expired=6$`,
		`(?m)^p1\s+route\s+10 Mb/s\s+20ms\s+12\s+768 B\s+900\s+1\.35 MB\s+12\s+9\s+60p/90\.00 kB\s+7\s+-$`,
		`(?m)^0\s+p1\s+-\s+0\s+50p/75\.00 kB\s+200p/300\.00 kB\s+5µs\s+68s\s+858\s+9\s+aqm=5 tail=25\s+codel dropping count=3 drops=5 marks=9$`,
		`(?m)^1\s+p1\s+-\s+1\s+10p/15\.00 kB\s+12p/18\.00 kB\s+800µs\s+1ms\s+42\s+0\s+-\s+pie p=0\.1250 qdelay=3ms drops=0 marks=0$`,
		`(?m)^2\s+-\s+p0\s+fifo\s+0p/0 B\s+0p/0 B\s+0\s+0\s+0\s+0\s+no_buffer=2\s+red p=0\.0200 avg=4\.5 drops=1 marks=0$`,
		`\(1 idle queues hidden; --all shows them\)`,
		`(?m)^shared\s+1\.00 MB\s+96\.00 kB \(9\.6%\)\s+320\.00 kB\s+90\.00 kB\s+93\.8%\s+60\s+no_buffer=2$`,
		`(?m)^shared\s+0\s+p1\s+0\s+lossy\s+80\.00 kB\s+300\.00 kB\s+452\.00 kB$`,
		`(?m)^on-chip\s+60\.00 kB\s+64\.00 kB$`,
		`(?m)^off-chip\s+30\.00 kB\s+250\.00 kB$`,
		`off-chip share 25\.0% of packets, 30\.0% of bytes; evicted queues 1; total: evictions 7, readmissions 6, bandwidth drops 1`,
	} {
		assert.Regexp(t, re, out)
	}
	assert.NotRegexp(t, `(?m)^3\s`, out, "idle queue 3 is hidden by default")

	out, err = runCmd(t, newStatsCmd(), "--api", url, "--all")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^3\s+p0\s+-\s+0\s+0p/0 B`, out)
	assert.NotContains(t, out, "hidden")
}

func TestStatsToken(t *testing.T) {
	url := fakeRouter(t, apitest.New(apitest.Sample()), "tok")
	_, err := runCmd(t, newStatsCmd(), "--api", url)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assert.Contains(t, err.Error(), "missing bearer token")

	_, err = runCmd(t, newStatsCmd(), "--api", url, "--token", "tok")
	require.NoError(t, err)

	t.Setenv(tokenEnv, "tok")
	_, err = runCmd(t, newStatsCmd(), "--api", url)
	require.NoError(t, err, "the token comes from $DPDKQ_API_TOKEN")
	_, err = runCmd(t, newStatsCmd(), "--api", url, "--token", "bad")
	require.Error(t, err, "--token wins over the environment")

	_, err = runCmd(t, newStatsCmd(), "--api", "ftp://x")
	require.ErrorContains(t, err, "--api")
}

func TestFormatters(t *testing.T) {
	cases := map[string]string{
		fmtDur(0): "0", fmtDur(512): "512ns", fmtDur(4100): "4.1µs", fmtDur(3_000_000): "3ms",
		fmtDur(1_500_000_000): "1.5s", fmtDur(1234_000_000_000): "1234s", fmtDur(68_719_476_736): "68.7s",
		fmtReasons(nil): "-", fmtReasons(map[string]uint64{"tail": 2, "aqm": 1, "head": 0}): "aqm=1 tail=2",
		fmtClass(-1): "fifo", fmtClass(3): "3",
	}
	for got, want := range cases {
		assert.Equal(t, want, got)
	}
}
