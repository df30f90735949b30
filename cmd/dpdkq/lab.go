package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/lab"
)

func newLabCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "lab",
		Short: "Run reproducible real-TCP experiments (buffer sizing, AQM) through this router",
		Long: `The lab builds a testbed as root (sender and receiver hosts in network namespaces,
veth pairs to dpdkq's net_af_packet ports), runs iperf3 and ping through a dpdkq
router it starts and drives over the control API, and writes a self-describing run
directory: report.md, results.json, CSVs, the router configurations and plots.`,
	}
	c.AddCommand(newLabListCmd(), newLabRunCmd(), newLabPlotCmd(), newLabServeCmd())
	return c
}

// newLabServeCmd is the bufferbloat scenario's web server, run by the lab inside the
// sender's namespace: GET / answers SIZE zero bytes.
func newLabServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "http-serve ADDR SIZE",
		Short:  "Serve SIZE bytes over HTTP at ADDR (the lab's web server)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 {
				return fmt.Errorf("SIZE %q: want a byte count", args[1])
			}
			return lab.ServeHTTP(args[0], n)
		},
	}
}

func newLabListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the scenarios with their parameters and defaults",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			for _, s := range lab.Scenarios() {
				var ps []string
				for _, p := range s.Params {
					ps = append(ps, fmt.Sprintf("--%s %s", p.Name, p.Default))
				}
				fmt.Fprintf(w, "%-8s %s\n         %s\n", s.Name, s.Description, strings.Join(ps, " "))
			}
			return nil
		},
	}
}

func newLabRunCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "run NAME [flags]",
		Short: "Run a scenario (as root); see `dpdkq lab run NAME --help` for its parameters",
	}
	for _, s := range lab.Scenarios() {
		c.AddCommand(newLabScenarioCmd(s))
	}
	return c
}

func newLabScenarioCmd(s *lab.Scenario) *cobra.Command {
	var out, bin string
	var quick bool
	var seed int64
	vals := map[string]*string{}
	long := s.Description + "\n\nMethod:\n"
	for _, m := range s.Method {
		long += "  - " + m + "\n"
	}
	long += "\nReproduces:\n"
	for _, r := range s.References {
		long += "  - " + r + "\n"
	}
	long += "\nPlots: " + strings.Join(s.Plots, "; ")
	c := &cobra.Command{
		Use:   s.Name,
		Short: s.Description,
		Long:  long,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			over := map[string]string{}
			for name, v := range vals {
				if cmd.Flags().Changed(name) {
					over[name] = *v
				}
			}
			if out == "" {
				out = filepath.Join("runs", s.Name+"-"+time.Now().Format("20060102-150405"))
			}
			if bin == "" {
				exe, err := os.Executable()
				if err != nil {
					return err
				}
				bin = exe
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			w := cmd.OutOrStdout()
			res, err := lab.Run(ctx, s, lab.Options{Dir: out, Quick: quick, Seed: seed, Params: over, Binary: bin,
				Command: strings.Join(os.Args, " "), Out: w})
			if res != nil {
				printLabSummary(w, res, out)
			}
			if ctx.Err() != nil && err != nil {
				return fmt.Errorf("interrupted; what was measured is in %s: %w", out, err)
			}
			return err
		},
	}
	c.Flags().StringVar(&out, "out", "", "run directory (default runs/NAME-TIMESTAMP)")
	c.Flags().BoolVar(&quick, "quick", false, "tiny sweep on the same code path (seconds; for CI)")
	c.Flags().Int64Var(&seed, "seed", 0, "seed of the run's random choices (default: from the clock; recorded)")
	c.Flags().StringVar(&bin, "dpdkq", "", "the dpdkq binary to route with (default: this one)")
	for _, p := range s.Params {
		v := new(string)
		vals[p.Name] = v
		usage := p.Usage
		if p.Quick != "" {
			usage += fmt.Sprintf(" (--quick: %s)", p.Quick)
		}
		c.Flags().StringVar(v, p.Name, p.Default, usage)
	}
	return c
}

// printLabSummary prints the run's tables and verdicts.
func printLabSummary(w io.Writer, r *lab.Results, dir string) {
	fmt.Fprintln(w)
	for _, t := range r.Tables {
		fmt.Fprintln(w, t.Title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(t.Columns, "\t")))
		for _, row := range t.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	for _, c := range r.Fidelity {
		fmt.Fprintf(w, "fidelity  %-48s %-6s %s\n", c.Name, c.Verdict, c.Measured)
	}
	for _, c := range r.Checks {
		fmt.Fprintf(w, "reference %-48s %-16s %s\n", c.Name, c.Verdict, c.Measured)
	}
	if !r.FidelityOK && len(r.Fidelity) > 0 {
		fmt.Fprintln(w, "FIDELITY FAILED: the figures above are diagnostics, not results")
	}
	fmt.Fprintf(w, "report: %s\n", filepath.Join(dir, "report.md"))
}

func newLabPlotCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "plot DIR...",
		Short: "Overlay the plots of one scenario's run directories",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if out == "" {
				out = filepath.Join("runs", "plot-"+time.Now().Format("20060102-150405"))
			}
			files, err := lab.Plot(out, dirs)
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(out, f))
			}
			return err
		},
	}
	c.Flags().StringVar(&out, "out", "", "directory for the plots (default runs/plot-TIMESTAMP)")
	return c
}
