// Package e2e runs the dpdkq binary against real Linux hosts: two network namespaces
// joined to the router by veth pairs, the router's ports being net_af_packet vdevs on
// the root-side veth ends. It needs root, iproute2, ethtool, ping and iperf3.
package e2e

import (
	"bytes"
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
		// Large initial TCP buffers (per namespace), so the window is limited by the
		// network, not by receive-buffer autotuning: the bufferbloat test needs the
		// sender to be able to fill a 1000-packet queue.
		sh(t, "ip", "netns", "exec", p.ns, "sysctl", "-q", "-w", "net.ipv4.tcp_rmem=4096 4194304 8388608")
		sh(t, "ip", "netns", "exec", p.ns, "sysctl", "-q", "-w", "net.ipv4.tcp_wmem=4096 4194304 8388608")
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
  classes: 1
  queue: {limit: %[4]s, aqm: {kind: %[5]s}}
api: {listen: ""}
`

// router runs the dpdkq binary with cfg until stop is called, which sends SIGINT and
// returns the exit summary.
type router struct {
	cmd     *exec.Cmd
	out     bytes.Buffer
	sumPath string
	done    bool
}

func startRouter(t *testing.T, cfg string) *router {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "router.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))
	r := &router{sumPath: filepath.Join(dir, "summary.json")}
	r.cmd = exec.Command(binary, "run", "-c", cfgPath, "--summary-json", r.sumPath, "--duration", "3m")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	require.NoError(t, r.cmd.Start())
	t.Cleanup(func() {
		if !r.done {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("router output:\n%s", r.out.String())
		}
	})
	return r
}

func (r *router) stop(t *testing.T) dataplane.Summary {
	require.NoError(t, r.cmd.Process.Signal(os.Interrupt))
	require.NoError(t, r.cmd.Wait())
	r.done = true
	b, err := os.ReadFile(r.sumPath)
	require.NoError(t, err)
	var s dataplane.Summary
	require.NoError(t, json.Unmarshal(b, &s))
	require.True(t, s.Balanced)
	require.Zero(t, s.MempoolLeaked)
	return s
}

// waitPath pings until the router answers and h2 is reachable through it (the first
// packet towards h2 waits in the router while it resolves h2's MAC by ARP).
func waitPath(t *testing.T, ns1 string) {
	var ok bool
	for i := 0; i < 30 && !ok; i++ {
		ok = exec.Command("ip", "netns", "exec", ns1, "ping", "-c", "1", "-W", "1", "10.0.0.1").Run() == nil
	}
	require.True(t, ok, "h1 cannot ping the router")
	ok = false
	for i := 0; i < 10 && !ok; i++ {
		ok = exec.Command("ip", "netns", "exec", ns1, "ping", "-c", "1", "-W", "1", "10.1.0.2").Run() == nil
	}
	require.True(t, ok, "h1 cannot reach h2 through the router")
}

// iperf runs a TCP transfer h1 -> h2 for secs seconds and returns the goodput in b/s.
func iperf(t *testing.T, ns1, ns2 string, port, secs int, extra ...string) float64 {
	srv := exec.Command("ip", "netns", "exec", ns2, "iperf3", "-s", "-1", "-p", strconv.Itoa(port))
	require.NoError(t, srv.Start())
	defer func() { srv.Process.Kill(); srv.Wait() }()
	time.Sleep(300 * time.Millisecond)
	args := append([]string{"ip", "netns", "exec", ns1, "iperf3", "-c", "10.1.0.2", "-p", strconv.Itoa(port),
		"-t", strconv.Itoa(secs), "-O", "1", "-J"}, extra...)
	res := sh(t, args...)
	var rep struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	require.NoError(t, json.Unmarshal([]byte(res), &rep))
	return rep.End.SumReceived.BitsPerSecond
}

func TestPingAndShapedTCP(t *testing.T) {
	need(t)
	tag := strconv.Itoa(os.Getpid() % 10000)
	if0, if1, ns1, ns2 := topology(t, tag)
	r := startRouter(t, fmt.Sprintf(configTmpl, if0, if1, tag, "100p", "none"))
	waitPath(t, ns1)
	out := sh(t, "ip", "netns", "exec", ns1, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.1.0.2")
	require.Contains(t, out, "3 received", out)
	require.Regexp(t, `ttl=63`, out, "one routed hop decrements TTL")

	// TCP through the 20 Mb/s shaped egress: goodput close to the rate.
	bps := iperf(t, ns1, ns2, 5301, 6)
	t.Logf("TCP goodput through 20 Mb/s shaped egress: %.2f Mb/s", bps/1e6)
	// Goodput is below the line rate by the TCP/IP/Ethernet overheads (~6%).
	require.Greater(t, bps, 0.80*20e6)
	require.Less(t, bps, 1.02*20e6)

	s := r.stop(t)
	require.Greater(t, s.Ports[1].Generated, uint64(0), "router resolved h2 by ARP")
	require.Zero(t, s.Ports[0].Drops["arp_pending"], "the first packet to h2 waits for ARP, it is not lost")
	require.Regexp(t, regexp.MustCompile(`summary after`), r.out.String())
}

// TestCoDelVersusTailDrop: the bufferbloat experiment. A TCP transfer through a 20 Mb/s
// bottleneck with a 1000-packet tail-drop queue keeps the queue standing (hundreds of
// ms of sojourn); the same queue under CoDel holds the sojourn near its 5 ms target,
// at nearly the same goodput.
func TestCoDelVersusTailDrop(t *testing.T) {
	need(t)
	tag := strconv.Itoa(os.Getpid()%10000 + 1)
	if0, if1, ns1, ns2 := topology(t, tag)
	p50 := map[string]float64{}
	for i, aqmKind := range []string{"none", "codel"} {
		r := startRouter(t, fmt.Sprintf(configTmpl, if0, if1, tag, "1000p", aqmKind))
		waitPath(t, ns1)
		// CUBIC (the loss-based default of most hosts) fills whatever buffer it meets;
		// the machine's default may be BBR, which keeps its own queue small.
		bps := iperf(t, ns1, ns2, 5310+i, 8, "-C", "cubic")
		s := r.stop(t)
		q := s.Ports[1].Queue
		require.NotNil(t, q)
		p50[aqmKind] = q.SojournP50us
		t.Logf("%-6s goodput %.2f Mb/s, sojourn p50 %.1f ms p99 %.1f ms, peak %d packets, drops %v",
			aqmKind, bps/1e6, q.SojournP50us/1e3, q.SojournP99us/1e3, q.PeakPackets, q.Drops)
		require.Greater(t, bps, 0.75*20e6, aqmKind)
		if aqmKind == "codel" {
			require.Greater(t, q.Drops["aqm"], uint64(0), "CoDel must have dropped")
		}
	}
	require.Greater(t, p50["none"], 100e3, "tail drop with a large buffer: a standing queue (µs)")
	require.Less(t, p50["codel"], 20e3, "CoDel holds the sojourn near its 5 ms target (µs)")
}
