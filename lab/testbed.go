package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Prefix starts the name of every namespace and link the lab makes, so a later run
// can recognise and remove what a killed one left behind.
const Prefix = "dqlab"

// The testbed: a sender host and a receiver host, each in its own namespace, each
// joined by a veth pair to one dpdkq port (net_af_packet on the root-side end).
const (
	NsSend   = Prefix + "-snd"
	NsRecv   = Prefix + "-rcv"
	LinkSend = Prefix + "0" // root side, dpdkq port "snd"
	LinkRecv = Prefix + "1" // root side, dpdkq port "rcv" (the bottleneck egress)
	hostSend = Prefix + "h0"
	hostRecv = Prefix + "h1"
	AddrSend = "10.70.0.2"
	AddrRecv = "10.70.1.2"
)

// run runs a command to completion and returns its combined output.
func run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

func inNS(ns string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, args...)
}

// RemoveStale deletes the namespaces and links of an earlier run that did not clean
// up (killed), after stopping the processes still running inside those namespaces.
// It touches only names that start with Prefix.
func RemoveStale(log io.Writer) {
	ctx := context.Background()
	out, _ := run(ctx, "ip", "netns", "list")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || !strings.HasPrefix(f[0], Prefix) {
			continue
		}
		pids, _ := run(ctx, "ip", "netns", "pids", f[0])
		for _, p := range strings.Fields(pids) {
			if pid, err := strconv.Atoi(p); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if _, err := run(ctx, "ip", "netns", "del", f[0]); err == nil && log != nil {
			fmt.Fprintf(log, "removed stale namespace %s\n", f[0])
		}
	}
	out, _ = run(ctx, "ip", "-o", "link", "show")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if strings.HasPrefix(name, Prefix) {
			if _, err := run(ctx, "ip", "link", "del", name); err == nil && log != nil {
				fmt.Fprintf(log, "removed stale link %s\n", name)
			}
		}
	}
}

// HostOpts are the host settings of the testbed.
type HostOpts struct {
	CC      string // congestion control of the sender: reno, cubic, bbr
	ECN     bool   // negotiate ECN (net.ipv4.tcp_ecn=1)
	Senders int    // sender hosts (0 or 1: one); more for rtt-fair
}

// Sender is one sender host: its namespace, links, address and router port.
type Sender struct {
	NS, Link, HostIf, Addr, GW, Port string
}

// Senders returns the testbed's sender hosts: the first is NsSend on port "snd"; the
// i-th more (i >= 1) is dqlab-sndI on dqlab(I+1), subnet 10.70.(I+1).0/24, port "sndI".
func Senders(n int) []Sender {
	out := []Sender{{NS: NsSend, Link: LinkSend, HostIf: hostSend, Addr: AddrSend, GW: "10.70.0.1", Port: "snd"}}
	for i := 1; i < n; i++ {
		out = append(out, Sender{NS: fmt.Sprintf("%s-snd%d", Prefix, i), Link: fmt.Sprintf("%s%d", Prefix, i+1),
			HostIf: fmt.Sprintf("%sh%d", Prefix, i+1), Addr: fmt.Sprintf("10.70.%d.2", i+1), GW: fmt.Sprintf("10.70.%d.1", i+1),
			Port: fmt.Sprintf("snd%d", i)})
	}
	return out
}

