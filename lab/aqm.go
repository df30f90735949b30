package lab

import (
	"fmt"
	"math"
	"strings"
	"time"
)

func init() { register(aqmScenario()) }

// aqmVariant is one queue discipline of the comparison.
type aqmVariant struct {
	Name string
	ECN  bool
	// Queue for a BDP of bdp packets.
	Queue func(bdp int, ecn bool) QueueSpec
}

func ecnYAML(on bool) string {
	if on {
		return "true"
	}
	return "false"
}

var aqmVariants = []aqmVariant{
	{Name: "taildrop-1bdp", Queue: func(bdp int, _ bool) QueueSpec { return QueueSpec{Limit: bdp} }},
	{Name: "taildrop-10bdp", Queue: func(bdp int, _ bool) QueueSpec { return QueueSpec{Limit: 10 * bdp} }},
	{Name: "red", Queue: func(bdp int, ecn bool) QueueSpec {
		// Thresholds at 1/4 and 3/4 of a BDP of average queue, max drop probability 1/10.
		return QueueSpec{Limit: 10 * bdp, AQM: fmt.Sprintf("{kind: red, red: {min_th: %dp, max_th: %dp, maxp_inv: 10, wq_log2: 9, ecn: %s}}",
			max(bdp/4, 2), max(3*bdp/4, 4), ecnYAML(ecn))}
	}},
	{Name: "pie", Queue: func(bdp int, ecn bool) QueueSpec {
		return QueueSpec{Limit: 10 * bdp, AQM: "{kind: pie, pie: {target: 15ms, t_update: 15ms, ecn: " + ecnYAML(ecn) + "}}"}
	}},
	{Name: "codel", Queue: func(bdp int, ecn bool) QueueSpec {
		return QueueSpec{Limit: 10 * bdp, AQM: "{kind: codel, codel: {target: 5ms, interval: 100ms, ecn: " + ecnYAML(ecn) + "}}"}
	}},
	{Name: "fq-codel", Queue: func(bdp int, ecn bool) QueueSpec {
		return QueueSpec{Limit: 10 * bdp, FQ: true, AQM: "{kind: codel, codel: {target: 5ms, interval: 100ms, ecn: " + ecnYAML(ecn) + "}}"}
	}},
}

func lookupVariant(name string) (aqmVariant, bool) {
	base, ecn := strings.CutSuffix(name, "-ecn")
	for _, v := range aqmVariants {
		if v.Name == base && (!ecn || !strings.HasPrefix(base, "taildrop")) {
			v.Name, v.ECN = name, ecn
			return v, true
		}
	}
	return aqmVariant{}, false
}

// AQMPoint is one (discipline, repetition) of the aqm scenario.
type AQMPoint struct {
	AQM            string            `json:"aqm"`
	Rep            int               `json:"rep"`
	LimitPackets   int               `json:"limit_packets"`
	GoodputBps     Num               `json:"goodput_bps"`
	Utilization    Num               `json:"utilization"`
	IdleRTTms      Num               `json:"idle_rtt_ms"` // this point's own idle RTT before the flows
	InducedP50ms   Num               `json:"induced_rtt_p50_ms"`
	InducedP99ms   Num               `json:"induced_rtt_p99_ms"`
	SojournP50ms   Num               `json:"sojourn_p50_ms"`
	SojournP99ms   Num               `json:"sojourn_p99_ms"`
	QueueP50       Num               `json:"queue_p50_packets"`
	Drops          map[string]uint64 `json:"drops"`
	Marks          uint64            `json:"ce_marked"`
	LossShare      Num               `json:"loss_share"`
	Jain           Num               `json:"jain"`
	PerFlowBps     []float64         `json:"per_flow_bps"`
	Retransmits    int               `json:"retransmits"`
	ProbeSent      int               `json:"probe_sent"`
	ProbeReplies   int               `json:"probe_replies_measured"`
	ProbeLossShare Num               `json:"probe_loss_share"`
	CPUIdle        Num               `json:"cpu_idle"`
	PollShare      Num               `json:"poll_share"` // router worker's on-CPU share of wall time`
	Errors         []string          `json:"errors,omitempty"`
}

