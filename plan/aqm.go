package plan

import (
	"errors"
	"strings"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/config"
)

// unshapedLinkRate is the rate RED's idle-time decay assumes on an unshaped port.
const unshapedLinkRate = 10e9

// AQMSpec converts an aqm section (of the file, or of a live change) for class cls on
// port pi, whose current rate is rateBps, into a validated Spec; errors name key (the
// aqm section's key, "queueing.queue.aqm" or "aqm" for a live change).
//
// In a class whose queue is FQ-CoDel (fq.enabled), kind none means CoDel per flow
// with the codel parameters (RFC 8290: FQ-CoDel is CoDel in each flow queue), and
// CoDel marks ECN-capable packets unless codel.ecn is set explicitly, as Linux's
// fq_codel does.
func (p *Plan) AQMSpec(a config.AQMProfile, key string, pi, cls int, rateBps float64) (aqm.Spec, error) {
	kind, err := aqm.ParseKind(a.Kind)
	if err != nil {
		return aqm.Spec{}, fe(key+".kind", a.Kind, "want one of none, red, codel, pie")
	}
	fq := p.fqClass(cls)
	if fq && kind == aqm.KindNone {
		kind = aqm.KindCoDel
	}
	s := aqm.Spec{Kind: kind}
	switch kind {
	case aqm.KindCoDel:
		ecn := fq
		if a.CoDel.ECN != nil {
			ecn = *a.CoDel.ECN
		}
		s.CoDel = aqm.CoDelParams{Target: a.CoDel.Target, Interval: a.CoDel.Interval, MTU: a.CoDel.MTU,
			ECN: ecn, CEThreshold: a.CoDel.CEThreshold}
		if s.CoDel.ControlLaw, err = aqm.ParseCoDelLaw(a.CoDel.ControlLaw); err != nil {
			return s, fe(key+".codel.control_law", a.CoDel.ControlLaw, "want one of sqrt, linux")
		}
	case aqm.KindPIE:
		s.PIE = aqm.PIEParams{Target: a.PIE.Target, TUpdate: a.PIE.TUpdate, Alpha: a.PIE.Alpha, Beta: a.PIE.Beta,
			MaxBurst: a.PIE.MaxBurst, ECN: a.PIE.ECN, ECNThreshold: a.PIE.ECNProb, RateEstimator: a.PIE.RateEstimator,
			Seed: uint64(max(cls, 0)) + 1, ActiveStates: a.PIE.ActiveStates, ByteMode: a.PIE.ByteMode,
			NoDerandomize: a.PIE.Derandomize != nil && !*a.PIE.Derandomize}
		if s.PIE.Variant, err = aqm.ParsePIEVariant(a.PIE.Variant); err != nil {
			return s, fe(key+".pie.variant", a.PIE.Variant, "want one of rfc, linux")
		}
		if a.PIE.ActiveThresh != "" {
			sz, err := config.ParseSize(a.PIE.ActiveThresh)
			if err != nil || sz.Unit != config.Bytes {
				return s, fe(key+".pie.active_threshold", a.PIE.ActiveThresh, "want bytes, e.g. 15140B or 30KB")
			}
			s.PIE.ActiveThreshold = int(sz.Value)
		}
	case aqm.KindRED:
		r := a.RED
		if r.MinThSize.Unit == 0 && r.MinThSize.Value == 0 {
			var err error
			if r.MinThSize, err = config.ParseSize(r.MinTh); err != nil {
				return aqm.Spec{}, fe(key+".red.min_th", r.MinTh, "%v", err)
			}
			if r.MaxThSize, err = config.ParseSize(r.MaxTh); err != nil {
				return aqm.Spec{}, fe(key+".red.max_th", r.MaxTh, "%v", err)
			}
		}
		unit := aqm.REDPackets
		if r.MinThSize.Unit == config.Bytes {
			unit = aqm.REDBytes
		}
		if r.MinThSize.Unit != r.MaxThSize.Unit || (unit == aqm.REDPackets && r.MinThSize.Unit != config.Packets) {
			return s, fe(key+".red", r.MinTh+"/"+r.MaxTh, "min_th and max_th must both be packets (e.g. 250p) or both bytes (e.g. 300KB)")
		}
		// Idle decay needs the time one packet takes on this queue's link: its port's rate.
		link := rateBps
		if link <= 0 {
			link = unshapedLinkRate
		}
		s.RED = aqm.REDParams{Unit: unit, WqLog2: uint(r.WqLog2), ECN: r.ECN, Seed: uint64(max(cls, 0)) + 1, LinkRate: link,
			Gentle: r.Gentle, Adaptive: r.Adaptive, AdaptInterval: r.AdaptInterval, HardDrop: r.HardDrop,
			Profiles: []aqm.REDProfile{{MinTh: int(r.MinThSize.Value), MaxTh: int(r.MaxThSize.Value), MaxPInv: r.MaxpInv}}}
	}
	if err := s.Validate(); err != nil {
		return s, aqmError(key, err)
	}
	return s, nil
}

// aqmParamKeys maps aqm's parameter names to the keys of the aqm section where they
// differ.
var aqmParamKeys = map[string]string{
	"pie.ecn_threshold":        "pie.ecn_prob",
	"red.profiles[0].min_th":   "red.min_th",
	"red.profiles[0].max_th":   "red.max_th",
	"red.profiles[0].maxp_inv": "red.maxp_inv",
	"red.link_rate":            "", // the port's rate, not a key of the aqm section
}

// aqmError names the key of one of aqm's parameter errors under the aqm section key.
func aqmError(key string, err error) error {
	var pe *aqm.ParamError
	if errors.As(err, &pe) {
		k, ok := aqmParamKeys[pe.Param]
		if !ok {
			k = pe.Param
		}
		full := key + "." + k
		if k == "" {
			full = key
		}
		v := pe.Value
		if pe.Unit != "" && pe.Unit != "packets" {
			v += " " + pe.Unit
		}
		return fe(full, v, "%s", pe.Msg)
	}
	return fe(key, nil, "%s", strings.TrimPrefix(err.Error(), "aqm: "))
}
