// Package config loads dpdkq's single configuration file, applies environment and
// command-line overrides, fills defaults and validates everything before DPDK is
// touched.
//
// Sources, from lowest to highest precedence:
//  1. built-in defaults (see defaults.go),
//  2. the YAML file (Load) or bytes (LoadBytes),
//  3. environment variables DPDKQ_<KEY>, the key upper-cased with dots turned into
//     underscores (DPDKQ_LOG_LEVEL, DPDKQ_EAL_NO_HUGE); list elements use their index
//     (DPDKQ_PORTS_0_RATE); keys inside maps (dscp_map, class_rates, class_queues) have
//     no variables,
//  4. --set key=value overrides, in order; list elements by index: ports.0.rate=10Gbps
//     (ports[0].rate is accepted too).
//
// Keys are case-insensitive (viper lower-cases them). An unknown key is an error, not a
// silent no-op. Validation reports every problem it finds at once (errors.Join of
// *FieldError, see Problems), each naming the full key (ports[1].rate), the bad value
// and what is allowed.
//
// The Config tree mirrors the file. Fields tagged `mapstructure:"-"` are not read from
// the file: Validate fills them with parsed forms (rates in bits/s, netip prefixes,
// MACs as [6]byte, sizes as Size and bytes) so that later stages never re-parse text.
package config

import (
	"net/netip"
	"time"
)

// Config is the whole router configuration.
type Config struct {
	Log       Log           `mapstructure:"log"`
	EAL       EAL           `mapstructure:"eal"`
	Mempool   Mempool       `mapstructure:"mempool"`
	Workers   []int         `mapstructure:"workers"`    // lcores running poll loops; empty: every EAL lcore but the main one
	BurstSize int           `mapstructure:"burst_size"` // packets per rx/tx burst, 1..512
	Ports     []Port        `mapstructure:"ports"`
	RX        []RXQueue     `mapstructure:"rx"` // optional explicit rx queue -> lcore map
	Routes    []Route       `mapstructure:"routes"`
	Neighbors []Neighbor    `mapstructure:"neighbors"` // static ARP entries
	Queueing  Queueing      `mapstructure:"queueing"`
	Buffer    BufferSection `mapstructure:"buffer"`
	API       API           `mapstructure:"api"`

	// StallThreshold: a poll-loop iteration gap longer than this counts as a stall of
	// the lcore (10us..10s; default 1ms).
	StallThreshold time.Duration `mapstructure:"stall_threshold"`

	// Resolved by Validate.
	WorkerLcores []int     `mapstructure:"-"` // Workers, or the default set when Workers is empty
	RXPlan       []RXQueue `mapstructure:"-"` // every (port, queue) with its lcore: RX or the round-robin default
	RouteTable   []Route   `mapstructure:"-"` // connected subnets of route-mode ports first, then Routes
}

// Log configures the zap logger.
type Log struct {
	Level  string `mapstructure:"level"`  // debug|info|warn|error
	Format string `mapstructure:"format"` // console|json
}

// EAL holds the DPDK Environment Abstraction Layer arguments.
type EAL struct {
	Lcores     string   `mapstructure:"lcores"`      // DPDK -l list: "0-3", "0,2", "0-1,4"
	MainLcore  int      `mapstructure:"main_lcore"`  // --main-lcore; must be in Lcores
	MemoryMB   int      `mapstructure:"memory_mb"`   // -m
	NoHuge     bool     `mapstructure:"no_huge"`     // --no-huge
	NoPCI      bool     `mapstructure:"no_pci"`      // --no-pci
	FilePrefix string   `mapstructure:"file_prefix"` // --file-prefix; distinct per DPDK primary
	ExtraArgs  []string `mapstructure:"extra_args"`  // appended verbatim

	LcoreIDs []int `mapstructure:"-"` // Lcores parsed, ascending, unique
}

// Mempool sizes the mbuf pool.
type Mempool struct {
	Mbufs    int `mapstructure:"mbufs"`     // pool size; 2^n-1 is optimal for DPDK's ring
	Cache    int `mapstructure:"cache"`     // per-lcore cache, 0..512 and 1.5*cache <= mbufs
	DataRoom int `mapstructure:"data_room"` // bytes per mbuf including the 128 B headroom
}

// Port modes.
const (
	ModeRoute    = "route"    // IPv4 forwarding through the route table
	ModeXConnect = "xconnect" // every frame goes out of the peer port unchanged
)

