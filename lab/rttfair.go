package lab

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

func init() { register(rttFairScenario()) }

// RTTFairPoint is one (discipline, repetition) of the rtt-fair scenario.
type RTTFairPoint struct {
	AQM          string    `json:"aqm"`
	Rep          int       `json:"rep"`
	LimitPackets int       `json:"limit_packets"`
	RTTms        []float64 `json:"rtt_ms"`              // configured, per sender
	GoodputBps   []float64 `json:"goodput_bps"`         // per sender (sum of its flows)
	Ratio        Num       `json:"ratio"`               // goodput of the shortest-RTT sender / the longest's
	SojournMs    Num       `json:"sojourn_mean_ms"`     // mean sampled head-of-queue sojourn
	EffRTTRatio  Num       `json:"effective_rtt_ratio"` // (longest RTT + sojourn) / (shortest RTT + sojourn)
	Jain         Num       `json:"jain"`                // over the senders' goodputs
	Utilization  Num       `json:"utilization"`         // bottleneck line utilization
	CPUIdle      Num       `json:"cpu_idle"`            //
	PollShare    Num       `json:"poll_share"`          //
	Errors       []string  `json:"errors,omitempty"`
}

func rttFairScenario() *Scenario {
	return &Scenario{
		Name:        "rtt-fair",
		Description: "RTT fairness: long flows with different RTTs (per-sender delay lines) sharing a bottleneck, FIFO vs FQ-CoDel",
		Params: []Param{
			{Name: "rtts", Default: "20ms,80ms", Usage: "base RTT of each sender (one sender per value)"},
			{Name: "aqm", Default: "taildrop-1bdp,fq-codel", Usage: "disciplines (as for aqm; the BDP is the longest RTT's)"},
			{Name: "rate", Default: "10Mbps", Usage: "bottleneck rate"},
			{Name: "flows", Default: "1", Usage: "TCP flows per sender"},
			{Name: "duration", Default: "30s", Quick: "10s", Usage: "measured time per point"},
			{Name: "warmup", Default: "5s", Quick: "3s", Usage: "time before measuring"},
			{Name: "repeat", Default: "1", Usage: "repetitions of every point"},
			{Name: "cc", Default: "reno", Usage: "TCP congestion control (rate ∝ 1/RTT is Reno's law; CUBIC's growth does not depend on the RTT)"},
			{Name: "fidelity-pings", Default: "30", Quick: "10", Usage: "idle RTT probes of the fidelity check (first sender)"},
			{Name: "fidelity-flow", Default: "10s", Quick: "4s", Usage: "single-flow rate test of the fidelity check"},
		},
		Method: []string{
			"One sender host per --rtts value, each on its own dpdkq port; the bottleneck (rcv's egress, shaped to --rate) is delayed by half the shortest RTT, and each sender's port (its ACK path) by the rest of its RTT.",
			"Per point: a fresh router; every sender starts --flows iperf3 flows at once for --warmup + --duration, only --duration measured (iperf3 -O).",
			"Ratio = goodput of the shortest-RTT sender / goodput of the longest-RTT sender; Jain's index over the senders.",
			"Both flows see the same queueing delay on top of their base RTTs: the FIFO's ratio is compared with the effective RTT ratio (longest + mean sojourn) / (shortest + mean sojourn), the sojourn sampled at the bottleneck.",
			"Fidelity on the first sender (idle RTT = its configured RTT, single-flow rate).",
		},
		References: []string{
			"flent rtt_fair / RFC 7928 §6: with a FIFO the throughput ratio follows the RTT ratio (TCP's rate ∝ 1/RTT); FQ-CoDel brings it near 1.",
		},
		Plots: []string{"rtt-fair-goodput (goodput per sender and discipline)"},
		Run:   runRTTFair,
		Plot:  plotRTTFair,
	}
}

