package lab

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

func init() { register(bufferbloatScenario()) }

// BloatPoint is one (queue size, repetition) of the bufferbloat scenario.
type BloatPoint struct {
	Queue        int       `json:"queue_packets"`
	Rep          int       `json:"rep"`
	FetchSeconds []float64 `json:"fetch_seconds"` // every completed fetch
	FetchFailed  int       `json:"fetch_failed"`
	FetchErrors  []string  `json:"fetch_errors,omitempty"` // the first few failures, as curl reported them
	FetchP50s    Num       `json:"fetch_p50_s"`
	FetchP99s    Num       `json:"fetch_p99_s"`
	InducedP50ms Num       `json:"induced_rtt_p50_ms"`
	InducedP99ms Num       `json:"induced_rtt_p99_ms"`
	FullQueueMs  float64   `json:"full_queue_ms"` // drain time of a full queue of MTU frames
	GoodputBps   Num       `json:"long_flow_goodput_bps"`
	CPUIdle      Num       `json:"cpu_idle"`
	PollShare    Num       `json:"poll_share"`
}

func bufferbloatScenario() *Scenario {
	return &Scenario{
		Name:        "bufferbloat",
		Description: "Bufferbloat (CS244 assignment): a long TCP flow plus periodic web fetches and pings through a small vs a large tail-drop queue",
		Params: []Param{
			{Name: "queues", Default: "20,100", Usage: "tail-drop queue sizes (packets)"},
			{Name: "rate", Default: "1.5Mbps", Usage: "bottleneck rate"},
			{Name: "rtt", Default: "20ms", Usage: "base RTT"},
			{Name: "duration", Default: "60s", Quick: "10s", Usage: "measured time per queue size"},
			{Name: "warmup", Default: "5s", Quick: "3s", Usage: "long flow alone before the fetches"},
			{Name: "fetch-size", Default: "100000", Quick: "50000", Usage: "bytes per web fetch (HTTP GET from the sender host)"},
			{Name: "fetch-every", Default: "2s", Usage: "time between fetch starts (a fetch still running delays the next)"},
			{Name: "repeat", Default: "1", Usage: "repetitions of every point"},
			{Name: "cc", Default: "cubic", Usage: "TCP congestion control"},
			{Name: "fidelity-pings", Default: "30", Quick: "10", Usage: "idle RTT probes of the fidelity check"},
			{Name: "fidelity-flow", Default: "10s", Quick: "4s", Usage: "single-flow rate test of the fidelity check"},
		},
		Method: []string{
			"Sender and receiver in network namespaces through dpdkq; the bottleneck is rcv's egress shaped to --rate with a tail-drop queue of --queues packets; --rtt/2 delay each way.",
			"Per point: a fresh router, one long iperf3 flow sender → receiver, a ping every 100 ms, and after --warmup an HTTP fetch (curl from the receiver; the server is `dpdkq lab http-serve` on the sender) of --fetch-size bytes every --fetch-every, for --duration.",
			"Fetch time is curl's time_total; RTT+ is each ping's RTT minus the fidelity check's idle RTT; p50/p99 exact over the fetches and replies.",
		},
		References: []string{
			"CS244 bufferbloat assignment: with the long flow filling the queue, fetch time and RTT grow with the queue size; the standing queue adds about its drain time (queue × 1538 B × 8 / rate) to every RTT.",
		},
		Plots: []string{"bufferbloat-rtt (RTT+ over time per queue size)", "bufferbloat-fetch (fetch time CDF per queue size)"},
		Run:   runBufferbloat,
		Plot:  plotBufferbloat,
	}
}

func runBufferbloat(e *Env) error {
	queues := e.Ints("queues", 1, 100000)
	rate := e.Rate("rate")
	rtt := e.Duration("rtt", time.Millisecond, 2*time.Second)
	dur := e.Duration("duration", time.Second, time.Hour)
	warm := e.Duration("warmup", 0, time.Hour)
	size := e.Int("fetch-size", 1, 1<<30)
	every := e.Duration("fetch-every", 100*time.Millisecond, time.Hour)
	reps := e.Int("repeat", 1, 100)
	cc := e.Str("cc")
	fPings := e.Int("fidelity-pings", 3, 1000)
	fFlow := e.Duration("fidelity-flow", time.Second, time.Hour)
	if err := e.ParamErr(); err != nil {
		return err
	}
	for _, tool := range []string{"curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("lab bufferbloat: needs %s (ci/setup.sh installs it)", tool)
		}
	}
	bdp := max(int(math.Round(rate*rtt.Seconds()/(8*1500))), 2)
	if err := e.Testbed(HostOpts{CC: cc}); err != nil {
		return err
	}
	idleRTT, err := e.CheckFidelity(FidelitySpec{RateBps: rate, RTT: rtt, BDP: max(bdp, 10), Pings: fPings, FlowTime: fFlow, CC: cc})
	if err != nil {
		return err
	}
	// The web server: this dpdkq binary, in the sender's namespace.
	if _, err := e.Start(nil, inNS(NsSend, e.Bin, "lab", "http-serve", AddrSend+":8080", strconv.Itoa(size))...); err != nil {
		return err
	}
	var points []BloatPoint
	e.Res.Data = &points
	worstCPU, worstPoll, at, atPoll := math.Inf(1), math.Inf(1), "", ""
	n, i := len(queues)*reps, 0
	for rep := 1; rep <= reps && err == nil; rep++ {
		for _, q := range queues {
			i++
			e.Progress("measure", i, n, fmt.Sprintf("queue %dp rep %d", q, rep))
			var p BloatPoint
			p, err = e.bloatPoint(q, rep, rate, rtt, dur, warm, every, cc, idleRTT)
			if err != nil {
				break
			}
			points = append(points, p)
			if x := float64(p.CPUIdle); x < worstCPU {
				worstCPU, at = x, fmt.Sprintf("%dp rep %d", q, rep)
			}
			if x := float64(p.PollShare); x < worstPoll {
				worstPoll, atPoll = x, fmt.Sprintf("%dp rep %d", q, rep)
			}
		}
	}
	if !math.IsInf(worstCPU, 1) {
		e.cpuCheck(worstCPU, at)
	}
	if !math.IsInf(worstPoll, 1) {
		e.pollCheck("router poll loop on CPU (measurements)", worstPoll, atPoll)
	}
	e.Res.Tables = bloatTables(points)
	for _, c := range BloatChecks(points) {
		e.AddCheck(c)
	}
	return err
}

