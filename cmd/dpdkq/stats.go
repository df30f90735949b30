package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/sizing"
)

// apiFlags are the flags every command that talks to a running router shares.
type apiFlags struct {
	url   string
	token string
}

// tokenEnv names the environment variable the token is read from when --token is not
// given; it is also the env form of the router's api.token key, so one export serves
// both the router and the CLI.
const tokenEnv = "DPDKQ_API_TOKEN"

func (a *apiFlags) register(c *cobra.Command) {
	f := c.PersistentFlags()
	f.StringVar(&a.url, "api", "http://127.0.0.1:9180", "base URL of the router's API (its api.listen)")
	// No default value shown: printing a secret in --help would leak it.
	f.StringVar(&a.token, "token", "", "bearer token (default: $"+tokenEnv+")")
}

func (a *apiFlags) client() (*api.Client, error) {
	tok := a.token
	if tok == "" {
		tok = os.Getenv(tokenEnv)
	}
	return api.NewClient(a.url, tok, nil)
}

// snapshot is one reading of everything stats and top show.
type snapshot struct {
	Status api.Status  `json:"status"`
	Ports  []api.Port  `json:"ports"`
	Queues []api.Queue `json:"queues"`
	Buffer api.Buffer  `json:"buffer"`
}

// fetchSnapshot reads status first: top takes the router's uptime as the time base of
// its rates, and the counters that follow are read right after it.
func fetchSnapshot(ctx context.Context, c *api.Client) (snapshot, error) {
	var s snapshot
	var err error
	if s.Status, err = c.Status(ctx); err != nil {
		return s, err
	}
	if s.Ports, err = c.Ports(ctx); err != nil {
		return s, err
	}
	if s.Queues, err = c.Queues(ctx); err != nil {
		return s, err
	}
	s.Buffer, err = c.Buffer(ctx)
	return s, err
}

func newStatsCmd() *cobra.Command {
	var af apiFlags
	var asJSON, all bool
	c := &cobra.Command{
		Use:   "stats",
		Short: "Print a running router's ports, queues, buffer pools and tiers",
		Long: `Print one reading of a running router's counters, fetched from its HTTP API:
ports (packet and byte totals, drops by reason), queues (depth, peak, sojourn p50/p99
since start, drops by reason, AQM state), shared buffer pools with each queue's
threshold, and the hybrid buffer's tiers. Counters are totals since the router
started; "dpdkq top" shows rates.

Queues that never saw a packet are hidden unless --all is given. --json prints the
API's raw JSON ({"status", "ports", "queues", "buffer"}) instead of tables.`,
		Example: "  dpdkq stats\n  dpdkq stats --api http://10.0.0.1:9180 --token $TOKEN --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := af.client()
			if err != nil {
				return err
			}
			if asJSON {
				return printRawJSON(cmd.Context(), cmd.OutOrStdout(), cl)
			}
			s, err := fetchSnapshot(cmd.Context(), cl)
			if err != nil {
				return err
			}
			printStats(cmd.OutOrStdout(), s, all)
			return nil
		},
	}
	af.register(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print the API's raw JSON")
	c.Flags().BoolVar(&all, "all", false, "show idle queues too")
	return c
}

// printRawJSON writes the four views exactly as the server sent them, in one object.
func printRawJSON(ctx context.Context, w io.Writer, cl *api.Client) error {
	var raw struct {
		Status json.RawMessage `json:"status"`
		Ports  json.RawMessage `json:"ports"`
		Queues json.RawMessage `json:"queues"`
		Buffer json.RawMessage `json:"buffer"`
	}
	for _, r := range []struct {
		path string
		dst  *json.RawMessage
	}{{"/api/v1/status", &raw.Status}, {"/api/v1/ports", &raw.Ports}, {"/api/v1/queues", &raw.Queues}, {"/api/v1/buffer", &raw.Buffer}} {
		b, err := cl.Raw(ctx, "GET", r.path, nil)
		if err != nil {
			return err
		}
		*r.dst = b
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 2, 4, 2, ' ', 0) }

