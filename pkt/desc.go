// Package pkt defines the value descriptor by which the pure-Go queueing packages
// (voq and everything it drives) see a packet. It has no dependencies and no cgo.
//
// Ownership: a Desc carries an opaque handle to a DPDK mbuf. Exactly one holder owns
// the mbuf at a time: the rx burst, a queue (tier), or a tx burst. Whoever takes a Desc
// by value through an API that says "takes ownership" must eventually hand it on,
// transmit it, or report it as dropped through a DropSink; it must never be both.
package pkt

import "unsafe"

// Desc is a packet as queueing code sees it. 40 bytes, passed and stored by value.
type Desc struct {
	Mbuf    uintptr // opaque rte_mbuf pointer; never dereferenced outside dataplane/mempool
	Enq     int64   // enqueue time, ns on the dataplane's monotonic clock
	Hash    uint32  // flow hash over the IPv4 5-tuple (0 when not parsed)
	Len     uint32  // frame length in bytes (what the wire and the buffer are charged)
	InPort  uint16  // input port index
	OutPort uint16  // output port index
	Class   uint8   // traffic class 0..7, 7 is the highest priority
	ECN     uint8   // ECN codepoint from the IP header: 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE
	Flags   Flags   // per-packet marks set by queueing code for the dataplane to apply
	Tier    uint8   // buffer tier the packet is stored in (0 on-chip/flat, 1 off-chip)
	Queue   uint32  // index of the queue the packet sits in (set by the queueing code)
	L3      uint8   // offset of the IPv4 header in the frame, 0 when not parsed (set by the dataplane, carried unchanged)
}

// Flags are actions the queueing code asks the dataplane to apply before transmit.
type Flags uint8

const (
	// FlagMarkCE asks the dataplane to set the IP ECN field to CE (and fix the checksum).
	FlagMarkCE Flags = 1 << iota
)

// ECT reports whether the packet is ECN-capable (ECT(0), ECT(1) or already CE).
func (d *Desc) ECT() bool { return d.ECN != 0 }

// DropReason says why a packet was dropped. Hot paths count by reason; they never
// build error values.
type DropReason uint8

// Drop reasons. Parse/route reasons come first, then queueing and buffer reasons.
const (
	DropNone DropReason = iota
	DropNoRoute
	DropTTLExpired
	DropMalformed    // truncated, bad version, bad IHL, bad total length
	DropBadChecksum  // IPv4 header checksum wrong
	DropUnsupported  // ethertype the router does not forward
	DropTail         // queue limit reached at enqueue
	DropHead         // removed from the head to admit a newer packet (head-drop policy)
	DropAQM          // AQM decision (RED, CoDel, PIE, FQ-CoDel)
	DropOverflow     // FQ-CoDel fattest-flow batch drop, or a shrunk queue draining
	DropNoBuffer     // buffer model refused: pool, reserved or shared threshold
	DropNoDescriptor // buffer model ran out of packet descriptors
	DropOffchipBW    // hybrid buffer: off-chip bandwidth exhausted
	DropTxFull       // the device refused a control frame (data frames wait at the port instead)
	DropNoMbuf       // mempool exhausted (copy or reply could not be built)
	DropShutdown     // still queued at shutdown and freed
	DropARPPending   // next hop unresolved: the ARP hold was full, or no reply in time
	DropNotForUs     // addressed to the router but not a protocol it answers
	DropDelayLine    // the egress delay line was full
	DropHandoff      // the ring to the egress lcore was full
	NumDropReasons
)

var dropNames = [NumDropReasons]string{
	"none", "no_route", "ttl_expired", "malformed", "bad_checksum", "unsupported_ethertype",
	"tail", "head", "aqm", "overflow", "no_buffer", "no_descriptor", "offchip_bandwidth",
	"tx_full", "no_mbuf", "shutdown", "arp_pending", "not_for_us",
	"delay_line_full", "handoff_full",
}

// String returns the reason's stable snake_case name, used in JSON and metric labels.
func (r DropReason) String() string {
	if r < NumDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// DropSink receives packets that queueing code drops. The sink takes ownership of the
// mbuf (the dataplane frees them in bulk once per burst) and counts the reason.
type DropSink interface {
	Drop(d *Desc, r DropReason)
}

// Hot-path copies. A struct assignment of a Desc compiles to 16-byte moves; when the
// source was just written field by field (or a field of the copy is patched right
// after), the wide loads cannot be forwarded from the narrow stores still in flight
// and each copy stalls. These copy word by word: every load then meets at most one
// earlier store of the same size and address (Set writes a descriptor the same way,
// so a copy of one just set forwards every word). The layout they rely on (five
// words, Queue in the low half of the fifth, Set's field positions) is checked by
// TestDescWordCopies and TestDescSet.

// descWords is the Desc layout as five 8-byte words.
type descWords [5]uint64

// CopyTo copies *d to *dst.
func (d *Desc) CopyTo(dst *Desc) {
	s, t := (*descWords)(unsafe.Pointer(d)), (*descWords)(unsafe.Pointer(dst))
	t[0], t[1], t[2], t[3], t[4] = s[0], s[1], s[2], s[3], s[4]
}

// Set writes every field of d: the given ones, Flags, Tier and Queue zero. Five word
// stores built in registers: field by field, the narrow fields of a 40-byte stride
// need an address computed (and often spilled) per field, since amd64 has no 1- or
// 2-byte store indexed by 8; a composite literal goes through a stack temporary.
func (d *Desc) Set(mbuf uintptr, enq int64, hash, length uint32, in, out uint16, class, ecn, l3 uint8) {
	t := (*descWords)(unsafe.Pointer(d))
	t[0], t[1] = uint64(mbuf), uint64(enq)
	t[2] = uint64(hash) | uint64(length)<<32
	t[3] = uint64(in) | uint64(out)<<16 | uint64(class)<<32 | uint64(ecn)<<40
	t[4] = uint64(l3) << 32
}

// CopyToQueue copies *d to *dst with dst.Queue = q.
func (d *Desc) CopyToQueue(dst *Desc, q uint32) {
	s, t := (*descWords)(unsafe.Pointer(d)), (*descWords)(unsafe.Pointer(dst))
	t[0], t[1], t[2], t[3] = s[0], s[1], s[2], s[3]
	t[4] = s[4]&^0xffffffff | uint64(q)
}
