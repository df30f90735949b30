package lab

import (
	"fmt"
	"math"
	"time"
)

func init() { register(sizingScenario()) }

// SizingRun is one search for the smallest buffer at N flows.
type SizingRun struct {
	N           int       `json:"flows"`
	Rep         int       `json:"rep"`
	BDP         int       `json:"bdp_packets"`
	Connected   int       `json:"connected"`
	Calibration Num       `json:"calibration_util"` // median line utilization at 1 BDP, the 100% rate
	CalSamples  []float64 `json:"calibration_samples"`
	Answer      int       `json:"answer_packets"`
	Trials      []Trial   `json:"trials"`
	Confirmed   bool      `json:"confirmed"`
	ConfirmUtil Num       `json:"confirm_util"`
	WindowCap   bool      `json:"window_capped"` // a trial's window was cut to --max-window
	CPUIdle     Num       `json:"cpu_idle"`
	PollShare   Num       `json:"poll_share"` // router worker's on-CPU share of wall time
	Error       string    `json:"error,omitempty"`
}

func sizingScenario() *Scenario {
	return &Scenario{
		Name:        "sizing",
		Description: "Buffer sizing (Appenzeller et al. 2004): the smallest queue keeping the bottleneck's utilization >= target, vs the number of TCP flows",
		Params: []Param{
			{Name: "flows", Default: "1,2,4,8,16,32,64,128,256", Quick: "1,16", Usage: "numbers of long-lived flows N"},
			{Name: "rate", Default: "62.5Mbps", Quick: "20Mbps", Usage: "bottleneck rate"},
			{Name: "rtt", Default: "87ms", Quick: "20ms", Usage: "base RTT (dpdkq delay lines, half each way)"},
			{Name: "target", Default: "0.98", Usage: "utilization to keep, relative to the calibrated 100% rate"},
			{Name: "repeat", Default: "3", Quick: "1", Usage: "searches per N"},
			{Name: "cc", Default: "reno", Usage: "TCP congestion control (the √N model is Reno's)"},
			{Name: "sample", Default: "1s", Quick: "500ms", Usage: "utilization sample length"},
			{Name: "cal-samples", Default: "40", Quick: "8", Usage: "calibration samples at 1 BDP"},
			{Name: "cal-drop", Default: "10", Quick: "2", Usage: "first calibration samples left out"},
			{Name: "cycles-wait", Default: "1", Usage: "TCP sawtooth cycles to wait after each queue change"},
			{Name: "cycles-window", Default: "3", Usage: "sawtooth cycles of samples per trial"},
			{Name: "min-wait", Default: "3s", Quick: "1s", Usage: "shortest wait after a change"},
			{Name: "min-samples", Default: "3", Usage: "fewest samples per trial"},
			{Name: "max-window", Default: "120s", Quick: "4s", Usage: "longest sampling window of one trial (reported when it cuts one)"},
			{Name: "confirm", Default: "2", Usage: "the answer is confirmed by a trial this many times longer"},
			{Name: "connect-timeout", Default: "60s", Usage: "time for all N flows to connect"},
			{Name: "fidelity-pings", Default: "30", Quick: "10", Usage: "idle RTT probes of the fidelity check"},
			{Name: "fidelity-flow", Default: "20s", Quick: "4s", Usage: "single-flow rate test of the fidelity check"},
		},
		Method: []string{
			"Sender and receiver in network namespaces, veth to dpdkq's net_af_packet ports; the bottleneck is rcv's egress shaped to --rate, each direction delayed by --rtt/2; BDP = rate·RTT / 1500 B.",
			"Fidelity first (idle RTT and single-flow rate within 10% of the configured ones).",
			"Per N and repetition: a fresh router with the queue at 1 BDP, N iperf3 flows (at most 64 per process, processes 100 ms apart), wait until all N are established at the receiver.",
			"Sawtooth cycle T(B) = (W/2)·RTT with W = (BDP + B)/N packets per flow (Reno's window halving).",
			"Calibrate the 100% rate at 1 BDP: wait max(--min-wait, --cycles-wait·T), take --cal-samples samples of --sample, drop the first --cal-drop, median (must exceed 0.9 of the configured rate).",
			"Binary search lo = 1 .. hi = BDP packets; each trial sets the queue limit live (POST /api/v1/changes queue_limit), waits max(--min-wait, --cycles-wait·T(B)), takes max(--min-samples, --cycles-window·T(B)/--sample) samples (window at most --max-window), and passes when the median utilization / calibration >= --target.",
			"Confirm the answer with one trial --confirm times longer; report every run, the median and the IQR over repetitions.",
			"Utilization is the router's tx byte and packet counters (+24 B per frame of line overhead) over the samples.",
		},
		References: []string{
			"Appenzeller, Keslassy, McKeown 2004: B = RTT·C/√N for N desynchronized long flows; B = RTT·C for one flow.",
			"Stanford CS244 on Mininet-HiFi (62.5 Mb/s, 87 ms, 98%): N=2 38/52/59, 4 21/28/22, 10 15/35/35, 20 15/21/15, 100 45/45/29, 200 2/2/4, 400-800 2/2/2 packets.",
			"Beheshti's hardware testbed (62.5 Mb/s, 87 ms, 99%): data/sizing-reference.txt.",
			"Expected shape: non-increasing in N, within 0.5×–2× of RTT·C/√N for 10 <= N <= 200.",
		},
		Plots: []string{"sizing-buffer-vs-n (log-log: measured runs and medians, RTT·C/√N, RTT·C, CS244 and hardware-testbed points)"},
		Run:   runSizing,
		Plot:  plotSizing,
	}
}

