package traffic

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Arrival processes (the `arrival` key).
const (
	ArrivalConstant  = "constant"  // CBR: frame n is due at start + (work before n) / rate
	ArrivalPoisson   = "poisson"   // exponential inter-arrival times
	ArrivalBernoulli = "bernoulli" // one frame per slot with probability rate*slot
	ArrivalOnOff     = "onoff"     // bursts at the peak rate separated by idle periods
	ArrivalIncast    = "incast"    // a burst of `burst` frames every `period`, aligned to t0+offset
)

// Destination matrices (the `dest.kind` key).
const (
	DestUniform     = "uniform"     // equal shares over dest.outputs
	DestHotspot     = "hotspot"     // dest.fraction to dest.hot, the rest uniform over the other dest.outputs
	DestPermutation = "permutation" // every frame to dest.perm[port]
	DestWeights     = "weights"     // output i gets dest.weights[i] / sum
)

// Rate layers (the `layer` key of a bit rate).
const (
	LayerL1 = "l1" // frame + 24 B (preamble, SFD, FCS, inter-frame gap): the port shaper's measure
	LayerL2 = "l2" // frame bytes as the router counts them (Ethernet header to payload end, no FCS)
)

// L1Overhead is what LayerL1 charges per frame beyond its length: preamble and SFD (8),
// FCS (4) and the inter-frame gap (12), the same overhead the port shaper uses.
const L1Overhead = 24

// Frame length bounds (bytes without FCS, as the router stores and counts frames).
const (
	MinFrameLen = 60   // a 64-byte Ethernet frame without its FCS; just fits the headers and payload header
	MaxFrameLen = 9014 // a 9000-byte jumbo IP packet plus the Ethernet header
)

// IMIX is the simple IMIX this package uses for `mix: imix`: 7:4:1 of 64, 570 and
// 1518-byte Ethernet frames, i.e. 60, 566 and 1514 bytes without FCS. Its mean is
// 340.33 B without FCS (364.33 B at L1).
var IMIX = []SizeWeight{{Len: 60, Weight: 7}, {Len: 566, Weight: 4}, {Len: 1514, Weight: 1}}

// Limits checked by Validate.
const (
	MaxPorts     = 256     // source port index and output index are below this
	MaxFlowIDs   = 1 << 16 // (largest output + 1) × flows must fit the 16-bit flow id
	MaxRateBps   = 1e12    // 1 Tb/s
	MaxRatePps   = 1e9     // 1 Gpps
	basePort     = 49152   // UDP source port of flow 0 of a destination
	DefaultDPort = 9       // UDP destination port (discard)
	maxFlowsPer  = 65536 - basePort
)

// Defaults applied by Validate's compiled form (see NewSource).
const (
	DefaultCatchUp   = time.Millisecond      // backlog older than this is skipped, not sent
	DefaultLateAfter = 10 * time.Microsecond // a frame sent later than this after its due time counts as Late
)

// SizeWeight is one entry of an explicit frame-size distribution: frames of Len bytes
// (without FCS) get Weight / (sum of weights) of the frames.
type SizeWeight struct {
	Len    int     // key sizes[i].len
	Weight float64 // key sizes[i].weight
}

// DestParams is the destination matrix of one source (the `dest` section).
type DestParams struct {
	Kind     string    // dest.kind: uniform (default), hotspot, permutation, weights
	Outputs  []int     // dest.outputs: output indices (uniform, hotspot)
	Hot      int       // dest.hot: the hotspot output (must be in dest.outputs)
	Fraction float64   // dest.fraction: share of frames to dest.hot, 0..1
	Perm     []int     // dest.perm: output of source port p is dest.perm[p] (permutation)
	Weights  []float64 // dest.weights: weight of output i (weights); zeros allowed
}

