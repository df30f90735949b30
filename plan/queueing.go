package plan

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/voq"
)

// classKey is the config key of class cls's queue profile.
func (p *Plan) classKey(cls int) string {
	if _, ok := p.Config.Queueing.ClassQueues[strconv.Itoa(cls)]; ok {
		return fmt.Sprintf("queueing.class_queues[%d]", cls)
	}
	return "queueing.queue"
}

// buildQueueing resolves the queueing section: architecture, schedulers, per-port
// limits and AQM specs, FQ; then validates the whole architecture once with voq's own
// checks (every port owned by one Arch, as the widest case) and the memory model.
func (p *Plan) buildQueueing() error {
	c := p.Config
	q := &c.Queueing
	kind, err := voq.ParseKind(q.Architecture)
	if err != nil {
		return fe("queueing.architecture", q.Architecture, "want one of egress, voq, input-fifo")
	}
	p.Arch = kind
	p.Classes = q.Classes
	var errs []error
	if kind == voq.KindInputFIFO {
		// One FIFO per input: classes are not queued apart, so per-class settings would
		// be silently ignored.
		p.Classes = 1
		if len(q.ClassRates) > 0 {
			errs = append(errs, fe("queueing.class_rates", nil,
				"architecture input-fifo keeps one FIFO per input and no class queues; remove class_rates or use egress or voq"))
		}
		if len(q.ClassQueues) > 0 {
			errs = append(errs, fe("queueing.class_queues", nil,
				"architecture input-fifo keeps one FIFO per input and no class queues; remove class_queues or use egress or voq"))
		}
		if q.Queue.FQ.Enabled {
			errs = append(errs, fe("queueing.queue.fq.enabled", true, "FQ-CoDel needs class queues: use architecture egress or voq"))
		}
	}
	sk, err := voq.ParseSched(q.Scheduler)
	if err != nil {
		return fe("queueing.scheduler", q.Scheduler, "want one of sp, drr, wdrr")
	}
	p.sched = voq.SchedConfig{Kind: sk, BaseQuantum: int(q.QuantumBytes)}
	for cls := 0; cls < p.Classes; cls++ {
		p.sched.Quantum = append(p.sched.Quantum, int(q.QuantumBytes))
		p.sched.Weights = append(p.sched.Weights, q.ClassWeights[cls])
		r := voq.Rate{}
		if bps := q.ClassRateBps[cls]; bps > 0 {
			r = voq.Rate{BitsPerSec: int64(bps), BurstBytes: p.classRateBurst(bps)}
		}
		p.sched.Rates = append(p.sched.Rates, r)
	}
	var fqClasses []int
	for cls := 0; cls < p.Classes; cls++ {
		if q.PerClass[cls].FQ.Enabled {
			fqClasses = append(fqClasses, cls)
		}
	}
	if len(fqClasses) > 0 {
		first := fqClasses[0]
		fq := q.PerClass[first].FQ
		p.FQ = &voq.FQConfig{Flows: fq.Flows, Quantum: int(fq.QuantumBytes), Classes: fqClasses}
		if fq.LimitSize.Unit == config.Packets {
			p.FQ.LimitPkts = int(fq.LimitSize.Value)
		} else {
			b, err := fq.LimitSize.Bytes(0, c.Buffer.RTT, 1514)
			if err != nil {
				errs = append(errs, fe(p.classKey(first)+".fq.limit", fq.Limit, "want packets or bytes (FQ-CoDel's limit is shared by every port)"))
			}
			p.FQ.LimitBytes = int(b)
			p.FQ.LimitPkts = voq.MaxLimitPkts
		}
		// One FQ setting per architecture: every FQ class must agree.
		for _, cls := range fqClasses[1:] {
			o := q.PerClass[cls].FQ
			for _, d := range []struct {
				name      string
				got, want string
			}{{"flows", strconv.Itoa(o.Flows), strconv.Itoa(fq.Flows)}, {"quantum", o.Quantum, fq.Quantum}, {"limit", o.Limit, fq.Limit}} {
				if d.got != d.want {
					errs = append(errs, fe(p.classKey(cls)+".fq."+d.name, d.got,
						"want %s as in %s.fq.%s: the FQ-CoDel classes share one setting", d.want, p.classKey(first), d.name))
				}
			}
		}
	}
	for pi := range c.Ports {
		pt := &c.Ports[pi]
		port := Port{Name: pt.Name, RateBps: pt.RateBps, Delay: pt.Delay}
		if pt.Shaped() {
			port.BucketBytes = int(pt.BurstBytes) // burst as given, or config's default for the rate
		}
		for cls := 0; cls < p.Classes; cls++ {
			prof := &q.PerClass[cls]
			pk, by, err := p.resolveLimit(prof.LimitSize, pi, pt.RateBps)
			if err != nil {
				errs = append(errs, fe(p.classKey(cls)+".limit", prof.Limit, "%v", err))
			}
			port.Limits = append(port.Limits, Limit{Pkts: pk, Bytes: by, Text: prof.LimitSize.Describe(pt.RateBps, c.Buffer.RTT, pt.MTU+14)})
			spec, err := p.AQMSpec(prof.AQM, p.classKey(cls)+".aqm", pi, cls, pt.RateBps)
			if err != nil {
				errs = append(errs, err)
			}
			port.AQM = append(port.AQM, spec)
		}
		p.Ports = append(p.Ports, port)
	}
	if len(errs) > 0 {
		return errors.Join(dedupe(errs)...)
	}
	if err := p.checkQueueMbufs(); err != nil {
		return err
	}
	p.Warnings = uniq(p.Warnings)
	// Validate the widest architecture (one lcore owning every port) with voq's checks,
	// per-queue limits included, and build its memory model once.
	all := make([]int, len(c.Ports))
	for i := range all {
		all[i] = i
	}
	vc, err := p.VOQConfig(all)
	if err != nil {
		return err
	}
	layout, err := voq.Layout(vc)
	if err != nil {
		return p.voqError(err)
	}
	if _, err := p.MemoryModel(layout, nil); err != nil {
		return err
	}
	return p.checkMempool()
}