// Testbed builds the two hosts and their links and registers their removal.
func (e *Env) Testbed(o HostOpts) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab: the testbed needs root (network namespaces, veth links)")
	}
	for _, tool := range []string{"ip", "ethtool", "ping", "iperf3", "ss"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("lab: needs %s (ci/setup.sh installs it)", tool)
		}
	}
	snd := Senders(o.Senders)
	e.OnCleanup(func() {
		ctx := context.Background()
		run(ctx, "ip", "netns", "del", NsRecv)
		run(ctx, "ip", "link", "del", LinkRecv)
		for _, h := range snd {
			run(ctx, "ip", "netns", "del", h.NS)
			run(ctx, "ip", "link", "del", h.Link)
		}
	})
	ecn := "0"
	if o.ECN {
		ecn = "1"
	}
	sysctls := [][2]string{
		// Large buffers so the window is set by the network, not by autotuning limits:
		// only the router's bottleneck queue should drop.
		{"net.ipv4.tcp_rmem", "4096 4194304 33554432"},
		{"net.ipv4.tcp_wmem", "4096 4194304 33554432"},
		{"net.ipv4.tcp_ecn", ecn},
		// No cached ssthresh/cwnd from an earlier flow to the same host.
		{"net.ipv4.tcp_no_metrics_save", "1"},
	}
	ctx := e.Ctx
	type hostSpec struct{ ns, root, host, addr, gw, port string }
	hosts := []hostSpec{{NsRecv, LinkRecv, hostRecv, AddrRecv + "/24", "10.70.1.1", "rcv"}}
	for _, h := range snd {
		hosts = append(hosts, hostSpec{h.NS, h.Link, h.HostIf, h.Addr + "/24", h.GW, h.Port})
	}
	e.neighbors = nil
	for _, h := range hosts {
		steps := [][]string{
			{"ip", "netns", "add", h.ns},
			{"ip", "link", "add", h.root, "type", "veth", "peer", "name", h.host},
			{"ip", "link", "set", h.host, "netns", h.ns},
			inNS(h.ns, "ip", "addr", "add", h.addr, "dev", h.host),
			inNS(h.ns, "ip", "link", "set", h.host, "up"),
			inNS(h.ns, "ip", "link", "set", "lo", "up"),
			inNS(h.ns, "ip", "route", "add", "default", "via", h.gw),
			// The router sees every frame as sent: no checksum or segmentation offload.
			inNS(h.ns, "ethtool", "-K", h.host, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off"),
			{"ethtool", "-K", h.root, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off"},
			{"ip", "link", "set", h.root, "up"},
		}
		for _, kv := range sysctls {
			steps = append(steps, inNS(h.ns, "sysctl", "-q", "-w", kv[0]+"="+kv[1]))
		}
		for _, s := range steps {
			if _, err := run(ctx, s...); err != nil {
				return fmt.Errorf("lab testbed: %w", err)
			}
		}
		// Static ARP both ways (the router's port has its veth end's MAC): no ARP
		// exchange, whose frames would share the congested queue, can break a
		// host's path to the router during the experiment.
		rootMAC, err1 := linkMAC(ctx, "", h.root)
		hostMAC, err2 := linkMAC(ctx, h.ns, h.host)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("lab testbed: %w", err)
		}
		if _, err := run(ctx, inNS(h.ns, "ip", "neigh", "replace", h.gw, "lladdr", rootMAC, "dev", h.host, "nud", "permanent")...); err != nil {
			return fmt.Errorf("lab testbed: %w", err)
		}
		addr, _, _ := strings.Cut(h.addr, "/")
		e.neighbors = append(e.neighbors, neighbor{IP: addr, MAC: hostMAC, Port: h.port})
		// The namespace default, where allowed (a child namespace may only pick from
		// net.ipv4.tcp_allowed_congestion_control); iperf3 -C sets it per socket anyway.
		run(ctx, inNS(h.ns, "sysctl", "-q", "-w", "net.ipv4.tcp_congestion_control="+o.CC)...)
	}
	sysctls = append(sysctls, [2]string{"net.ipv4.tcp_congestion_control", ""})
	m := &e.Res.Machine
	m.CongestionControl = o.CC + " (iperf3 -C, per socket)"
	m.Sysctls = map[string]string{}
	for _, kv := range sysctls {
		out, _ := run(ctx, inNS(NsSend, "sysctl", "-n", kv[0])...)
		m.Sysctls[kv[0]] = strings.Join(strings.Fields(out), " ")
	}
	m.Offloads = map[string]string{}
	out, _ := run(ctx, inNS(NsSend, "ethtool", "-k", hostSend)...)
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		switch k {
		case "tx-checksumming", "rx-checksumming", "tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload":
			if ok {
				m.Offloads[hostSend+" "+k] = strings.TrimSpace(v)
			}
		}
	}
	return nil
}