func (e *Env) bloatPoint(q, rep int, rate float64, rtt, dur, warm, every time.Duration, cc string, idleRTT float64) (BloatPoint, error) {
	p := BloatPoint{Queue: q, Rep: rep, FullQueueMs: float64(q) * 1538 * 8 / rate * 1e3}
	label := fmt.Sprintf("%dp#%d", q, rep)
	r, err := e.StartRouter(fmt.Sprintf("router-bufferbloat-%dp.yaml", q), RouterSpec{RateBps: rate, RTT: rtt, Queue: QueueSpec{Limit: q}}, dur+warm+5*time.Minute)
	if err != nil {
		return p, err
	}
	defer r.Stop()
	smp := e.NewSampler(r, label, 100*time.Millisecond)
	pr, err := e.NewProber(label, 100*time.Millisecond)
	if err != nil {
		e.AddSamples(smp.Stop(), nil)
		return p, err
	}
	smp.SetPhase("warmup")
	pr.SetPhase("warmup")
	finish := func() []Probe {
		probes, _ := pr.Stop()
		ss := smp.Stop()
		attachProbes(ss, probes)
		e.AddSamples(ss, probes)
		return probes
	}
	b, err := e.StartBulk(1, warm+dur+2*time.Second, warm, cc, 5201)
	if err != nil {
		finish()
		return p, err
	}
	if err := e.Sleep(warm); err != nil {
		b.Stop()
		finish()
		return p, err
	}
	smp.SetPhase("measure")
	pr.SetPhase("measure")
	c0, w0, tw := cpuTimes(), workerTicks(r.Proc.Cmd.Process.Pid), e.Now()
	var mu sync.Mutex
	end := time.Now().Add(dur)
	url := fmt.Sprintf("http://%s:8080/", AddrSend)
	for time.Now().Before(end) && e.Ctx.Err() == nil {
		next := time.Now().Add(every)
		out, err := run(e.Ctx, inNS(NsRecv, "curl", "-sS", "-o", "/dev/null", "--max-time", "30", "-w", "%{time_total} %{size_download}", url)...)
		f := strings.Fields(out)
		mu.Lock()
		if err == nil && len(f) == 2 {
			s, _ := strconv.ParseFloat(f[0], 64)
			p.FetchSeconds = append(p.FetchSeconds, s)
		} else if e.Ctx.Err() == nil {
			p.FetchFailed++
			if len(p.FetchErrors) < 5 {
				p.FetchErrors = append(p.FetchErrors, fmt.Sprintf("%v: %s", err, strings.TrimSpace(out)))
			}
		}
		mu.Unlock()
		if d := time.Until(next); d > 0 {
			if err := e.Sleep(d); err != nil {
				break
			}
		}
	}
	t1 := e.Now()
	p.CPUIdle, p.PollShare = Num(otherIdle(c0, cpuTimes())), Num(pollShare(w0, workerTicks(r.Proc.Cmd.Process.Pid), t1-tw))
	res := b.Wait()
	probes := finish()
	if e.Ctx.Err() != nil {
		return p, e.Ctx.Err()
	}
	p.GoodputBps = Num(res.GoodputBps)
	var ind []float64
	for _, pb := range probes {
		if pb.Phase == "measure" && pb.T <= t1 {
			ind = append(ind, pb.RTTms-idleRTT)
		}
	}
	p.InducedP50ms, p.InducedP99ms = Num(Quantile(ind, 0.5)), Num(Quantile(ind, 0.99))
	p.FetchP50s, p.FetchP99s = Num(Quantile(p.FetchSeconds, 0.5)), Num(Quantile(p.FetchSeconds, 0.99))
	e.Logf("%s: %d fetches, p50 %.2f s p99 %.2f s, RTT+ p50 %.0f ms (full queue %.0f ms), long flow %.2f Mb/s",
		label, len(p.FetchSeconds), float64(p.FetchP50s), float64(p.FetchP99s), float64(p.InducedP50ms), p.FullQueueMs, res.GoodputBps/1e6)
	return p, nil
}

