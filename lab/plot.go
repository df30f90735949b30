package lab

import (
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figures are 9×5 inches at 96 dpi with the legend in a column right of the data.
const (
	figW    = 9 * vg.Inch
	figH    = 5 * vg.Inch
	legendW = 2.3 * vg.Inch
)

func newPlot(title, subtitle, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title + "\n" + subtitle
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text, p.Y.Label.Text = x, y
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(12)
		a.Tick.Label.Font.Size = vg.Points(10)
	}
	p.Add(plotter.NewGrid())
	return p
}

// save writes base.png and base.svg: the plot on the left, the legend in its own
// column on the right (never over the data). It returns the file names.
func save(dir, base string, p *plot.Plot, leg plot.Legend) ([]string, error) {
	leg.TextStyle.Font.Size = vg.Points(10)
	leg.Top = true
	drawBoth := func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
		lc := draw.Crop(dc, figW-legendW+vg.Points(6), 0, 0, -vg.Points(30))
		leg.Draw(lc)
	}
	img := vgimg.NewWith(vgimg.UseWH(figW, figH), vgimg.UseDPI(96))
	drawBoth(draw.New(img))
	svg := vgsvg.New(figW, figH)
	drawBoth(draw.New(svg))
	var files []string
	png := base + ".png"
	fp, err := os.Create(filepath.Join(dir, png))
	if err != nil {
		return nil, err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(fp); err != nil {
		fp.Close()
		return nil, err
	}
	if err := fp.Close(); err != nil {
		return nil, err
	}
	sv := base + ".svg"
	fs, err := os.Create(filepath.Join(dir, sv))
	if err != nil {
		return nil, err
	}
	if _, err := svg.WriteTo(fs); err != nil {
		fs.Close()
		return nil, err
	}
	if err := fs.Close(); err != nil {
		return nil, err
	}
	files = append(files, png, sv)
	return files, nil
}

// decodeData reads a Results' Data (a typed value after a run, a JSON tree after
// ReadResults) into out.
func decodeData(r *Results, out any) error {
	b, err := json.Marshal(r.Data)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// runLabel names a run in overlays: its directory's base name, or "run" alone.
func runLabel(r *Results, i, n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf(" [run %d]", i+1)
}

func fidelityRTT(r *Results) float64 {
	for _, c := range r.Fidelity {
		if c.Name == "idle RTT" {
			return float64(c.Value)
		}
	}
	return math.NaN()
}

func subtitle(r *Results, keys ...string) string {
	var parts []string
	for _, k := range keys {
		if v, ok := r.Params[k]; ok {
			parts = append(parts, k+" "+v)
		}
	}
	s := strings.Join(parts, ", ")
	if !r.FidelityOK {
		s += " — FIDELITY FAILED"
	}
	if r.Quick {
		s += " (quick)"
	}
	return s
}

// filledShape is a filled glyph per overlaid run.
func filledShape(i int) draw.GlyphDrawer {
	return []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}}[i%6]
}

// aqmPalette has one distinct colour per discipline (more than plotutil's seven).
var aqmPalette = []color.Color{
	color.RGBA{R: 214, G: 39, B: 40, A: 255}, color.RGBA{R: 255, G: 127, B: 14, A: 255}, color.RGBA{R: 140, G: 86, B: 75, A: 255},
	color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 148, G: 103, B: 189, A: 255},
	color.RGBA{R: 23, G: 190, B: 207, A: 255}, color.RGBA{R: 188, G: 189, B: 34, A: 255}, color.RGBA{R: 127, G: 127, B: 127, A: 255},
	color.RGBA{R: 227, G: 119, B: 194, A: 255},
}

func aqmColor(names []string, name string) color.Color {
	base, _, _ := strings.Cut(name, "#")
	i := slices.Index(names, base)
	return aqmPalette[max(i, 0)%len(aqmPalette)]
}

