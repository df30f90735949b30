package voq

import (
	"fmt"
	"math"
	"strings"

	"github.com/dpdkq/dpdkq/aqm"
)

// Kind selects the queueing architecture of an Arch.
type Kind uint8

const (
	// KindEgress keeps one queue per (output port, class), shared by all inputs.
	KindEgress Kind = iota
	// KindVOQ keeps one queue per (input, output, class) and arbitrates among inputs per output.
	KindVOQ
	// KindInputFIFO keeps one FIFO per input port: the head-of-line blocking baseline.
	KindInputFIFO
)

var kindNames = [...]string{"egress", "voq", "input-fifo"}

// String returns the config-file name of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// ParseKind turns "egress", "voq" or "input-fifo" (case-insensitive) into a Kind.
func ParseKind(s string) (Kind, error) {
	i, err := parseName("kind", s, kindNames[:])
	return Kind(i), err
}

// Overflow says what a full queue does with an arriving packet.
type Overflow uint8

const (
	// OverflowTail refuses the arriving packet (pkt.DropTail).
	OverflowTail Overflow = iota
	// OverflowHead removes packets from the head until the arrival fits (pkt.DropHead).
	OverflowHead
)

var overflowNames = [...]string{"tail", "head"}

// String returns the config-file name of o.
func (o Overflow) String() string {
	if int(o) < len(overflowNames) {
		return overflowNames[o]
	}
	return "unknown"
}

// ParseOverflow turns "tail" or "head" into an Overflow.
func ParseOverflow(s string) (Overflow, error) {
	i, err := parseName("overflow", s, overflowNames[:])
	return Overflow(i), err
}

// SchedKind selects how an output port picks among its classes.
type SchedKind uint8

const (
	// SchedSP serves the highest non-empty eligible class (7 before 0).
	SchedSP SchedKind = iota
	// SchedDRR is byte-deficit round robin with a quantum per class.
	SchedDRR
	// SchedWDRR is DRR whose per-class quantum is BaseQuantum times the class weight.
	SchedWDRR
)

var schedNames = [...]string{"sp", "drr", "wdrr"}

// String returns the config-file name of k.
func (k SchedKind) String() string {
	if int(k) < len(schedNames) {
		return schedNames[k]
	}
	return "unknown"
}

// ParseSched turns "sp", "drr" or "wdrr" into a SchedKind.
func ParseSched(s string) (SchedKind, error) {
	i, err := parseName("scheduler", s, schedNames[:])
	return SchedKind(i), err
}

// ArbiterKind selects how a VOQ output port picks among inputs.
type ArbiterKind uint8

const (
	// ArbiterRR grants one packet at a time to inputs in round-robin order.
	ArbiterRR ArbiterKind = iota
	// ArbiterDRR is byte-deficit round robin over inputs (ArbiterQuantum bytes per turn).
	ArbiterDRR
	// ArbiterISLIP computes request/grant/accept iSLIP matchings across outputs, slot by slot.
	ArbiterISLIP
)

var arbiterNames = [...]string{"rr", "drr", "islip"}

// String returns the config-file name of k.
func (k ArbiterKind) String() string {
	if int(k) < len(arbiterNames) {
		return arbiterNames[k]
	}
	return "unknown"
}

// ParseArbiter turns "rr", "drr" or "islip" into an ArbiterKind.
func ParseArbiter(s string) (ArbiterKind, error) {
	i, err := parseName("arbiter", s, arbiterNames[:])
	return ArbiterKind(i), err
}

func parseName(what, s string, names []string) (int, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for i, n := range names {
		if v == n {
			return i, nil
		}
	}
	return 0, paramErr(what, fmt.Sprintf("%q", s), "want one of %s", strings.Join(names, ", "))
}

// Factory builds the AQM policy of one queue. queueIndex is the queue's index in the
// Arch (pkt.Desc.Queue); class is its class (0 for input FIFOs). It is called once per
// queue at New and at SetPolicy, and once per flow queue for FQ-CoDel. A nil Factory,
// or one returning nil, means no AQM: the queue's limits alone decide.
type Factory func(queueIndex int, class uint8) aqm.Policy