// SourceParams are the parameters of one traffic source in human units, as the
// configuration file gives them. Key names in the comments are relative to the
// source's section (e.g. ports[2].source).
type SourceParams struct {
	Port int // the source's own port index (0..255), carried in every frame; not a YAML key of the section

	// Rate: exactly one of Rate (bits/s at Layer) or PPS (frames/s). For onoff it is
	// the mean rate; for incast it is the pace of frames inside a burst.
	Rate  float64 // rate, bits per second
	PPS   float64 // pps, frames per second
	Layer string  // layer: l1 (default) or l2; only with rate

	Arrival   string        // arrival: constant (default), poisson, bernoulli, onoff, incast
	Slot      time.Duration // slot (bernoulli): slot length; rate × slot must be <= 1 frame
	Burst     float64       // burst: mean frames per burst (onoff, >= 1) or frames per burst (incast, integer)
	BurstDist string        // burst_dist (onoff): geometric (default; idle exponential) or fixed (both constant)
	Idle      time.Duration // idle (onoff): mean idle time between bursts; exclusive with peak
	Peak      float64       // peak (onoff): rate inside a burst, in rate's or pps's unit; exclusive with idle
	Period    time.Duration // period (incast): time between burst starts
	Offset    time.Duration // offset (incast): burst k starts at t0 + offset + k × period

	Dest DestParams // dest

	Size  int          // size: fixed frame length without FCS (default 60 unless mix or sizes is set)
	Mix   string       // mix: imix
	Sizes []SizeWeight // sizes: explicit distribution

	Flows int   // flows: flows per destination output (default 1), told apart by UDP source port
	DSCP  []int // dscp: DSCP of flow k of each output is dscp[k mod len] (default 0)
	ECN   []int // ecn: ECN codepoint (0..3) of flow k is ecn[k mod len] (default 0, not-ECT)

	Start time.Duration // start: first frame at t0 + start
	Stop  time.Duration // stop: no frame due at or after t0 + stop (0: never)
	Seed  uint64        // seed: the same seed gives the same frame sequence

	CatchUp   time.Duration // catch_up: backlog older than this is skipped (default 1ms; negative: never skip)
	LateAfter time.Duration // late_after: lateness that counts a frame as Late (default 10µs)
}

// Validate checks p and returns every problem as a *FieldError whose key is
// key + "." + the field's key (key is the section, e.g. "ports[2].source").
func (p SourceParams) Validate(key string) error {
	var ps problems
	k := func(s string) string { return key + "." + s }
	if p.Port < 0 || p.Port >= MaxPorts {
		ps.add(key, p.Port, "source port index must be 0..%d", MaxPorts-1)
	}
	switch {
	case p.Rate != 0 && p.PPS != 0:
		ps.add(k("pps"), p.PPS, "give either rate (bits/s) or pps, not both")
	case p.Rate == 0 && p.PPS == 0:
		ps.add(k("rate"), nil, "required: a bit rate (rate) or a frame rate (pps)")
	case p.Rate != 0 && !(p.Rate > 0 && p.Rate <= MaxRateBps):
		ps.add(k("rate"), p.Rate, "want a bit rate in (0, %g] bits/s", MaxRateBps)
	case p.PPS != 0 && !(p.PPS > 0 && p.PPS <= MaxRatePps):
		ps.add(k("pps"), p.PPS, "want a frame rate in (0, %g] frames/s", MaxRatePps)
	}
	switch p.Layer {
	case "", LayerL1, LayerL2:
		if p.Layer != "" && p.Rate == 0 {
			ps.add(k("layer"), p.Layer, "applies to rate (bits/s) only, not to pps")
		}
	default:
		ps.add(k("layer"), p.Layer, "want one of %s, %s", LayerL1, LayerL2)
	}

	// Frame sizes first: the rate checks below need the mean frame cost.
	sizes, sizeOK := p.sizeTable(key, &ps)

	switch p.Arrival {
	case "", ArrivalConstant, ArrivalPoisson:
	case ArrivalBernoulli:
		if p.Slot <= 0 {
			ps.add(k("slot"), p.Slot, "bernoulli needs a slot length > 0")
		} else if sizeOK {
			if prob := p.meanPPS(sizes) * p.Slot.Seconds(); prob > 1 {
				ps.add(k("slot"), p.Slot, "rate × slot is %.3g frames per slot; bernoulli allows at most 1 (shorten the slot or lower the rate)", prob)
			}
		}
	case ArrivalOnOff:
		if !(p.Burst >= 1) {
			ps.add(k("burst"), p.Burst, "onoff needs a mean burst of at least 1 frame")
		}
		switch p.BurstDist {
		case "", "geometric", "fixed":
		default:
			ps.add(k("burst_dist"), p.BurstDist, "want one of geometric, fixed")
		}
		switch {
		case p.Peak != 0 && p.Idle != 0:
			ps.add(k("idle"), p.Idle, "give either idle or peak, not both")
		case p.Peak == 0 && p.Idle == 0:
			ps.add(k("peak"), nil, "onoff needs the rate inside a burst (peak) or the mean idle time (idle)")
		case p.Peak != 0:
			if mean := p.Rate + p.PPS; !(p.Peak >= mean) {
				ps.add(k("peak"), p.Peak, "must be at least the mean rate %g", mean)
			}
		case p.Idle < 0:
			ps.add(k("idle"), p.Idle, "want a duration >= 0")
		case sizeOK && p.Burst >= 1:
			// idle given: the burst must fit the cycle burst/mean-rate.
			if cyc := p.Burst / p.meanPPS(sizes); p.Idle.Seconds() >= cyc {
				ps.add(k("idle"), p.Idle, "mean burst %g at the mean rate takes a cycle of %v; idle must be shorter", p.Burst, time.Duration(cyc*1e9))
			}
		}
	case ArrivalIncast:
		if !(p.Burst >= 1) || p.Burst != math.Trunc(p.Burst) {
			ps.add(k("burst"), p.Burst, "incast needs a whole number of frames per burst, >= 1")
		}
		if p.Period <= 0 {
			ps.add(k("period"), p.Period, "incast needs a burst period > 0")
		} else if sizeOK && p.Burst >= 1 {
			if d := p.Burst / p.meanPPS(sizes); d > p.Period.Seconds() {
				ps.add(k("period"), p.Period, "a burst of %g frames at rate takes %v, longer than the period", p.Burst, time.Duration(d*1e9))
			}
		}
		if p.Offset < 0 {
			ps.add(k("offset"), p.Offset, "want a duration >= 0")
		}
	default:
		ps.add(k("arrival"), p.Arrival, "want one of %s", strings.Join([]string{ArrivalConstant, ArrivalPoisson, ArrivalBernoulli, ArrivalOnOff, ArrivalIncast}, ", "))
	}

	flows := p.Flows
	if flows == 0 {
		flows = 1
	}
	if flows < 0 || flows > maxFlowsPer {
		ps.add(k("flows"), p.Flows, "want 1..%d flows per destination", maxFlowsPer)
		flows = 1
	}
	if _, maxOut, ok := p.destWeights(key, &ps); ok && (maxOut+1)*flows > MaxFlowIDs {
		ps.add(k("flows"), p.Flows, "(largest output %d + 1) × flows must be <= %d (16-bit flow id)", maxOut, MaxFlowIDs)
	}
	for i, d := range p.DSCP {
		if d < 0 || d > 63 {
			ps.add(fmt.Sprintf("%s[%d]", k("dscp"), i), d, "want a DSCP 0..63")
		}
	}
	for i, e := range p.ECN {
		if e < 0 || e > 3 {
			ps.add(fmt.Sprintf("%s[%d]", k("ecn"), i), e, "want an ECN codepoint 0..3 (0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE)")
		}
	}
	if p.Start < 0 {
		ps.add(k("start"), p.Start, "want a duration >= 0")
	}
	if p.Stop < 0 || (p.Stop != 0 && p.Stop <= p.Start) {
		ps.add(k("stop"), p.Stop, "want 0 (never) or a time after start (%v)", p.Start)
	}
	if p.LateAfter < 0 {
		ps.add(k("late_after"), p.LateAfter, "want a duration >= 0")
	}
	return ps.err()
}

