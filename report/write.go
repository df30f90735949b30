package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Write creates dir and writes the run report into it: summary.json (summary
// marshalled with indentation), ports.csv, queues.csv, stalls.csv, throughput.png,
// queue_depth.png and sojourn.png. It is meant for after Stop (while sampling runs,
// it holds the sampler off until it returns). An error names the file that failed.
func (r *Recorder) Write(dir string, summary any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: create directory %s: %w", dir, err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"summary.json", func(w io.Writer) error { return writeJSON(w, summary) }},
		{"ports.csv", r.writePortsCSV},
		{"queues.csv", r.writeQueuesCSV},
		{"stalls.csv", r.writeStallsCSV},
		{"throughput.png", func(w io.Writer) error {
			return drawPNG(w, "Transmit throughput per port", "tx (Mb/s)", r.plotEnd(), r.throughputSeries(), r.stallMarks())
		}},
		{"queue_depth.png", func(w io.Writer) error {
			return drawPNG(w, "Egress queue depth per port", "depth (packets)", r.plotEnd(), r.depthSeries(), r.stallMarks())
		}},
		{"sojourn.png", func(w io.Writer) error {
			return drawPNG(w, "Egress sojourn per port (packets dequeued in each interval)", "sojourn (ms)", r.plotEnd(), r.sojournSeries(), r.stallMarks())
		}},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates path and fills it through a buffered writer.
func writeFile(path string, fill func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("report: write %s: %w", path, cerr)
		}
	}()
	bw := bufio.NewWriter(f)
	if err := fill(bw); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Column names carry their units; a rate or percentile that has no interval (a
// port's or queue's first sample, or no packet dequeued) is an empty cell. A port
// row's loop_stalls counts the poll-loop stalls (all lcores) in the interval that
// ends at its sample: its figures over that interval are not the model's alone.
var (
	portsHeader = []string{"time_s", "port", "rx_pps", "tx_pps", "rx_bps", "tx_bps",
		"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "drops", "egress_drops",
		"egress_depth_packets", "egress_depth_bytes", "egress_sojourn_p50_ms", "egress_sojourn_p99_ms",
		"loop_stalls"}
	queuesHeader = []string{"time_s", "port", "input", "class", "queue", "depth_packets", "depth_bytes",
		"dequeued", "drops", "sojourn_p50_ms", "sojourn_p99_ms", "head_sojourn_ms"}
)

func (r *Recorder) writePortsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(portsHeader); err != nil {
		return err
	}
	rec := make([]string, len(portsHeader))
	err := r.eachPort(func(p *portRow, rt portRates) error {
		rec = rec[:0]
		rec = append(rec, seconds(r.samples[p.sample].t), r.portNames[p.port])
		if rt.ok {
			rec = append(rec, num(rt.rxPps), num(rt.txPps), num(rt.rxBps), num(rt.txBps))
		} else {
			rec = append(rec, "", "", "", "")
		}
		rec = append(rec, unsigned(p.rxPackets), unsigned(p.txPackets), unsigned(p.rxBytes), unsigned(p.txBytes),
			unsigned(p.drops), unsigned(p.egressDrops),
			strconv.FormatInt(p.depthPackets, 10), strconv.FormatInt(p.depthBytes, 10), ms(p.p50), ms(p.p99),
			unsigned(r.intervalStalls(p.sample)))
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (r *Recorder) writeQueuesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(queuesHeader); err != nil {
		return err
	}
	rec := make([]string, len(queuesHeader))
	for i := range r.queues {
		q := &r.queues[i]
		k := r.queueKeys[q.queue]
		rec = rec[:0]
		rec = append(rec, seconds(r.samples[q.sample].t), k.port, k.input, strconv.Itoa(k.class), strconv.Itoa(k.index),
			strconv.FormatInt(q.depthPackets, 10), strconv.FormatInt(q.depthBytes, 10),
			unsigned(q.dequeued), unsigned(q.drops), ms(q.p50), ms(q.p99), ms(q.head))
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// portRates are a port row's rates over the interval since the same port's previous
// kept row; ok is false when there is no such interval.
type portRates struct {
	rxPps, txPps, rxBps, txBps float64
	ok                         bool
}

// eachPort calls fn for every port row in order, with the row's rates.
func (r *Recorder) eachPort(fn func(p *portRow, rt portRates) error) error {
	last := make([]int, len(r.portNames)) // 1 + index of the port's previous row; 0: none
	for i := range r.ports {
		p := &r.ports[i]
		var rt portRates
		if j := last[p.port]; j > 0 {
			q := &r.ports[j-1]
			if dt := r.between(q.sample, p.sample); dt > 0 {
				rt = portRates{
					rxPps: float64(delta(p.rxPackets, q.rxPackets)) / dt,
					txPps: float64(delta(p.txPackets, q.txPackets)) / dt,
					rxBps: 8 * float64(delta(p.rxBytes, q.rxBytes)) / dt,
					txBps: 8 * float64(delta(p.txBytes, q.txBytes)) / dt,
					ok:    true,
				}
			}
		}
		last[p.port] = i + 1
		if err := fn(p, rt); err != nil {
			return err
		}
	}
	return nil
}

// between is the time in seconds from sample a to sample b: the router's uptime
// difference, which is the clock its counters were read against, or the sampling
// time difference when the uptime did not move.
func (r *Recorder) between(a, b int32) float64 {
	sa, sb := r.samples[a], r.samples[b]
	if d := sb.uptime - sa.uptime; d > 0 {
		return d.Seconds()
	}
	return (sb.t - sa.t).Seconds()
}

// delta is cur-prev for a cumulative counter, 0 if it went backwards.
func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return 0
	}
	return cur - prev
}

func num(x float64) string           { return strconv.FormatFloat(x, 'f', -1, 64) }
func unsigned(n uint64) string       { return strconv.FormatUint(n, 10) }
func seconds(d time.Duration) string { return num(d.Seconds()) }

// ms formats a duration in milliseconds; negative means "no value" and is empty.
func ms(d time.Duration) string {
	if d < 0 {
		return ""
	}
	return num(float64(d) / float64(time.Millisecond))
}
