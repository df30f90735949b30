package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeAQM is an aqm-shaped scenario with made-up measurements and no testbed: it
// exercises the runner, the report, results.json, the CSVs and the plots.
func fakeAQM(fidelity string, cancel context.CancelFunc) *Scenario {
	s := aqmScenario()
	s.Run = func(e *Env) error {
		e.AddFidelity(Check{Name: "idle RTT", Reference: "50.0 ms ± 10%", Measured: "51 ms", Value: 51, Verdict: fidelity})
		e.AddFidelity(Check{Name: "router poll-loop health", Measured: "not exposed", Value: Num(math.NaN()), Verdict: NotAvailable})
		pts := []AQMPoint{
			{AQM: "taildrop-10bdp", Rep: 1, GoodputBps: 9.4e6, InducedP50ms: 380, InducedP99ms: 500, SojournP50ms: 385, Jain: 1, Drops: map[string]uint64{"tail": 28}},
			{AQM: "taildrop-1bdp", Rep: 1, GoodputBps: 9.3e6, InducedP50ms: 30, InducedP99ms: 50, SojournP50ms: 30, Jain: 1},
			{AQM: "red", Rep: 1, GoodputBps: 9.2e6, InducedP50ms: 25, InducedP99ms: 40, SojournP50ms: 25, Jain: 1},
			{AQM: "pie", Rep: 1, GoodputBps: 9.0e6, InducedP50ms: 15, InducedP99ms: 30, SojournP50ms: 14, Jain: 1},
			{AQM: "codel", Rep: 1, GoodputBps: 8.8e6, InducedP50ms: 5, InducedP99ms: 20, SojournP50ms: 4.5, Jain: 0.99, Drops: map[string]uint64{"aqm": 23}},
			{AQM: "fq-codel", Rep: 1, GoodputBps: 8.9e6, InducedP50ms: 0.4, InducedP99ms: 2, SojournP50ms: 4, Jain: 1, Utilization: Num(math.NaN())},
		}
		e.Res.Data = pts
		for i, p := range pts {
			pt := p.AQM + "#1"
			var ss []Sample
			var ps []Probe
			for k := 0; k < 20; k++ {
				tt := float64(i*10) + float64(k)*0.1
				ss = append(ss, Sample{Point: pt, Phase: "measure", T: tt, TxBytes: uint64(k) * 1000, HeadSojournMs: Num(float64(p.SojournP50ms) * (0.5 + float64(k)/20)),
					Drops: map[string]uint64{"tail": uint64(k)}, TxBps: Num(math.NaN()), LineUtil: Num(math.NaN()), ProbeRTTms: Num(math.NaN())})
				ps = append(ps, Probe{Point: pt, Phase: "measure", T: tt, Seq: k, RTTms: 51 + float64(p.InducedP50ms)*(0.5+float64(k)/20)})
			}
			attachProbes(ss, ps)
			e.AddSamples(ss, ps)
		}
		e.Res.Tables = aqmTables(pts, 10e6, 4)
		for _, c := range AQMChecks(pts, 51) {
			e.AddCheck(c)
		}
		if cancel != nil {
			cancel()
			return e.Ctx.Err()
		}
		return nil
	}
	return s
}

func TestRunWritesSelfDescribingDirectory(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	res, err := Run(context.Background(), fakeAQM(Pass, nil), Options{Dir: dir, Seed: 42, Out: &out, KeepStale: true,
		Params: map[string]string{"flows": "4"}, Command: "dpdkq lab run aqm --flows 4"})
	require.NoError(t, err)
	require.True(t, res.FidelityOK)
	for _, f := range []string{"report.md", "results.json", "samples.csv", "probes.csv",
		"aqm-delay-goodput.png", "aqm-delay-goodput.svg", "aqm-rtt-cdf.png", "aqm-rtt-cdf.svg", "aqm-sojourn-box.png", "aqm-sojourn-box.svg"} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		require.Positive(t, st.Size(), f)
	}
	png, _ := os.ReadFile(filepath.Join(dir, "aqm-rtt-cdf.png"))
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")))

	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	r := string(md)
	require.Contains(t, r, "Fidelity: every check passed")
	require.Contains(t, r, "| --flows | 4 |")
	require.Contains(t, r, "| fq-codel |")
	require.Contains(t, r, "| taildrop-10bdp ≫ taildrop-1bdp |")
	require.Contains(t, r, "| "+Reproduced+" |")
	require.NotContains(t, r, NotJudged)
	require.Contains(t, r, "![aqm-delay-goodput.png](aqm-delay-goodput.png)")

	back, err := ReadResults(dir)
	require.NoError(t, err)
	require.Equal(t, int64(42), back.Seed)
	require.Equal(t, "4", back.Params["flows"])
	require.Equal(t, "30s", back.Params["duration"], "defaults are recorded too")
	require.Len(t, back.Samples, 120)
	require.Len(t, back.Probes, 120)
	require.True(t, math.IsNaN(float64(back.Fidelity[1].Value)), "a figure not measured is null, not 0")
	var pts []AQMPoint
	require.NoError(t, decodeData(back, &pts))
	require.Equal(t, "fq-codel", pts[5].AQM)
	require.Equal(t, uint64(28), pts[0].Drops["tail"])

	raw, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	var generic map[string]any
	require.NoError(t, json.Unmarshal(raw, &generic))
	for _, k := range []string{"scenario", "parameters", "machine", "seed", "samples", "probes", "fidelity_checks", "reference_checks"} {
		require.Contains(t, generic, k)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "samples.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	require.Len(t, lines, 121)
	require.True(t, strings.HasSuffix(lines[0], "probe_rtt_ms,drops_tail"), lines[0])

	// Overlay of two runs.
	files, err := Plot(filepath.Join(dir, "overlay"), []string{dir, dir})
	require.NoError(t, err)
	require.Len(t, files, 6)
}

