package report

import (
	"encoding/csv"
	"image/color"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/dpdkq/dpdkq/api"
)

// Poll-loop stalls in the report. While an lcore's loop is descheduled its ports are
// neither polled nor served: the counters freeze, then move in a burst. Each sample
// keeps the stall count summed over the lcores, so ports.csv can flag every interval
// that held a stall (its loop_stalls column), and the recorder collects the stalls
// themselves from the lcores' recent-stall lists (stalls.csv, and a vertical marker
// at each in every plot). An lcore keeps its last 8 stalls, so with more than 8 stalls
// of one lcore between two samples the list misses some; the counts never do.

// stallKey identifies one stall across samples.
type stallKey struct {
	lcore uint
	start int64
}

// stallEvent is one stall as the recorder saw it.
type stallEvent struct {
	lcore uint
	stall api.Stall
}

// recordStalls adds the lcores' stalls of a status to the collected list and returns
// the stall count over all lcores. The caller holds r.mu.
func (r *Recorder) recordStalls(st *api.Status) uint64 {
	if r.stallSeen == nil {
		r.stallSeen = map[stallKey]bool{}
	}
	var n uint64
	for _, l := range st.Workers {
		n += l.Stalls
		for _, s := range l.RecentStalls {
			k := stallKey{l.ID, int64(s.Start)}
			if !r.stallSeen[k] {
				r.stallSeen[k] = true
				r.stallEvents = append(r.stallEvents, stallEvent{lcore: l.ID, stall: s})
			}
		}
	}
	return n
}

// intervalStalls is the number of stalls between sample s and the one before it (for
// the first sample: since the router started).
func (r *Recorder) intervalStalls(s int32) uint64 {
	if s == 0 {
		return r.samples[0].stalls
	}
	return delta(r.samples[s].stalls, r.samples[s-1].stalls)
}

// stallMarks are the stalls' start times on the plots' time axis (time since the
// recorder started): the router's clock shifted by the first sample's offset.
func (r *Recorder) stallMarks() []float64 {
	if len(r.samples) == 0 || len(r.stallEvents) == 0 {
		return nil
	}
	off := r.samples[0].t - r.samples[0].uptime
	out := make([]float64, len(r.stallEvents))
	for i, e := range r.stallEvents {
		out[i] = (e.stall.Start + off).Seconds()
	}
	return out
}

var stallsHeader = []string{"time_s", "lcore", "start_s", "duration_ms"}

// writeStallsCSV lists the collected stalls: time_s on the plots' axis, start_s on the
// router's clock (since it started), the length in ms.
func (r *Recorder) writeStallsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(stallsHeader); err != nil {
		return err
	}
	marks := r.stallMarks()
	for i, e := range r.stallEvents {
		rec := []string{num(marks[i]), strconv.FormatUint(uint64(e.lcore), 10), seconds(e.stall.Start), ms(e.stall.Duration)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// stallColor is the markers' colour: a grey that no port line uses.
var stallColor = color.RGBA{R: 128, G: 128, B: 128, A: 255}

// addStallMarks draws a thin dotted vertical line at each x across the plot's current
// y range, with one legend entry.
func addStallMarks(p *plot.Plot, xs []float64) error {
	for i, x := range xs {
		if x < p.X.Min || x > p.X.Max {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
		if err != nil {
			return err
		}
		l.Color = stallColor
		l.Width = vg.Points(0.75)
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		if i == 0 {
			p.Legend.Add("loop stall", l)
		}
	}
	return nil
}
