package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dpdkq/dpdkq/aqm"
)

// parseSizeKey parses a size at key, reporting a syntax error, a unit outside units
// (nil: any unit) or a non-positive value. ok is false when something was reported.
func parseSizeKey(p *problems, key, raw string, units []SizeUnit) (Size, bool) {
	s, err := ParseSize(raw)
	switch {
	case err != nil:
		p.add(key, raw, "%v", err)
		return s, false
	case units != nil && !slices.Contains(units, s.Unit):
		names := make([]string, len(units))
		for i, u := range units {
			names[i] = u.String()
		}
		p.add(key, raw, "given in %s; want %s here (e.g. 1514B or 1000p)", s.Unit, strings.Join(names, " or "))
		return s, false
	case !(s.Value > 0):
		p.add(key, raw, "want a size above zero")
		return s, false
	}
	return s, true
}

// classCount is Classes when valid, else MaxClasses, so that the checks that depend
// on it go on against the widest setting.
func (q *Queueing) classCount() int {
	if q.Classes < 1 || q.Classes > MaxClasses {
		return MaxClasses
	}
	return q.Classes
}

// bytesOnly is the unit set of sizes that do not depend on a port (quantums, cells,
// memory capacities).
var bytesOnly = []SizeUnit{Bytes}

// parseClass parses a class number map key or value, 0..classes-1.
func parseClass(s string, classes int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil && n >= 0 && n < classes
}

func (c *Config) validateQueueing(p *problems) {
	q := &c.Queueing
	if !slices.Contains([]string{"egress", "voq", "input-fifo"}, q.Architecture) {
		p.add("queueing.architecture", q.Architecture, "%s", oneOf("egress", "voq", "input-fifo"))
	}
	classes := q.classCount()
	if q.Classes != classes {
		p.add("queueing.classes", q.Classes, "want 1..%d", MaxClasses)
	}

	q.DSCPClass = DefaultDSCPClass(classes)
	for _, k := range sortedKeys(q.DSCPMap) {
		key := fmt.Sprintf("queueing.dscp_map[%s]", k)
		d, ok := parseDSCP(k)
		cls := q.DSCPMap[k]
		switch {
		case !ok:
			p.add(key, nil, "unknown DSCP %q; want 0..63 or a name such as EF, AF41, CS6, LE", k)
		case cls < 0 || cls >= classes:
			p.add(key, cls, "want a class 0..%d", classes-1)
		default:
			q.DSCPClass[d] = uint8(cls)
		}
	}

	if !slices.Contains([]string{"sp", "drr", "wdrr"}, q.Scheduler) {
		p.add("queueing.scheduler", q.Scheduler, "%s", oneOf("sp", "drr", "wdrr"))
	}
	q.QuantumBytes = 0
	if s, ok := parseSizeKey(p, "queueing.quantum", q.Quantum, bytesOnly); ok {
		q.QuantumBytes = int64(s.Value)
	}
	for i := range q.ClassWeights {
		q.ClassWeights[i] = 1
	}
	if n := len(q.Weights); n != 0 && n != classes && n != MaxClasses {
		p.add("queueing.weights", fmt.Sprint(q.Weights), "has %d entries; want one per class (%d) or %d", n, classes, MaxClasses)
	} else {
		// The range is the scheduler's (voq), checked by the plan.
		copy(q.ClassWeights[:], q.Weights)
	}
	q.ClassRateBps = [MaxClasses]float64{}
	for _, k := range sortedKeys(q.ClassRates) {
		key := fmt.Sprintf("queueing.class_rates[%s]", k)
		cls, ok := parseClass(k, classes)
		if !ok {
			p.add(key, nil, "%q is not a class; want 0..%d", k, classes-1)
			continue
		}
		r, err := ParseRate(q.ClassRates[k])
		switch {
		case err != nil:
			p.add(key, q.ClassRates[k], "%v", err)
		case r < minRate:
			p.add(key, q.ClassRates[k], "want at least 1kbps (leave the class out for no cap)")
		default:
			q.ClassRateBps[cls] = r
		}
	}
	if !slices.Contains([]string{"rr", "drr", "islip"}, q.Arbiter) {
		p.add("queueing.arbiter", q.Arbiter, "%s", oneOf("rr", "drr", "islip"))
	}
	if !(q.Speedup >= 1) || q.Speedup > 64 {
		p.add("queueing.speedup", q.Speedup, "want 1..64 (1 = no speedup)")
	}

	base := &problems{skip: p.skip}
	validateProfile(base, "queueing.queue", &q.Queue)
	p.list = append(p.list, base.list...)
	for i := range q.PerClass {
		q.PerClass[i] = q.Queue
	}
	for _, k := range sortedKeys(q.ClassQueues) {
		key := fmt.Sprintf("queueing.class_queues[%s]", k)
		cls, ok := parseClass(k, classes)
		if !ok {
			p.add(key, nil, "%q is not a class; want 0..%d", k, classes-1)
			continue
		}
		prof := q.ClassQueues[k]
		sub := &problems{skip: p.skip}
		validateProfile(sub, key, &prof)
		// Keys inherited unchanged from queueing.queue were reported there already.
		for _, e := range sub.list {
			suffix := strings.TrimPrefix(e.Key, key)
			if !slices.ContainsFunc(base.list, func(b *FieldError) bool {
				return strings.TrimPrefix(b.Key, "queueing.queue") == suffix && b.Value == e.Value
			}) {
				p.list = append(p.list, e)
			}
		}
		q.ClassQueues[k] = prof
		q.PerClass[cls] = prof
	}
}

