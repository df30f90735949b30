package lab

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Num is a float64 that encodes NaN and ±Inf as JSON null (a figure that could not
// be measured), so results.json stays valid JSON.
type Num float64

// MarshalJSON writes null for NaN and infinities, the number otherwise.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads null as NaN.
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Num(f)
	return nil
}

// Check verdicts. A fidelity check passes or fails (or is not available); a reference
// check says whether the run reproduced the published or expected figure.
const (
	Pass          = "pass"
	Fail          = "FAIL"
	NotAvailable  = "n/a"
	Reproduced    = "reproduced"
	NotReproduced = "NOT reproduced"
	NotJudged     = "not judged (fidelity failed)"
)

// Check is one fidelity or reference check: what was expected, what was measured, the
// verdict and how it was decided.
type Check struct {
	Name      string `json:"name"`
	Reference string `json:"reference"` // the expected figure or relation, with its source
	Measured  string `json:"measured"`  // the measured figure, with units
	Value     Num    `json:"value"`     // the measured figure as a number (null if none)
	Verdict   string `json:"verdict"`
	Rule      string `json:"rule,omitempty"` // how the verdict was decided
	// Unjudged is what the verdict would have been, kept for diagnosis when fidelity
	// failed (Verdict is then NotJudged).
	Unjudged string `json:"verdict_if_fidelity_held,omitempty"`
}

// Sample is one record of the run's single clock: every router figure of the
// bottleneck port and the host-side probe's replies in the interval that ends at T.
type Sample struct {
	Point string  `json:"point"` // the sweep point (e.g. "codel", "N=8 rep=1")
	Phase string  `json:"phase"` // what the run was doing (idle, warmup, measure, trial 20p, ...)
	T     float64 `json:"t_s"`   // seconds since the run started
	// Router (GET /api/v1/ports, the bottleneck port), cumulative since the router started.
	TxBytes   uint64            `json:"tx_bytes"`
	TxPackets uint64            `json:"tx_packets"`
	Dequeued  uint64            `json:"dequeued"`
	Drops     map[string]uint64 `json:"drops"` // by reason
	Marks     uint64            `json:"ce_marked"`
	// Router, instantaneous.
	QueuePackets  int `json:"queue_packets"`
	QueueBytes    int `json:"queue_bytes"`
	HeadSojournMs Num `json:"head_sojourn_ms"` // age of the packet at the head of the queue
	QueueLimit    int `json:"queue_limit_packets"`
	// Derived over the interval since the previous sample of the same point.
	TxBps    Num `json:"tx_bps"`    // frame bits per second
	LineUtil Num `json:"line_util"` // (frame + 24 B per frame) · 8 / (rate · interval)
	// Host: the latency probe's replies received in the interval.
	ProbeReplies int `json:"probe_replies"`
	ProbeRTTms   Num `json:"probe_rtt_ms"` // their mean (null if none)
}

// Probe is one latency-probe reply, on the same clock as the samples.
type Probe struct {
	Point string  `json:"point"`
	Phase string  `json:"phase"`
	T     float64 `json:"t_s"` // when the reply arrived, seconds since the run started
	Seq   int     `json:"seq"`
	RTTms float64 `json:"rtt_ms"`
}

// Table is a result table of the report.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	Notes   []string   `json:"notes,omitempty"`
}

// Machine is what the run ran on.
type Machine struct {
	Hostname          string            `json:"hostname"`
	Kernel            string            `json:"kernel"`
	CPUs              int               `json:"cpus"`
	LoadAvg           string            `json:"loadavg"`
	DpdkqVersion      string            `json:"dpdkq_version"`
	DpdkqBinary       string            `json:"dpdkq_binary"`
	Iperf3            string            `json:"iperf3"`
	Ping              string            `json:"ping"`
	CongestionControl string            `json:"congestion_control"`
	Sysctls           map[string]string `json:"sysctls"`  // as set and read back in the sender's namespace
	Offloads          map[string]string `json:"offloads"` // ethtool -k of the sender's interface
}

// Results is everything a run produced; results.json is its JSON form.
type Results struct {
	Scenario    string            `json:"scenario"`
	Description string            `json:"description"`
	Command     string            `json:"command"`
	Params      map[string]string `json:"parameters"`
	Quick       bool              `json:"quick"`
	Seed        int64             `json:"seed"`
	Started     time.Time         `json:"started"`
	Finished    time.Time         `json:"finished"`
	Interrupted bool              `json:"interrupted"`
	Error       string            `json:"error,omitempty"`
	Machine     Machine           `json:"machine"`
	FidelityOK  bool              `json:"fidelity_ok"`
	Method      []string          `json:"method"`
	Fidelity    []Check           `json:"fidelity_checks"`
	Checks      []Check           `json:"reference_checks"`
	Tables      []Table           `json:"tables"`
	Figures     []string          `json:"figures"`
	Configs     []string          `json:"router_configs"`
	Notes       []string          `json:"notes,omitempty"`
	Data        any               `json:"data"` // the scenario's own per-point results
	Samples     []Sample          `json:"samples"`
	Probes      []Probe           `json:"probes"`
}

// fidelityOK is true when no fidelity check failed (unavailable ones do not count)
// and at least one passed.
func fidelityOK(cs []Check) bool {
	passed := false
	for _, c := range cs {
		switch c.Verdict {
		case Fail:
			return false
		case Pass:
			passed = true
		}
	}
	return passed
}