func TestRunWithFailedFidelityIsNotAResult(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(context.Background(), fakeAQM(Fail, nil), Options{Dir: dir, Seed: 1, KeepStale: true})
	require.ErrorIs(t, err, ErrFidelity)
	require.False(t, res.FidelityOK)
	for _, c := range res.Checks {
		require.Equal(t, NotJudged, c.Verdict, c.Name)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	require.Contains(t, string(md), "FIDELITY FAILED")
	require.Contains(t, string(md), "diagnostics, not results")
	require.NotContains(t, string(md), "| "+Reproduced+" |")
}

func TestRunInterruptedKeepsWhatWasMeasured(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	s := fakeAQM(Pass, cancel)
	cleaned := false
	inner := s.Run
	s.Run = func(e *Env) error {
		e.OnCleanup(func() { cleaned = true })
		return inner(e)
	}
	res, err := Run(ctx, s, Options{Dir: dir, KeepStale: true})
	require.ErrorIs(t, err, context.Canceled)
	require.True(t, cleaned, "clean-up runs on cancellation")
	require.True(t, res.Interrupted)
	back, err := ReadResults(dir)
	require.NoError(t, err)
	require.Len(t, back.Samples, 120, "what was measured is kept")
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	require.Contains(t, string(md), "Run interrupted")
}

func TestResolveParams(t *testing.T) {
	s := aqmScenario()
	p, err := Resolve(s, true, map[string]string{"rate": "20Mbps"})
	require.NoError(t, err)
	require.Equal(t, "taildrop-10bdp,codel", p["aqm"], "quick value")
	require.Equal(t, "20Mbps", p["rate"], "override beats default")
	require.Equal(t, "50ms", p["rtt"])
	_, err = Resolve(s, false, map[string]string{"flow": "2"})
	require.ErrorContains(t, err, "unknown parameter --flow")
	require.ErrorContains(t, err, "--flows")
}

func TestAQMChecksOrdering(t *testing.T) {
	mk := func(name string, soj, ind, gp float64) AQMPoint {
		return AQMPoint{AQM: name, SojournP50ms: Num(soj), InducedP50ms: Num(ind), GoodputBps: Num(gp)}
	}
	good := []AQMPoint{mk("taildrop-10bdp", 400, 400, 9e6), mk("taildrop-1bdp", 30, 30, 9e6), mk("red", 25, 25, 9e6),
		mk("pie", 15, 15, 9e6), mk("codel", 5, 5, 9e6), mk("fq-codel", 4.5, 0.5, 9e6)}
	for _, c := range AQMChecks(good, 50) {
		require.Equal(t, Reproduced, c.Verdict, c.Name)
	}
	// PIE below CoDel, FQ-CoDel's probe queued like everyone else: named failures.
	bad := []AQMPoint{mk("taildrop-10bdp", 400, 400, 9e6), mk("taildrop-1bdp", 30, 30, 9e6), mk("red", 25, 25, 9e6),
		mk("pie", 3, 3, 9e6), mk("codel", 5, 5, 5e6), mk("fq-codel", 4.5, 20, 9e6)}
	failed := map[string]bool{}
	for _, c := range AQMChecks(bad, 50) {
		if c.Verdict == NotReproduced {
			failed[c.Name] = true
		}
	}
	require.Equal(t, map[string]bool{"similar goodput": true, "pie > codel": true, "pie ≈ its target": true,
		"fq-codel probe near idle RTT": true}, failed)
}

func TestSizingChecksAndTable(t *testing.T) {
	runs := []SizingRun{
		{N: 1, Rep: 1, BDP: 453, Answer: 400, Confirmed: true}, {N: 1, Rep: 2, BDP: 453, Answer: 420},
		{N: 16, Rep: 1, BDP: 453, Answer: 100}, {N: 16, Rep: 2, BDP: 453, Answer: 120},
		{N: 100, Rep: 1, BDP: 453, Answer: 5},            // 5 < 0.5·45.3
		{N: 64, Rep: 1, Error: "interrupted", Answer: 1}, // left out
	}
	cs := SizingChecks(runs, 453)
	v := map[string]string{}
	for _, c := range cs {
		v[c.Name] = c.Verdict
	}
	require.Equal(t, map[string]string{"non-increasing in N": Reproduced, "N=16 near RTT·C/√N": Reproduced, "N=100 near RTT·C/√N": NotReproduced}, v)
	runs = append(runs, SizingRun{N: 200, Rep: 1, BDP: 453, Answer: 30})
	for _, c := range SizingChecks(runs, 453) {
		if c.Name == "non-increasing in N" {
			require.Equal(t, NotReproduced, c.Verdict)
		}
	}
	tb := sizingTables(runs, 453, 0.98)[0]
	require.Equal(t, []string{"1", "400/420", "410.0", "10.0", "453.0", "0.91"}, tb.Rows[0][:6])
	require.Equal(t, "1 of 2", tb.Rows[0][7])
	dir := t.TempDir()
	files, err := plotSizing(dir, []*Results{{Params: map[string]string{"rate": "62.5Mbps"}, Data: runs, FidelityOK: true}})
	require.NoError(t, err)
	require.Equal(t, []string{"sizing-buffer-vs-n.png", "sizing-buffer-vs-n.svg"}, files)
}

func TestSizingReferenceData(t *testing.T) {
	ref := SizingReference()
	var cs, hw, formula int
	for _, r := range ref {
		switch {
		case r.Source == "cs244":
			cs++
		case r.Formula:
			formula++
			if r.N == 400 {
				// 4248 B: RTT·C/√400 with the BDP divided by 8 once more.
				require.InDelta(t, 62.5e6*0.087/8/8/20/1500, r.Packets, 0.01)
			}
		default:
			hw++
			// Measured values lie between 2 frames of 1502 B and one BDP.
			require.GreaterOrEqual(t, r.Packets*1500, 3004.0)
			require.LessOrEqual(t, r.Packets*1500, 62.5e6*0.087/8)
		}
	}
	require.Equal(t, 24, cs)
	require.Equal(t, 75, hw, "15 runs × 5 values of N")
	require.Equal(t, 24, formula)
}

func TestAttachProbes(t *testing.T) {
	ss := []Sample{{T: 1}, {T: 2}, {T: 3}}
	for i := range ss {
		ss[i].ProbeRTTms = Num(math.NaN())
	}
	attachProbes(ss, []Probe{{T: 0.5, RTTms: 10}, {T: 1.5, RTTms: 20}, {T: 1.9, RTTms: 40}})
	require.Equal(t, 1, ss[0].ProbeReplies)
	require.Equal(t, Num(10), ss[0].ProbeRTTms)
	require.Equal(t, 2, ss[1].ProbeReplies)
	require.Equal(t, Num(30), ss[1].ProbeRTTms)
	require.Zero(t, ss[2].ProbeReplies)
	require.True(t, math.IsNaN(float64(ss[2].ProbeRTTms)))
}

func TestRateBetween(t *testing.T) {
	// 1250 B frames at 10 Mb/s line rate: (1250+24)·8 bits per frame, 981 frames/s.
	var ss []Sample
	for i := 0; i <= 10; i++ {
		ss = append(ss, Sample{T: float64(i) / 10, TxBytes: uint64(i) * 98 * 1250, TxPackets: uint64(i) * 98})
	}
	u := rateBetween(ss, 0, 1, 10e6)
	require.InDelta(t, 980*(1250+24)*8/10e6, u, 1e-9)
	require.True(t, math.IsNaN(rateBetween(ss, 5, 6, 10e6)))
}

func TestRTTFairChecksAndPlot(t *testing.T) {
	pts := []RTTFairPoint{
		{AQM: "taildrop-1bdp", RTTms: []float64{20, 80}, GoodputBps: []float64{7e6, 2e6}, Ratio: 3.5, LimitPackets: 67, EffRTTRatio: 2.5},
		{AQM: "fq-codel", RTTms: []float64{20, 80}, GoodputBps: []float64{4.6e6, 4.4e6}, Ratio: Num(4.6 / 4.4)},
	}
	for _, c := range RTTFairChecks(pts, []float64{20, 80}) {
		require.Equal(t, Reproduced, c.Verdict, c.Name)
	}
	pts[1].Ratio = 2
	pts[0].Ratio = 1.2 // below 0.5 × 2.5
	for _, c := range RTTFairChecks(pts, []float64{20, 80}) {
		require.Equal(t, NotReproduced, c.Verdict, c.Name)
	}
	tb := rttFairTables(pts, []float64{20, 80})[0]
	require.Equal(t, []string{"taildrop-1bdp", "67", "7.00", "2.00", "1.20", "4.00", "2.50"}, tb.Rows[0][:7])
	files, err := plotRTTFair(t.TempDir(), []*Results{{Params: map[string]string{"rtts": "20ms,80ms"}, Data: pts, FidelityOK: true}})
	require.NoError(t, err)
	require.Len(t, files, 2)
}

func TestSendersAndRouterYAML(t *testing.T) {
	s := Senders(3)
	require.Equal(t, NsSend, s[0].NS)
	require.Equal(t, "snd2", s[2].Port)
	require.Equal(t, "10.70.3.2", s[2].Addr)
	for _, h := range s {
		require.True(t, strings.HasPrefix(h.NS, Prefix) && strings.HasPrefix(h.Link, Prefix) && strings.HasPrefix(h.HostIf, Prefix))
		require.LessOrEqual(t, len(h.HostIf), 15, "interface names are at most 15 bytes")
	}
	y := RouterSpec{RateBps: 10e6, RTT: 50 * time.Millisecond, Queue: QueueSpec{Limit: 42, FQ: true, AQM: "{kind: codel}"}}.YAML()
	require.Contains(t, y, "rate: 10000000bps, delay: 25ms")
	require.Contains(t, y, "fq: {enabled: true, flows: 1024, limit: 42p}")
	y = RouterSpec{RateBps: 10e6, Queue: QueueSpec{Limit: 42}, RecvDelay: 10 * time.Millisecond,
		SendDelays: []time.Duration{10 * time.Millisecond, 70 * time.Millisecond}}.YAML()
	require.Contains(t, y, "name: snd1, device: \"net_af_packet2,iface=dqlab2,")
	require.Contains(t, y, "ipv4: 10.70.2.1/24, delay: 70ms}")
	require.Contains(t, y, "rate: 10000000bps, delay: 10ms}")
}

func TestBloatChecksAndPlot(t *testing.T) {
	pts := []BloatPoint{
		{Queue: 20, Rep: 1, FetchSeconds: []float64{0.8, 0.9, 1.0}, FetchP50s: 0.9, InducedP50ms: 150, FullQueueMs: 164},
		{Queue: 100, Rep: 1, FetchSeconds: []float64{2, 3, 4}, FetchP50s: 3, InducedP50ms: 700, FullQueueMs: 820},
	}
	for _, c := range BloatChecks(pts) {
		require.Equal(t, Reproduced, c.Verdict, c.Name)
	}
	pts[1].FetchP50s, pts[1].InducedP50ms = 0.5, 100 // no bloat: everything fails but the small queue's delay
	v := map[string]string{}
	for _, c := range BloatChecks(pts) {
		v[c.Name] = c.Verdict
	}
	require.Equal(t, map[string]string{"fetch time 100p > 20p": NotReproduced, "RTT 100p > 20p": NotReproduced,
		"20p standing queue": Reproduced, "100p standing queue": NotReproduced}, v)
	res := &Results{Params: map[string]string{"rate": "1.5Mbps"}, Data: pts, FidelityOK: true,
		Probes: []Probe{{Point: "20p#1", Phase: "measure", T: 1, RTTms: 170}, {Point: "20p#1", Phase: "measure", T: 1.1, RTTms: 180}}}
	files, err := plotBufferbloat(t.TempDir(), []*Results{res})
	require.NoError(t, err)
	require.Len(t, files, 4)
}

func TestSamplerSince(t *testing.T) {
	s := &Sampler{}
	for i := 0; i < 10; i++ {
		s.samples = append(s.samples, Sample{T: float64(i)})
	}
	got := s.Since(4.5)
	require.Len(t, got, 6, "4 (the reading before) .. 9")
	require.Equal(t, 4.0, got[0].T)
	require.Len(t, s.Since(100), 1)
	require.Len(t, s.Since(-1), 10)
}