// validateProfile checks one queue profile's syntax, units and obvious ranges; the
// algorithms' own constructors check the rest.
func validateProfile(p *problems, key string, qp *QueueProfile) {
	qp.LimitSize, _ = parseSizeKey(p, key+".limit", qp.Limit, nil)
	if qp.Overflow != "tail" && qp.Overflow != "head" {
		p.add(key+".overflow", qp.Overflow, "%s", oneOf("tail", "head"))
	}
	a := &qp.AQM
	if !slices.Contains([]string{"none", "red", "codel", "pie"}, a.Kind) {
		p.add(key+".aqm.kind", a.Kind, "%s", oneOf("none", "red", "codel", "pie"))
	}

	// The AQM parameters' ranges are the algorithms' own (package aqm), checked by the
	// plan for the selected kind; here only their syntax and units.
	k := key + ".aqm.red."
	r := &a.RED
	r.MinThSize, _ = parseSizeKey(p, k+"min_th", r.MinTh, nil)
	r.MaxThSize, _ = parseSizeKey(p, k+"max_th", r.MaxTh, nil)
	// Variant names and sizes are syntax; the algorithms check the rest.
	if _, err := aqm.ParseCoDelLaw(a.CoDel.ControlLaw); err != nil {
		p.add(key+".aqm.codel.control_law", a.CoDel.ControlLaw, "%s", oneOf("sqrt", "linux"))
	}
	if _, err := aqm.ParsePIEVariant(a.PIE.Variant); err != nil {
		p.add(key+".aqm.pie.variant", a.PIE.Variant, "%s", oneOf("rfc", "linux"))
	}
	if a.PIE.ActiveThresh != "" {
		parseSizeKey(p, key+".aqm.pie.active_threshold", a.PIE.ActiveThresh, bytesOnly)
	}

	k = key + ".fq."
	fq := &qp.FQ // flows' range is FQ-CoDel's (voq), checked by the plan
	fq.QuantumBytes = 0
	if s, ok := parseSizeKey(p, k+"quantum", fq.Quantum, bytesOnly); ok {
		fq.QuantumBytes = int64(s.Value)
	}
	fq.LimitSize, _ = parseSizeKey(p, k+"limit", fq.Limit, nil)
}
