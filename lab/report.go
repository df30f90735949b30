package lab

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// WriteRun writes a run directory's files from res: results.json, samples.csv,
// probes.csv and report.md (the figures are drawn before, by the scenario's Plot).
func WriteRun(dir string, res *Results) error {
	b, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	if err := writeSamplesCSV(filepath.Join(dir, "samples.csv"), res.Samples); err != nil {
		return err
	}
	if err := writeProbesCSV(filepath.Join(dir, "probes.csv"), res.Probes); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(Markdown(res)), 0o644)
}

// ReadResults reads a run directory's results.json.
func ReadResults(dir string) (*Results, error) {
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s/results.json: %w", dir, err)
	}
	return &r, nil
}

func fnum(n Num) string {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return strconv.FormatFloat(f, 'g', 8, 64)
}

func writeSamplesCSV(path string, ss []Sample) error {
	var reasons []string
	for _, s := range ss {
		for r := range s.Drops {
			if !slices.Contains(reasons, r) {
				reasons = append(reasons, r)
			}
		}
	}
	slices.Sort(reasons)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	hdr := []string{"point", "phase", "t_s", "tx_bytes", "tx_packets", "dequeued", "ce_marked",
		"queue_packets", "queue_bytes", "head_sojourn_ms", "queue_limit_packets", "tx_bps", "line_util",
		"probe_replies", "probe_rtt_ms"}
	for _, r := range reasons {
		hdr = append(hdr, "drops_"+r)
	}
	_ = w.Write(hdr)
	for _, s := range ss {
		row := []string{s.Point, s.Phase, strconv.FormatFloat(s.T, 'f', 4, 64),
			strconv.FormatUint(s.TxBytes, 10), strconv.FormatUint(s.TxPackets, 10), strconv.FormatUint(s.Dequeued, 10),
			strconv.FormatUint(s.Marks, 10), strconv.Itoa(s.QueuePackets), strconv.Itoa(s.QueueBytes),
			fnum(s.HeadSojournMs), strconv.Itoa(s.QueueLimit), fnum(s.TxBps), fnum(s.LineUtil),
			strconv.Itoa(s.ProbeReplies), fnum(s.ProbeRTTms)}
		for _, r := range reasons {
			row = append(row, strconv.FormatUint(s.Drops[r], 10))
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeProbesCSV(path string, ps []Probe) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"point", "phase", "t_s", "seq", "rtt_ms"})
	for _, p := range ps {
		_ = w.Write([]string{p.Point, p.Phase, strconv.FormatFloat(p.T, 'f', 4, 64), strconv.Itoa(p.Seq),
			strconv.FormatFloat(p.RTTms, 'f', 3, 64)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func mdTable(b *strings.Builder, cols []string, rows [][]string) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = esc(c)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// Markdown is the run's report.
func Markdown(r *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# dpdkq lab: %s\n\n%s\n\n", r.Scenario, r.Description)
	switch {
	case r.Interrupted:
		b.WriteString("**Run interrupted**: the figures below cover only what was measured before it stopped.\n\n")
	case r.Error != "":
		fmt.Fprintf(&b, "**Run failed**: %s\n\n", r.Error)
	}
	if r.FidelityOK {
		b.WriteString("**Fidelity: every check passed** — the testbed did what it was configured to do; the figures below are results.\n\n")
	} else {
		b.WriteString("**FIDELITY FAILED** — the testbed did not do what it was configured to do (see the checks below). " +
			"The figures below are diagnostics, not results; the reference checks are not judged.\n\n")
	}
	b.WriteString("## What ran\n\n")
	fmt.Fprintf(&b, "- command: `%s`\n- quick mode: %v\n- seed: %d\n- started %s, finished %s (%s)\n",
		r.Command, r.Quick, r.Seed, r.Started.Format("2006-01-02 15:04:05Z"), r.Finished.Format("15:04:05Z"),
		r.Finished.Sub(r.Started).Round(1e9))
	m := r.Machine
	fmt.Fprintf(&b, "- dpdkq %s (%s); kernel %s; %d CPUs; load average at start %s\n- %s; %s\n- congestion control: %s\n\n",
		m.DpdkqVersion, m.DpdkqBinary, m.Kernel, m.CPUs, m.LoadAvg, m.Iperf3, m.Ping, m.CongestionControl)
	var keys []string
	for k := range r.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var rows [][]string
	for _, k := range keys {
		rows = append(rows, []string{"--" + k, r.Params[k]})
	}
	mdTable(&b, []string{"parameter", "value"}, rows)
	if len(m.Sysctls) > 0 || len(m.Offloads) > 0 {
		rows = nil
		for _, mp := range []map[string]string{m.Sysctls, m.Offloads} {
			var ks []string
			for k := range mp {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			for _, k := range ks {
				rows = append(rows, []string{k, mp[k]})
			}
		}
		b.WriteString("Host settings (sender namespace, read back):\n\n")
		mdTable(&b, []string{"setting", "value"}, rows)
	}
	if len(r.Method) > 0 {
		b.WriteString("## Method\n\n")
		for _, l := range r.Method {
			b.WriteString("- " + l + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("## Fidelity checks\n\n")
	if len(r.Fidelity) == 0 {
		b.WriteString("None ran (the run stopped before them).\n\n")
	} else {
		rows = nil
		for _, c := range r.Fidelity {
			rows = append(rows, []string{c.Name, c.Reference, c.Measured, c.Verdict})
		}
		mdTable(&b, []string{"check", "configured / required", "measured", "verdict"}, rows)
	}
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "## %s\n\n", t.Title)
		if !r.FidelityOK {
			b.WriteString("*(fidelity failed: diagnostics, not results)*\n\n")
		}
		mdTable(&b, t.Columns, t.Rows)
		for _, n := range t.Notes {
			b.WriteString(n + "\n\n")
		}
	}
	b.WriteString("## Reference checks\n\n")
	if len(r.Checks) == 0 {
		b.WriteString("None (the run stopped before its results).\n\n")
	} else {
		rows = nil
		for _, c := range r.Checks {
			rows = append(rows, []string{c.Name, c.Reference, c.Measured, c.Verdict, c.Rule})
		}
		mdTable(&b, []string{"check", "reference", "measured", "verdict", "rule"}, rows)
	}
	if len(r.Figures) > 0 {
		b.WriteString("## Figures\n\n")
		for _, f := range r.Figures {
			if strings.HasSuffix(f, ".png") {
				fmt.Fprintf(&b, "![%s](%s)\n\n", f, f)
			}
		}
	}
	b.WriteString("## Files\n\n- `results.json`: parameters, machine, every sample and probe, every check\n" +
		"- `samples.csv`: router figures of the bottleneck port and the probe per sample, one clock\n" +
		"- `probes.csv`: every latency-probe reply\n")
	for _, c := range r.Configs {
		fmt.Fprintf(&b, "- `%s`: router configuration as run\n", c)
	}
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "- `%s`\n", f)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}