func plotAQM(dir string, runs []*Results) ([]string, error) {
	var names []string
	pts := make([][]AQMPoint, len(runs))
	for i, r := range runs {
		if err := decodeData(r, &pts[i]); err != nil {
			return nil, err
		}
		for _, p := range pts[i] {
			if !slices.Contains(names, p.AQM) {
				names = append(names, p.AQM)
			}
		}
	}
	sub := subtitle(runs[0], "flows", "rate", "rtt", "cc", "duration")
	var files []string

	// Delay vs goodput: one point per discipline and repetition at the probe's p50,
	// a line to its p99.
	const floor = 0.5 // ms: the log axis starts here; smaller (or negative) delays are drawn at it
	p := newPlot("AQM: RTT under load vs goodput", sub, "RTT under load − idle (ms, log, floor 0.5): p50 ●, line to p99", "goodput (Mb/s)")
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	leg := plot.NewLegend()
	for ri := range runs {
		seen := map[string]bool{}
		for _, pt := range pts[ri] {
			x, x99, y := math.Max(float64(pt.InducedP50ms), floor), math.Max(float64(pt.InducedP99ms), floor), float64(pt.GoodputBps)/1e6
			if math.IsNaN(x) || math.IsNaN(y) {
				continue
			}
			c := aqmColor(names, pt.AQM)
			if !math.IsNaN(x99) {
				l, _ := plotter.NewLine(plotter.XYs{{X: x, Y: y}, {X: x99, Y: y}})
				l.Color = c
				l.Width = vg.Points(1.5)
				p.Add(l)
			}
			s, _ := plotter.NewScatter(plotter.XYs{{X: x, Y: y}})
			s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(5), Shape: filledShape(ri)}
			p.Add(s)
			if !seen[pt.AQM] {
				seen[pt.AQM] = true
				leg.Add(pt.AQM+runLabel(runs[ri], ri, len(runs)), s)
			}
		}
	}
	// Room around the points: goodput from 0, delay from 0 (or below, for a probe
	// faster than the idle RTT) to past the largest p99.
	p.Y.Min = 0
	p.Y.Max *= 1.08
	p.X.Min, p.X.Max = math.Min(p.X.Min, floor), p.X.Max*1.3
	f, err := save(dir, "aqm-delay-goodput", p, leg)
	if err != nil {
		return files, err
	}
	files = append(files, f...)

	// CDF of the induced RTT.
	p = newPlot("AQM: CDF of RTT under load", sub, "RTT under load minus the point's idle RTT (ms)", "fraction of probes")
	leg = plot.NewLegend()
	for ri, r := range runs {
		idle := fidelityRTT(r)
		if math.IsNaN(idle) {
			idle = 0
		}
		pointIdle := map[string]float64{}
		for _, pt := range pts[ri] {
			if v := float64(pt.IdleRTTms); !math.IsNaN(v) {
				pointIdle[fmt.Sprintf("%s#%d", pt.AQM, pt.Rep)] = v
			}
		}
		by := map[string][]float64{}
		for _, pb := range r.Probes {
			if pb.Phase == "measure" {
				base, _, _ := strings.Cut(pb.Point, "#")
				b, ok := pointIdle[pb.Point]
				if !ok {
					b = idle
				}
				by[base] = append(by[base], pb.RTTms-b)
			}
		}
		for _, name := range names {
			v := by[name]
			if len(v) == 0 {
				continue
			}
			slices.Sort(v)
			xys := make(plotter.XYs, len(v))
			for i, x := range v {
				xys[i] = plotter.XY{X: x, Y: float64(i+1) / float64(len(v))}
			}
			l, _ := plotter.NewLine(xys)
			l.Color = aqmColor(names, name)
			l.Width = vg.Points(1.8)
			l.Dashes = plotutil.Dashes(ri)
			p.Add(l)
			leg.Add(name+runLabel(r, ri, len(runs)), l)
		}
	}
	f, err = save(dir, "aqm-rtt-cdf", p, leg)
	if err != nil {
		return files, err
	}
	files = append(files, f...)

	// Box plots of the sampled sojourn.
	p = newPlot("AQM: queue sojourn (head of queue, sampled)", sub, "", "sojourn (ms)")
	leg = plot.NewLegend()
	w := vg.Points(40) / vg.Length(len(runs))
	for ri, r := range runs {
		by := map[string][]float64{}
		for _, s := range r.Samples {
			if s.Phase == "measure" {
				base, _, _ := strings.Cut(s.Point, "#")
				by[base] = append(by[base], float64(s.HeadSojournMs))
			}
		}
		for i, name := range names {
			v := by[name]
			if len(v) == 0 {
				continue
			}
			b, err := plotter.NewBoxPlot(w, float64(i), plotter.Values(v))
			if err != nil {
				continue
			}
			b.Offset = w * vg.Length(float64(ri)-float64(len(runs)-1)/2)
			b.FillColor = aqmColor(names, name)
			p.Add(b)
		}
	}
	p.NominalX(names...)
	if len(runs) > 1 {
		p.X.Label.Text = fmt.Sprintf("each discipline: runs 1..%d left to right", len(runs))
	}
	f, err = save(dir, "aqm-sojourn-box", p, leg)
	return append(files, f...), err
}

