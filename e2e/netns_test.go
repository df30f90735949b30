// Package e2e runs the dpdkq binary against real Linux hosts: two network namespaces
// joined to the router by veth pairs, the router's ports being net_af_packet vdevs on
// the root-side veth ends. It needs root, iproute2, ethtool, ping and iperf3.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/dataplane"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dpdkq-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "dpdkq")
	out, err := exec.Command("go", "build", "-o", binary, "../cmd/dpdkq").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building dpdkq: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func need(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	for _, tool := range []string{"ip", "ethtool", "ping", "iperf3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (ci/setup.sh installs it)", tool)
		}
	}
}

func sh(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	require.NoError(t, err, "%s: %s", strings.Join(args, " "), out)
	return string(out)
}

// topology makes h1 (10.0.0.2/24) and h2 (10.1.0.2/24) in their own namespaces, each
// with a default route via the router, and returns the root-side interface names.
func topology(t *testing.T, tag string) (if0, if1, ns1, ns2 string) {
	ns1, ns2 = "dqh1"+tag, "dqh2"+tag
	if0, if1 = "dq0"+tag, "dq1"+tag
	cleanup := func() {
		exec.Command("ip", "netns", "del", ns1).Run()
		exec.Command("ip", "netns", "del", ns2).Run()
		exec.Command("ip", "link", "del", if0).Run()
		exec.Command("ip", "link", "del", if1).Run()
	}
	cleanup()
	t.Cleanup(cleanup)
	for i, p := range []struct{ ns, root, addr, gw string }{{ns1, if0, "10.0.0.2/24", "10.0.0.1"}, {ns2, if1, "10.1.0.2/24", "10.1.0.1"}} {
		host := fmt.Sprintf("dqh%d%s", i, tag)
		sh(t, "ip", "netns", "add", p.ns)
		sh(t, "ip", "link", "add", p.root, "type", "veth", "peer", "name", host)
		sh(t, "ip", "link", "set", host, "netns", p.ns)
		sh(t, "ip", "netns", "exec", p.ns, "ip", "addr", "add", p.addr, "dev", host)
		sh(t, "ip", "netns", "exec", p.ns, "ip", "link", "set", host, "up")
		sh(t, "ip", "netns", "exec", p.ns, "ip", "link", "set", "lo", "up")
		sh(t, "ip", "netns", "exec", p.ns, "ip", "route", "add", "default", "via", p.gw)
		// The router sees raw frames: no checksum offload, no segmentation offload.
		sh(t, "ip", "netns", "exec", p.ns, "ethtool", "-K", host, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off")
		sh(t, "ethtool", "-K", p.root, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off")
		sh(t, "ip", "link", "set", p.root, "up")
	}
	return
}

const configTmpl = `
log: {level: info}
eal: {lcores: "0-1", memory_mb: 512, no_huge: true, no_pci: true, file_prefix: dqe2e%[3]s}
mempool: {mbufs: 8191, cache: 128}
ports:
  - {name: h1, device: "net_af_packet0,iface=%[1]s", ipv4: 10.0.0.1/24}
  - {name: h2, device: "net_af_packet1,iface=%[2]s", ipv4: 10.1.0.1/24, rate: 20Mbps}
queueing:
  queue: {limit: 100p}
api: {listen: ""}
`

func TestPingAndShapedTCP(t *testing.T) {
	need(t)
	tag := strconv.Itoa(os.Getpid() % 10000)
	if0, if1, ns1, ns2 := topology(t, tag)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "router.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(fmt.Sprintf(configTmpl, if0, if1, tag)), 0o644))
	sumPath := filepath.Join(dir, "summary.json")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	router := exec.CommandContext(ctx, binary, "run", "-c", cfgPath, "--summary-json", sumPath)
	var rout bytes.Buffer
	router.Stdout, router.Stderr = &rout, &rout
	require.NoError(t, router.Start())
	stopped := false
	defer func() {
		if !stopped {
			router.Process.Kill()
			router.Wait()
		}
		if t.Failed() {
			t.Logf("router output:\n%s", rout.String())
		}
	}()

	// The router answers ARP and ping for its own address (retry while it starts).
	var ok bool
	for i := 0; i < 30 && !ok; i++ {
		ok = exec.Command("ip", "netns", "exec", ns1, "ping", "-c", "1", "-W", "1", "10.0.0.1").Run() == nil
	}
	require.True(t, ok, "h1 cannot ping the router")
	// The first packet towards h2 is dropped (arp_pending) while the router resolves
	// h2's MAC; after that the path is clean.
	ok = false
	for i := 0; i < 10 && !ok; i++ {
		ok = exec.Command("ip", "netns", "exec", ns1, "ping", "-c", "1", "-W", "1", "10.1.0.2").Run() == nil
	}
	require.True(t, ok, "h1 cannot reach h2 through the router")
	out := sh(t, "ip", "netns", "exec", ns1, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.1.0.2")
	require.Contains(t, out, "3 received", out)
	require.Regexp(t, `ttl=63`, out, "one routed hop decrements TTL")

	// TCP through the 20 Mb/s shaped egress: goodput close to the rate.
	srv := exec.Command("ip", "netns", "exec", ns2, "iperf3", "-s", "-1", "-p", "5301")
	require.NoError(t, srv.Start())
	defer srv.Process.Kill()
	time.Sleep(300 * time.Millisecond)
	res := sh(t, "ip", "netns", "exec", ns1, "iperf3", "-c", "10.1.0.2", "-p", "5301", "-t", "6", "-O", "1", "-J")
	var rep struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	require.NoError(t, json.Unmarshal([]byte(res), &rep))
	gbps := rep.End.SumReceived.BitsPerSecond
	t.Logf("TCP goodput through 20 Mb/s shaped egress: %.2f Mb/s", gbps/1e6)
	// Goodput is below the line rate by the TCP/IP/Ethernet overheads (~5%).
	require.Greater(t, gbps, 0.80*20e6)
	require.Less(t, gbps, 1.02*20e6)

	require.NoError(t, router.Process.Signal(os.Interrupt))
	require.NoError(t, router.Wait())
	stopped = true
	b, err := os.ReadFile(sumPath)
	require.NoError(t, err)
	var s dataplane.Summary
	require.NoError(t, json.Unmarshal(b, &s))
	require.True(t, s.Balanced)
	require.Zero(t, s.MempoolLeaked)
	require.Greater(t, s.Ports[1].Generated, uint64(0), "router resolved h2 by ARP")
	require.Regexp(t, regexp.MustCompile(`summary after`), rout.String())
}