// dedupe drops repeated messages: a class profile inherited by several ports reports
// its problem once.
func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return out
}

func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// resolveLimit turns a queue-limit size into what a queue takes: a packet count when
// given in packets, otherwise bytes (time and BDP at rateBps, the port's current rate).
func (p *Plan) resolveLimit(lim config.Size, pi int, rateBps float64) (pkts, bytes int, err error) {
	if lim.Unit == config.Packets {
		return int(lim.Value), 0, nil
	}
	pt := &p.Config.Ports[pi]
	b, err := lim.Bytes(rateBps, p.Config.Buffer.RTT, pt.MTU+14)
	if err != nil {
		return 0, 0, fmt.Errorf("for port %s: %w", pt.Name, err)
	}
	return 0, int(b), nil
}

// QueueLimit resolves a live queue-limit change for port pi at its current rate, and
// checks it as the file's limits are checked (voq's range, the mbuf pool); errors name
// key.
func (p *Plan) QueueLimit(key, raw string, pi int, rateBps float64) (pkts, bytes int, err error) {
	size, err := config.ParseSize(raw)
	if err != nil || !(size.Value > 0) {
		return 0, 0, fe(key, raw, "want a size above zero: packets (1000p), bytes (64KB), time (10ms) or bdp (0.5bdp)")
	}
	pkts, bytes, err = p.resolveLimit(size, pi, rateBps)
	if err != nil {
		return 0, 0, fe(key, raw, "%v", err)
	}
	if err := p.checkLimitRange(key, raw, pkts, bytes); err != nil {
		return 0, 0, err
	}
	if err := p.checkLimitMbufs(key, raw, pkts, bytes, false); err != nil {
		return 0, 0, err
	}
	return pkts, bytes, nil
}

