package config

import (
	"fmt"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/voq"
)

// This file turns the validated file into the algorithm packages' parameter types.
// The algorithms validate their own ranges; errors come back wrapped with the key.

// AQMSpec is the policy of class queue cls (after class_queues overrides).
func (c *Config) AQMSpec(cls int) (aqm.Spec, error) {
	return c.AQMSpecFrom(c.Queueing.PerClass[cls].AQM, c.classKey(cls)+".aqm", cls)
}

// AQMSpecFrom converts an aqm section (from the file or a live change) into a Spec,
// validated; errors name key. cls seeds the random streams.
func (c *Config) AQMSpecFrom(a AQMProfile, key string, cls int) (aqm.Spec, error) {
	kind, err := aqm.ParseKind(a.Kind)
	if err != nil {
		return aqm.Spec{}, &FieldError{Key: key + ".kind", Value: a.Kind, Msg: err.Error()}
	}
	s := aqm.Spec{Kind: kind}
	switch kind {
	case aqm.KindCoDel:
		s.CoDel = aqm.CoDelParams{Target: a.CoDel.Target, Interval: a.CoDel.Interval, MTU: a.CoDel.MTU,
			ECN: a.CoDel.ECN, CEThreshold: a.CoDel.CEThreshold}
	case aqm.KindPIE:
		s.PIE = aqm.PIEParams{Target: a.PIE.Target, TUpdate: a.PIE.TUpdate, Alpha: a.PIE.Alpha, Beta: a.PIE.Beta,
			MaxBurst: a.PIE.MaxBurst, ECN: a.PIE.ECN, ECNThreshold: a.PIE.ECNProb, RateEstimator: a.PIE.RateEstimator,
			Seed: uint64(cls) + 1}
	case aqm.KindRED:
		r := a.RED
		if r.MinThSize.Unit == 0 && r.MinThSize.Value == 0 {
			var err error
			if r.MinThSize, err = ParseSize(r.MinTh); err != nil {
				return aqm.Spec{}, &FieldError{Key: key + ".red.min_th", Value: r.MinTh, Msg: err.Error()}
			}
			if r.MaxThSize, err = ParseSize(r.MaxTh); err != nil {
				return aqm.Spec{}, &FieldError{Key: key + ".red.max_th", Value: r.MaxTh, Msg: err.Error()}
			}
		}
		unit := aqm.REDPackets
		if r.MinThSize.Unit == Bytes {
			unit = aqm.REDBytes
		}
		if r.MinThSize.Unit != r.MaxThSize.Unit || (unit == aqm.REDPackets && r.MinThSize.Unit != Packets) {
			return s, &FieldError{Key: key + ".red", Value: r.MinTh + "/" + r.MaxTh,
				Msg: "min_th and max_th must both be packets (e.g. 250p) or both bytes (e.g. 300KB)"}
		}
		// Idle decay needs a per-packet transmission time: take the fastest shaped port's
		// rate (10 Gb/s when nothing is shaped).
		link := 10e9
		for i := range c.Ports {
			if c.Ports[i].RateBps > 0 && (link == 10e9 || c.Ports[i].RateBps > link) {
				link = c.Ports[i].RateBps
			}
		}
		s.RED = aqm.REDParams{Unit: unit, WqLog2: uint(r.WqLog2), ECN: r.ECN, Seed: uint64(cls) + 1, LinkRate: link,
			Profiles: []aqm.REDProfile{{MinTh: int(r.MinThSize.Value), MaxTh: int(r.MaxThSize.Value), MaxPInv: r.MaxpInv}}}
	}
	if err := s.Validate(); err != nil {
		return s, &FieldError{Key: key + "." + kind.String(), Value: a.Kind, Msg: err.Error()}
	}
	return s, nil
}

func (c *Config) classKey(cls int) string {
	if _, ok := c.Queueing.ClassQueues[fmt.Sprint(cls)]; ok {
		return fmt.Sprintf("queueing.class_queues[%d]", cls)
	}
	return "queueing.queue"
}

// QueueLimit resolves class cls's configured queue limit for port index pi at the
// port's configured rate.
func (c *Config) QueueLimit(pi, cls int) (pkts, bytes int, err error) {
	pkts, bytes, err = c.ResolveLimit(c.Queueing.PerClass[cls].LimitSize, pi, c.Ports[pi].RateBps)
	if err != nil {
		return 0, 0, &FieldError{Key: c.classKey(cls) + ".limit", Value: c.Queueing.PerClass[cls].Limit, Msg: err.Error()}
	}
	return pkts, bytes, nil
}