type sizingCfg struct {
	rate                      float64
	rtt                       time.Duration
	target                    float64
	cc                        string
	sample, minWait, maxWin   time.Duration
	calN, calDrop, minSamples int
	cycWait, cycWin, confirm  float64
	connect                   time.Duration
	bdp                       int
}

// cycle is the sawtooth period at N flows and a buffer of b packets.
func (c sizingCfg) cycle(n, b int) time.Duration {
	w := float64(c.bdp+b) / float64(n)
	return time.Duration(w / 2 * float64(c.rtt))
}

func runSizing(e *Env) error {
	var c sizingCfg
	ns := e.Ints("flows", 1, 4096)
	c.rate = e.Rate("rate")
	c.rtt = e.Duration("rtt", time.Millisecond, 2*time.Second)
	c.target = e.Float("target", 0.5, 1)
	reps := e.Int("repeat", 1, 100)
	c.cc = e.Str("cc")
	c.sample = e.Duration("sample", 100*time.Millisecond, time.Minute)
	c.calN = e.Int("cal-samples", 2, 10000)
	c.calDrop = e.Int("cal-drop", 0, 10000)
	c.cycWait = e.Float("cycles-wait", 0, 100)
	c.cycWin = e.Float("cycles-window", 0, 100)
	c.minWait = e.Duration("min-wait", 0, time.Hour)
	c.minSamples = e.Int("min-samples", 1, 10000)
	c.maxWin = e.Duration("max-window", time.Second, time.Hour)
	c.confirm = e.Float("confirm", 1, 100)
	c.connect = e.Duration("connect-timeout", time.Second, time.Hour)
	fPings := e.Int("fidelity-pings", 3, 1000)
	fFlow := e.Duration("fidelity-flow", time.Second, time.Hour)
	if c.calDrop >= c.calN {
		e.perr = append(e.perr, fmt.Sprintf("--cal-drop %d: want fewer than --cal-samples %d", c.calDrop, c.calN))
	}
	if err := e.ParamErr(); err != nil {
		return err
	}
	c.bdp = max(int(math.Round(c.rate*c.rtt.Seconds()/(8*1500))), 2)
	if err := e.Testbed(HostOpts{CC: c.cc}); err != nil {
		return err
	}
	if _, err := e.CheckFidelity(FidelitySpec{RateBps: c.rate, RTT: c.rtt, BDP: c.bdp, Pings: fPings, FlowTime: fFlow, CC: c.cc}); err != nil {
		return err
	}
	var runs []SizingRun
	e.Res.Data = &runs
	worstCPU, worstAt := math.Inf(1), ""
	worstCal, worstCalAt := math.Inf(1), ""
	worstPoll, worstPollAt := math.Inf(1), ""
	total := len(ns) * reps
	i := 0
	var err error
	for rep := 1; rep <= reps && err == nil; rep++ {
		for _, n := range ns {
			i++
			e.Progress("search", i, total, fmt.Sprintf("N=%d rep %d", n, rep))
			var sr SizingRun
			var idle float64
			sr, idle, err = e.sizingRun(c, n, rep)
			runs = append(runs, sr)
			if idle < worstCPU {
				worstCPU, worstAt = idle, fmt.Sprintf("N=%d rep %d", n, rep)
			}
			if v := float64(sr.PollShare); v < worstPoll {
				worstPoll, worstPollAt = v, fmt.Sprintf("N=%d rep %d", n, rep)
			}
			if v := float64(sr.Calibration); v < worstCal {
				worstCal, worstCalAt = v, fmt.Sprintf("N=%d rep %d", n, rep)
			}
			if err != nil {
				break
			}
		}
	}
	if !math.IsInf(worstCPU, 1) {
		e.cpuCheck(worstCPU, worstAt)
	}
	if !math.IsInf(worstPoll, 1) {
		e.pollCheck("router poll loop on CPU (searches)", worstPoll, worstPollAt)
	}
	if !math.IsInf(worstCal, 1) {
		e.AddFidelity(Check{Name: "calibrated rate at 1 BDP", Reference: "> 0.9 of the configured rate, every search (CS244's rule)",
			Measured: fmt.Sprintf("worst %.1f%% (%s)", 100*worstCal, worstCalAt), Value: Num(worstCal), Verdict: verdict(worstCal > 0.9),
			Rule: "median line utilization of the calibration samples"})
	}
	e.Res.Tables = sizingTables(runs, c.bdp, c.target)
	for _, ch := range SizingChecks(runs, c.bdp) {
		e.AddCheck(ch)
	}
	return err
}