// checkLimitRange applies voq's bounds on one queue's limit.
func (p *Plan) checkLimitRange(key, raw string, pkts, bytes int) error {
	if pkts > voq.MaxLimitPkts {
		return fe(key, raw, "want at most %d packets", voq.MaxLimitPkts)
	}
	if bytes > voq.MaxLimitBytes {
		return fe(key, raw, "resolves to %d B, want at most %d B", bytes, int64(voq.MaxLimitBytes))
	}
	return nil
}

// VOQConfig builds the queueing architecture of the output ports one lcore owns, its
// per-queue limits included: New(vc) followed by SetLimits gives the Arch.
func (p *Plan) VOQConfig(owned []int) (voq.Config, error) {
	c := p.Config
	q := &c.Queueing
	vc := voq.Config{Kind: p.Arch, Ports: owned, Classes: p.Classes, Speedup: q.Speedup, Sched: p.sched, FQ: p.FQ}
	for i := range c.Ports {
		vc.Inputs = append(vc.Inputs, i)
	}
	var err error
	if vc.Overflow, err = voq.ParseOverflow(q.Queue.Overflow); err != nil {
		return vc, fe("queueing.queue.overflow", q.Queue.Overflow, "want one of tail, head")
	}
	if vc.Arbiter, err = voq.ParseArbiter(q.Arbiter); err != nil {
		return vc, fe("queueing.arbiter", q.Arbiter, "want one of rr, drr, islip")
	}
	if p.Arch != voq.KindVOQ || vc.Arbiter != voq.ArbiterISLIP {
		vc.Speedup = 0 // only iSLIP models a fabric with input contention
	}
	// Initial limits: the first owned port's class 0 (input FIFOs: one limit for all).
	l := p.Ports[owned[0]].Limits[0]
	vc.LimitPkts, vc.LimitBytes = l.Pkts, l.Bytes
	layout, err := voq.Layout(vc)
	if err != nil {
		return vc, p.voqError(err)
	}
	vc.AQM = p.factory(layout)
	// New's preallocation guard, over the limits each queue will get (input FIFOs all
	// keep the initial limit).
	limitOf := p.limitOf
	if p.Arch == voq.KindInputFIFO {
		limitOf = nil
	}
	n, err := voq.Descriptors(vc, limitOf)
	if err != nil {
		return vc, p.voqError(err)
	}
	if n > voq.MaxDescriptors {
		// Name the largest limit: the one to lower.
		key, raw, best := p.classKey(0)+".fq.limit", q.PerClass[0].FQ.Limit, -1
		for cls := 0; cls < p.Classes; cls++ {
			if p.fqClass(cls) {
				continue
			}
			for _, pt := range p.Ports {
				l := pt.Limits[cls]
				if size := max(l.Pkts, l.Bytes/64); size > best {
					best, key, raw = size, p.classKey(cls)+".limit", q.PerClass[cls].Limit
				}
			}
		}
		return vc, fe(key, raw, "the queues would preallocate %d packet descriptors, want at most %d: lower the limits, classes or ports",
			n, voq.MaxDescriptors)
	}
	return vc, nil
}

func (p *Plan) fqClass(cls int) bool {
	if p.FQ == nil {
		return false
	}
	for _, c := range p.FQ.Classes {
		if c == cls {
			return true
		}
	}
	return false
}

// limitOf is the limit a class queue of the layout gets (SetLimits).
func (p *Plan) limitOf(qi voq.QueueInfo) (int, int) {
	l := p.Ports[qi.Port].Limits[qi.Class]
	return l.Pkts, l.Bytes
}

// SetLimits applies the per-(port, class) limits to an Arch built from VOQConfig(owned).
func (p *Plan) SetLimits(a voq.Arch, owned []int) error {
	for _, pi := range owned {
		if p.Arch == voq.KindInputFIFO {
			continue // input FIFOs are per input: one limit, set at New
		}
		for cls := 0; cls < p.Classes; cls++ {
			l := p.Ports[pi].Limits[cls]
			if err := a.SetLimit(pi, cls, l.Pkts, l.Bytes); err != nil {
				return fe(p.classKey(cls)+".limit", p.Config.Queueing.PerClass[cls].Limit, "%v", err)
			}
		}
	}
	return nil
}