// sizeTable returns the frame-size distribution (lengths and weights).
func (p SourceParams) sizeTable(key string, ps *problems) ([]SizeWeight, bool) {
	n := 0
	if p.Size != 0 {
		n++
	}
	if p.Mix != "" {
		n++
	}
	if len(p.Sizes) != 0 {
		n++
	}
	if n > 1 {
		ps.add(key+".size", p.Size, "give one of size, mix or sizes")
		return nil, false
	}
	switch {
	case p.Mix != "":
		if p.Mix != "imix" {
			ps.add(key+".mix", p.Mix, "want imix (7:4:1 of 64, 570, 1518-byte frames)")
			return nil, false
		}
		return IMIX, true
	case len(p.Sizes) != 0:
		ok := true
		sum := 0.0
		for i, s := range p.Sizes {
			if s.Len < MinFrameLen || s.Len > MaxFrameLen {
				ps.add(fmt.Sprintf("%s.sizes[%d].len", key, i), s.Len, "want a frame length %d..%d bytes (without FCS)", MinFrameLen, MaxFrameLen)
				ok = false
			}
			if !(s.Weight >= 0) || math.IsInf(s.Weight, 0) {
				ps.add(fmt.Sprintf("%s.sizes[%d].weight", key, i), s.Weight, "want a weight >= 0")
				ok = false
			}
			sum += s.Weight
		}
		if ok && !(sum > 0) {
			ps.add(key+".sizes", nil, "the weights sum to 0; at least one must be > 0")
			ok = false
		}
		return p.Sizes, ok
	default:
		s := p.Size
		if s == 0 {
			s = MinFrameLen
		}
		if s < MinFrameLen || s > MaxFrameLen {
			ps.add(key+".size", p.Size, "want a frame length %d..%d bytes (without FCS)", MinFrameLen, MaxFrameLen)
			return nil, false
		}
		return []SizeWeight{{Len: s, Weight: 1}}, true
	}
}

