package wire

import (
	"encoding/binary"
	"net/netip"

	"github.com/dpdkq/dpdkq/pkt"
)

// IP protocol numbers (IANA).
const (
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// DSCP and ECN values used by classification and marking.
const (
	DSCPDefault = 0  // best effort (CS0)
	DSCPEF      = 46 // expedited forwarding (RFC 3246)

	ECNNotECT = 0 // not ECN-capable transport
	ECNECT1   = 1 // ECT(1)
	ECNECT0   = 2 // ECT(0)
	ECNCE     = 3 // congestion experienced
)

// IPv4Info is what ParseIPv4 learns about one packet. The dataplane keeps one per
// lcore and ParseIPv4 overwrites it in place; after a result other than DropNone its
// contents are unspecified.
type IPv4Info struct {
	L3       int    // offset of the IPv4 header in the frame: 14, or 18 behind one 802.1Q tag
	Src, Dst uint32 // addresses, host order (10.0.0.1 = 0x0A000001)
	HdrLen   uint8  // header length in bytes, IHL*4 (20..60)
	Proto    uint8  // IP protocol (ProtoTCP, ProtoUDP, ProtoICMP, ...)
	TTL      uint8  // time to live as received
	TOS      uint8  // type-of-service byte: DSCP<<2 | ECN
	TotalLen uint16 // IPv4 total length (header + payload), <= len(frame)-L3
	FragOff  uint16 // flags and fragment offset word as on the wire (DF 0x4000, MF 0x2000, offset 0x1FFF)
	SrcPort  uint16 // TCP/UDP source port; 0 for other protocols, fragments and short L4 headers
	DstPort  uint16 // TCP/UDP destination port; 0 likewise
	Hash     uint32 // FlowHash over (Src, Dst, SrcPort, DstPort, Proto)
}

// DSCP returns the differentiated-services code point (TOS >> 2).
func (p *IPv4Info) DSCP() uint8 { return p.TOS >> 2 }

// ECN returns the ECN field (TOS & 3): ECNNotECT, ECNECT1, ECNECT0 or ECNCE.
func (p *IPv4Info) ECN() uint8 { return p.TOS & 3 }

// IsFragment reports whether the packet is any fragment of a larger datagram (MF set
// or a non-zero offset). Fragments carry no ports in the hash, so all fragments of a
// datagram stay in one flow.
func (p *IPv4Info) IsFragment() bool { return p.FragOff&0x3fff != 0 }

// SrcAddr returns Src as a netip.Addr (for logs and tests, not the hot path).
func (p *IPv4Info) SrcAddr() netip.Addr { return Addr(p.Src) }

// DstAddr returns Dst as a netip.Addr.
func (p *IPv4Info) DstAddr() netip.Addr { return Addr(p.Dst) }

// ParseIPv4 validates an Ethernet frame carrying IPv4 (untagged or with one 802.1Q
// tag) and fills p. It returns pkt.DropNone when the packet may be routed, otherwise
// the first problem found, checked in this order:
//
//	frame shorter than 14+20 bytes               DropMalformed
//	EtherType (after one VLAN tag) is not IPv4   DropUnsupported
//	tagged frame shorter than 18+20 bytes        DropMalformed
//	version != 4                                 DropMalformed
//	IHL < 5, or IHL*4 > bytes after L3           DropMalformed
//	total length < IHL*4 or > bytes after L3     DropMalformed
//	header checksum wrong                        DropBadChecksum
//
// Bytes after L3+TotalLen (Ethernet padding) are allowed. TTL is not checked here:
// packets for the router itself may arrive with TTL 1; DecTTL decides for forwarded
// ones. ARP must be handled before (see EtherType): it returns DropUnsupported here.
func ParseIPv4(frame []byte, p *IPv4Info) pkt.DropReason {
	if len(frame) < EthHdrLen+IPv4MinLen {
		return pkt.DropMalformed
	}
	etype, l3 := EtherType(frame)
	if etype != EtherTypeIPv4 {
		return pkt.DropUnsupported
	}
	h := frame[l3:]
	if len(h) < IPv4MinLen {
		return pkt.DropMalformed
	}
	_ = h[19] // one bounds check for all fixed-offset reads below
	vihl := h[0]
	if vihl>>4 != 4 {
		return pkt.DropMalformed
	}
	ihl := int(vihl&0x0f) * 4
	if ihl < IPv4MinLen || ihl > len(h) {
		return pkt.DropMalformed
	}
	tot := int(binary.BigEndian.Uint16(h[2:4]))
	if tot < ihl || tot > len(h) {
		return pkt.DropMalformed
	}
	if !HeaderChecksumOK(h[:ihl]) {
		return pkt.DropBadChecksum
	}

	p.L3 = l3
	p.HdrLen = uint8(ihl)
	p.TOS = h[1]
	p.TotalLen = uint16(tot)
	p.FragOff = binary.BigEndian.Uint16(h[6:8])
	p.TTL = h[8]
	p.Proto = h[9]
	p.Src = binary.BigEndian.Uint32(h[12:16])
	p.Dst = binary.BigEndian.Uint32(h[16:20])
	p.SrcPort, p.DstPort = 0, 0
	// Ports only for a whole datagram (not a fragment) whose first 4 L4 bytes are
	// inside the total length; a first fragment has ports too, but using them would
	// split one datagram's fragments across flows.
	if (p.Proto == ProtoTCP || p.Proto == ProtoUDP) && p.FragOff&0x3fff == 0 && tot >= ihl+4 {
		ports := binary.BigEndian.Uint32(h[ihl : ihl+4])
		p.SrcPort, p.DstPort = uint16(ports>>16), uint16(ports)
	}
	p.Hash = FlowHash(p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto)
	return pkt.DropNone
}

// DecTTL decrements the TTL of the IPv4 header at frame[l3:] and updates its checksum
// incrementally (RFC 1624 eqn. 3 on the TTL/protocol word). It returns false, leaving
// the frame untouched, when TTL <= 1 (the caller drops with pkt.DropTTLExpired and may
// send ICMP time exceeded) or when frame is too short to hold a header at l3 (never
// for a frame ParseIPv4 accepted).
func DecTTL(frame []byte, l3 int) (ok bool) {
	if l3 < 0 || len(frame)-IPv4MinLen < l3 {
		return false
	}
	h := frame[l3 : l3+IPv4MinLen]
	if h[8] <= 1 {
		return false
	}
	decTTL(h)
	return true
}

// decTTL decrements the TTL of header h (known above 1) and updates its checksum. The
// TTL/protocol word m drops by 0x0100, so ~m + m' = 0xfeff whatever the protocol:
// HC' = ~(~HC + 0xfeff) with end-around carry.
func decTTL(h []byte) {
	h[8]--
	sum := uint32(^binary.BigEndian.Uint16(h[10:12])) + 0xfeff
	sum = (sum & 0xffff) + (sum >> 16)
	sum = (sum & 0xffff) + (sum >> 16)
	binary.BigEndian.PutUint16(h[10:12], ^uint16(sum))
}

// SetCE sets the ECN field of the IPv4 header at frame[l3:] to CE (binary 11) if the
// packet is ECN-capable (ECT(0) or ECT(1)), updating the checksum incrementally, and
// returns true. A packet already marked CE needs no change and also returns true.
// It returns false, leaving the frame untouched, for a not-ECT packet (the AQM must
// drop it instead) or a frame too short to hold a header at l3.
func SetCE(frame []byte, l3 int) bool {
	if l3 < 0 || len(frame)-IPv4MinLen < l3 {
		return false
	}
	h := frame[l3 : l3+IPv4MinLen]
	tos := h[1]
	switch tos & 3 {
	case ECNNotECT:
		return false
	case ECNCE:
		return true
	}
	old := uint16(h[0])<<8 | uint16(tos)
	h[1] = tos | ECNCE
	hc := binary.BigEndian.Uint16(h[10:12])
	binary.BigEndian.PutUint16(h[10:12], csumUpdate16(hc, old, old|ECNCE))
	return true
}

// IPv4Dst is the destination (host order) of the IPv4 header at offset l3 of frame, 0
// when the frame is too short to hold it. It checks nothing else: for frames already
// parsed (a queued packet's header, read back by the control path).
func IPv4Dst(frame []byte, l3 int) uint32 {
	if l3 < 0 || len(frame) < l3+IPv4MinLen {
		return 0
	}
	return binary.BigEndian.Uint32(frame[l3+16 : l3+20])
}
