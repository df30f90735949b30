package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/config"
)

// TestCheckAndRunRefuseAlike: every configuration that run refuses before DPDK
// starts, config check refuses with the same message, naming the key. run is only
// called once loadPlan has refused the case, so DPDK never starts here.
func TestCheckAndRunRefuseAlike(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sample.pcap"), []byte("x"), 0o644))
	t.Setenv("DPDKQ_SAMPLE_DIR", dir)
	t.Setenv("DPDKQ_OUT_DIR", dir)
	pool := filepath.Join(dir, "pool.yaml")
	require.NoError(t, os.WriteFile(pool, append(config.Default(),
		"buffer:\n  pools: [{name: p, size: 1GB}]\n  profiles: [{name: x, pool: p, dynamic_th: 0}]\n"...), 0o644))
	for _, tc := range []struct {
		file string
		sets []string
		key  string
	}{
		{sets: []string{"queueing.queue.fq.enabled=true", "queueing.queue.fq.flows=1000"}, key: "queueing.queue.fq.flows"},
		{sets: []string{"queueing.classes=2", "queueing.scheduler=wdrr", "queueing.weights=1,2000"}, key: "queueing.weights[1]"},
		{sets: []string{"queueing.queue.aqm.kind=pie", "queueing.queue.aqm.pie.alpha=5000"}, key: "queueing.queue.aqm.pie.alpha"},
		{file: pool, key: "mempool.mbufs"},
		{sets: []string{"ports.0.device=net_pcap0,rx_pcap=" + dir + "/missing.pcap"}, key: "ports[0].device"},
		{sets: []string{"ports.0.device=net_pcapp0,rx_pcap=" + dir + "/sample.pcap"}, key: "ports[0].device"},
		{sets: []string{"queueing.architecture=input-fifo", "queueing.class_rates.1=1Mbps"}, key: "queueing.class_rates"},
		{sets: []string{"queueing.queue.limit=10000p"}, key: "queueing.queue.limit"},
		{sets: []string{"eal.memory_mb=1048576"}, key: "eal.memory_mb"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, err := loadPlan(tc.file, tc.sets)
			require.Error(t, err, "the plan must refuse it before run is tried")
			check := newConfigCmd()
			args := []string{"check"}
			if tc.file != "" {
				args = append(args, "-c", tc.file)
			}
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			var out bytes.Buffer
			check.SetArgs(args)
			check.SetOut(&out)
			check.SetErr(&out)
			checkErr := check.Execute()
			require.Error(t, checkErr)
			require.Contains(t, checkErr.Error(), tc.key)
			runErr := runRouter(&out, runOpts{config: tc.file, sets: tc.sets, sample: 1})
			require.Error(t, runErr)
			require.Equal(t, checkErr.Error(), runErr.Error())
			require.NotContains(t, out.String(), "initializing DPDK")
		})
	}
}

// TestInputFIFODefaultConfigChecks: input-fifo with the default 8 classes is accepted
// (one FIFO per input) and says so.
func TestInputFIFODefaultConfigChecks(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sample.pcap"), []byte("x"), 0o644))
	t.Setenv("DPDKQ_SAMPLE_DIR", dir)
	t.Setenv("DPDKQ_OUT_DIR", dir)
	check := newConfigCmd()
	var out bytes.Buffer
	check.SetArgs([]string{"check", "--set", "queueing.architecture=input-fifo"})
	check.SetOut(&out)
	require.NoError(t, check.Execute())
	require.Contains(t, out.String(), "queueing: input-fifo, 1 class(es)")
}

func TestRunOutputOptions(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	require.NoError(t, os.MkdirAll(full, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(full, "summary.json"), []byte("{}"), 0o644))
	for _, tc := range []struct {
		o    runOpts
		want string
	}{
		{runOpts{sample: 0, reportDir: dir + "/r"}, "--sample"},
		{runOpts{sample: 1, sampleSet: true}, "only used with --report"},
		{runOpts{sample: 1, reportDir: full}, "not empty"},
		{runOpts{sample: 1, reportDir: "/proc/nonexistent/r"}, "--report"},
		{runOpts{sample: 1, summaryJSON: "/nonexistent/dir/s.json"}, "--summary-json"},
		{runOpts{sample: 1, summaryJSON: dir}, "is a directory"},
	} {
		err := tc.o.checkOutputs()
		require.Error(t, err, "%+v", tc.o)
		require.Contains(t, err.Error(), tc.want)
	}
	ok := runOpts{sample: 1, reportDir: full, force: true, summaryJSON: filepath.Join(dir, "s.json")}
	require.NoError(t, ok.checkOutputs())
	_, err := os.Stat(filepath.Join(dir, "s.json"))
	require.True(t, os.IsNotExist(err), "the probe leaves nothing behind")
	ents, err := os.ReadDir(full)
	require.NoError(t, err)
	for _, e := range ents {
		require.False(t, strings.Contains(e.Name(), "dpdkq-write-test"), "the probe leaves nothing behind")
	}
}