func runRTTFair(e *Env) error {
	var rtts []time.Duration
	for _, s := range e.List("rtts") {
		d, err := time.ParseDuration(s)
		if err != nil || d < 2*time.Millisecond || d > 2*time.Second {
			e.perr = append(e.perr, fmt.Sprintf("--rtts: %q is not a duration 2ms..2s", s))
		}
		rtts = append(rtts, d)
	}
	if len(rtts) < 2 || len(rtts) > 8 {
		e.perr = append(e.perr, fmt.Sprintf("--rtts %q: want 2..8 RTTs", e.Str("rtts")))
	}
	names := e.List("aqm")
	rate := e.Rate("rate")
	flows := e.Int("flows", 1, 256)
	dur := e.Duration("duration", time.Second, time.Hour)
	warm := e.Duration("warmup", time.Second, 10*time.Minute)
	reps := e.Int("repeat", 1, 100)
	cc := e.Str("cc")
	fPings := e.Int("fidelity-pings", 3, 1000)
	fFlow := e.Duration("fidelity-flow", time.Second, time.Hour)
	var variants []aqmVariant
	for _, n := range names {
		v, ok := lookupVariant(n)
		if !ok {
			e.perr = append(e.perr, fmt.Sprintf("--aqm: %q is not a discipline of the aqm scenario", n))
		}
		variants = append(variants, v)
	}
	if err := e.ParamErr(); err != nil {
		return err
	}
	minRTT, maxRTT := slices.Min(rtts), slices.Max(rtts)
	recv := minRTT / 2
	var sends []time.Duration
	var rttMs []float64
	for _, r := range rtts {
		sends = append(sends, r-recv)
		rttMs = append(rttMs, float64(r)/1e6)
	}
	bdp := max(int(math.Round(rate*maxRTT.Seconds()/(8*1500))), 2)
	if err := e.Testbed(HostOpts{CC: cc, Senders: len(rtts)}); err != nil {
		return err
	}
	// The fidelity check's router has the first sender alone, at its own RTT.
	if _, err := e.CheckFidelity(FidelitySpec{RateBps: rate, RTT: rtts[0], BDP: bdp, Pings: fPings, FlowTime: fFlow, CC: cc}); err != nil {
		return err
	}
	var points []RTTFairPoint
	e.Res.Data = &points
	senders := Senders(len(rtts))
	worstCPU, worstPoll, at, atPoll := math.Inf(1), math.Inf(1), "", ""
	n, i := len(variants)*reps, 0
	var err error
	for rep := 1; rep <= reps && err == nil; rep++ {
		for _, v := range variants {
			i++
			e.Progress("measure", i, n, fmt.Sprintf("%s rep %d", v.Name, rep))
			var p RTTFairPoint
			p, err = e.rttFairPoint(v, rep, bdp, rate, recv, sends, rttMs, senders, flows, dur, warm, cc)
			if err != nil {
				break
			}
			points = append(points, p)
			if x := float64(p.CPUIdle); x < worstCPU {
				worstCPU, at = x, fmt.Sprintf("%s rep %d", v.Name, rep)
			}
			if x := float64(p.PollShare); x < worstPoll {
				worstPoll, atPoll = x, fmt.Sprintf("%s rep %d", v.Name, rep)
			}
		}
	}
	if !math.IsInf(worstCPU, 1) {
		e.cpuCheck(worstCPU, at)
	}
	if !math.IsInf(worstPoll, 1) {
		e.pollCheck("router poll loop on CPU (measurements)", worstPoll, atPoll)
	}
	e.Res.Tables = rttFairTables(points, rttMs)
	for _, c := range RTTFairChecks(points, rttMs) {
		e.AddCheck(c)
	}
	return err
}

func (e *Env) rttFairPoint(v aqmVariant, rep, bdp int, rate float64, recv time.Duration, sends []time.Duration, rttMs []float64,
	senders []Sender, flows int, dur, warm time.Duration, cc string) (RTTFairPoint, error) {
	p := RTTFairPoint{AQM: v.Name, Rep: rep, RTTms: rttMs, Ratio: Num(math.NaN()), Jain: Num(math.NaN()), EffRTTRatio: Num(math.NaN())}
	q := v.Queue(bdp, v.ECN)
	p.LimitPackets = q.Limit
	r, err := e.StartRouter("router-rttfair-"+v.Name+".yaml", RouterSpec{RateBps: rate, Queue: q, RecvDelay: recv, SendDelays: sends}, dur+warm+5*time.Minute)
	if err != nil {
		return p, err
	}
	defer r.Stop()
	label := fmt.Sprintf("%s#%d", v.Name, rep)
	smp := e.NewSampler(r, label, 100*time.Millisecond)
	smp.SetPhase("warmup")
	var bulks []*Bulk
	for i, h := range senders {
		b, err := e.StartBulkFrom(h.NS, flows, warm+dur, warm, cc, 5201+10*i)
		if err != nil {
			e.AddSamples(smp.Stop(), nil)
			return p, err
		}
		bulks = append(bulks, b)
	}
	tm := e.Now() + warm.Seconds()
	if err := e.Sleep(warm); err != nil {
		e.AddSamples(smp.Stop(), nil)
		return p, err
	}
	smp.SetPhase("measure")
	c0, w0, tw := cpuTimes(), workerTicks(r.Proc.Cmd.Process.Pid), e.Now()
	for _, b := range bulks {
		res := b.Wait()
		p.GoodputBps = append(p.GoodputBps, res.GoodputBps)
		p.Errors = append(p.Errors, res.Errors...)
	}
	t1 := e.Now()
	p.CPUIdle, p.PollShare = Num(otherIdle(c0, cpuTimes())), Num(pollShare(w0, workerTicks(r.Proc.Cmd.Process.Pid), t1-tw))
	ss := smp.Stop()
	e.AddSamples(ss, nil)
	if e.Ctx.Err() != nil {
		return p, e.Ctx.Err()
	}
	p.Utilization = Num(rateBetween(ss, tm, t1, rate))
	var soj []float64
	for _, x := range window(ss, tm, t1) {
		soj = append(soj, float64(x.HeadSojournMs))
	}
	p.SojournMs = Num(Mean(soj))
	p.EffRTTRatio = Num((slices.Max(rttMs) + Mean(soj)) / (slices.Min(rttMs) + Mean(soj)))
	lo, hi := slices.Index(rttMs, slices.Min(rttMs)), slices.Index(rttMs, slices.Max(rttMs))
	if p.GoodputBps[hi] > 0 {
		p.Ratio = Num(p.GoodputBps[lo] / p.GoodputBps[hi])
	}
	p.Jain = Num(Jain(p.GoodputBps))
	var gs []string
	for i, g := range p.GoodputBps {
		gs = append(gs, fmt.Sprintf("%.0f ms: %.2f Mb/s", rttMs[i], g/1e6))
	}
	e.Logf("%s: %s, ratio %.2f, Jain %.3f", label, strings.Join(gs, ", "), float64(p.Ratio), float64(p.Jain))
	return p, nil
}

