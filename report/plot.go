package report

import (
	"io"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plots are 8x4 inches at 96 dpi (gonum's default), 768x384 pixels: wide enough for
// a long time axis, small enough to sit side by side in a notebook or a PR.
const (
	plotWidth  = 8 * vg.Inch
	plotHeight = 4 * vg.Inch
	plotDPI    = 96
)

// plotEnd is the right end of the time axis: the last sample, or one interval for a
// run too short to have a span.
func (r *Recorder) plotEnd() time.Duration {
	end := r.interval
	if n := len(r.samples); n > 0 {
		end = max(end, r.samples[n-1].t)
	}
	return end
}

// series is one line of a plot.
type series struct {
	name   string
	xys    plotter.XYs
	color  int  // index into plotutil's palette, shared by one port's lines
	dashed bool // p99 is dashed beside its port's solid p50
}

// throughputSeries is tx Mb/s per port over time.
func (r *Recorder) throughputSeries() []series {
	per := make([]plotter.XYs, len(r.portNames))
	_ = r.eachPort(func(p *portRow, rt portRates) error {
		if rt.ok {
			per[p.port] = append(per[p.port], plotter.XY{X: r.samples[p.sample].t.Seconds(), Y: rt.txBps / 1e6})
		}
		return nil
	})
	return r.portSeries(per)
}

// depthSeries is the egress depth in packets per port over time.
func (r *Recorder) depthSeries() []series {
	per := make([]plotter.XYs, len(r.portNames))
	for i := range r.ports {
		p := &r.ports[i]
		per[p.port] = append(per[p.port], plotter.XY{X: r.samples[p.sample].t.Seconds(), Y: float64(p.depthPackets)})
	}
	return r.portSeries(per)
}

// sojournSeries is each port's egress p50 (solid) and p99 (dashed) in ms, over the
// packets dequeued in each interval; intervals without dequeues leave no point.
func (r *Recorder) sojournSeries() []series {
	p50 := make([]plotter.XYs, len(r.portNames))
	p99 := make([]plotter.XYs, len(r.portNames))
	for i := range r.ports {
		p := &r.ports[i]
		if p.p50 < 0 {
			continue
		}
		x := r.samples[p.sample].t.Seconds()
		p50[p.port] = append(p50[p.port], plotter.XY{X: x, Y: float64(p.p50) / float64(time.Millisecond)})
		p99[p.port] = append(p99[p.port], plotter.XY{X: x, Y: float64(p.p99) / float64(time.Millisecond)})
	}
	var out []series
	for id, name := range r.portNames {
		if hasData(p50[id]) || hasData(p99[id]) {
			out = append(out, series{name: name + " p50", xys: p50[id], color: id},
				series{name: name + " p99", xys: p99[id], color: id, dashed: true})
		}
	}
	return out
}

// portSeries turns per-port points into one series per port that has data.
func (r *Recorder) portSeries(per []plotter.XYs) []series {
	var out []series
	for id, xys := range per {
		if hasData(xys) {
			out = append(out, series{name: r.portNames[id], xys: xys, color: id})
		}
	}
	return out
}

// hasData is false for a series with nothing to show: no points, or only zeros (a
// port that never sent or queued anything would draw a line along the axis and
// crowd the legend).
func hasData(xys plotter.XYs) bool {
	for _, xy := range xys {
		if xy.Y != 0 {
			return true
		}
	}
	return false
}

// drawPNG draws the series as lines over time and writes the PNG to w. The time
// axis spans [0, end] whatever the series hold, so the three plots of a report line
// up. With no series it still draws the (empty) axes, so every report has all its
// files. A dotted grey vertical line marks each poll-loop stall (at its start).
func drawPNG(w io.Writer, title, ylabel string, end time.Duration, ss []series, stalls []float64) error {
	p := plot.New()
	p.Title.Text = title
	if len(ss) == 0 {
		p.Title.Text += " (no data)"
	}
	p.X.Label.Text = "time since start (s)"
	p.Y.Label.Text = ylabel
	// Every quantity here is non-negative: anchor both axes at 0 so plots compare.
	p.X.Min, p.X.Max, p.Y.Min = 0, end.Seconds(), 0
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for _, s := range ss {
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(s.color)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(s.name, l)
		if len(s.xys) == 1 {
			// A single point draws no line segment; mark it so it is visible.
			sc, err := plotter.NewScatter(s.xys)
			if err != nil {
				return err
			}
			sc.Color = l.Color
			p.Add(sc)
		}
	}
	// Headroom above the data, so a flat line (a saturated link) does not run along
	// the top edge under the title, and the legend in the top corner has room: 10%
	// plus 5% per legend entry, at most 50%.
	if p.Y.Max > p.Y.Min && len(ss) > 0 {
		p.Y.Max += (p.Y.Max - p.Y.Min) * min(0.1+0.05*float64(len(ss)), 0.5)
	} else {
		p.Y.Max = 1 // nothing to show: a plain [0, 1] axis rather than gonum's [-1, 1]
	}
	if err := addStallMarks(p, stalls); err != nil {
		return err
	}
	c := vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))
	p.Draw(draw.New(c))
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}
