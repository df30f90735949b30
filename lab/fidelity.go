package lab

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FidelitySpec is what the testbed is configured to do.
type FidelitySpec struct {
	RateBps  float64
	RTT      time.Duration
	BDP      int           // packets
	Pings    int           // idle RTT probes
	FlowTime time.Duration // single-flow rate test
	CC       string
}

func within(measured, want, tol float64) bool {
	return !math.IsNaN(measured) && math.Abs(measured-want) <= tol*want
}

func verdict(ok bool) string {
	if ok {
		return Pass
	}
	return Fail
}

func readCounter(ns, dev, name string) uint64 {
	out, err := run(context.Background(), inNS(ns, "cat", "/sys/class/net/"+dev+"/statistics/"+name)...)
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	return v
}

// otherIdle is the mean idle share of the CPUs other than the router's worker (cpu1,
// lcore 1 of the lab's configurations, which busy-polls) between two readings.
func otherIdle(a, b map[string][2]uint64) float64 {
	var s float64
	n := 0
	for cpu := range b {
		if cpu == "cpu1" {
			continue
		}
		s += idleShare(a, b, cpu)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// minCPUIdle is the CPU headroom a measurement needs: the hosts, iperf3, ping and
// the lab share the CPUs other than the router's poll loop; below this they may
// not keep up and the figures would measure the machine.
const minCPUIdle = 0.10

// CheckFidelity measures the testbed before the experiment: the idle RTT against the
// configured one, a single flow's rate against the configured rate, loss before the
// router, CPU headroom and the router's poll-loop health. It records the checks and
// returns the measured idle RTT (ms).
func (e *Env) CheckFidelity(f FidelitySpec) (float64, error) {
	e.Progress("fidelity", 0, 0, "idle RTT, single flow")
	r, err := e.StartRouter("router-fidelity.yaml", RouterSpec{RateBps: f.RateBps, RTT: f.RTT,
		Queue: QueueSpec{Limit: 2 * f.BDP}}, 10*time.Minute)
	if err != nil {
		return math.NaN(), err
	}
	defer r.Stop()
	smp := e.NewSampler(r, "fidelity", 100*time.Millisecond)
	pr, err := e.NewProber("fidelity", 100*time.Millisecond)
	if err != nil {
		return math.NaN(), err
	}
	pr.SetPhase("idle")
	smp.SetPhase("idle")
	if err := e.Sleep(time.Duration(f.Pings) * 100 * time.Millisecond); err != nil {
		return math.NaN(), err
	}
	probes, _ := pr.Stop()
	var rtts []float64
	for _, p := range probes {
		rtts = append(rtts, p.RTTms)
	}
	idle := Median(rtts)
	want := float64(f.RTT) / 1e6
	e.AddFidelity(Check{Name: "idle RTT", Reference: fmt.Sprintf("%.1f ms ± 10%%", want),
		Measured: fmt.Sprintf("%.2f ms (median of %d pings; min %.2f, max %.2f)", idle, len(rtts), Quantile(rtts, 0), Quantile(rtts, 1)),
		Value:    Num(idle), Verdict: verdict(within(idle, want, 0.10)), Rule: "|median - configured| <= 10% of configured"})

	smp.SetPhase("single flow")
	sendTx0 := readCounter(NsSend, hostSend, "tx_packets")
	ports0, _ := r.Client.Ports(e.Ctx)
	cpu0 := cpuTimes()
	w0 := workerTicks(r.Proc.Cmd.Process.Pid)
	t0 := e.Now()
	b, err := e.StartBulk(1, f.FlowTime, 0, f.CC, 5301)
	if err != nil {
		return idle, err
	}
	res := b.Wait()
	t1 := e.Now()
	cpu1 := cpuTimes()
	w1 := workerTicks(r.Proc.Cmd.Process.Pid)
	sendTx1 := readCounter(NsSend, hostSend, "tx_packets")
	ports1, _ := r.Client.Ports(e.Ctx)
	ss := smp.Stop()
	attachProbes(ss, probes)
	e.AddSamples(ss, probes)
	if e.Ctx.Err() != nil {
		return idle, e.Ctx.Err()
	}
	// Skip slow start: the first third of the flow.
	util := rateBetween(ss, t0+(t1-t0)/3, t1, f.RateBps)
	e.AddFidelity(Check{Name: "single-flow rate", Reference: fmt.Sprintf("%.2f Mb/s line rate ± 10%%", f.RateBps/1e6),
		Measured: fmt.Sprintf("%.2f Mb/s line rate (%.1f%%), iperf3 goodput %.2f Mb/s", util*f.RateBps/1e6, 100*util, res.GoodputBps/1e6),
		Value:    Num(util), Verdict: verdict(within(util, 1, 0.10) && res.Complete),
		Rule: "tx counter of the bottleneck over the last 2/3 of a single " + f.CC + " flow through a 2-BDP queue, within 10% of the rate"})

	var steady, n int
	for _, s := range window(ss, t0+(t1-t0)/3, t1) {
		if !math.IsNaN(float64(s.LineUtil)) {
			n++
			if math.Abs(float64(s.LineUtil)-1) <= 0.10 {
				steady++
			}
		}
	}
	e.AddFidelity(Check{Name: "bottleneck rate steadiness (100 ms intervals)", Reference: "Mininet-HiFi: > 99% of departures within 10% of ideal spacing",
		Measured: fmt.Sprintf("%d of %d intervals within 10%% of the rate", steady, n), Value: Num(float64(steady) / float64(max(n, 1))),
		Verdict: NotAvailable, Rule: "informational: the intervals are cut where the lab's API poll returned, so their jitter is the sampler's; per-packet departure times are not exposed by the API"})

	var rx0, rx1 uint64
	for _, p := range ports0 {
		if p.Name == "snd" {
			rx0 = p.RxPackets
		}
	}
	for _, p := range ports1 {
		if p.Name == "snd" {
			rx1 = p.RxPackets
		}
	}
	sent := float64(sendTx1 - sendTx0)
	lost := sent - float64(rx1-rx0)
	share := math.Max(lost, 0) / math.Max(sent, 1)
	e.AddFidelity(Check{Name: "loss before the router (af_packet ring, veth)", Reference: "<= 0.1% of the sender's packets",
		Measured: fmt.Sprintf("%.0f of %.0f packets (%.3f%%)", math.Max(lost, 0), sent, 100*share), Value: Num(share),
		Verdict: verdict(sent > 0 && share <= 0.001), Rule: "sender interface tx_packets minus router port snd rx_packets during the single flow"})

	idleCPU := otherIdle(cpu0, cpu1)
	e.AddFidelity(Check{Name: "CPU headroom (single flow)", Reference: fmt.Sprintf(">= %.0f%% idle on the CPUs other than the router's poll loop", 100*minCPUIdle),
		Measured: fmt.Sprintf("%.1f%% idle", 100*idleCPU), Value: Num(idleCPU), Verdict: verdict(idleCPU >= minCPUIdle),
		Rule: "/proc/stat over the single-flow test"})
	e.pollCheck("router poll loop on CPU (single flow)", pollShare(w0, w1, t1-t0), "")
	return idle, nil
}

// minPollShare is the share of wall time the router's busy-polling worker must be on
// a CPU: below it the poll loop was descheduled (by other processes) often enough
// to delay packets by scheduler time slices, which the figures would then include.
const minPollShare = 0.90

func (e *Env) pollCheck(name string, share float64, at string) {
	m := fmt.Sprintf("%.1f%% of wall time", 100*share)
	if at != "" {
		m = fmt.Sprintf("worst %.1f%% (%s)", 100*share, at)
	}
	e.AddFidelity(Check{Name: name, Reference: fmt.Sprintf(">= %.0f%% (a busy-polling loop that is never descheduled is at 100%%)", 100*minPollShare),
		Measured: m, Value: Num(share), Verdict: verdict(share >= minPollShare),
		Rule: "CPU time of the router's rte-worker threads (/proc/PID/task) over wall time; the API has no stall counter"})
}

// cpuCheck records the CPU headroom over the measurement phases (the worst point).
func (e *Env) cpuCheck(worst float64, at string) {
	e.AddFidelity(Check{Name: "CPU headroom (measurements)", Reference: fmt.Sprintf(">= %.0f%% idle on the CPUs other than the router's poll loop, every point", 100*minCPUIdle),
		Measured: fmt.Sprintf("worst %.1f%% idle (%s)", 100*worst, at), Value: Num(worst), Verdict: verdict(worst >= minCPUIdle),
		Rule: "/proc/stat over each point's measurement"})
}