// Rate is a token-bucket rate limit for one class at one output port.
type Rate struct {
	BitsPerSec int64 // 0 = unlimited; otherwise 1e3..1e12
	BurstBytes int   // bucket depth, 1..2^30 bytes (required when BitsPerSec > 0)
}

// SchedConfig is the class scheduler of one output port.
type SchedConfig struct {
	Kind SchedKind
	// Quantum (drr) is the per-class quantum in bytes, one entry per class; nil means
	// DefaultQuantum for every class.
	Quantum []int
	// Weights (wdrr) are per-class weights 1..1000, one entry per class; nil means 1.
	Weights []int
	// BaseQuantum (wdrr) is multiplied by each weight; 0 means DefaultQuantum.
	BaseQuantum int
	// Rates are per-class token buckets, one entry per class or nil. A class whose bucket
	// is empty is skipped by the scheduler (it is shaped, not dropped), so a
	// rate-limited high class cannot starve the classes under it.
	Rates []Rate
}

// FQConfig turns every class queue into an FQ-CoDel instance (RFC 8290). Zero fields
// take the RFC defaults.
type FQConfig struct {
	Flows      int // flow queues, a power of two 1..65536; default 1024
	Quantum    int // DRR quantum per flow, 64..65536 bytes; default 1514
	LimitPkts  int // packets held across all flows, 1..2^20; default 10240
	LimitBytes int // bytes held across all flows, 0 = no byte limit
	DropBatch  int // most packets dropped from the fattest flow per overflow, 1..1024; default 64
	// Classes lists the classes whose queues are FQ-CoDel; nil means every class. The
	// other classes keep plain FIFOs with LimitPkts/LimitBytes/Overflow.
	Classes []int
}

// has reports whether class c uses FQ-CoDel.
func (f *FQConfig) has(c int) bool {
	if f == nil {
		return false
	}
	if f.Classes == nil {
		return true
	}
	for _, x := range f.Classes {
		if x == c {
			return true
		}
	}
	return false
}

// Defaults and bounds. 1514 B is a full Ethernet frame without FCS, the quantum RFC
// 8290 recommends; the FQ defaults are the RFC's.
const (
	DefaultQuantum   = 1514
	DefaultFQFlows   = 1024
	DefaultFQLimit   = 10240
	DefaultFQBatch   = 64
	DefaultISLIPIter = 1

	// MaxPorts bounds the output ports, and separately the input ports, of one Arch:
	// arbiters keep inputs and outputs as bits of a uint64.
	MaxPorts = 64
	// MaxLimitPkts bounds a queue's packet limit.
	MaxLimitPkts = 1 << 20
	// MaxLimitBytes bounds a queue's byte limit (4 GiB).
	MaxLimitBytes = 1 << 32
	// MaxDescriptors bounds the descriptors one Arch preallocates across all its rings
	// and slabs (16 Mi descriptors, each a pkt.Desc), so a typo in a limit fails at New
	// instead of exhausting memory.
	MaxDescriptors = 1 << 24
)

