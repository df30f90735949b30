// Package api is dpdkq's control plane over HTTP: JSON endpoints for everything the
// dataplane keeps, Prometheus metrics, and live changes. It is pure Go: the router
// (or a fake in tests) is reached through the Source interface, whose methods are
// safe to call from any goroutine while lcores forward.
package api

import (
	"context"
	"net/netip"
	"time"
)

// Source is what the API reads and changes. Implementations copy published
// snapshots; they never block an lcore for more than a few microseconds.
type Source interface {
	Status() Status
	Ports() []Port
	Queues() []Queue
	Buffer() Buffer
	Routes() []Route
	Neighbors() []Neighbor
	// Config returns the configuration in effect (a JSON-marshalable value).
	Config() any
	// Apply validates and applies a live change; it returns once the owning lcore has
	// applied it (or the context ends). Validation errors are *ChangeError.
	Apply(ctx context.Context, c Change) error
	// DestinationCount is the number of queued packets headed to dst, counted by a
	// bounded walk of the queues; other is true when the walk was cut by its budget
	// (n then covers only the packets visited).
	DestinationCount(dst netip.Addr) (n uint64, other bool)
	// QueuedBetween samples up to max queued packets whose enqueue time (ns since the
	// router started) is in [from, to].
	QueuedBetween(from, to time.Duration, max int) []QueuedPacket
}

// TrafficSource is an optional Source method: the live figures of the router's traffic
// source and sink ports (GET /api/v1/traffic; 404 when the Source lacks it).
type TrafficSource interface {
	Traffic() any
}

// Status is the router's identity and uptime.
type Status struct {
	Version     string        `json:"version"`
	DPDKVersion string        `json:"dpdk_version"`
	Uptime      time.Duration `json:"uptime_ns"`
	Workers     []Lcore       `json:"lcores"`
	Mempool     Mempool       `json:"mempool"`
	// StallThreshold is the poll-loop iteration gap counted as a stall (stall_threshold).
	StallThreshold time.Duration `json:"stall_threshold_ns"`
}

// Lcore is one worker lcore and what it does.
type Lcore struct {
	ID       uint     `json:"id"`
	RxQueues []string `json:"rx_queues"`    // "port/queue"
	Egress   []string `json:"egress_ports"` // ports whose egress it owns
	// Stalls are the poll loop's iteration gaps longer than stall_threshold since the
	// start: how many, their total and the longest, and the last few.
	Stalls       uint64        `json:"stalls"`
	Stalled      time.Duration `json:"stalled_ns"`
	WorstStall   time.Duration `json:"worst_stall_ns"`
	RecentStalls []Stall       `json:"recent_stalls"` // oldest first, at most 8
}

// Stall is one poll-loop stall: when it began (since the router started) and how long
// the lcore did not poll.
type Stall struct {
	Start    time.Duration `json:"start_ns"`
	Duration time.Duration `json:"duration_ns"`
}

// Mempool is the mbuf pool's state.
type Mempool struct {
	Size  int `json:"size"`
	InUse int `json:"in_use"`
}

// Port is one port's counters and settings.
type Port struct {
	Name      string            `json:"name"`
	Index     int               `json:"index"`
	Mode      string            `json:"mode"`
	Address   string            `json:"address,omitempty"`
	MAC       string            `json:"mac"`
	RateBps   float64           `json:"rate_bps"` // 0 = unshaped
	Delay     time.Duration     `json:"delay_ns"`
	CatchUp   time.Duration     `json:"catch_up_ns"` // ports[].catch_up: link time a backlogged port may make up after a stall
	RxPackets uint64            `json:"rx_packets"`
	RxBytes   uint64            `json:"rx_bytes"`
	TxPackets uint64            `json:"tx_packets"`
	TxBytes   uint64            `json:"tx_bytes"`
	Forwarded uint64            `json:"forwarded"`
	Drops     map[string]uint64 `json:"drops"` // by reason, for packets received on this port
	Marked    uint64            `json:"ce_marked"`
	// TxHeld is how many frames the port's device refused (tx ring full) that wait to
	// be sent again; while any wait, the port's queues are not served (backpressure).
	TxHeld uint64 `json:"tx_held"`
	// Egress is the aggregate of every queue feeding this port (all its VOQs).
	Egress QueueFigures `json:"egress"`
}

// QueueFigures are one queue's (or an aggregate's) figures.
type QueueFigures struct {
	Packets       int               `json:"packets"`
	Bytes         int               `json:"bytes"`
	PeakPackets   int               `json:"peak_packets"`
	PeakBytes     int               `json:"peak_bytes"`
	Enqueued      uint64            `json:"enqueued"`
	Dequeued      uint64            `json:"dequeued"`
	DequeuedBytes uint64            `json:"dequeued_bytes"`
	Marks         uint64            `json:"ce_marked"`
	Drops         map[string]uint64 `json:"drops"`
	HeadSojourn   time.Duration     `json:"head_sojourn_ns"`
	// SojournBuckets are the non-empty buckets of the sojourn histogram of delivered
	// packets, in increasing order (see SojournBucket); SojournP50/P99 come from it.
	SojournBuckets []SojournBucket `json:"sojourn_buckets"`
	SojournP50     time.Duration   `json:"sojourn_p50_ns"`
	SojournP99     time.Duration   `json:"sojourn_p99_ns"`
}

// Queue is one queue: a class queue of an egress port, a VOQ, or an input FIFO.
type Queue struct {
	Index int    `json:"index"`
	Port  string `json:"port"`  // output port ("" for an input FIFO)
	Input string `json:"input"` // input port ("" for an egress queue)
	Class int    `json:"class"` // -1 for an input FIFO
	QueueFigures
	AQM AQMState `json:"aqm"`
}

