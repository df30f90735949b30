package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/control"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/lcore"
	"github.com/dpdkq/dpdkq/report"
	"github.com/dpdkq/dpdkq/sizing"
)

type runOpts struct {
	config      string
	sets        []string
	duration    time.Duration
	untilIdle   time.Duration
	summaryJSON string
	logJSON     bool
	cpuProfile  string
	reportDir   string
	sample      time.Duration
	force       bool
	sampleSet   bool // --sample given explicitly
}

// checkOutputs validates the output options before anything starts, so that a run
// is not lost to a path found unwritable at exit.
func (o *runOpts) checkOutputs() error {
	if o.sample <= 0 {
		return fmt.Errorf("--sample = %s: want a positive interval, e.g. 100ms", o.sample)
	}
	if o.sampleSet && o.reportDir == "" {
		return fmt.Errorf("--sample = %s: only used with --report DIR", o.sample)
	}
	if o.reportDir != "" {
		if ents, err := os.ReadDir(o.reportDir); err == nil && len(ents) > 0 && !o.force {
			return fmt.Errorf("--report = %q: the directory exists and is not empty; pick a new one, or add --force to overwrite its files", o.reportDir)
		}
		if err := os.MkdirAll(o.reportDir, 0o755); err != nil {
			return fmt.Errorf("--report = %q: %w", o.reportDir, err)
		}
		if err := probeWritable(filepath.Join(o.reportDir, ".dpdkq-write-test")); err != nil {
			return fmt.Errorf("--report = %q: %w", o.reportDir, err)
		}
	}
	if o.summaryJSON != "" {
		if st, err := os.Stat(o.summaryJSON); err == nil && st.IsDir() {
			return fmt.Errorf("--summary-json = %q: is a directory, want a file path", o.summaryJSON)
		}
		if err := probeWritable(o.summaryJSON + ".dpdkq-write-test"); err != nil {
			return fmt.Errorf("--summary-json = %q: cannot write there: %w", o.summaryJSON, err)
		}
	}
	return nil
}

// probeWritable creates and removes path.
func probeWritable(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	f.Close()
	return os.Remove(path)
}

