// Package lab runs reproducible real-TCP experiments through the dpdkq binary: hosts
// in network namespaces joined by veth pairs to dpdkq's net_af_packet ports, iperf3
// for bulk TCP, ping for latency probes, the router driven through its control API.
// A Scenario is a Go value (parameters, procedure, reference figures, plots); Run gives
// every scenario the same run directory, seed, progress lines, fidelity checks,
// clean-up on cancellation, and report (report.md, results.json, CSVs, plots).
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dpdkq/dpdkq/config"
)

// Param is one scenario parameter, a command-line flag of `dpdkq lab run NAME`.
type Param struct {
	Name    string
	Default string
	Quick   string // the value under --quick ("" keeps Default)
	Usage   string
}

// Scenario is one experiment.
type Scenario struct {
	Name        string
	Description string // one line
	Params      []Param
	Method      []string // how it measures, for the report
	References  []string // the figures it should reproduce, with their sources
	Plots       []string // the plots it makes
	// Run performs the experiment. It records samples, checks and tables in e; it
	// returns when done or when e.Ctx ends (then with e.Ctx.Err()).
	Run func(e *Env) error
	// Plot draws the scenario's plots of the given runs (one or more results) into
	// dir; used after a run (one result) and by `dpdkq lab plot` (overlays).
	Plot func(dir string, runs []*Results) ([]string, error)
}

var registry []*Scenario

func register(s *Scenario) { registry = append(registry, s) }

// Scenarios returns the scenarios in priority order.
func Scenarios() []*Scenario { return registry }

// Lookup returns the scenario called name.
func Lookup(name string) (*Scenario, error) {
	for _, s := range registry {
		if s.Name == name {
			return s, nil
		}
	}
	var names []string
	for _, s := range registry {
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("lab scenario %q: want one of %s", name, strings.Join(names, ", "))
}

// Options are the runner's settings, the same for every scenario.
type Options struct {
	Dir     string            // run directory (created)
	Quick   bool              // tiny sweep, same code path
	Seed    int64             // 0: from the clock
	Params  map[string]string // overrides of the scenario's defaults
	Binary  string            // the dpdkq binary that routes
	Command string            // the command line, for the report
	Out     io.Writer         // progress lines
	// KeepStale skips the removal of an earlier run's namespaces and links (for
	// tests of the runner that build no testbed).
	KeepStale bool
}

// ErrFidelity is returned by Run when the run completed but a fidelity check failed:
// the numbers it produced are not results.
var ErrFidelity = errors.New("lab: fidelity check failed; the run's figures are not results (see report.md)")

// Env is what a running scenario gets from the runner.
type Env struct {
	Ctx   context.Context
	Dir   string
	Quick bool
	Seed  int64
	Rand  *rand.Rand
	Bin   string
	Res   *Results

	params map[string]string
	perr   []string
	out    io.Writer
	start  time.Time

	mu       sync.Mutex
	cleanups []func()

	// neighbors are the hosts' addresses and MACs, for the router's static ARP table.
	neighbors []neighbor
}

type neighbor struct{ IP, MAC, Port string }

// Now is the run's single clock: seconds since the run started (monotonic).
func (e *Env) Now() float64 { return time.Since(e.start).Seconds() }

// Progress prints one progress line: phase, point i of n, elapsed and estimated total.
func (e *Env) Progress(phase string, i, n int, what string) {
	el := time.Since(e.start).Round(time.Second)
	est := "?"
	if i > 1 && n > 0 {
		est = (time.Duration(float64(el) * float64(n) / float64(i-1))).Round(time.Second).String()
	}
	fmt.Fprintf(e.out, "[%s] %-10s point %d/%d %-24s elapsed %s, estimated %s\n", e.Res.Scenario, phase, i, n, what, el, est)
}

// Logf prints a line to the progress output.
func (e *Env) Logf(format string, a ...any) {
	fmt.Fprintf(e.out, "[%s] "+format+"\n", append([]any{e.Res.Scenario}, a...)...)
}

// OnCleanup registers f to run when the run ends (last registered, first run).
func (e *Env) OnCleanup(f func()) {
	e.mu.Lock()
	e.cleanups = append(e.cleanups, f)
	e.mu.Unlock()
}

func (e *Env) cleanup() {
	e.mu.Lock()
	cs := e.cleanups
	e.cleanups = nil
	e.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// Sleep waits d or until the run is cancelled.
func (e *Env) Sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-e.Ctx.Done():
		return e.Ctx.Err()
	}
}

// Str is parameter name's value.
func (e *Env) Str(name string) string { return e.params[name] }

// List is a comma-separated parameter.
func (e *Env) List(name string) []string {
	var out []string
	for _, f := range strings.Split(e.params[name], ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		e.perr = append(e.perr, fmt.Sprintf("--%s %q: want a comma-separated list", name, e.params[name]))
	}
	return out
}

// Int is an integer parameter.
func (e *Env) Int(name string, lo, hi int) int {
	v, err := strconv.Atoi(e.params[name])
	if err != nil || v < lo || v > hi {
		e.perr = append(e.perr, fmt.Sprintf("--%s %q: want an integer %d..%d", name, e.params[name], lo, hi))
	}
	return v
}

// Ints is a comma-separated list of integers.
func (e *Env) Ints(name string, lo, hi int) []int {
	var out []int
	for _, f := range e.List(name) {
		v, err := strconv.Atoi(f)
		if err != nil || v < lo || v > hi {
			e.perr = append(e.perr, fmt.Sprintf("--%s: %q is not an integer %d..%d", name, f, lo, hi))
			continue
		}
		out = append(out, v)
	}
	return out
}