func bloatTables(points []BloatPoint) []Table {
	t := Table{Title: "Bufferbloat: fetch time and RTT under a long flow",
		Columns: []string{"queue (p)", "full-queue drain ms", "fetches", "failed", "fetch p50 s", "fetch p99 s", "RTT+ p50 ms", "RTT+ p99 ms", "long flow Mb/s", "reps"},
		Notes:   []string{"medians over repetitions (IQR when several); fetch times and RTT+ percentiles exact over each point's fetches and ping replies."}}
	var order []int
	by := map[int][]BloatPoint{}
	for _, p := range points {
		if _, ok := by[p.Queue]; !ok {
			order = append(order, p.Queue)
		}
		by[p.Queue] = append(by[p.Queue], p)
	}
	for _, q := range order {
		ps := by[q]
		f := func(g func(BloatPoint) float64) []float64 {
			var v []float64
			for _, p := range ps {
				v = append(v, g(p))
			}
			return v
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(q), fmt.Sprintf("%.0f", ps[0].FullQueueMs),
			fmtSum(f(func(p BloatPoint) float64 { return float64(len(p.FetchSeconds)) }), "%.0f"),
			fmtSum(f(func(p BloatPoint) float64 { return float64(p.FetchFailed) }), "%.0f"),
			fmtSum(f(func(p BloatPoint) float64 { return float64(p.FetchP50s) }), "%.2f"),
			fmtSum(f(func(p BloatPoint) float64 { return float64(p.FetchP99s) }), "%.2f"),
			fmtSum(f(func(p BloatPoint) float64 { return float64(p.InducedP50ms) }), "%.0f"),
			fmtSum(f(func(p BloatPoint) float64 { return float64(p.InducedP99ms) }), "%.0f"),
			fmtSum(f(func(p BloatPoint) float64 { return float64(p.GoodputBps) / 1e6 }), "%.2f"),
			fmt.Sprint(len(ps))})
	}
	return []Table{t}
}

// BloatChecks: fetch time and RTT grow with the queue; the standing queue's delay is
// between half and 1.1 times its drain time.
func BloatChecks(points []BloatPoint) []Check {
	by := map[int][]BloatPoint{}
	var qs []int
	for _, p := range points {
		if _, ok := by[p.Queue]; !ok {
			qs = append(qs, p.Queue)
		}
		by[p.Queue] = append(by[p.Queue], p)
	}
	med := func(q int, g func(BloatPoint) float64) float64 {
		var v []float64
		for _, p := range by[q] {
			v = append(v, g(p))
		}
		return Median(v)
	}
	mk := func(name, ref, rule, measured string, v float64, ok bool) Check {
		vd := NotReproduced
		if ok {
			vd = Reproduced
		}
		return Check{Name: name, Reference: ref, Measured: measured, Value: Num(v), Verdict: vd, Rule: rule}
	}
	var cs []Check
	fetch := func(p BloatPoint) float64 { return float64(p.FetchP50s) }
	rttp := func(p BloatPoint) float64 { return float64(p.InducedP50ms) }
	for i := 1; i < len(qs); i++ {
		a, b := qs[i-1], qs[i]
		if a > b {
			a, b = b, a
		}
		fa, fb := med(a, fetch), med(b, fetch)
		cs = append(cs, mk(fmt.Sprintf("fetch time %dp > %dp", b, a), "fetches take longer behind a larger standing queue (CS244 bufferbloat)",
			"median fetch p50 larger for the larger queue", fmt.Sprintf("%.2f s vs %.2f s", fb, fa), fb/fa, fb > fa))
		ra, rb := med(a, rttp), med(b, rttp)
		cs = append(cs, mk(fmt.Sprintf("RTT %dp > %dp", b, a), "RTT grows with the queue size (CS244 bufferbloat)",
			"median RTT+ p50 larger for the larger queue", fmt.Sprintf("%.0f ms vs %.0f ms", rb, ra), rb/ra, rb > ra))
	}
	for _, q := range qs {
		r := med(q, rttp)
		full := by[q][0].FullQueueMs
		cs = append(cs, mk(fmt.Sprintf("%dp standing queue", q), fmt.Sprintf("RTT+ ≈ the full queue's drain time %.0f ms", full),
			"median RTT+ p50 in 0.5×..1.1× of the drain time", fmt.Sprintf("%.0f ms (%.2f×)", r, r/full), r/full, r >= 0.5*full && r <= 1.1*full))
	}
	return cs
}

// ServeHTTP answers every GET at addr with size zero bytes, until the process ends.
func ServeHTTP(addr string, size int) error {
	body := make([]byte, size)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(size))
		_, _ = w.Write(body)
	}))
}