func newRunCmd() *cobra.Command {
	var o runOpts
	c := &cobra.Command{
		Use:   "run",
		Short: "Start the router",
		Long: `Start the router with a configuration file (default: the embedded example).

It stops on SIGINT/SIGTERM, after --duration, or with --until-idle once no packet
arrived for that long and nothing is left queued. On exit it prints a summary per port
(rx/tx, drops by reason, packets still queued and freed, mbuf pool use at start and end)
and with --summary-json writes it as JSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.sampleSet = cmd.Flags().Changed("sample")
			return runRouter(cmd.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.config, "config", "c", "", "config file (YAML); default: the embedded example")
	f.StringArrayVar(&o.sets, "set", nil, "override a config key: --set ports.1.rate=10Mbps (repeatable)")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until a signal)")
	f.DurationVar(&o.untilIdle, "until-idle", 0, "stop once nothing arrived for this long and nothing is queued")
	f.StringVar(&o.summaryJSON, "summary-json", "", "write the exit summary as JSON to this file")
	f.BoolVar(&o.logJSON, "log-json", false, "log as JSON (overrides log.format)")
	f.StringVar(&o.reportDir, "report", "", "at exit write summary.json, ports.csv, queues.csv and PNG plots into this directory")
	f.DurationVar(&o.sample, "sample", 100*time.Millisecond, "sampling interval of the --report time series (> 0)")
	f.BoolVar(&o.force, "force", false, "with --report: write into an existing non-empty directory")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run (poll loops included) to this file")
	return c
}

func newLogger(c *config.Config, forceJSON bool) (*zap.Logger, error) {
	var zc zap.Config
	if forceJSON || c.Log.Format == "json" {
		zc = zap.NewProductionConfig()
	} else {
		zc = zap.NewDevelopmentConfig()
		zc.DisableStacktrace = true
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice == 0 {
			zc.EncoderConfig.EncodeLevel = zapcore.CapitalLevelEncoder
		}
	}
	lvl, err := zapcore.ParseLevel(c.Log.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	return zc.Build()
}

func runRouter(out io.Writer, o runOpts) error {
	p, err := loadPlan(o.config, o.sets)
	if err != nil {
		return err
	}
	cfg := p.Config
	if err := o.checkOutputs(); err != nil {
		return err
	}
	log, err := newLogger(cfg, o.logJSON)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck
	printResolved(out, p)
	dc := p.Dataplane
	args := ealArgs(cfg)
	log.Info("initializing DPDK", zap.String("dpdk", lcore.Version()), zap.Strings("eal_args", args))
	if err := lcore.Init(args); err != nil {
		return err
	}
	defer lcore.Cleanup() //nolint:errcheck
	if n, err := lcore.ConfineRuntime(); err != nil {
		log.Warn("could not confine runtime threads to the main lcore", zap.Error(err))
	} else {
		log.Debug("runtime threads confined to the main lcore's CPUs", zap.Int("threads", n))
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	r, err := dataplane.Start(dc, log)
	if err != nil {
		return err
	}
	if cfg.API.Telemetry {
		if err := r.RegisterTelemetry(); err != nil {
			log.Warn("DPDK telemetry commands not registered", zap.Error(err))
		} else {
			log.Info("DPDK telemetry: /dpdkq/ports and /dpdkq/queues registered", zap.String("query", "dpdk-telemetry.py -f "+cfg.EAL.FilePrefix))
		}
	}
	tuneGC(log)
	src := control.New(r, p, version, lcore.Version())
	var rec *report.Recorder
	if o.reportDir != "" {
		if rec, err = report.NewRecorder(src, o.sample); err != nil {
			r.Stop()
			return err
		}
		rec.Start()
	}
	var srv *api.Server
	if cfg.API.Listen != "" {
		srv, err = api.NewServer(src,
			api.Options{Listen: cfg.API.Listen, Token: cfg.API.Token, Logger: log, Version: version})
		if err == nil {
			err = srv.Start()
		}
		if err != nil {
			r.Stop()
			return fmt.Errorf("api: %w", err)
		}
		log.Info("control API listening", zap.String("addr", srv.Addr()))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	var deadline <-chan time.Time
	if o.duration > 0 {
		deadline = time.After(o.duration)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastRx uint64
	lastChange := time.Now()
	reason := ""
	for reason == "" {
		select {
		case s := <-sig:
			reason = "signal " + s.String()
		case <-deadline:
			reason = "duration reached"
		case <-tick.C:
			if o.untilIdle == 0 {
				continue
			}
			var rx, settled uint64
			for _, c := range r.Counters() {
				rx += c.RxPackets
				settled += c.Fwd + c.Local + c.DropTotal()
			}
			if rx != lastRx {
				lastRx, lastChange = rx, time.Now()
			} else if settled == rx && time.Since(lastChange) >= o.untilIdle {
				reason = "idle"
			}
		}
	}
	log.Info("stopping", zap.String("reason", reason))
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
	if rec != nil {
		rec.Stop() // the last sample still sees the queues as they were at stop
	}
	s := r.Stop()
	annotate(s, cfg, r)
	printSummary(out, s)
	if rec != nil {
		if err := rec.Write(o.reportDir, s); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
		fmt.Fprintf(out, "report: %s (%d samples every %s)\n", o.reportDir, rec.Samples(), o.sample)
	}
	if o.summaryJSON != "" {
		b, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(o.summaryJSON, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("--summary-json: %w", err)
		}
	}
	if s.MempoolLeaked != 0 {
		return errors.New("mbufs leaked: the pool's in-use count did not return to its start value")
	}
	if !s.Balanced {
		return errors.New("accounting does not balance: rx != forwarded + local + drops + queued")
	}
	return nil
}

// tuneGC keeps the garbage collector away from the poll loops. The loops do not
// allocate, but every collection briefly stops and preempts them (a continuously polled
// API cost a measured 20-30% of forwarding with the default GOGC=100). Unless GOGC is
// set, collections are triggered only by a soft memory limit: the heap in use once the
// dataplane is up (queues are preallocated then) plus 1 GiB of headroom for the
// control plane's garbage.
func tuneGC(log *zap.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := int64(ms.HeapAlloc) + 1<<30
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(limit)
	log.Debug("GC by memory limit only", zap.Int64("limit_bytes", limit))
}

// annotate adds each port's resolved settings (human units and what they became) to
// the summary, as printed at start-up.
func annotate(s *dataplane.Summary, c *config.Config, r *dataplane.Router) {
	for i := range s.Ports {
		if i >= len(c.Ports) {
			break
		}
		p := &c.Ports[i]
		rate, delay := r.PortRate(i)
		st := map[string]string{"rate": "unshaped", "delay": delay.String()}
		if rate > 0 {
			st["rate"] = sizing.FormatRate(rate)
			st["catch_up"] = p.CatchUp.String()
		}
		base := c.Queueing.PerClass[0].LimitSize.Describe(rate, c.Buffer.RTT, p.MTU+14)
		st["queue_limit"] = base
		for cls := 1; cls < c.Queueing.Classes; cls++ {
			if d := c.Queueing.PerClass[cls].LimitSize.Describe(rate, c.Buffer.RTT, p.MTU+14); d != base {
				st[fmt.Sprintf("queue_limit_class%d", cls)] = d
			}
		}
		s.Ports[i].Settings = st
	}
}

func printSummary(w io.Writer, s *dataplane.Summary) {
	fmt.Fprintf(w, "\nsummary after %.2fs\n", s.Duration)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tRX PKTS\tRX BYTES\tTX PKTS\tTX BYTES\tFORWARDED\tLOCAL\tDROPS\tQUEUED AT STOP\tCE MARKED\tBALANCED")
	for _, p := range s.Ports {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%v\n", p.Name, p.RxPackets, p.RxBytes, p.TxPackets,
			p.TxBytes, p.Forwarded, p.Local, p.DropTotal, p.Queued, p.Marked, p.Balanced)
	}
	tw.Flush()
	for _, p := range s.Ports {
		if len(p.Drops) == 0 {
			continue
		}
		keys := make([]string, 0, len(p.Drops))
		for k := range p.Drops {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, p.Drops[k])
		}
		fmt.Fprintf(w, "drops received on %s: %s\n", p.Name, strings.Join(parts, " "))
	}
	for _, p := range s.Ports {
		if lim, ok := p.Settings["queue_limit"]; ok {
			fmt.Fprintf(w, "%s: rate %s, delay %s, queue limit %s\n", p.Name, p.Settings["rate"], p.Settings["delay"], lim)
		}
	}
	fmt.Fprintf(w, "mbuf pool: %d mbufs, in use at start %d, at end %d (leaked %d)\n",
		s.MempoolSize, s.MempoolStart, s.MempoolEnd, s.MempoolLeaked)
	printTraffic(w, s.Traffic)
	printStalls(w, s)
}

// printTraffic shows what the source and sink ports sent and measured.
func printTraffic(w io.Writer, ts []dataplane.TrafficSummary) {
	if len(ts) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSENT\tLATE\tNO MBUF\tSKIPPED")
	for _, t := range ts {
		if t.Kind == "source" {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", t.Port, t.Sent, t.Late, t.NoMbuf, t.Skipped)
		}
	}
	fmt.Fprintln(tw, "SINK\tRECEIVED\tLOST\tREORDERED\tCE\tTHROUGHPUT (L2)\tLATENCY p50 / p99 / max\tJAIN")
	for _, t := range ts {
		if t.Kind == "sink" {
			lat := "-"
			if t.LatencyUs != nil {
				lat = fmt.Sprintf("%.1f / %.1f / %.1f us", t.LatencyUs["p50"], t.LatencyUs["p99"], t.LatencyUs["max"])
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%.3f\n", t.Port, t.Received, t.Lost, t.Reordered, t.CE,
				sizing.FormatRate(t.ThroughputBps), lat, t.Jain)
		}
	}
	tw.Flush()
}

// printStalls says, per worker lcore, how often and how long its poll loop stalled
// (did not poll for longer than stall_threshold): the run's figures are only as good as
// the loops were scheduled.
func printStalls(w io.Writer, s *dataplane.Summary) {
	for _, l := range s.Stalls {
		if l.Count == 0 {
			fmt.Fprintf(w, "lcore %d: no poll-loop stall over %v\n", l.Lcore, s.StallThreshold)
			continue
		}
		fmt.Fprintf(w, "lcore %d: %d poll-loop stalls over %v, %v in total, worst %v: "+
			"its ports were not served meanwhile\n", l.Lcore, l.Count, s.StallThreshold,
			l.Total.Round(time.Microsecond), l.Worst.Round(time.Microsecond))
	}
}
