package lab

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// needTestbed skips unless the lab can build its testbed here (root, the tools).
// These tests start DPDK: run them under the shared lock, e.g.
// flock /tmp/dpdkq-dpdk.lock go test -count=1 -run Quick ./lab
func needTestbed(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the lab's quick runs take about a minute each")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	for _, tool := range []string{"ip", "ethtool", "ping", "iperf3", "ss"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (ci/setup.sh installs it)", tool)
		}
	}
	bin := filepath.Join(t.TempDir(), "dpdkq")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/dpdkq").CombinedOutput()
	require.NoError(t, err, "building dpdkq: %s", out)
	return bin
}

// runQuick runs a scenario's --quick mode through the real binary. A failed fidelity
// check (a loaded machine) is reported, not a test failure: the test checks the
// shape of what was measured.
func runQuick(t *testing.T, bin, name string) *Results {
	s, err := Lookup(name)
	require.NoError(t, err)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, s, Options{Dir: dir, Quick: true, Binary: bin, Out: testWriter{t}, Command: "go test " + name + " --quick"})
	if errors.Is(err, ErrFidelity) {
		t.Logf("%s --quick: fidelity failed on this machine (its figures are diagnostics):", name)
		for _, c := range res.Fidelity {
			t.Logf("  %s: %s -> %s", c.Name, c.Measured, c.Verdict)
		}
	} else {
		require.NoError(t, err)
	}
	for _, f := range []string{"report.md", "results.json", "samples.csv", "probes.csv"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
	}
	require.NotEmpty(t, res.Figures)
	return res
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

func TestAQMQuickShape(t *testing.T) {
	bin := needTestbed(t)
	res := runQuick(t, bin, "aqm")
	pts := *res.Data.(*[]AQMPoint)
	_, by := aqmByName(pts)
	require.Contains(t, by, "codel")
	require.Contains(t, by, "taildrop-10bdp")
	codel, tail := by["codel"][0], by["taildrop-10bdp"][0]
	t.Logf("sojourn p50: taildrop-10bdp %.1f ms, codel %.1f ms", float64(tail.SojournP50ms), float64(codel.SojournP50ms))
	require.Less(t, float64(codel.SojournP50ms), float64(tail.SojournP50ms), "CoDel keeps the standing queue below tail drop's")
	require.Positive(t, codel.Drops["aqm"], "CoDel dropped")
	require.Greater(t, float64(tail.GoodputBps), 0.5*10e6)
	require.Greater(t, float64(codel.GoodputBps), 0.5*10e6)
	require.NoFileExists(t, "/run/netns/"+NsSend, "the testbed is removed")
}

func TestSizingQuickShape(t *testing.T) {
	bin := needTestbed(t)
	res := runQuick(t, bin, "sizing")
	runs := *res.Data.(*[]SizingRun)
	ans := map[int]int{}
	for _, r := range runs {
		require.Empty(t, r.Error)
		require.NotEmpty(t, r.Trials)
		ans[r.N] = r.Answer
	}
	t.Logf("smallest buffer: N=1 %d packets, N=16 %d packets (BDP %d)", ans[1], ans[16], runs[0].BDP)
	require.Greater(t, ans[1], ans[16], "one flow needs more buffer than sixteen")
}

func TestRTTFairQuickShape(t *testing.T) {
	bin := needTestbed(t)
	res := runQuick(t, bin, "rtt-fair")
	pts := *res.Data.(*[]RTTFairPoint)
	ratio := map[string]float64{}
	for _, p := range pts {
		require.Len(t, p.GoodputBps, 2)
		ratio[p.AQM] = float64(p.Ratio)
	}
	// The quick run is too short for the ratios to settle (10 s of Reno at 80 ms is ~125
	// RTTs): check that both senders got through and shared the link, log the ratios.
	t.Logf("goodput ratio 20 ms / 80 ms sender: taildrop-1bdp %.2f, fq-codel %.2f", ratio["taildrop-1bdp"], ratio["fq-codel"])
	for _, p := range pts {
		require.Positive(t, p.GoodputBps[0], p.AQM)
		require.Positive(t, p.GoodputBps[1], p.AQM)
		require.Greater(t, p.GoodputBps[0]+p.GoodputBps[1], 0.5*10e6, "%s: the two senders fill the 10 Mb/s bottleneck", p.AQM)
		require.Greater(t, float64(p.Ratio), 0.0)
	}
	require.NoFileExists(t, "/run/netns/"+Prefix+"-snd1", "the extra sender is removed")
}

func TestBufferbloatQuickShape(t *testing.T) {
	bin := needTestbed(t)
	for _, tool := range []string{"curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	res := runQuick(t, bin, "bufferbloat")
	pts := *res.Data.(*[]BloatPoint)
	require.Len(t, pts, 2)
	small, large := pts[0], pts[1]
	require.Equal(t, 20, small.Queue)
	require.NotEmpty(t, small.FetchSeconds)
	require.NotEmpty(t, large.FetchSeconds)
	t.Logf("RTT+ p50: 20p %.0f ms, 100p %.0f ms; fetch p50: %.2f s, %.2f s", float64(small.InducedP50ms), float64(large.InducedP50ms),
		float64(small.FetchP50s), float64(large.FetchP50s))
	require.Greater(t, float64(large.InducedP50ms), float64(small.InducedP50ms), "a larger standing queue delays the pings more")
}