// sizingRun is one search at n flows; it returns the run and the CPU idle share.
func (e *Env) sizingRun(c sizingCfg, n, rep int) (SizingRun, float64, error) {
	sr := SizingRun{N: n, Rep: rep, BDP: c.bdp, Calibration: Num(math.NaN()), ConfirmUtil: Num(math.NaN()), CPUIdle: Num(math.NaN()), PollShare: Num(math.NaN())}
	label := fmt.Sprintf("N=%d#%d", n, rep)
	r, err := e.StartRouter(fmt.Sprintf("router-sizing-n%d.yaml", n), RouterSpec{RateBps: c.rate, RTT: c.rtt, Queue: QueueSpec{Limit: c.bdp}}, 24*time.Hour)
	if err != nil {
		sr.Error = err.Error()
		return sr, math.NaN(), err
	}
	defer r.Stop()
	smp := e.NewSampler(r, label, 100*time.Millisecond)
	defer func() { e.AddSamples(smp.Stop(), nil) }()
	smp.SetPhase("connect")
	b, err := e.StartBulk(n, 0, 0, c.cc, 5201)
	if err != nil {
		sr.Error = err.Error()
		return sr, math.NaN(), err
	}
	defer b.Stop()
	sr.Connected, err = e.WaitConnected(b, c.connect)
	if err != nil {
		sr.Error = err.Error()
		return sr, math.NaN(), err
	}
	c0, w0, tw := cpuTimes(), workerTicks(r.Proc.Cmd.Process.Pid), e.Now()
	done := func() (float64, float64) {
		return otherIdle(c0, cpuTimes()), pollShare(w0, workerTicks(r.Proc.Cmd.Process.Pid), e.Now()-tw)
	}
	// samples takes k samples of c.sample and returns each one's utilization.
	samples := func(k int) ([]float64, error) {
		var out []float64
		for j := 0; j < k; j++ {
			t0 := e.Now()
			if err := e.Sleep(c.sample); err != nil {
				return out, err
			}
			out = append(out, rateBetween(smp.Since(t0), t0, e.Now(), c.rate))
		}
		return out, nil
	}
	wait := func(b int) time.Duration {
		return max(c.minWait, time.Duration(c.cycWait*float64(c.cycle(n, b))))
	}
	count := func(b int, mult float64) int {
		win := time.Duration(mult * c.cycWin * float64(c.cycle(n, b)))
		if limit := time.Duration(mult * float64(c.maxWin)); win > limit {
			win = limit
			sr.WindowCap = true
		}
		return max(c.minSamples, int(math.Ceil(float64(win)/float64(c.sample))))
	}
	smp.SetPhase("calibrate")
	if err := e.Sleep(wait(c.bdp)); err != nil {
		return sr, math.NaN(), err
	}
	cal, err := samples(c.calN)
	if err != nil {
		return sr, math.NaN(), err
	}
	sr.CalSamples = cal
	calib := Median(cal[min(c.calDrop, len(cal)):])
	sr.Calibration = Num(calib)
	trial := func(b int, mult float64) (float64, bool, error) {
		if err := r.SetLimit(e.Ctx, b); err != nil {
			return math.NaN(), false, fmt.Errorf("setting the queue limit to %dp: %w", b, err)
		}
		smp.SetLimit(b)
		smp.SetPhase(fmt.Sprintf("wait %dp", b))
		if err := e.Sleep(wait(b)); err != nil {
			return math.NaN(), false, err
		}
		smp.SetPhase(fmt.Sprintf("trial %dp", b))
		us, err := samples(count(b, mult))
		if err != nil {
			return math.NaN(), false, err
		}
		u := Median(us) / calib
		e.Logf("%s: queue %dp: utilization %.4f of calibrated (%d samples) -> %v", label, b, u, len(us), u >= c.target)
		return u, u >= c.target, nil
	}
	sr.Answer, sr.Trials, err = SearchSmallest(1, c.bdp, func(b int) (float64, bool, error) { return trial(b, 1) })
	if err != nil {
		sr.Error = err.Error()
		cpu, poll := done()
		sr.CPUIdle, sr.PollShare = Num(cpu), Num(poll)
		return sr, cpu, err
	}
	u, ok, err := trial(sr.Answer, c.confirm)
	sr.ConfirmUtil, sr.Confirmed = Num(u), ok
	if err != nil {
		sr.Error = err.Error()
	}
	cpu, poll := done()
	sr.CPUIdle, sr.PollShare = Num(cpu), Num(poll)
	return sr, cpu, err
}