// ResolveLimit turns a queue-limit size into what a queue takes: a packet count when
// given in packets, otherwise bytes (time and BDP at rateBps, the port's current rate).
func (c *Config) ResolveLimit(lim Size, pi int, rateBps float64) (pkts, bytes int, err error) {
	if lim.Unit == Packets {
		return int(lim.Value), 0, nil
	}
	p := &c.Ports[pi]
	b, err := lim.Bytes(rateBps, c.Buffer.RTT, p.MTU+14)
	if err != nil {
		return 0, 0, fmt.Errorf("for port %s: %w", p.Name, err)
	}
	return 0, int(b), nil
}

// VOQConfig builds the queueing architecture for the output ports one lcore owns.
// Inputs are every port (VOQs and input FIFOs are per input port).
func (c *Config) VOQConfig(owned []int) (voq.Config, []func(voq.Arch) error, error) {
	q := &c.Queueing
	kind, err := voq.ParseKind(q.Architecture)
	if err != nil {
		return voq.Config{}, nil, &FieldError{Key: "queueing.architecture", Value: q.Architecture, Msg: err.Error()}
	}
	vc := voq.Config{Kind: kind, Ports: owned, Classes: q.Classes, Speedup: q.Speedup}
	for i := range c.Ports {
		vc.Inputs = append(vc.Inputs, i)
	}
	if vc.Overflow, err = voq.ParseOverflow(q.Queue.Overflow); err != nil {
		return vc, nil, &FieldError{Key: "queueing.queue.overflow", Value: q.Queue.Overflow, Msg: err.Error()}
	}
	if vc.Arbiter, err = voq.ParseArbiter(q.Arbiter); err != nil {
		return vc, nil, &FieldError{Key: "queueing.arbiter", Value: q.Arbiter, Msg: err.Error()}
	}
	if kind != voq.KindVOQ || vc.Arbiter != voq.ArbiterISLIP {
		vc.Speedup = 0 // only iSLIP models a fabric with input contention
	}
	sk, err := voq.ParseSched(q.Scheduler)
	if err != nil {
		return vc, nil, &FieldError{Key: "queueing.scheduler", Value: q.Scheduler, Msg: err.Error()}
	}
	vc.Sched = voq.SchedConfig{Kind: sk, BaseQuantum: int(q.QuantumBytes)}
	for cls := 0; cls < q.Classes; cls++ {
		vc.Sched.Quantum = append(vc.Sched.Quantum, int(q.QuantumBytes))
		vc.Sched.Weights = append(vc.Sched.Weights, q.ClassWeights[cls])
		r := voq.Rate{}
		if bps := q.ClassRateBps[cls]; bps > 0 {
			// Burst: as for port shapers, at the largest frame of any port.
			frame := 0
			for i := range c.Ports {
				frame = max(frame, c.Ports[i].WireFrameBytes())
			}
			burst := link.DefaultBurstBytes(bps, frame)
			r = voq.Rate{BitsPerSec: int64(bps), BurstBytes: burst}
		}
		vc.Sched.Rates = append(vc.Sched.Rates, r)
	}
	specs := make([]aqm.Spec, q.Classes)
	anyAQM := false
	var fqClasses []int
	for cls := 0; cls < q.Classes; cls++ {
		if specs[cls], err = c.AQMSpec(cls); err != nil {
			return vc, nil, err
		}
		anyAQM = anyAQM || specs[cls].Kind != aqm.KindNone
		if q.PerClass[cls].FQ.Enabled {
			fqClasses = append(fqClasses, cls)
		}
	}
	if anyAQM {
		vc.AQM = func(queue int, class uint8) aqm.Policy {
			p, err := specs[int(class)%len(specs)].New(uint64(queue))
			if err != nil {
				return aqm.NewNone() // validated above; unreachable
			}
			return p
		}
	}
	if len(fqClasses) > 0 {
		fq := q.PerClass[fqClasses[0]].FQ
		vc.FQ = &voq.FQConfig{Flows: fq.Flows, Quantum: int(fq.QuantumBytes), Classes: fqClasses}
		if fq.LimitSize.Unit == Packets {
			vc.FQ.LimitPkts = int(fq.LimitSize.Value)
		}
	}
	// Initial limits: the first owned port's class 0; per-port/per-class limits are
	// applied right after construction by the returned setters.
	var setters []func(voq.Arch) error
	for ci := 0; ci < q.Classes; ci++ {
		for _, pi := range owned {
			pk, by, err := c.QueueLimit(pi, ci)
			if err != nil {
				return vc, nil, err
			}
			if vc.LimitPkts == 0 && vc.LimitBytes == 0 {
				vc.LimitPkts, vc.LimitBytes = pk, by
			}
			pi, ci, pk, by := pi, ci, pk, by
			if kind == voq.KindInputFIFO {
				continue // input FIFOs are per input: one limit, class 0's
			}
			setters = append(setters, func(a voq.Arch) error { return a.SetLimit(pi, ci, pk, by) })
		}
	}
	return vc, setters, nil
}