// destWeights returns the weight of every output index 0..maxOut.
func (p SourceParams) destWeights(key string, ps *problems) (w []float64, maxOut int, ok bool) {
	d := p.Dest
	k := func(s string) string { return key + ".dest." + s }
	outIdx := func(name string, i, o int) bool {
		if o < 0 || o >= MaxPorts {
			ps.add(fmt.Sprintf("%s[%d]", k(name), i), o, "want an output index 0..%d", MaxPorts-1)
			return false
		}
		return true
	}
	listed := func() ([]float64, bool) {
		if len(d.Outputs) == 0 {
			ps.add(k("outputs"), nil, "required for %s: the output indices to spread over", d.Kind)
			return nil, false
		}
		m := 0
		seen := map[int]bool{}
		for i, o := range d.Outputs {
			if !outIdx("outputs", i, o) {
				return nil, false
			}
			if seen[o] {
				ps.add(fmt.Sprintf("%s[%d]", k("outputs"), i), o, "output listed twice")
				return nil, false
			}
			seen[o] = true
			m = max(m, o)
		}
		return make([]float64, m+1), true
	}
	switch d.Kind {
	case "", DestUniform:
		w, ok = listed()
		if !ok {
			return nil, 0, false
		}
		for _, o := range d.Outputs {
			w[o] = 1
		}
	case DestHotspot:
		w, ok = listed()
		if !ok {
			return nil, 0, false
		}
		if !(d.Fraction >= 0 && d.Fraction <= 1) {
			ps.add(k("fraction"), d.Fraction, "want a share 0..1 of the frames to the hot output")
			return nil, 0, false
		}
		hotListed := false
		for _, o := range d.Outputs {
			hotListed = hotListed || o == d.Hot
		}
		if !hotListed {
			ps.add(k("hot"), d.Hot, "must be one of dest.outputs %v", d.Outputs)
			return nil, 0, false
		}
		if len(d.Outputs) == 1 && d.Fraction < 1 {
			ps.add(k("outputs"), fmt.Sprint(d.Outputs), "a hotspot with fraction < 1 needs outputs besides the hot one")
			return nil, 0, false
		}
		for _, o := range d.Outputs {
			if o == d.Hot {
				w[o] = d.Fraction
			} else {
				w[o] = (1 - d.Fraction) / float64(len(d.Outputs)-1)
			}
		}
	case DestPermutation:
		if p.Port < 0 || p.Port >= len(d.Perm) {
			ps.add(k("perm"), fmt.Sprint(d.Perm), "has no entry for source port %d", p.Port)
			return nil, 0, false
		}
		o := d.Perm[p.Port]
		if !outIdx("perm", p.Port, o) {
			return nil, 0, false
		}
		w = make([]float64, o+1)
		w[o] = 1
	case DestWeights:
		if len(d.Weights) == 0 || len(d.Weights) > MaxPorts {
			ps.add(k("weights"), nil, "want 1..%d weights, one per output index", MaxPorts)
			return nil, 0, false
		}
		sum := 0.0
		for i, x := range d.Weights {
			if !(x >= 0) || math.IsInf(x, 0) {
				ps.add(fmt.Sprintf("%s[%d]", k("weights"), i), x, "want a weight >= 0")
				return nil, 0, false
			}
			sum += x
		}
		if !(sum > 0) {
			ps.add(k("weights"), nil, "the weights sum to 0; at least one must be > 0")
			return nil, 0, false
		}
		w = d.Weights
	default:
		ps.add(k("kind"), d.Kind, "want one of %s, %s, %s, %s", DestUniform, DestHotspot, DestPermutation, DestWeights)
		return nil, 0, false
	}
	maxOut = 0
	for i, x := range w {
		if x > 0 {
			maxOut = i
		}
	}
	return w, maxOut, true
}

// frameCost is what one frame of n bytes costs against the rate: bits at the layer
// for a bit rate, 1 for a frame rate.
func (p SourceParams) frameCost(n int) float64 {
	if p.Rate == 0 {
		return 1
	}
	if p.Layer == LayerL2 {
		return float64(n) * 8
	}
	return float64(n+L1Overhead) * 8
}

// meanCost is the mean frameCost over the size distribution.
func (p SourceParams) meanCost(sizes []SizeWeight) float64 {
	sum, c := 0.0, 0.0
	for _, s := range sizes {
		sum += s.Weight
		c += s.Weight * p.frameCost(s.Len)
	}
	return c / sum
}

// meanPPS is the mean frame rate the configured rate gives.
func (p SourceParams) meanPPS(sizes []SizeWeight) float64 {
	if p.Rate == 0 {
		return p.PPS
	}
	return p.Rate / p.meanCost(sizes)
}
