package dataplane

import (
	"net/netip"
	"time"

	"github.com/dpdkq/dpdkq/traffic"
)

// Mode is a port's forwarding mode.
type Mode uint8

const (
	// ModeRoute: IPv4 longest-prefix-match routing with TTL/checksum/MAC rewrite.
	ModeRoute Mode = iota
	// ModeXConnect: every frame goes to the peer port unparsed (benchmarks).
	ModeXConnect
)

// PortConfig is one port, resolved (the config package turns the file into this).
type PortConfig struct {
	Name        string
	Device      string        // vdev devargs ("net_pcap0,rx_pcap=in.pcap") or a PCI address
	Mode        Mode          // route or xconnect
	Peer        int           // xconnect: index of the peer port
	Addr        netip.Prefix  // route mode: the port's address and subnet
	MAC         [6]byte       // zero: use the device's MAC
	RxQueues    int           // rx queues to poll
	RxDesc      int           // rx descriptors per queue
	TxDesc      int           // tx descriptors per queue
	Promisc     bool          // enable promiscuous mode (best effort)
	RateBps     float64       // egress shaper rate in bits/s; 0 = unshaped
	BurstBytes  int           // shaper bucket depth
	Overhead    int           // per-frame line overhead charged by the shaper (24 for Ethernet)
	Delay       time.Duration // fixed one-way egress delay
	EgressLcore int           // lcore that owns the port's egress; -1 = automatic

	// A port dpdkq implements itself, with no DPDK device (Device is ignored):
	// Source synthesizes frames addressed by SourceAddr (the MACs are filled in at
	// start) from the router's mbuf pool as if received on this port; Sink terminates
	// what is routed to this port and measures it. At most one of the two.
	Source     *traffic.SourceParams
	SourceAddr traffic.Addressing
	Sink       *traffic.SinkParams

	// CatchUp is the link time a backlogged shaped port may bank while its lcore does not
	// serve it and send afterwards faster than the rate (link.Shaper); 0: none, as a link.
	CatchUp time.Duration
}

// Internal reports whether the port has no DPDK device (a traffic source or sink).
func (pc *PortConfig) Internal() bool { return pc.Source != nil || pc.Sink != nil }

// Route is a static route. A zero Via means "directly connected": the packet's own
// destination is resolved by ARP. A non-zero MAC is used as the next hop's address
// without ARP.
type Route struct {
	Prefix netip.Prefix
	Port   int
	Via    netip.Addr
	MAC    [6]byte
}

// StaticNeighbor is a configured ARP entry.
type StaticNeighbor struct {
	IP  netip.Addr
	MAC [6]byte
}

// RxAssign says which lcore polls which rx queue of which port.
type RxAssign struct {
	Port  int
	Queue int
	Lcore uint
}

// Config is everything the dataplane needs to start.
type Config struct {
	Ports     []PortConfig
	Routes    []Route
	Neighbors []StaticNeighbor
	Workers   []uint     // EAL lcores that run poll loops
	Rx        []RxAssign // empty: spread rx queues round-robin over workers
	Mbufs     int        // mbufs in the pool
	MbufCache int        // per-lcore mempool cache
	DataRoom  int        // mbuf data room
	Burst     int        // rx/tx burst size (<= MaxBurst)
	// DSCPClass maps a DSCP value to a traffic class 0..7 (7 highest).
	DSCPClass [64]uint8
	// NewArch builds the queueing architecture for the output ports one lcore owns.
	// nil: a plain FIFO of FIFOLimit packets per port (voq egress, one class).
	NewArch   func(ports []int, env ArchEnv) (Arch, error)
	FIFOLimit int
	// OffchipMbufs, when > 0, creates a second mempool that models off-chip memory:
	// ArchEnv.CopyOffchip copies packets into it (buffer.hybrid.copy_offchip).
	OffchipMbufs int
	// DelayCapacity bounds each port's delay line in packets (0: derived from rate*delay).
	DelayCapacity int
	// PublishEvery: poll-loop iterations between stats publications (0: 256).
	PublishEvery int
	// StallThreshold: a poll-loop iteration gap longer than this counts as a stall
	// (stall.go; 0: DefaultStallThreshold).
	StallThreshold time.Duration
}

// ArchEnv is what the dataplane offers an architecture it builds.
type ArchEnv struct {
	// CopyOffchip copies an mbuf into the off-chip mempool and frees the original; it
	// returns the copy, or 0 when that pool is exhausted. nil without OffchipMbufs.
	CopyOffchip func(m uintptr) uintptr
}

// MaxBurst bounds the burst size: the per-lcore arrays are sized for it.
const MaxBurst = 512