// sizingByN groups the runs' answers by N in the order N first appears.
func sizingByN(runs []SizingRun) ([]int, map[int][]SizingRun) {
	var order []int
	by := map[int][]SizingRun{}
	for _, r := range runs {
		if r.Error != "" {
			continue
		}
		if _, ok := by[r.N]; !ok {
			order = append(order, r.N)
		}
		by[r.N] = append(by[r.N], r)
	}
	return order, by
}

func sizingTables(runs []SizingRun, bdp int, target float64) []Table {
	order, by := sizingByN(runs)
	t := Table{Title: fmt.Sprintf("Smallest buffer for %.0f%% utilization (BDP = %d packets)", 100*target, bdp),
		Columns: []string{"N", "answers (p)", "median (p)", "IQR (p)", "RTT·C/√N (p)", "median / (RTT·C/√N)", "calibration %", "confirmed", "trials"}}
	for _, n := range order {
		rs := by[n]
		var ans, cal []float64
		conf, trials := 0, 0
		s := ""
		for i, r := range rs {
			ans = append(ans, float64(r.Answer))
			cal = append(cal, 100*float64(r.Calibration))
			if r.Confirmed {
				conf++
			}
			trials += len(r.Trials)
			if i > 0 {
				s += "/"
			}
			s += fmt.Sprint(r.Answer)
		}
		sq := float64(bdp) / math.Sqrt(float64(n))
		sm := Summarize(ans)
		t.Rows = append(t.Rows, []string{fmt.Sprint(n), s, fmt.Sprintf("%.1f", sm.Median), fmt.Sprintf("%.1f", sm.IQR),
			fmt.Sprintf("%.1f", sq), fmt.Sprintf("%.2f", sm.Median/sq), fmtSum(cal, "%.1f"), fmt.Sprintf("%d of %d", conf, len(rs)), fmt.Sprint(trials)})
	}
	return []Table{t}
}

// SizingChecks are the reference checks of the sizing scenario.
func SizingChecks(runs []SizingRun, bdp int) []Check {
	order, by := sizingByN(runs)
	med := func(n int) float64 {
		var a []float64
		for _, r := range by[n] {
			a = append(a, float64(r.Answer))
		}
		return Median(a)
	}
	var cs []Check
	if len(order) > 1 {
		ok := true
		s := ""
		prev := math.Inf(1)
		for i, n := range order {
			m := med(n)
			if m > prev {
				ok = false
			}
			prev = m
			if i > 0 {
				s += ", "
			}
			s += fmt.Sprintf("N=%d: %.1f", n, m)
		}
		v := NotReproduced
		if ok {
			v = Reproduced
		}
		cs = append(cs, Check{Name: "non-increasing in N", Reference: "the smallest buffer does not grow with N (Appenzeller et al.)",
			Measured: s + " packets", Value: Num(math.NaN()), Verdict: v, Rule: "each N's median <= the previous N's median, N in sweep order"})
	}
	for _, n := range order {
		if n < 10 || n > 200 {
			continue
		}
		m := med(n)
		sq := float64(bdp) / math.Sqrt(float64(n))
		v := NotReproduced
		if m >= 0.5*sq && m <= 2*sq {
			v = Reproduced
		}
		cs = append(cs, Check{Name: fmt.Sprintf("N=%d near RTT·C/√N", n), Reference: fmt.Sprintf("0.5×..2× of RTT·C/√N = %.1f packets", sq),
			Measured: fmt.Sprintf("%.1f packets (%.2f×)", m, m/sq), Value: Num(m / sq), Verdict: v, Rule: "median answer / (RTT·C/√N) in [0.5, 2]"})
	}
	return cs
}