func plotSizing(dir string, runs []*Results) ([]string, error) {
	sub := subtitle(runs[0], "rate", "rtt", "target", "cc", "repeat")
	p := newPlot("Buffer sizing: smallest buffer for the target utilization", sub, "flows N (log)", "buffer (packets of 1500 B, log)")
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	leg := plot.NewLegend()
	bdp := 0
	maxN := 800
	for ri, r := range runs {
		var rs []SizingRun
		if err := decodeData(r, &rs); err != nil {
			return nil, err
		}
		order, by := sizingByN(rs)
		var all, meds plotter.XYs
		for _, n := range order {
			var a []float64
			for _, s := range by[n] {
				all = append(all, plotter.XY{X: float64(n), Y: math.Max(float64(s.Answer), 0.5)})
				a = append(a, float64(s.Answer))
				bdp = s.BDP
			}
			meds = append(meds, plotter.XY{X: float64(n), Y: math.Max(Median(a), 0.5)})
			maxN = max(maxN, n)
		}
		if len(all) == 0 {
			continue
		}
		c := plotutil.Color(ri)
		s, _ := plotter.NewScatter(all)
		s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		l, _ := plotter.NewLine(meds)
		l.Color, l.Width = c, vg.Points(2)
		p.Add(s, l)
		leg.Add("dpdkq lab, each run"+runLabel(r, ri, len(runs)), s)
		leg.Add("dpdkq lab, median"+runLabel(r, ri, len(runs)), l)
	}
	if bdp == 0 {
		bdp = 453
	}
	var sq, rc plotter.XYs
	for n := 1.0; n <= float64(maxN)*1.01; n *= 1.1 {
		sq = append(sq, plotter.XY{X: n, Y: float64(bdp) / math.Sqrt(n)})
		rc = append(rc, plotter.XY{X: n, Y: float64(bdp)})
	}
	l1, _ := plotter.NewLine(sq)
	l1.Color, l1.Width, l1.Dashes = color.Black, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(3)}
	l2, _ := plotter.NewLine(rc)
	l2.Color, l2.Width, l2.Dashes = color.Gray{Y: 100}, vg.Points(1.5), []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(l1, l2)
	leg.Add("RTT·C/√N", l1)
	leg.Add("RTT·C", l2)
	// The published points are for 62.5 Mb/s and 87 ms (BDP 453 packets); for another
	// BDP they are scaled by BDP/453, i.e. compared as fractions of the BDP.
	scale := float64(bdp) / 453
	var cs, hw, hwf plotter.XYs
	for _, rp := range SizingReference() {
		xy := plotter.XY{X: float64(rp.N), Y: math.Max(rp.Packets*scale, 0.5)}
		switch {
		case rp.Source == "cs244":
			cs = append(cs, xy)
		case rp.Formula:
			hwf = append(hwf, xy)
		default:
			hw = append(hw, xy)
		}
	}
	for _, g := range []struct {
		xys   plotter.XYs
		name  string
		shape draw.GlyphDrawer
		c     color.Color
	}{
		{cs, "CS244 Mininet-HiFi (98%)", draw.TriangleGlyph{}, color.RGBA{R: 200, G: 90, B: 0, A: 255}},
		{hw, "hardware testbed (99%)", draw.SquareGlyph{}, color.RGBA{R: 120, G: 0, B: 160, A: 255}},
		{hwf, "hardware file, N>=400 (formula)", draw.CrossGlyph{}, color.RGBA{R: 120, G: 0, B: 160, A: 255}},
	} {
		if len(g.xys) == 0 {
			continue
		}
		s, _ := plotter.NewScatter(g.xys)
		s.GlyphStyle = draw.GlyphStyle{Color: g.c, Radius: vg.Points(3), Shape: g.shape}
		p.Add(s)
		leg.Add(g.name, s)
	}
	p.Y.Max *= 1.6 // RTT·C is the top line: keep it off the frame
	p.Y.Min = math.Min(p.Y.Min, 1)
	if scale != 1 {
		p.Title.Text += fmt.Sprintf(" — published points ×%.3g (BDP %d vs 453 p)", scale, bdp)
	}
	return save(dir, "sizing-buffer-vs-n", p, leg)
}

// Plot overlays the runs in dirs (all of one scenario) into out.
func Plot(out string, dirs []string) ([]string, error) {
	var runs []*Results
	for _, d := range dirs {
		r, err := ReadResults(d)
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 && r.Scenario != runs[0].Scenario {
			return nil, fmt.Errorf("%s is a %s run, %s a %s run: overlay runs of one scenario", d, r.Scenario, dirs[0], runs[0].Scenario)
		}
		runs = append(runs, r)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("lab plot: no run directories")
	}
	s, err := Lookup(runs[0].Scenario)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	return s.Plot(out, runs)
}