func rttFairTables(points []RTTFairPoint, rttMs []float64) []Table {
	cols := []string{"discipline", "limit (p)"}
	for _, r := range rttMs {
		cols = append(cols, fmt.Sprintf("goodput @%.0f ms (Mb/s)", r))
	}
	cols = append(cols, "ratio short/long", "base RTT ratio", "effective RTT ratio", "mean sojourn ms", "Jain", "util %", "reps")
	t := Table{Title: "RTT fairness", Columns: cols,
		Notes: []string{"ratio: goodput of the shortest-RTT sender over the longest-RTT sender's; medians over repetitions (IQR when several)."}}
	var order []string
	by := map[string][]RTTFairPoint{}
	for _, p := range points {
		if _, ok := by[p.AQM]; !ok {
			order = append(order, p.AQM)
		}
		by[p.AQM] = append(by[p.AQM], p)
	}
	rr := slices.Max(rttMs) / slices.Min(rttMs)
	for _, name := range order {
		ps := by[name]
		row := []string{name, fmt.Sprint(ps[0].LimitPackets)}
		for i := range rttMs {
			var g []float64
			for _, p := range ps {
				if i < len(p.GoodputBps) {
					g = append(g, p.GoodputBps[i]/1e6)
				}
			}
			row = append(row, fmtSum(g, "%.2f"))
		}
		var ra, er, sj, ja, ut []float64
		for _, p := range ps {
			ra, ja, ut = append(ra, float64(p.Ratio)), append(ja, float64(p.Jain)), append(ut, 100*float64(p.Utilization))
			er, sj = append(er, float64(p.EffRTTRatio)), append(sj, float64(p.SojournMs))
		}
		row = append(row, fmtSum(ra, "%.2f"), fmt.Sprintf("%.2f", rr), fmtSum(er, "%.2f"), fmtSum(sj, "%.1f"), fmtSum(ja, "%.3f"), fmtSum(ut, "%.1f"), fmt.Sprint(len(ps)))
		t.Rows = append(t.Rows, row)
	}
	return []Table{t}
}

// RTTFairChecks: a FIFO's ratio within 0.5×..2× of the effective RTT ratio; FQ-CoDel's
// within 0.8..1.25.
func RTTFairChecks(points []RTTFairPoint, rttMs []float64) []Check {
	med := func(pred func(string) bool, f func(RTTFairPoint) float64) (float64, string, bool) {
		var v []float64
		name := ""
		for _, p := range points {
			if pred(p.AQM) {
				v = append(v, f(p))
				name = p.AQM
			}
		}
		return Median(v), name, len(v) > 0
	}
	ratio := func(p RTTFairPoint) float64 { return float64(p.Ratio) }
	var cs []Check
	mk := func(name, ref, rule string, x, rr float64, ok bool) {
		vd := NotReproduced
		if ok {
			vd = Reproduced
		}
		cs = append(cs, Check{Name: name, Reference: ref, Measured: fmt.Sprintf("ratio %.2f (effective RTT ratio %.2f)", x, rr), Value: Num(x), Verdict: vd, Rule: rule})
	}
	fifo := func(s string) bool { return strings.HasPrefix(s, "taildrop") }
	if x, name, ok := med(fifo, ratio); ok {
		rr, _, _ := med(fifo, func(p RTTFairPoint) float64 { return float64(p.EffRTTRatio) })
		mk("FIFO ratio follows the RTT ratio", "throughput ratio ≈ RTT ratio with a FIFO (flent rtt_fair)",
			"median ratio of "+name+" within 0.5×..2× of its effective RTT ratio", x, rr, x >= rr/2 && x <= 2*rr)
	}
	fq := func(s string) bool { return strings.HasPrefix(s, "fq-codel") }
	if x, _, ok := med(fq, ratio); ok {
		rr, _, _ := med(fq, func(p RTTFairPoint) float64 { return float64(p.EffRTTRatio) })
		mk("FQ-CoDel ratio near 1", "FQ-CoDel brings the ratio near 1", "median ratio in 0.8..1.25", x, rr, x >= 0.8 && x <= 1.25)
	}
	return cs
}