func aqmScenario() *Scenario {
	return &Scenario{
		Name:        "aqm",
		Description: "Bufferbloat and AQM: N bulk TCP flows plus a ping probe through tail drop (1 and 10 BDP), RED, PIE, CoDel and FQ-CoDel",
		Params: []Param{
			{Name: "aqm", Default: "taildrop-10bdp,taildrop-1bdp,red,pie,codel,fq-codel", Quick: "taildrop-10bdp,codel",
				Usage: "disciplines, in order: taildrop-1bdp, taildrop-10bdp, red, pie, codel, fq-codel; add -ecn (e.g. codel-ecn) to mark instead of drop"},
			{Name: "rate", Default: "10Mbps", Usage: "bottleneck rate"},
			{Name: "rtt", Default: "50ms", Usage: "base RTT (dpdkq delay lines, half each way)"},
			{Name: "flows", Default: "4", Quick: "2", Usage: "bulk TCP flows, sender to receiver"},
			{Name: "duration", Default: "30s", Quick: "6s", Usage: "measured time per point"},
			{Name: "warmup", Default: "5s", Quick: "2s", Usage: "time before measuring (slow start, AQM settling)"},
			{Name: "idle", Default: "2s", Quick: "1s", Usage: "probe-only time before the flows of each point"},
			{Name: "repeat", Default: "1", Usage: "repetitions of every point"},
			{Name: "cc", Default: "cubic", Usage: "TCP congestion control of the senders (reno, cubic, bbr)"},
			{Name: "sample", Default: "100ms", Usage: "router sampling interval"},
			{Name: "probe", Default: "100ms", Usage: "ping interval"},
			{Name: "fidelity-pings", Default: "30", Quick: "10", Usage: "idle RTT probes of the fidelity check"},
			{Name: "fidelity-flow", Default: "10s", Quick: "4s", Usage: "single-flow rate test of the fidelity check"},
		},
		Method: []string{
			"Sender and receiver hosts in network namespaces, joined by veth pairs to dpdkq's net_af_packet ports snd and rcv; offloads off; TCP buffers up to 32 MB.",
			"The bottleneck is rcv's egress: shaped to --rate (line rate: every frame charged +24 B), delayed by --rtt/2; snd's egress (ACKs) is delayed by --rtt/2, unshaped.",
			"One fresh router per point (discipline × repetition), configured by the YAML file stored beside the report; BDP = rate·RTT / 1500 B.",
			"Each point: --idle seconds of probes alone, then --flows iperf3 flows for --warmup + --duration; only the --duration window is measured (iperf3 -O omits the warmup).",
			"Goodput and per-flow goodput from iperf3 (receiver side); utilization from the router's tx counters; drops and marks from the router's counters over the window.",
			"RTT under load: ping every --probe from sender to receiver through the bottleneck; induced (RTT+) = each reply's RTT minus the median idle RTT of the same point's --idle phase; p50/p99 exact over the replies.",
			"Queue sojourn: the head-of-queue packet's age (head_sojourn) sampled every --sample; p50/p99 exact over the samples (time-weighted, not per packet: the API has no per-packet sojourn export).",
			"Repetitions: every figure is reported as the median and IQR over --repeat runs.",
		},
		References: []string{
			"Expected ordering of queueing delay at similar goodput: taildrop 10 BDP ≫ taildrop 1 BDP > RED > PIE (≈ its 15 ms target) > CoDel (≈ 5 ms) ≈ FQ-CoDel, with FQ-CoDel's probe near the idle RTT (RFC 7928 guidelines; flent RRUL).",
			"ns-3 AQM suite (1 Mb/s, 48 ms, different setup, not checked): mean queue delay DropTail 72.1 ms, RED 50.1, PIE 19.1, CoDel 2.43.",
		},
		Plots: []string{"aqm-delay-goodput (induced RTT p50 vs goodput, p99 as error bar)", "aqm-rtt-cdf (induced RTT CDF per discipline)", "aqm-sojourn-box (sojourn samples per discipline)"},
		Run:   runAQM,
		Plot:  plotAQM,
	}
}