func printHeader(w io.Writer, st api.Status) {
	fmt.Fprintf(w, "dpdkq %s (%s), up %s, mbufs in use %d/%d\n", st.Version, st.DPDKVersion,
		st.Uptime.Truncate(time.Second), st.Mempool.InUse, st.Mempool.Size)
}

func printStats(w io.Writer, s snapshot, all bool) {
	printHeader(w, s.Status)
	printLcores(w, s.Status, nil)
	fmt.Fprintln(w)

	tw := newTable(w)
	fmt.Fprintln(tw, "PORT\tMODE\tRATE\tDELAY\tRX PKTS\tRX BYTES\tTX PKTS\tTX BYTES\tFORWARDED\tCE\tQUEUED\tTX HELD\tDROPS")
	for _, p := range s.Ports {
		rate := "unshaped"
		if p.RateBps > 0 {
			rate = sizing.FormatRate(p.RateBps)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%d\t%d\t%s\t%d\t%s\n", p.Name, p.Mode, rate, fmtDur(p.Delay),
			p.RxPackets, sizing.FormatBytes(float64(p.RxBytes)), p.TxPackets, sizing.FormatBytes(float64(p.TxBytes)),
			p.Forwarded, p.Marked, fmtDepth(p.Egress.Packets, p.Egress.Bytes), p.TxHeld, fmtReasons(p.Drops))
	}
	tw.Flush()

	if len(s.Queues) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "QUEUE\tPORT\tINPUT\tCLASS\tDEPTH\tPEAK\tP50\tP99\tDEQUEUED\tCE\tDROPS\tAQM")
		hidden := 0
		for _, q := range s.Queues {
			if !all && idle(q) {
				hidden++
				continue
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", q.Index, dash(q.Port), dash(q.Input),
				fmtClass(q.Class), fmtDepth(q.Packets, q.Bytes), fmtDepth(q.PeakPackets, q.PeakBytes),
				fmtDur(q.SojournP50), fmtDur(q.SojournP99), q.Dequeued, q.Marks, fmtReasons(q.Drops), fmtAQM(q.AQM))
		}
		tw.Flush()
		printHidden(w, hidden)
	}
	printBuffer(w, s.Buffer, nil)
}

// idle is true for a queue that never held or refused a packet.
func idle(q api.Queue) bool {
	if q.Enqueued > 0 || q.Packets > 0 || q.PeakPackets > 0 {
		return false
	}
	for _, n := range q.Drops {
		if n > 0 {
			return false
		}
	}
	return true
}

func printHidden(w io.Writer, n int) {
	if n > 0 {
		fmt.Fprintf(w, "(%d idle queues hidden; --all shows them)\n", n)
	}
}

