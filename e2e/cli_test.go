package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/internal/testpkt"
)

// TestDefaultJob runs what the README's first command runs: the embedded default
// config on pcap vdevs, no NIC, no hugepages.
func TestDefaultJob(t *testing.T) {
	dir := t.TempDir()
	frames, expect := testpkt.Sample(2000, 1)
	require.NoError(t, testpkt.WritePcap(filepath.Join(dir, "sample.pcap"), frames, nil))
	sum := filepath.Join(dir, "summary.json")
	cmd := exec.Command(binary, "run", "--until-idle", "500ms", "--duration", "60s", "--summary-json", sum,
		"--set", "eal.file_prefix=dqdefjob")
	cmd.Env = append(os.Environ(), "DPDKQ_SAMPLE_DIR="+dir, "DPDKQ_OUT_DIR="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "summary after")
	b, err := os.ReadFile(sum)
	require.NoError(t, err)
	var s dataplane.Summary
	require.NoError(t, json.Unmarshal(b, &s))
	require.True(t, s.Balanced)
	require.Zero(t, s.MempoolLeaked)
	in0 := s.Ports[0]
	require.EqualValues(t, expect.Total, in0.RxPackets)
	for _, r := range []string{"malformed", "bad_checksum", "unsupported_ethertype", "no_route", "ttl_expired"} {
		require.EqualValues(t, 40, in0.Drops[r], r)
	}
	// The 62.5 Mb/s egress cannot keep up with a pcap replayed at memory speed: what
	// does not fit the 1000-packet queue is tail-dropped, the rest is forwarded.
	require.EqualValues(t, expect.Forward, in0.Forwarded+in0.Drops["tail"])
	require.GreaterOrEqual(t, in0.Forwarded, uint64(1000))
	// Resolved settings are reported in the summary as at start-up.
	require.Equal(t, "62.5 Mb/s", s.Ports[1].Settings["rate"])
	require.Equal(t, "10ms", s.Ports[1].Settings["delay"])
	require.Contains(t, s.Ports[1].Settings["queue_limit"], "1000p")
	require.Contains(t, string(out), "out0: rate 62.5 Mb/s, delay 10ms, queue limit 1000p")
	got, err := testpkt.ReadPcap(filepath.Join(dir, "out.pcap"))
	require.NoError(t, err)
	require.EqualValues(t, in0.Forwarded, len(got))
}

// TestConfigErrorsBeforeDPDK: a bad config is refused with every bad key named, and
// DPDK is never initialized.
func TestConfigErrorsBeforeDPDK(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
ports:
  - {name: a, device: "net_null0", ipv4: 10.0.0.1/24, rate: 10Gbsp}
  - {name: b, device: "net_null1", ipv4: 10.1.0.300/24}
routes:
  - {prefix: 10.9.0.0/16, port: c}
lgo: {level: debug}
`), 0o644))
	out, err := exec.Command(binary, "run", "-c", cfg).CombinedOutput()
	require.Error(t, err)
	text := string(out)
	for _, key := range []string{"ports[0].rate", "ports[1].ipv4", "routes[0].port", "lgo"} {
		require.Contains(t, text, key)
	}
	require.NotContains(t, text, "initializing DPDK")
	require.False(t, strings.Contains(text, "EAL"), "EAL must not start: %s", text)

	out, err = exec.Command(binary, "version").CombinedOutput()
	require.NoError(t, err)
	require.Contains(t, string(out), "DPDK 22.11")
}