// Float is a number parameter in [lo, hi].
func (e *Env) Float(name string, lo, hi float64) float64 {
	v, err := strconv.ParseFloat(e.params[name], 64)
	if err != nil || !(v >= lo && v <= hi) {
		e.perr = append(e.perr, fmt.Sprintf("--%s %q: want a number %g..%g", name, e.params[name], lo, hi))
	}
	return v
}

// Duration is a duration parameter ("87ms") in [lo, hi].
func (e *Env) Duration(name string, lo, hi time.Duration) time.Duration {
	v, err := time.ParseDuration(e.params[name])
	if err != nil || v < lo || v > hi {
		e.perr = append(e.perr, fmt.Sprintf("--%s %q: want a duration %s..%s, e.g. %s", name, e.params[name], lo, hi, lo))
	}
	return v
}

// Rate is a rate parameter in bits/s, written like the config file's rates ("62.5Mbps").
func (e *Env) Rate(name string) float64 {
	v, err := config.ParseRate(e.params[name])
	if err != nil || v <= 0 {
		e.perr = append(e.perr, fmt.Sprintf("--%s %q: want a rate such as 62.5Mbps", name, e.params[name]))
	}
	return v
}

// ParamErr reports every bad parameter read so far.
func (e *Env) ParamErr() error {
	if len(e.perr) == 0 {
		return nil
	}
	return errors.New(strings.Join(e.perr, "; "))
}

// AddFidelity records a fidelity check.
func (e *Env) AddFidelity(c Check) {
	e.mu.Lock()
	e.Res.Fidelity = append(e.Res.Fidelity, c)
	e.mu.Unlock()
	e.Logf("fidelity: %s: %s (%s) -> %s", c.Name, c.Measured, c.Reference, c.Verdict)
}

// AddCheck records a reference check; its verdict is withheld when fidelity failed.
func (e *Env) AddCheck(c Check) {
	e.mu.Lock()
	e.Res.Checks = append(e.Res.Checks, c)
	e.mu.Unlock()
}

// AddSamples appends samples and probes to the run's record.
func (e *Env) AddSamples(s []Sample, p []Probe) {
	e.mu.Lock()
	e.Res.Samples = append(e.Res.Samples, s...)
	e.Res.Probes = append(e.Res.Probes, p...)
	e.mu.Unlock()
}

// WriteConfig stores a router configuration in the run directory and returns its path.
func (e *Env) WriteConfig(name, yaml string) (string, error) {
	p := filepath.Join(e.Dir, name)
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		return "", err
	}
	e.mu.Lock()
	if !slices.Contains(e.Res.Configs, name) {
		e.Res.Configs = append(e.Res.Configs, name)
	}
	e.mu.Unlock()
	return p, nil
}

// Resolve returns the scenario's parameters: defaults, the quick values under quick,
// then the overrides. An override of an unknown name is an error naming the flags.
func Resolve(s *Scenario, quick bool, over map[string]string) (map[string]string, error) {
	p := map[string]string{}
	var names []string
	for _, pa := range s.Params {
		p[pa.Name] = pa.Default
		if quick && pa.Quick != "" {
			p[pa.Name] = pa.Quick
		}
		names = append(names, "--"+pa.Name)
	}
	for k, v := range over {
		if _, ok := p[k]; !ok {
			return nil, fmt.Errorf("lab run %s: unknown parameter --%s; want one of %s", s.Name, k, strings.Join(names, ", "))
		}
		p[k] = v
	}
	return p, nil
}

// Run runs scenario s: it removes what a killed run left behind, makes the run
// directory, calls the scenario, cleans up (also when ctx is cancelled: processes
// stopped, namespaces and links deleted, what was measured kept), writes the report
// and results, and draws the plots. It returns ErrFidelity when the run finished but
// its fidelity failed, ctx's error when cancelled.
func Run(ctx context.Context, s *Scenario, o Options) (*Results, error) {
	params, err := Resolve(s, o.Quick, o.Params)
	if err != nil {
		return nil, err
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	res := &Results{
		Scenario: s.Name, Description: s.Description, Command: o.Command, Params: params,
		Quick: o.Quick, Seed: o.Seed, Started: time.Now().UTC(), Method: s.Method,
		Machine: machineInfo(o.Binary),
	}
	e := &Env{
		Ctx: ctx, Dir: o.Dir, Quick: o.Quick, Seed: o.Seed, Rand: rand.New(rand.NewSource(o.Seed)),
		Bin: o.Binary, Res: res, params: params, out: o.Out, start: time.Now(),
	}
	if !o.KeepStale {
		RemoveStale(o.Out)
	}
	runErr := s.Run(e)
	e.cleanup()
	res.Finished = time.Now().UTC()
	if ctx.Err() != nil {
		res.Interrupted = true
	}
	if runErr != nil {
		res.Error = runErr.Error()
	}
	res.FidelityOK = fidelityOK(res.Fidelity)
	if !res.FidelityOK {
		for i := range res.Checks {
			res.Checks[i].Unjudged, res.Checks[i].Verdict = res.Checks[i].Verdict, NotJudged
		}
	}
	if s.Plot != nil && len(res.Samples) > 0 {
		figs, perr := s.Plot(o.Dir, []*Results{res})
		res.Figures = append(res.Figures, figs...)
		if perr != nil {
			res.Notes = append(res.Notes, "plotting failed: "+perr.Error())
		}
	}
	if werr := WriteRun(o.Dir, res); werr != nil && runErr == nil {
		runErr = werr
	}
	switch {
	case runErr != nil:
		return res, runErr
	case !res.FidelityOK:
		return res, ErrFidelity
	}
	return res, nil
}