// Port is one DPDK ethdev.
type Port struct {
	Name        string         `mapstructure:"name"`         // unique, [a-z0-9_-]{1,15}
	Device      string         `mapstructure:"device"`       // PCI address or vdev devargs; ${VAR} is expanded
	Mode        string         `mapstructure:"mode"`         // route|xconnect
	XConnect    string         `mapstructure:"xconnect"`     // peer port name, iff mode xconnect
	IPv4        string         `mapstructure:"ipv4"`         // interface address/prefix, required in route mode
	MAC         string         `mapstructure:"mac"`          // optional, overrides the device's MAC
	RXQueues    int            `mapstructure:"rx_queues"`    // 1..64
	RXDesc      int            `mapstructure:"rx_desc"`      // power of two, 32..32768
	TXDesc      int            `mapstructure:"tx_desc"`      // power of two, 32..32768
	Promiscuous bool           `mapstructure:"promiscuous"`  //
	Rate        string         `mapstructure:"rate"`         // egress shaper rate; "" or "0" unshaped
	Burst       string         `mapstructure:"burst"`        // shaper bucket depth (a Size); "" default
	Delay       time.Duration  `mapstructure:"delay"`        // fixed one-way egress delay, 0..10s
	CatchUp     time.Duration  `mapstructure:"catch_up"`     // link time a backlogged shaped port may make up after a stall, 0..1s (0: none, as a link)
	EgressLcore *int           `mapstructure:"egress_lcore"` // optional worker that runs this port's egress
	MTU         int            `mapstructure:"mtu"`          // IPv4 MTU, 68..9000
	Source      *SourceSection `mapstructure:"source"`       // device: source only
	Sink        *SinkSection   `mapstructure:"sink"`         // device: sink only

	// Resolved by Validate.
	Index      int          `mapstructure:"-"` // position in Config.Ports (the dataplane's port index)
	DevArgs    string       `mapstructure:"-"` // Device after ${VAR} expansion
	IsPCI      bool         `mapstructure:"-"` // DevArgs is a PCI address, not a vdev
	PeerIndex  int          `mapstructure:"-"` // index of the xconnect peer, -1 in route mode
	Addr       netip.Prefix `mapstructure:"-"` // IPv4 address with its prefix length (host bits kept)
	HWAddr     [6]byte      `mapstructure:"-"` // parsed MAC when HasHWAddr
	HasHWAddr  bool         `mapstructure:"-"` //
	RateBps    float64      `mapstructure:"-"` // shaper rate in bits/s, 0 = unshaped
	BurstSize  Size         `mapstructure:"-"` // parsed Burst
	BurstBytes int64        `mapstructure:"-"` // Burst resolved at the rate; 0 when unset (the plan picks the default)
}

// Shaped reports whether the port has an egress shaper.
func (p *Port) Shaped() bool { return p.RateBps > 0 }

// RXQueue assigns one rx queue of a port to the lcore that polls it.
type RXQueue struct {
	Port  string `mapstructure:"port"`
	Queue int    `mapstructure:"queue"`
	Lcore int    `mapstructure:"lcore"`

	PortIndex int `mapstructure:"-"` // resolved index of Port
}

// Route is one static route (or, in Config.RouteTable, a connected subnet).
type Route struct {
	Prefix string `mapstructure:"prefix"` // destination CIDR, host bits clear
	Port   string `mapstructure:"port"`   // egress port, route mode
	Via    string `mapstructure:"via"`    // optional next hop, inside the port's subnet
	MAC    string `mapstructure:"mac"`    // optional static next-hop MAC (no ARP)

	// Resolved by Validate.
	Net        netip.Prefix `mapstructure:"-"` // parsed Prefix
	PortIndex  int          `mapstructure:"-"` //
	NextHop    netip.Addr   `mapstructure:"-"` // parsed Via; invalid: the destination itself is the next hop
	NextHopMAC [6]byte      `mapstructure:"-"` // parsed MAC when HasMAC
	HasMAC     bool         `mapstructure:"-"` //
	Connected  bool         `mapstructure:"-"` // implicit route of a port's own subnet
}

// Neighbor is a static ARP entry.
type Neighbor struct {
	IP   string `mapstructure:"ip"`
	MAC  string `mapstructure:"mac"`
	Port string `mapstructure:"port"`

	Addr      netip.Addr `mapstructure:"-"`
	HWAddr    [6]byte    `mapstructure:"-"`
	PortIndex int        `mapstructure:"-"`
}

// MaxClasses is the number of traffic classes a packet can carry (pkt.Desc.Class 0..7).
const MaxClasses = 8