func plotRTTFair(dir string, runs []*Results) ([]string, error) {
	sub := subtitle(runs[0], "rtts", "rate", "flows", "cc", "duration")
	p := newPlot("RTT fairness: goodput per sender", sub, "", "goodput (Mb/s)")
	leg := plot.NewLegend()
	var names []string
	type key struct {
		run int
		aqm string
	}
	med := map[key][]float64{}
	var rtts []float64
	for ri, r := range runs {
		var pts []RTTFairPoint
		if err := decodeData(r, &pts); err != nil {
			return nil, err
		}
		by := map[string][][]float64{}
		for _, pt := range pts {
			if !slices.Contains(names, pt.AQM) {
				names = append(names, pt.AQM)
			}
			by[pt.AQM] = append(by[pt.AQM], pt.GoodputBps)
			rtts = pt.RTTms
		}
		for name, gs := range by {
			var m []float64
			for i := range rtts {
				var v []float64
				for _, g := range gs {
					if i < len(g) {
						v = append(v, g[i]/1e6)
					}
				}
				m = append(m, Median(v))
			}
			med[key{ri, name}] = m
		}
	}
	nb := len(rtts) * len(runs)
	w := vg.Points(60) / vg.Length(max(nb, 1))
	k := 0
	for ri := range runs {
		for si := range rtts {
			vals := make(plotter.Values, len(names))
			for ni, name := range names {
				m := med[key{ri, name}]
				if si < len(m) && !math.IsNaN(m[si]) {
					vals[ni] = m[si]
				}
			}
			b, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, err
			}
			b.Offset = w * vg.Length(float64(k)-float64(nb-1)/2)
			b.Color = plotutil.Color(si)
			if ri > 0 {
				b.Color = plotutil.Color(si + len(rtts)*ri)
			}
			p.Add(b)
			leg.Add(fmt.Sprintf("sender RTT %.0f ms%s", rtts[si], runLabel(runs[ri], ri, len(runs))), b)
			k++
		}
	}
	p.NominalX(names...)
	p.Y.Min = 0
	return save(dir, "rtt-fair-goodput", p, leg)
}

func plotBufferbloat(dir string, runs []*Results) ([]string, error) {
	sub := subtitle(runs[0], "rate", "rtt", "fetch-size", "fetch-every", "cc")
	p := newPlot("Bufferbloat: RTT under load over time", sub, "time since the point started (s)", "ping RTT − idle RTT (ms)")
	leg := plot.NewLegend()
	f := newPlot("Bufferbloat: web fetch time", sub, "fetch time (s)", "fraction of fetches")
	legF := plot.NewLegend()
	k := 0
	for ri, r := range runs {
		idle := fidelityRTT(r)
		if math.IsNaN(idle) {
			idle = 0 // no idle RTT measured: the plot shows the RTT itself
		}
		var pts []BloatPoint
		if err := decodeData(r, &pts); err != nil {
			return nil, err
		}
		by := map[string]plotter.XYs{}
		var order []string
		t0 := map[string]float64{}
		for _, pb := range r.Probes {
			if pb.Phase != "measure" && pb.Phase != "warmup" {
				continue
			}
			if _, ok := by[pb.Point]; !ok {
				order = append(order, pb.Point)
				t0[pb.Point] = pb.T
			}
			by[pb.Point] = append(by[pb.Point], plotter.XY{X: pb.T - t0[pb.Point], Y: pb.RTTms - idle})
		}
		for _, name := range order {
			l, err := plotter.NewLine(by[name])
			if err != nil {
				continue
			}
			l.Color, l.Width = aqmPalette[k%len(aqmPalette)], vg.Points(1.2)
			p.Add(l)
			leg.Add("queue "+name+runLabel(r, ri, len(runs)), l)
			k++
		}
		for i, pt := range pts {
			v := slices.Clone(pt.FetchSeconds)
			if len(v) == 0 {
				continue
			}
			slices.Sort(v)
			xys := make(plotter.XYs, len(v))
			for j, x := range v {
				xys[j] = plotter.XY{X: x, Y: float64(j+1) / float64(len(v))}
			}
			l, _ := plotter.NewLine(xys)
			l.Color, l.Width = aqmPalette[(i+ri*len(pts))%len(aqmPalette)], vg.Points(1.8)
			f.Add(l)
			legF.Add(fmt.Sprintf("queue %dp#%d%s", pt.Queue, pt.Rep, runLabel(r, ri, len(runs))), l)
		}
	}
	files, err := save(dir, "bufferbloat-rtt", p, leg)
	if err != nil {
		return files, err
	}
	more, err := save(dir, "bufferbloat-fetch", f, legF)
	return append(files, more...), err
}