// Config describes one Arch. Zero values of optional fields take the documented
// defaults; New validates everything and names the offending field.
type Config struct {
	Kind Kind
	// Ports are the global indices (0..65535) of the output ports this Arch owns, 1..64 of
	// them. Packets for other ports are refused with pkt.DropNoRoute.
	Ports []int
	// Inputs are the input ports (voq, input-fifo); nil means the same as Ports. A packet
	// from another input is refused with pkt.DropNoRoute. Egress ignores Inputs.
	Inputs []int
	// Classes is the number of class queues per port (egress) or per (input, output)
	// (voq), 1..8; 0 means 1. A packet's class is clamped to Classes-1, so a classifier
	// emitting 0..Classes-1 maps one to one and stray higher classes go to the top queue.
	// Input-fifo ignores classes.
	Classes int
	// LimitPkts and LimitBytes bound every queue (0 = unset, at least one must be set
	// unless FQ is used). Either one reached means the queue is full.
	LimitPkts  int
	LimitBytes int
	// Overflow: tail or head drop when a queue is full.
	Overflow Overflow
	// AQM builds each queue's policy; nil means none.
	AQM Factory
	// Sched is the class scheduler of every output port, unless PortSched overrides it
	// for a port (keyed by global port index).
	Sched     SchedConfig
	PortSched map[int]SchedConfig
	// FQ, when set, makes the class queues of FQ.Classes (default all) FQ-CoDel
	// instances (egress and voq only); LimitPkts/LimitBytes/Overflow do not apply to
	// those queues and are only required when some class stays a plain FIFO.
	FQ *FQConfig
	// Arbiter (voq) picks among inputs per output.
	Arbiter ArbiterKind
	// ArbiterQuantum (voq, drr arbiter): bytes per input turn, 64..2^20; 0 = DefaultQuantum.
	ArbiterQuantum int
	// ISLIPIterations (voq, islip): request/grant/accept iterations per slot, 1..64;
	// 0 = DefaultISLIPIter.
	ISLIPIterations int
	// Speedup S >= 1 (voq with islip, input-fifo): an input may be matched to up to S
	// outputs per slot; a fractional S is carried as a per-input credit. 0 means 1.
	// rr/drr VOQ arbiters and egress have no input-side contention, so any value other
	// than 1 is refused there.
	Speedup float64
	// Memory is an admission model for packet memory (shared-pool carving, a two-tier
	// buffer), asked last at enqueue after the queue's own limit and AQM; nil means no
	// buffer model. Its queue indices are Layout's. One Memory serves one Arch.
	Memory Memory
}

// sched is the validated, per-port form of a SchedConfig.
type sched struct {
	kind    SchedKind
	quantum []int32 // per class (drr, wdrr)
	rates   []Rate  // per class, zero BitsPerSec = unlimited
}