func runAQM(e *Env) error {
	names := e.List("aqm")
	rate := e.Rate("rate")
	rtt := e.Duration("rtt", time.Millisecond, 2*time.Second)
	flows := e.Int("flows", 1, 1024)
	dur := e.Duration("duration", time.Second, time.Hour)
	warm := e.Duration("warmup", time.Second, 10*time.Minute)
	idleT := e.Duration("idle", 0, time.Minute)
	reps := e.Int("repeat", 1, 100)
	cc := e.Str("cc")
	sampleT := e.Duration("sample", 10*time.Millisecond, 10*time.Second)
	probeT := e.Duration("probe", 10*time.Millisecond, 10*time.Second)
	fPings := e.Int("fidelity-pings", 3, 1000)
	fFlow := e.Duration("fidelity-flow", time.Second, 10*time.Minute)
	var variants []aqmVariant
	anyECN := false
	for _, n := range names {
		v, ok := lookupVariant(n)
		if !ok {
			e.perr = append(e.perr, fmt.Sprintf("--aqm: %q is not one of taildrop-1bdp, taildrop-10bdp, red, pie, codel, fq-codel (optionally with -ecn, not for taildrop)", n))
		}
		variants = append(variants, v)
		anyECN = anyECN || v.ECN
	}
	if err := e.ParamErr(); err != nil {
		return err
	}
	bdp := int(math.Round(rate * rtt.Seconds() / (8 * 1500)))
	bdp = max(bdp, 2)
	if err := e.Testbed(HostOpts{CC: cc, ECN: anyECN}); err != nil {
		return err
	}
	idleRTT, err := e.CheckFidelity(FidelitySpec{RateBps: rate, RTT: rtt, BDP: bdp, Pings: fPings, FlowTime: fFlow, CC: cc})
	if err != nil {
		return err
	}
	var points []AQMPoint
	e.Res.Data = &points
	worstCPU, worstAt := math.Inf(1), ""
	worstPoll, worstPollAt := math.Inf(1), ""
	worstIdle, worstIdleAt := 0.0, ""
	n := len(variants) * reps
	i := 0
	for rep := 1; rep <= reps; rep++ {
		for _, v := range variants {
			i++
			e.Progress("measure", i, n, fmt.Sprintf("%s rep %d", v.Name, rep))
			p, err := e.aqmPoint(v, rep, bdp, rate, rtt, flows, dur, warm, idleT, cc, sampleT, probeT, idleRTT)
			if p != nil {
				points = append(points, *p)
				if c := float64(p.CPUIdle); c < worstCPU {
					worstCPU, worstAt = c, fmt.Sprintf("%s rep %d", v.Name, rep)
				}
				if c := float64(p.PollShare); c < worstPoll {
					worstPoll, worstPollAt = c, fmt.Sprintf("%s rep %d", v.Name, rep)
				}
				if d := math.Abs(float64(p.IdleRTTms) - float64(rtt)/1e6); !(d <= worstIdle) {
					worstIdle, worstIdleAt = d, fmt.Sprintf("%s rep %d: %.2f ms", v.Name, rep, float64(p.IdleRTTms))
				}
			}
			if err != nil {
				e.Res.Tables = aqmTables(points, rate, flows)
				return err
			}
		}
	}
	if !math.IsInf(worstCPU, 1) {
		e.cpuCheck(worstCPU, worstAt)
	}
	if !math.IsInf(worstPoll, 1) {
		e.pollCheck("router poll loop on CPU (measurements)", worstPoll, worstPollAt)
	}
	if len(points) > 0 {
		want := float64(rtt) / 1e6
		e.AddFidelity(Check{Name: "idle RTT before each point", Reference: fmt.Sprintf("%.1f ms ± 10%%, every point", want),
			Measured: fmt.Sprintf("worst %s", worstIdleAt), Value: Num(worstIdle), Verdict: verdict(worstIdle <= 0.1*want),
			Rule: "median of the probe replies in each point's idle phase (the base of its RTT+)"})
	}
	e.Res.Tables = aqmTables(points, rate, flows)
	aqmChecks(e, points, idleRTT)
	return nil
}