// factory builds each queue's AQM from the (port, class) spec; nil when no queue has
// an AQM.
func (p *Plan) factory(layout []voq.QueueInfo) voq.Factory {
	any := false
	for _, pt := range p.Ports {
		for _, s := range pt.AQM {
			any = any || s.Kind != aqm.KindNone
		}
	}
	if !any {
		return nil
	}
	return func(queue int, class uint8) aqm.Policy {
		port := 0
		if queue < len(layout) {
			if port = layout[queue].Port; port < 0 {
				port = layout[queue].Input
			}
		}
		specs := p.Ports[port].AQM
		pol, err := specs[int(class)%len(specs)].New(uint64(queue))
		if err != nil {
			return nil // validated by Build; unreachable
		}
		return pol
	}
}

// Factory is the policy factory of one live AQM change (nil for kind none).
func Factory(spec aqm.Spec) voq.Factory {
	if spec.Kind == aqm.KindNone {
		return nil
	}
	return func(q int, _ uint8) aqm.Policy {
		pol, err := spec.New(uint64(q))
		if err != nil {
			return nil // validated by AQMSpec; unreachable
		}
		return pol
	}
}

// voqParamKeys maps voq's Config field paths to config keys; %s is an index.
var voqParamKeys = []struct {
	re  *regexp.Regexp
	key func(p *Plan, m []string) string
}{
	{regexp.MustCompile(`^FQ\.(Flows|Quantum|LimitPkts|LimitBytes)$`), func(p *Plan, m []string) string {
		k := map[string]string{"Flows": "flows", "Quantum": "quantum", "LimitPkts": "limit", "LimitBytes": "limit"}[m[1]]
		return p.classKey(p.FQ.Classes[0]) + ".fq." + k
	}},
	{regexp.MustCompile(`^Sched\.Weights\[(\d+)\]$`), func(_ *Plan, m []string) string { return "queueing.weights[" + m[1] + "]" }},
	{regexp.MustCompile(`^Sched\.(Quantum\[\d+\]|BaseQuantum)$`), func(*Plan, []string) string { return "queueing.quantum" }},
	{regexp.MustCompile(`^Sched\.Rates\[(\d+)\]\.`), func(_ *Plan, m []string) string { return "queueing.class_rates[" + m[1] + "]" }},
	{regexp.MustCompile(`^(LimitPkts|LimitBytes)$`), func(*Plan, []string) string { return "queueing.queue.limit" }},
	{regexp.MustCompile(`^Speedup$`), func(*Plan, []string) string { return "queueing.speedup" }},
	{regexp.MustCompile(`^len\((Ports|Inputs)\)$`), func(*Plan, []string) string { return "ports" }},
}

// rawValue is the value of key as the file gives it (a rate or size as written, not
// what it resolved to), else resolved.
func (p *Plan) rawValue(key, resolved string) string {
	q := &p.Config.Queueing
	var raw string
	switch {
	case key == "queueing.quantum":
		raw = q.Quantum
	case strings.HasPrefix(key, "queueing.class_rates["):
		raw = q.ClassRates[strings.TrimSuffix(strings.TrimPrefix(key, "queueing.class_rates["), "]")]
	case strings.HasSuffix(key, ".fq.quantum") && p.FQ != nil:
		raw = q.PerClass[p.FQ.Classes[0]].FQ.Quantum
	case strings.HasSuffix(key, ".fq.limit") && p.FQ != nil:
		raw = q.PerClass[p.FQ.Classes[0]].FQ.Limit
	}
	if raw == "" {
		return resolved
	}
	return raw
}

// voqError names the config key in one of voq's Config errors.
func (p *Plan) voqError(err error) error {
	var pe *voq.ParamError
	if errors.As(err, &pe) {
		for _, k := range voqParamKeys {
			if m := k.re.FindStringSubmatch(pe.Param); m != nil {
				key := k.key(p, m)
				return fe(key, p.rawValue(key, pe.Value), "%s", pe.Msg)
			}
		}
	}
	return fmt.Errorf("queueing: %s", strings.TrimPrefix(err.Error(), "voq: "))
}