// normalize validates c, fills defaults and returns the per-port schedulers in Ports order.
func (c *Config) normalize() ([]sched, error) {
	if c.Kind > KindInputFIFO {
		return nil, paramErr("Kind", int(c.Kind), "want egress, voq or input-fifo")
	}
	if len(c.Ports) < 1 || len(c.Ports) > MaxPorts {
		return nil, paramErr("len(Ports)", len(c.Ports), "want 1..%d", MaxPorts)
	}
	if err := checkPortList("Ports", c.Ports); err != nil {
		return nil, err
	}
	// Keep private copies: the Arch reads these from other goroutines (Snapshot) and
	// must not see the caller's later edits.
	c.Ports = append([]int(nil), c.Ports...)
	if c.Inputs == nil {
		c.Inputs = c.Ports
	} else {
		c.Inputs = append([]int(nil), c.Inputs...)
	}
	if c.Kind != KindEgress {
		if len(c.Inputs) < 1 || len(c.Inputs) > MaxPorts {
			return nil, paramErr("len(Inputs)", len(c.Inputs), "want 1..%d", MaxPorts)
		}
		if err := checkPortList("Inputs", c.Inputs); err != nil {
			return nil, err
		}
	}
	if c.Classes == 0 {
		c.Classes = 1
	}
	if c.Classes < 1 || c.Classes > 8 {
		return nil, paramErr("Classes", c.Classes, "want 1..8")
	}
	if c.Kind == KindInputFIFO {
		c.Classes = 1
	}
	if c.Overflow > OverflowHead {
		return nil, paramErr("Overflow", int(c.Overflow), "want tail or head")
	}
	if c.FQ != nil {
		if c.Kind == KindInputFIFO {
			return nil, fmt.Errorf("voq: FQ is set with Kind = input-fifo, FQ-CoDel needs class queues (egress or voq)")
		}
		fq := *c.FQ // defaults go into a copy, never into the caller's struct
		c.FQ = &fq
		if err := c.FQ.normalize(c.Classes); err != nil {
			return nil, err
		}
	}
	plain := false
	for cl := range c.Classes {
		plain = plain || !c.FQ.has(cl)
	}
	if plain {
		if err := checkLimits("LimitPkts", "LimitBytes", c.LimitPkts, c.LimitBytes); err != nil {
			return nil, err
		}
	}
	if c.Kind == KindVOQ {
		if c.Arbiter > ArbiterISLIP {
			return nil, paramErr("Arbiter", int(c.Arbiter), "want rr, drr or islip")
		}
		if c.ArbiterQuantum == 0 {
			c.ArbiterQuantum = DefaultQuantum
		}
		if c.ArbiterQuantum < 64 || c.ArbiterQuantum > 1<<20 {
			return nil, paramErr("ArbiterQuantum", c.ArbiterQuantum, "want 64..%d bytes", 1<<20)
		}
		if c.ISLIPIterations == 0 {
			c.ISLIPIterations = DefaultISLIPIter
		}
		if c.ISLIPIterations < 1 || c.ISLIPIterations > 64 {
			return nil, paramErr("ISLIPIterations", c.ISLIPIterations, "want 1..64")
		}
	}
	if c.Speedup == 0 {
		c.Speedup = 1
	}
	if math.IsNaN(c.Speedup) || c.Speedup < 1 || c.Speedup > MaxPorts {
		return nil, paramErr("Speedup", c.Speedup, "want 1..%d", MaxPorts)
	}
	slotted := c.Kind == KindInputFIFO || (c.Kind == KindVOQ && c.Arbiter == ArbiterISLIP)
	if c.Speedup != 1 && !slotted {
		return nil, fmt.Errorf("voq: Speedup = %g with Kind = %s and Arbiter = %s, want 1: speedup only applies to input-fifo and to voq with arbiter islip",
			c.Speedup, c.Kind, c.Arbiter)
	}
	for p := range c.PortSched {
		found := false
		for _, q := range c.Ports {
			found = found || q == p
		}
		if !found {
			return nil, fmt.Errorf("voq: PortSched has port %d, which is not in Ports %v", p, c.Ports)
		}
	}
	out := make([]sched, len(c.Ports))
	for i, p := range c.Ports {
		sc, name := c.Sched, "Sched"
		if o, ok := c.PortSched[p]; ok {
			sc, name = o, fmt.Sprintf("PortSched[%d]", p)
		}
		s, err := sc.build(name, c.Classes)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func checkPortList(field string, ports []int) error {
	seen := map[int]bool{}
	for i, p := range ports {
		if p < 0 || p > math.MaxUint16 {
			return paramErr(fmt.Sprintf("%s[%d]", field, i), p, "want 0..%d", math.MaxUint16)
		}
		if seen[p] {
			return paramErr(fmt.Sprintf("%s[%d]", field, i), p, "appears twice, want distinct ports")
		}
		seen[p] = true
	}
	return nil
}

func checkLimits(pf, bf string, pkts, bytes int) error {
	if pkts < 0 || pkts > MaxLimitPkts {
		return paramErr(pf, pkts, "want 0..%d (0 = no packet limit)", MaxLimitPkts)
	}
	if bytes < 0 || bytes > MaxLimitBytes {
		return paramErr(bf, bytes, "want 0..%d (0 = no byte limit)", int64(MaxLimitBytes))
	}
	if pkts == 0 && bytes == 0 {
		return fmt.Errorf("voq: %s and %s are both 0, want at least one limit > 0", pf, bf)
	}
	return nil
}

func (f *FQConfig) normalize(classes int) error {
	if f.Classes != nil {
		f.Classes = append([]int(nil), f.Classes...)
		if len(f.Classes) == 0 {
			return fmt.Errorf("voq: FQ.Classes is empty, want nil (every class) or classes in 0..%d", classes-1)
		}
		for i, c := range f.Classes {
			if c < 0 || c >= classes {
				return paramErr(fmt.Sprintf("FQ.Classes[%d]", i), c, "want 0..%d", classes-1)
			}
		}
	}
	if f.Flows == 0 {
		f.Flows = DefaultFQFlows
	}
	if f.Flows < 1 || f.Flows > 1<<16 || f.Flows&(f.Flows-1) != 0 {
		return paramErr("FQ.Flows", f.Flows, "want a power of two 1..65536")
	}
	if f.Quantum == 0 {
		f.Quantum = DefaultQuantum
	}
	if f.Quantum < 64 || f.Quantum > 1<<16 {
		return paramErr("FQ.Quantum", f.Quantum, "want 64..65536 bytes")
	}
	if f.LimitPkts == 0 {
		f.LimitPkts = DefaultFQLimit
	}
	if f.LimitPkts < 1 || f.LimitPkts > MaxLimitPkts {
		return paramErr("FQ.LimitPkts", f.LimitPkts, "want 1..%d", MaxLimitPkts)
	}
	if f.LimitBytes < 0 || f.LimitBytes > MaxLimitBytes {
		return paramErr("FQ.LimitBytes", f.LimitBytes, "want 0..%d (0 = no byte limit)", int64(MaxLimitBytes))
	}
	if f.DropBatch == 0 {
		f.DropBatch = DefaultFQBatch
	}
	if f.DropBatch < 1 || f.DropBatch > 1024 {
		return paramErr("FQ.DropBatch", f.DropBatch, "want 1..1024")
	}
	return nil
}

func (s SchedConfig) build(name string, classes int) (sched, error) {
	out := sched{kind: s.Kind, quantum: make([]int32, classes), rates: make([]Rate, classes)}
	switch s.Kind {
	case SchedSP:
	case SchedDRR:
		if s.Quantum != nil && len(s.Quantum) != classes {
			return out, fmt.Errorf("voq: %s.Quantum has %d entries, want %d (one per class) or none", name, len(s.Quantum), classes)
		}
		for c := range out.quantum {
			q := DefaultQuantum
			if s.Quantum != nil {
				q = s.Quantum[c]
			}
			// Below 64 B a turn rarely covers one packet and the scheduler only spins
			// through extra empty rounds; 1 MiB is far above any useful burst.
			if q < 64 || q > 1<<20 {
				return out, paramErr(fmt.Sprintf("%s.Quantum[%d]", name, c), q, "want 64..%d bytes", 1<<20)
			}
			out.quantum[c] = int32(q)
		}
	case SchedWDRR:
		base := s.BaseQuantum
		if base == 0 {
			base = DefaultQuantum
		}
		if base < 64 || base > 1<<16 {
			return out, paramErr(name+".BaseQuantum", base, "want 64..65536 bytes")
		}
		if s.Weights != nil && len(s.Weights) != classes {
			return out, fmt.Errorf("voq: %s.Weights has %d entries, want %d (one per class) or none", name, len(s.Weights), classes)
		}
		for c := range out.quantum {
			w := 1
			if s.Weights != nil {
				w = s.Weights[c]
			}
			if w < 1 || w > 1000 {
				return out, paramErr(fmt.Sprintf("%s.Weights[%d]", name, c), w, "want 1..1000")
			}
			out.quantum[c] = int32(base * w)
		}
	default:
		return out, paramErr(name+".Kind", int(s.Kind), "want sp, drr or wdrr")
	}
	if s.Rates != nil && len(s.Rates) != classes {
		return out, fmt.Errorf("voq: %s.Rates has %d entries, want %d (one per class) or none", name, len(s.Rates), classes)
	}
	for c, r := range s.Rates {
		if r.BitsPerSec == 0 {
			continue
		}
		if r.BitsPerSec < 1e3 || r.BitsPerSec > 1e12 {
			return out, paramErr(fmt.Sprintf("%s.Rates[%d].BitsPerSec", name, c), r.BitsPerSec, "want 0 (unlimited) or 1000..1e12")
		}
		if r.BurstBytes < 1 || r.BurstBytes > 1<<30 {
			return out, paramErr(fmt.Sprintf("%s.Rates[%d].BurstBytes", name, c), r.BurstBytes, "want 1..%d", 1<<30)
		}
		out.rates[c] = r
	}
	return out, nil
}