func (e *Env) aqmPoint(v aqmVariant, rep, bdp int, rate float64, rtt time.Duration, flows int, dur, warm, idleT time.Duration,
	cc string, sampleT, probeT time.Duration, idleRTT float64) (*AQMPoint, error) {
	label := fmt.Sprintf("%s#%d", v.Name, rep)
	q := v.Queue(bdp, v.ECN)
	r, err := e.StartRouter("router-"+v.Name+".yaml", RouterSpec{RateBps: rate, RTT: rtt, Queue: q}, dur+warm+idleT+5*time.Minute)
	if err != nil {
		return nil, err
	}
	defer r.Stop()
	smp := e.NewSampler(r, label, sampleT)
	pr, err := e.NewProber(label, probeT)
	if err != nil {
		smp.Stop()
		return nil, err
	}
	smp.SetPhase("idle")
	pr.SetPhase("idle")
	p := &AQMPoint{AQM: v.Name, Rep: rep, LimitPackets: q.Limit}
	finish := func() ([]Sample, []Probe) {
		probes, sent := pr.Stop()
		ss := smp.Stop()
		attachProbes(ss, probes)
		e.AddSamples(ss, probes)
		p.ProbeSent = sent
		return ss, probes
	}
	if err := e.Sleep(idleT); err != nil {
		finish()
		return nil, err
	}
	smp.SetPhase("warmup")
	pr.SetPhase("warmup")
	t0 := e.Now()
	b, err := e.StartBulk(flows, warm+dur, warm, cc, 5201)
	if err != nil {
		finish()
		return nil, err
	}
	tm := t0 + warm.Seconds()
	if err := e.Sleep(warm); err != nil {
		b.Stop()
		finish()
		return nil, err
	}
	smp.SetPhase("measure")
	pr.SetPhase("measure")
	c0, w0, tw := cpuTimes(), workerTicks(r.Proc.Cmd.Process.Pid), e.Now()
	res := b.Wait()
	c1, w1 := cpuTimes(), workerTicks(r.Proc.Cmd.Process.Pid)
	t1 := e.Now()
	p.PollShare = Num(pollShare(w0, w1, t1-tw))
	ss, probes := finish()
	if e.Ctx.Err() != nil {
		return nil, e.Ctx.Err()
	}
	p.Errors = res.Errors
	p.GoodputBps = Num(res.GoodputBps)
	p.PerFlowBps = res.PerFlowBps
	p.Retransmits = res.Retransmits
	p.Jain = Num(Jain(res.PerFlowBps))
	p.CPUIdle = Num(otherIdle(c0, c1))
	p.Utilization = Num(rateBetween(ss, tm, t1, rate))
	// RTT+ is measured against this point's own idle RTT (same router, seconds before
	// the flows); without idle replies, against the fidelity check's.
	var idle, ind []float64
	for _, pb := range probes {
		if pb.Phase == "idle" {
			idle = append(idle, pb.RTTms)
		}
	}
	p.IdleRTTms = Num(Median(idle))
	base := float64(p.IdleRTTms)
	if math.IsNaN(base) {
		base = idleRTT
	}
	for _, pb := range probes {
		if pb.Phase == "measure" {
			ind = append(ind, pb.RTTms-base)
		}
	}
	p.InducedP50ms, p.InducedP99ms = Num(Quantile(ind, 0.5)), Num(Quantile(ind, 0.99))
	p.ProbeReplies = len(ind)
	if want := (t1 - tm) / probeT.Seconds(); want > 0 {
		p.ProbeLossShare = Num(math.Max(0, 1-float64(len(ind))/want))
	}
	w := window(ss, tm, t1)
	var soj, qp []float64
	for _, s := range w {
		soj = append(soj, float64(s.HeadSojournMs))
		qp = append(qp, float64(s.QueuePackets))
	}
	p.SojournP50ms, p.SojournP99ms = Num(Quantile(soj, 0.5)), Num(Quantile(soj, 0.99))
	p.QueueP50 = Num(Quantile(qp, 0.5))
	var dq uint64
	p.Drops, p.Marks, dq = dropsBetween(w)
	var nd uint64
	for _, d := range p.Drops {
		nd += d
	}
	p.LossShare = Num(float64(nd) / math.Max(1, float64(nd+dq)))
	e.Logf("%s: goodput %.2f Mb/s, util %.1f%%, induced RTT p50 %.1f ms p99 %.1f ms, sojourn p50 %.1f ms, drops %v, marks %d",
		label, res.GoodputBps/1e6, 100*float64(p.Utilization), float64(p.InducedP50ms), float64(p.InducedP99ms), float64(p.SojournP50ms), p.Drops, p.Marks)
	return p, nil
}