// printBuffer prints pools and tiers; with prev (top), tier event counters are shown
// as deltas since prev.
func printBuffer(w io.Writer, b api.Buffer, prev *api.Buffer) {
	if len(b.Pools) > 0 {
		fmt.Fprintln(w)
		tw := newTable(w)
		fmt.Fprintln(tw, "POOL\tSIZE\tUSED\tPEAK\tSTORED\tEFFICIENCY\tDESCRIPTORS\tDROPS")
		for _, p := range b.Pools {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", p.Name, sizing.FormatBytes(float64(p.Size)),
				fmtShare(p.Used, p.Size), sizing.FormatBytes(float64(p.Peak)), sizing.FormatBytes(float64(p.Stored)),
				fmtPercent(p.Efficiency), p.Descriptors, fmtReasons(p.Drops))
		}
		tw.Flush()
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "POOL\tQUEUE\tPORT\tCLASS\tPROFILE\tUSED\tPEAK\tTHRESHOLD")
		for _, p := range b.Pools {
			for _, q := range p.Queues {
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, q.Queue, dash(q.Port), fmtClass(q.Class),
					dash(q.Profile), sizing.FormatBytes(float64(q.Used)), sizing.FormatBytes(float64(q.Peak)),
					sizing.FormatBytes(float64(q.Threshold)))
			}
		}
		tw.Flush()
	}
	if t := b.Tiers; t != nil {
		fmt.Fprintln(w)
		tw := newTable(w)
		fmt.Fprintf(tw, "TIERS (%s)\tBYTES\tPEAK\n", t.Mode)
		fmt.Fprintf(tw, "on-chip\t%s\t%s\n", sizing.FormatBytes(float64(t.OnchipBytes)), sizing.FormatBytes(float64(t.OnchipPeak)))
		fmt.Fprintf(tw, "off-chip\t%s\t%s\n", sizing.FormatBytes(float64(t.OffchipBytes)), sizing.FormatBytes(float64(t.OffchipPeak)))
		tw.Flush()
		ev, re, bw, what := t.Evictions, t.Readmissions, t.BandwidthDrops, "total"
		if prev != nil && prev.Tiers != nil {
			p := prev.Tiers
			ev, re, bw, what = delta(t.Evictions, p.Evictions), delta(t.Readmissions, p.Readmissions),
				delta(t.BandwidthDrops, p.BandwidthDrops), "last interval"
		}
		fmt.Fprintf(w, "off-chip share %s of packets, %s of bytes; evicted queues %d; %s: evictions %d, readmissions %d, bandwidth drops %d\n",
			fmtPercent(t.OffchipPacketShare), fmtPercent(t.OffchipByteShare), t.EvictedQueues, what, ev, re, bw)
	}
}

// delta is cur-prev, or 0 when the counter went backwards (the router restarted).
func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return 0
	}
	return cur - prev
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtClass(c int) string {
	if c < 0 {
		return "fifo"
	}
	return fmt.Sprint(c)
}

func fmtDepth(pkts, bytes int) string {
	return fmt.Sprintf("%dp/%s", pkts, sizing.FormatBytes(float64(bytes)))
}

func fmtShare(used, size int64) string {
	s := sizing.FormatBytes(float64(used))
	if size > 0 {
		s += fmt.Sprintf(" (%.1f%%)", 100*float64(used)/float64(size))
	}
	return s
}

func fmtPercent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// fmtReasons prints non-zero counts by reason, sorted by name: "aqm=5 tail=25".
func fmtReasons(m map[string]uint64) string {
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(m)) {
		if m[r] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, m[r]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// fmtDur prints a duration with three significant digits (whole units from 100 on):
// "512ns", "4.1µs", "3ms", "1.5s", "1234s"; 0 is "0".
func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "µs"}} {
		if v := float64(d) / float64(u.d); v >= 100 {
			return fmt.Sprintf("%.0f%s", v, u.name) // %g would switch to 1e+03 notation
		} else if v >= 1 {
			return fmt.Sprintf("%.3g%s", v, u.name)
		}
	}
	return fmt.Sprintf("%dns", int64(d))
}

// fmtAQM prints the AQM's kind and the internals that matter for it.
func fmtAQM(a api.AQMState) string {
	var s string
	switch a.Kind {
	case "", "none":
		return "-"
	case "codel", "fq_codel":
		s = a.Kind
		if a.Dropping {
			s += " dropping"
		}
		s += fmt.Sprintf(" count=%d", a.Count)
	case "pie":
		s = fmt.Sprintf("pie p=%.4f qdelay=%s", a.DropProb, fmtDur(a.QDelay))
	case "red":
		s = fmt.Sprintf("red p=%.4f avg=%.1f", a.DropProb, a.AvgQueue)
	default:
		s = a.Kind
	}
	return s + fmt.Sprintf(" drops=%d marks=%d", a.Drops, a.Marks)
}
