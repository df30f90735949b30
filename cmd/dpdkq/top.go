package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/sizing"
)

// clearHome moves the cursor home and clears the screen (ANSI CUP + ED 2), so each
// frame replaces the last without a terminal library.
const clearHome = "\x1b[H\x1b[2J"

func newTopCmd() *cobra.Command {
	var af apiFlags
	var interval time.Duration
	var count int
	var all bool
	c := &cobra.Command{
		Use:   "top",
		Short: "Live view of a running router: rates, queue depths, sojourn, drops, buffer occupancy",
		Long: `Refresh a view of a running router every --interval until Ctrl-C (or after
--count refreshes): per-port rx/tx packets and bits per second, per-queue depth, peak,
sojourn p50/p99 and drops by reason over the last interval, the AQM's state, and pool
and tier occupancy.

Rates are differences between two readings divided by the router's own uptime
difference, so they do not depend on when the HTTP replies arrive. The first frame has
no previous reading and shows "-" for rates.`,
		Example: "  dpdkq top\n  dpdkq top --interval 500ms --all",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval < time.Millisecond {
				return fmt.Errorf("--interval %v: want at least 1ms", interval)
			}
			if count < 0 {
				return fmt.Errorf("--count %d: want 0 (run until Ctrl-C) or more", count)
			}
			cl, err := af.client()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runTop(ctx, cmd.OutOrStdout(), cl, topOpts{interval: interval, count: count, all: all, api: af.url})
		},
	}
	af.register(c)
	f := c.Flags()
	f.DurationVar(&interval, "interval", time.Second, "time between refreshes")
	f.IntVar(&count, "count", 0, "stop after this many refreshes (0: until Ctrl-C)")
	f.BoolVar(&all, "all", false, "show idle queues too")
	return c
}

type topOpts struct {
	interval time.Duration
	count    int
	all      bool
	api      string
}

// runTop fetches, renders and waits until count frames are out or ctx ends. An
// interrupt is a normal way to leave, not an error.
func runTop(ctx context.Context, w io.Writer, cl *api.Client, o topOpts) error {
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	var prev *snapshot
	for frame := 0; o.count == 0 || frame < o.count; frame++ {
		if frame > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		cur, err := fetchSnapshot(ctx, cl)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var buf bytes.Buffer
		buf.WriteString(clearHome)
		renderTop(&buf, prev, &cur, o)
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		prev = &cur
	}
	return nil
}

// renderTop draws one frame. prev is nil on the first frame, or when the router
// restarted in between (its uptime went backwards), and then rates show "-".
func renderTop(w io.Writer, prev, cur *snapshot, o topOpts) {
	dt := time.Duration(0)
	if prev != nil {
		dt = cur.Status.Uptime - prev.Status.Uptime
		if dt <= 0 {
			prev = nil
		}
	}
	fmt.Fprintf(w, "dpdkq top - %s - every %s - Ctrl-C quits\n", o.api, o.interval)
	printHeader(w, cur.Status)
	var ps *api.Status
	if prev != nil {
		ps = &prev.Status
	}
	printLcores(w, cur.Status, ps)
	fmt.Fprintln(w)

	prevPorts := map[string]*api.Port{}
	prevQueues := map[int]*api.Queue{}
	if prev != nil {
		for i := range prev.Ports {
			prevPorts[prev.Ports[i].Name] = &prev.Ports[i]
		}
		for i := range prev.Queues {
			prevQueues[prev.Queues[i].Index] = &prev.Queues[i]
		}
	}
	rate := func(cur, prev uint64) float64 { return float64(delta(cur, prev)) / dt.Seconds() }

	tw := newTable(w)
	fmt.Fprintln(tw, "PORT\tRX PPS\tRX RATE\tTX PPS\tTX RATE\tQUEUED\tDROPS (INTERVAL)")
	for _, p := range cur.Ports {
		rxp, rxb, txp, txb, drops := "-", "-", "-", "-", "-"
		if pp := prevPorts[p.Name]; pp != nil {
			rxp = fmt.Sprintf("%.0f", rate(p.RxPackets, pp.RxPackets))
			rxb = sizing.FormatRate(8 * rate(p.RxBytes, pp.RxBytes))
			txp = fmt.Sprintf("%.0f", rate(p.TxPackets, pp.TxPackets))
			txb = sizing.FormatRate(8 * rate(p.TxBytes, pp.TxBytes))
			drops = fmtReasons(deltaReasons(p.Drops, pp.Drops))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, rxp, rxb, txp, txb,
			fmtDepth(p.Egress.Packets, p.Egress.Bytes), drops)
	}
	tw.Flush()

	if len(cur.Queues) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "QUEUE\tPORT\tINPUT\tCLASS\tDEPTH\tPEAK\tOUT PPS\tP50\tP99\tDROPS (INTERVAL)\tAQM")
		hidden := 0
		for _, q := range cur.Queues {
			if !o.all && idle(q) {
				hidden++
				continue
			}
			out, p50, p99, drops := "-", "-", "-", "-"
			if pq := prevQueues[q.Index]; pq != nil {
				out = fmt.Sprintf("%.0f", rate(q.Dequeued, pq.Dequeued))
				drops = fmtReasons(deltaReasons(q.Drops, pq.Drops))
				// Sojourn of the packets that left during this interval only: the
				// difference of the two cumulative histograms.
				if d := api.SojournDelta(q.SojournBuckets, pq.SojournBuckets); d != nil {
					p50 = fmtDur(api.SojournQuantile(d, 0.50))
					p99 = fmtDur(api.SojournQuantile(d, 0.99))
				}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", q.Index, dash(q.Port), dash(q.Input),
				fmtClass(q.Class), fmtDepth(q.Packets, q.Bytes), fmtDepth(q.PeakPackets, q.PeakBytes),
				out, p50, p99, drops, fmtAQM(q.AQM))
		}
		tw.Flush()
		printHidden(w, hidden)
	}
	var pb *api.Buffer
	if prev != nil {
		pb = &prev.Buffer
	}
	printBuffer(w, cur.Buffer, pb)
}

// deltaReasons subtracts per reason; reasons that did not move are left out.
func deltaReasons(cur, prev map[string]uint64) map[string]uint64 {
	out := map[string]uint64{}
	for r, n := range cur {
		if d := delta(n, prev[r]); d > 0 {
			out[r] = d
		}
	}
	return out
}