// fmtSum is "median" or "median (IQR x)" over repetitions, with format f.
func fmtSum(xs []float64, f string) string {
	s := Summarize(xs)
	if len(s.Values) == 0 {
		return "—"
	}
	if len(s.Values) == 1 {
		return fmt.Sprintf(f, s.Median)
	}
	return fmt.Sprintf(f+" (IQR "+f+")", s.Median, s.IQR)
}

// aqmByName groups points by discipline, in the order they first appear.
func aqmByName(points []AQMPoint) ([]string, map[string][]AQMPoint) {
	var order []string
	by := map[string][]AQMPoint{}
	for _, p := range points {
		if _, ok := by[p.AQM]; !ok {
			order = append(order, p.AQM)
		}
		by[p.AQM] = append(by[p.AQM], p)
	}
	return order, by
}

func col(ps []AQMPoint, f func(AQMPoint) float64) []float64 {
	var out []float64
	for _, p := range ps {
		out = append(out, f(p))
	}
	return out
}

func aqmTables(points []AQMPoint, rate float64, flows int) []Table {
	order, by := aqmByName(points)
	t := Table{Title: fmt.Sprintf("AQM comparison (%d flows, %.4g Mb/s bottleneck)", flows, rate/1e6),
		Columns: []string{"discipline", "limit (p)", "goodput Mb/s", "util %", "idle RTT ms", "RTT+ p50 ms", "RTT+ p99 ms", "sojourn p50 ms", "sojourn p99 ms",
			"drops", "marks", "loss %", "Jain", "probe loss %", "reps"},
		Notes: []string{"RTT+ is the probe's RTT under load minus the point's idle RTT (exact percentiles over every reply); sojourn is the sampled head-of-queue age; " +
			"each cell is the median over repetitions, with the IQR when there are several."}}
	for _, name := range order {
		ps := by[name]
		drops := map[string][]float64{}
		for _, p := range ps {
			for r, d := range p.Drops {
				drops[r] = append(drops[r], float64(d))
			}
		}
		var ds []string
		for r, v := range drops {
			ds = append(ds, fmt.Sprintf("%s %s", r, fmtSum(v, "%.0f")))
		}
		dstr := strings.Join(ds, ", ")
		if dstr == "" {
			dstr = "0"
		}
		t.Rows = append(t.Rows, []string{name, fmt.Sprint(ps[0].LimitPackets),
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.GoodputBps) / 1e6 }), "%.2f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return 100 * float64(p.Utilization) }), "%.1f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.IdleRTTms) }), "%.1f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.InducedP50ms) }), "%.1f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.InducedP99ms) }), "%.1f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.SojournP50ms) }), "%.1f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.SojournP99ms) }), "%.1f"),
			dstr,
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.Marks) }), "%.0f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return 100 * float64(p.LossShare) }), "%.2f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return float64(p.Jain) }), "%.3f"),
			fmtSum(col(ps, func(p AQMPoint) float64 { return 100 * float64(p.ProbeLossShare) }), "%.1f"),
			fmt.Sprint(len(ps))})
	}
	return []Table{t}
}