// Queueing selects the queueing architecture, the classifier and the schedulers.
type Queueing struct {
	Architecture string                  `mapstructure:"architecture"` // egress|voq|input-fifo
	Classes      int                     `mapstructure:"classes"`      // 1..8
	DSCPMap      map[string]int          `mapstructure:"dscp_map"`     // DSCP number or name -> class; merged over the default table
	Scheduler    string                  `mapstructure:"scheduler"`    // sp|drr|wdrr
	Quantum      string                  `mapstructure:"quantum"`      // DRR quantum, bytes
	Weights      []int                   `mapstructure:"weights"`      // WDRR weight per class, >= 1
	ClassRates   map[string]string       `mapstructure:"class_rates"`  // class -> rate cap
	Arbiter      string                  `mapstructure:"arbiter"`      // VOQ egress arbiter: rr|drr|islip
	Speedup      float64                 `mapstructure:"speedup"`      // fabric speedup, >= 1
	Queue        QueueProfile            `mapstructure:"queue"`        // default per-class queue
	ClassQueues  map[string]QueueProfile `mapstructure:"class_queues"` // class -> overrides; unset keys inherit Queue

	// Resolved by Validate.
	DSCPClass    [64]uint8                `mapstructure:"-"` // class of every DSCP value
	QuantumBytes int64                    `mapstructure:"-"` //
	ClassRateBps [MaxClasses]float64      `mapstructure:"-"` // 0 = no cap
	ClassWeights [MaxClasses]int          `mapstructure:"-"` // Weights padded with 1s
	PerClass     [MaxClasses]QueueProfile `mapstructure:"-"` // effective profile of each class
}

// QueueProfile is the queue discipline of one class queue.
type QueueProfile struct {
	Limit    string     `mapstructure:"limit"`    // queue limit (a Size)
	Overflow string     `mapstructure:"overflow"` // tail|head: which packet a full queue drops
	AQM      AQMProfile `mapstructure:"aqm"`
	FQ       FQProfile  `mapstructure:"fq"`

	LimitSize Size `mapstructure:"-"` // parsed Limit
}

// AQMProfile selects an AQM and carries the parameters of every kind; only the
// selected kind's parameters are used. Deep validation happens in aqm's constructors.
type AQMProfile struct {
	Kind  string      `mapstructure:"kind"` // none|red|codel|pie
	CoDel CoDelParams `mapstructure:"codel"`
	PIE   PIEParams   `mapstructure:"pie"`
	RED   REDParams   `mapstructure:"red"`
}

// CoDelParams are RFC 8289's knobs in human units.
type CoDelParams struct {
	Target      time.Duration `mapstructure:"target"`       // acceptable standing sojourn, default 5ms
	Interval    time.Duration `mapstructure:"interval"`     // sliding window, default 100ms
	MTU         int           `mapstructure:"mtu"`          // no drop while at most this many bytes are queued
	ECN         *bool         `mapstructure:"ecn"`          // mark ECT packets instead of dropping; unset: on for FQ-CoDel, off otherwise
	CEThreshold time.Duration `mapstructure:"ce_threshold"` // mark ECT packets above this sojourn; 0 off
	ControlLaw  string        `mapstructure:"control_law"`  // sqrt (RFC 8289, default) | linux (fixed-point Newton)
}

// PIEParams are RFC 8033's knobs in human units.
type PIEParams struct {
	Target        time.Duration `mapstructure:"target"`           // reference queue delay, default 15ms
	TUpdate       time.Duration `mapstructure:"t_update"`         // probability update period, default 15ms
	Alpha         float64       `mapstructure:"alpha"`            // weight of (qdelay - target), default 0.125
	Beta          float64       `mapstructure:"beta"`             // weight of the qdelay trend, default 1.25
	MaxBurst      time.Duration `mapstructure:"max_burst"`        // burst allowance, default 150ms
	ECN           bool          `mapstructure:"ecn"`              // mark instead of drop while prob <= ECNProb
	ECNProb       float64       `mapstructure:"ecn_prob"`         // marking ceiling, default 0.1
	RateEstimator bool          `mapstructure:"rate_estimator"`   // qdelay from departure rate, not timestamps
	Variant       string        `mapstructure:"variant"`          // rfc (RFC 8033, default) | linux (sch_pie.c)
	ActiveStates  bool          `mapstructure:"active_states"`    // RFC 8033 5.3 active/inactive states, default off
	ActiveThresh  string        `mapstructure:"active_threshold"` // bytes that activate an inactive PIE; "" = 10 MTU
	Derandomize   *bool         `mapstructure:"derandomize"`      // RFC 8033 5.4 accumulator; nil = on
	ByteMode      bool          `mapstructure:"byte_mode"`        // prob scaled by len/MTU (Linux bytemode), default off
}

// REDParams are the classic RED knobs; thresholds are sizes (packets or bytes).
type REDParams struct {
	MinTh   string `mapstructure:"min_th"`   // average queue below which nothing drops
	MaxTh   string `mapstructure:"max_th"`   // average queue above which everything drops
	MaxpInv int    `mapstructure:"maxp_inv"` // 1/max drop probability at MaxTh, 1..255
	WqLog2  int    `mapstructure:"wq_log2"`  // EWMA weight 2^-WqLog2, 1..12
	ECN     bool   `mapstructure:"ecn"`      // mark instead of drop
	// Options, all off by default: gentle (pb from maxp to 1 between max_th and 2 max_th),
	// adaptive (Adaptive RED: maxp adapted every adapt_interval), harddrop (with ecn:
	// drop rather than mark in the forced region, as Linux's harddrop flag).
	Gentle        bool          `mapstructure:"gentle"`
	Adaptive      bool          `mapstructure:"adaptive"`
	AdaptInterval time.Duration `mapstructure:"adapt_interval"` // default 500ms
	HardDrop      bool          `mapstructure:"harddrop"`

	MinThSize Size `mapstructure:"-"`
	MaxThSize Size `mapstructure:"-"`
}