// linkMAC is the MAC address of interface dev (in namespace ns, "" for the root).
func linkMAC(ctx context.Context, ns, dev string) (string, error) {
	args := []string{"cat", "/sys/class/net/" + dev + "/address"}
	if ns != "" {
		args = inNS(ns, args...)
	}
	out, err := run(ctx, args...)
	return strings.TrimSpace(out), err
}

// Proc is a process the run started; it is stopped at clean-up at the latest.
type Proc struct {
	Cmd  *exec.Cmd
	Out  bytes.Buffer
	done chan struct{}
	err  error
}

// Start starts a process (its own process group; killed if the lab dies) whose output
// is kept in memory, or goes to w when w is not nil.
func (e *Env) Start(w io.Writer, args ...string) (*Proc, error) {
	p := &Proc{done: make(chan struct{})}
	p.Cmd = exec.Command(args[0], args[1:]...)
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if w == nil {
		w = &p.Out
	}
	p.Cmd.Stdout, p.Cmd.Stderr = w, w
	// Pdeathsig fires when the thread that forked dies: fork from a locked thread
	// that stays for the process's life.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := p.Cmd.Start(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("starting %s: %w", args[0], err)
	}
	e.OnCleanup(func() { p.Stop(3 * time.Second) })
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit.
func (p *Proc) Wait() error { <-p.done; return p.err }

// Stop sends SIGINT, then SIGKILL after grace; it returns once the process is gone.
func (p *Proc) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
}

func machineInfo(bin string) Machine {
	ctx := context.Background()
	m := Machine{CPUs: runtime.NumCPU(), DpdkqBinary: bin}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if bin != "" {
		out, _ := run(ctx, bin, "version")
		m.DpdkqVersion = strings.Join(strings.Fields(out), " ")
	}
	out, _ := run(ctx, "iperf3", "--version")
	m.Iperf3, _, _ = strings.Cut(strings.TrimSpace(out), "\n")
	out, _ = run(ctx, "ping", "-V")
	m.Ping, _, _ = strings.Cut(strings.TrimSpace(out), "\n")
	return m
}

// cpuTimes is /proc/stat's per-CPU (idle+iowait, total) jiffies.
func cpuTimes() map[string][2]uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	out := map[string][2]uint64{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var tot, idle uint64
		for i, s := range f[1:] {
			v, _ := strconv.ParseUint(s, 10, 64)
			tot += v
			if i == 3 || i == 4 {
				idle += v
			}
		}
		out[f[0]] = [2]uint64{idle, tot}
	}
	return out
}

// idleShare is the idle fraction of CPU cpu ("cpu0") between two cpuTimes readings.
func idleShare(a, b map[string][2]uint64, cpu string) float64 {
	x, y := a[cpu], b[cpu]
	if y[1] <= x[1] {
		return 0
	}
	return float64(y[0]-x[0]) / float64(y[1]-x[1])
}

// workerTicks is the CPU time (utime+stime, clock ticks) of each of pid's DPDK
// worker threads (named rte-worker-N).
func workerTicks(pid int) map[string]uint64 {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	for _, t := range ents {
		comm, err := os.ReadFile(dir + "/" + t.Name() + "/comm")
		if err != nil || !strings.HasPrefix(string(comm), "rte-worker") {
			continue
		}
		st, err := os.ReadFile(dir + "/" + t.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state is field 3, utime 14, stime 15.
		s := string(st)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64)
		k, _ := strconv.ParseUint(f[12], 10, 64)
		out[strings.TrimSpace(string(comm))] = u + k
	}
	return out
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux's ABI).
const clockTicks = 100

// pollShare is the smallest share of wall time any worker thread was on a CPU
// between two workerTicks readings dt seconds apart: a busy-polling loop that is
// never descheduled is at 1.
func pollShare(a, b map[string]uint64, dt float64) float64 {
	s := math.NaN()
	for name, v := range b {
		if dt <= 0 {
			break
		}
		x := float64(v-a[name]) / clockTicks / dt
		if math.IsNaN(s) || x < s {
			s = x
		}
	}
	return s
}