// aqmChecks judges the expected ordering on the medians over repetitions.
func aqmChecks(e *Env, points []AQMPoint, idleRTT float64) {
	for _, c := range AQMChecks(points, idleRTT) {
		e.AddCheck(c)
	}
}

// AQMChecks are the reference checks of the aqm scenario for the disciplines present
// in points (ECN variants are judged in place of their drop variants when alone).
func AQMChecks(points []AQMPoint, idleRTT float64) []Check {
	_, by := aqmByName(points)
	med := func(name string, f func(AQMPoint) float64) (float64, bool) {
		ps, ok := by[name]
		if !ok {
			ps, ok = by[name+"-ecn"]
		}
		if !ok {
			return math.NaN(), false
		}
		return Median(col(ps, f)), true
	}
	soj := func(p AQMPoint) float64 { return float64(p.SojournP50ms) }
	var cs []Check
	add := func(name, ref, rule string, measured string, v float64, ok bool) {
		vd := NotReproduced
		if ok {
			vd = Reproduced
		}
		cs = append(cs, Check{Name: name, Reference: ref, Measured: measured, Value: Num(v), Verdict: vd, Rule: rule})
	}
	// Similar goodput is the premise of the ordering.
	var gp []float64
	for name := range by {
		g, _ := med(name, func(p AQMPoint) float64 { return float64(p.GoodputBps) })
		gp = append(gp, g)
	}
	if len(gp) > 1 {
		lo, hi := Quantile(gp, 0), Quantile(gp, 1)
		add("similar goodput", "every discipline within 10% of the best (premise of the ordering)", "min goodput >= 0.9 × max goodput",
			fmt.Sprintf("%.2f..%.2f Mb/s", lo/1e6, hi/1e6), lo/hi, lo >= 0.9*hi)
	}
	pair := func(a, b string, factor float64, sym string) {
		x, okA := med(a, soj)
		y, okB := med(b, soj)
		if !okA || !okB {
			return
		}
		rule := fmt.Sprintf("median sojourn p50: %s > %s", a, b) // factor 1: strictly greater
		if factor > 1 {
			rule = fmt.Sprintf("median sojourn p50: %s > %g × %s", a, factor, b)
		}
		add(a+" "+sym+" "+b, "queueing delay "+a+" "+sym+" "+b+"", rule,
			fmt.Sprintf("%.1f ms vs %.1f ms", x, y), x/y, x > factor*y)
	}
	pair("taildrop-10bdp", "taildrop-1bdp", 3, "≫")
	pair("taildrop-1bdp", "red", 1, ">")
	pair("red", "pie", 1, ">")
	pair("pie", "codel", 1, ">")
	pair("taildrop-10bdp", "codel", 3, "≫")
	near := func(name string, target float64) {
		x, ok := med(name, soj)
		if !ok {
			return
		}
		add(name+" ≈ its target", fmt.Sprintf("sojourn ≈ %.0f ms target", target), "median sojourn p50 within 0.5×..2× of the target",
			fmt.Sprintf("%.1f ms", x), x, x >= target/2 && x <= 2*target)
	}
	near("pie", 15)
	near("codel", 5)
	if x, ok := med("codel", soj); ok {
		if y, ok := med("fq-codel", soj); ok {
			add("codel ≈ fq-codel", "CoDel ≈ FQ-CoDel queueing delay", "median sojourn p50 within 2× of each other",
				fmt.Sprintf("%.1f ms vs %.1f ms", x, y), y/x, y <= 2*x && x <= 2*y)
		}
	}
	if y, ok := med("fq-codel", func(p AQMPoint) float64 { return float64(p.InducedP50ms) }); ok {
		lim := math.Max(5, 0.1*idleRTT)
		add("fq-codel probe near idle RTT", "FQ-CoDel's probe flow sees nearly the idle RTT",
			fmt.Sprintf("probe RTT+ p50 <= max(5 ms, 10%% of idle RTT) = %.1f ms", lim), fmt.Sprintf("%.1f ms above idle", y), y, y <= lim)
	}
	return cs
}