// AQMState is a queue's AQM internals.
type AQMState struct {
	Kind     string        `json:"kind"`
	Dropping bool          `json:"dropping,omitempty"`  // CoDel
	Count    uint32        `json:"count,omitempty"`     // CoDel
	DropProb float64       `json:"drop_prob,omitempty"` // PIE, RED
	QDelay   time.Duration `json:"qdelay_ns,omitempty"` // PIE
	AvgQueue float64       `json:"avg_queue,omitempty"` // RED
	Drops    uint64        `json:"drops"`
	Marks    uint64        `json:"marks"`
}

// Buffer is the packet-memory model's state (empty when none is configured).
type Buffer struct {
	Pools []Pool `json:"pools,omitempty"`
	Tiers *Tiers `json:"tiers,omitempty"`
}

// Pool is a shared buffer pool (carving).
type Pool struct {
	Name        string            `json:"name"`
	Size        int64             `json:"size_bytes"`
	Used        int64             `json:"used_bytes"` // cell bytes in use
	Stored      int64             `json:"stored_bytes"`
	Cells       int64             `json:"cells"`
	Descriptors int64             `json:"descriptors"`
	Efficiency  float64           `json:"efficiency"`
	Peak        int64             `json:"peak_bytes"`
	Drops       map[string]uint64 `json:"drops"`
	Queues      []PoolQueue       `json:"queues"`
}

// PoolQueue is one queue's share of a pool.
type PoolQueue struct {
	Queue     int    `json:"queue"`
	Port      string `json:"port"`
	Class     int    `json:"class"`
	Profile   string `json:"profile"`
	Used      int64  `json:"used_bytes"`
	Peak      int64  `json:"peak_bytes"`
	Threshold int64  `json:"threshold_bytes"` // effective: alpha x free now, or static
}

// Tiers is the hybrid buffer's state.
type Tiers struct {
	Mode               string  `json:"mode"`
	OnchipBytes        int64   `json:"onchip_bytes"`
	OnchipPeak         int64   `json:"onchip_peak_bytes"`
	OffchipBytes       int64   `json:"offchip_bytes"`
	OffchipPeak        int64   `json:"offchip_peak_bytes"`
	OffchipPacketShare float64 `json:"offchip_packet_fraction"`
	OffchipByteShare   float64 `json:"offchip_byte_fraction"`
	Evictions          uint64  `json:"evictions"`
	Readmissions       uint64  `json:"readmissions"`
	BandwidthDrops     uint64  `json:"bandwidth_drops"`
	EvictedQueues      int     `json:"evicted_queues"`
}

// Route is one route-table entry.
type Route struct {
	Prefix    string `json:"prefix"`
	Port      string `json:"port"`
	Via       string `json:"via,omitempty"`
	MAC       string `json:"mac,omitempty"`
	Connected bool   `json:"connected,omitempty"`
}

// Neighbor is one ARP cache entry.
type Neighbor struct {
	IP       string `json:"ip"`
	MAC      string `json:"mac,omitempty"`
	Resolved bool   `json:"resolved"`
	Static   bool   `json:"static,omitempty"`
}

// QueuedPacket is one sampled queued packet.
type QueuedPacket struct {
	Src     string        `json:"src"`
	Dst     string        `json:"dst"`
	SrcPort uint16        `json:"sport"`
	DstPort uint16        `json:"dport"`
	Proto   uint8         `json:"proto"`
	Len     int           `json:"len"`
	Class   int           `json:"class"`
	Queue   int           `json:"queue"`
	Port    string        `json:"port"`
	Tier    string        `json:"tier"`
	Age     time.Duration `json:"age_ns"`
}

// Change is one live change. Exactly one of the groups is set, chosen by Kind.
type Change struct {
	Kind string `json:"kind"` // queue_limit | aqm | port_rate | port_delay | port_catch_up | route_add | route_del | pool_size | profile_alpha | profile_reserved
	// Target selection.
	Port  string `json:"port,omitempty"`
	Class *int   `json:"class,omitempty"` // nil: every class
	// queue_limit: a size ("1000p", "64KB", "10ms", "0.5bdp").
	Limit string `json:"limit,omitempty"`
	// aqm: kind and parameters in config-file form (e.g. {"kind":"codel","codel":{"target":"5ms"}}).
	AQM map[string]any `json:"aqm,omitempty"`
	// port_rate / port_delay.
	Rate  string `json:"rate,omitempty"`
	Delay string `json:"delay,omitempty"`
	// port_catch_up: the shaper's catch-up window ("20ms"; "0s": none, as a link).
	CatchUp string `json:"catch_up,omitempty"`
	// route_add / route_del.
	Prefix string `json:"prefix,omitempty"`
	Via    string `json:"via,omitempty"`
	MAC    string `json:"mac,omitempty"`
	// pool_size (Pool, Size) / profile_alpha (Profile, Alpha) / profile_reserved (Profile, Size).
	Pool    string `json:"pool,omitempty"`
	Size    string `json:"size,omitempty"`
	Profile string `json:"profile,omitempty"`
	Alpha   *int   `json:"dynamic_th,omitempty"`
}

// ChangeError is a refused change: it names the field, the value and what is allowed,
// like configuration errors. The API answers it with 400.
type ChangeError struct {
	Field, Value, Msg string
}

func (e *ChangeError) Error() string { return e.Field + " = " + `"` + e.Value + `": ` + e.Msg }