// FQProfile turns the class queue into an FQ-CoDel-style set of flow queues.
type FQProfile struct {
	Enabled bool   `mapstructure:"enabled"`
	Flows   int    `mapstructure:"flows"`   // number of flow queues, 1..65536
	Quantum string `mapstructure:"quantum"` // DRR quantum between flows, bytes
	Limit   string `mapstructure:"limit"`   // total limit over all flows (a Size)

	QuantumBytes int64 `mapstructure:"-"`
	LimitSize    Size  `mapstructure:"-"`
}

// BufferSection (the buffer section) describes the buffer memory model: cells, pools, profiles and the hybrid
// on-chip/off-chip tiers (SONiC-style BUFFER_POOL / BUFFER_PROFILE).
type BufferSection struct {
	CellSize    string        `mapstructure:"cell_size"`   // allocation unit, bytes
	Descriptors int           `mapstructure:"descriptors"` // packet descriptors; 0 unlimited
	RTT         time.Duration `mapstructure:"rtt"`         // RTT used by "bdp" sizes
	Pools       []Pool        `mapstructure:"pools"`
	Profiles    []Profile     `mapstructure:"profiles"`
	Bindings    []Binding     `mapstructure:"bindings"`
	Hybrid      Hybrid        `mapstructure:"hybrid"`

	CellBytes int64 `mapstructure:"-"`
}

// Pool is a shared buffer pool.
type Pool struct {
	Name string `mapstructure:"name"`
	Size string `mapstructure:"size"` // bytes or packets
	Mode string `mapstructure:"mode"` // static|dynamic thresholds

	SizeParsed Size `mapstructure:"-"`
}

// Profile carves a pool for the queues bound to it: a reserved (guaranteed) part plus
// a shared-pool threshold, either dynamic (alpha = 2^DynamicTh) or static.
type Profile struct {
	Name      string `mapstructure:"name"`
	Pool      string `mapstructure:"pool"`
	Reserved  string `mapstructure:"reserved"`   // a Size; "" = 0
	DynamicTh *int   `mapstructure:"dynamic_th"` // -7..7, exclusive with StaticTh
	StaticTh  string `mapstructure:"static_th"`  // a Size, exclusive with DynamicTh

	PoolIndex    int  `mapstructure:"-"`
	ReservedSize Size `mapstructure:"-"`
	StaticSize   Size `mapstructure:"-"` // parsed StaticTh when set
}

// Binding attaches a profile to a port's queues (one class, or all when Class is nil).
type Binding struct {
	Profile string `mapstructure:"profile"`
	Port    string `mapstructure:"port"`
	Class   *int   `mapstructure:"class"`

	ProfileIndex int `mapstructure:"-"`
	PortIndex    int `mapstructure:"-"`
}

// Hybrid configures the two-tier buffer.
type Hybrid struct {
	Enabled          bool   `mapstructure:"enabled"`
	Mode             string `mapstructure:"mode"`              // hybrid|onchip-only|offchip-only (same code, for comparisons)
	Onchip           string `mapstructure:"onchip"`            // fast tier capacity, bytes
	Offchip          string `mapstructure:"offchip"`           // slow tier capacity, bytes
	OffchipBandwidth string `mapstructure:"offchip_bandwidth"` // rate shared by reads and writes
	EvictPackets     int    `mapstructure:"evict_packets"`     // a queue past this many packets is evicted
	EvictBytes       string `mapstructure:"evict_bytes"`       // ... or past this many bytes
	PinnedClasses    []int  `mapstructure:"pinned_classes"`    // classes that never leave the on-chip tier
	CopyOffchip      bool   `mapstructure:"copy_offchip"`      // copy packets into off-chip mbufs (models the move)

	OnchipBytes     int64   `mapstructure:"-"`
	OffchipBytes    int64   `mapstructure:"-"`
	OffchipBps      float64 `mapstructure:"-"`
	EvictBytesLimit int64   `mapstructure:"-"`
}

// API configures the control-plane HTTP endpoint.
type API struct {
	Listen    string `mapstructure:"listen"`    // host:port; "" disables the API
	Token     string `mapstructure:"token"`     // bearer token; required off loopback
	Telemetry bool   `mapstructure:"telemetry"` // expose DPDK telemetry
}
