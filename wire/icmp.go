package wire

import "encoding/binary"

// ICMP (RFC 792) message types and codes the router sends or answers.
const (
	ICMPEchoReply      = 0
	ICMPDestUnreach    = 3
	ICMPEchoRequest    = 8
	ICMPTimeExceeded   = 11
	ICMPParamProblem   = 12
	ICMPHdrLen         = 8  // type, code, checksum, 4 type-specific bytes
	CodeNetUnreachable = 0  // with ICMPDestUnreach: no route
	CodeHostUnreach    = 1  // with ICMPDestUnreach: next hop did not answer ARP
	CodeTTLExceeded    = 0  // with ICMPTimeExceeded: TTL expired in transit
	ReplyTTL           = 64 // TTL of packets the router originates (RFC 1700's default)

	// icmpErrorMax bounds an ICMP error datagram (IP header included) to 576 bytes,
	// the size every host must accept; RFC 1812 4.3.2.3 asks a router to quote as
	// much of the offending datagram as fits within it.
	icmpErrorMax = 576
	// tosInternetControl is IP precedence 6 (internetwork control), which RFC 1812
	// 4.3.2.5 recommends for the ICMP errors a router sends. ECN bits stay 0.
	tosInternetControl = 0xC0
)

// IsICMPEchoRequest reports whether a packet ParseIPv4 accepted is an ICMP echo
// request the router can answer: protocol ICMP, not a fragment (we do not
// reassemble), at least the 8-byte ICMP header inside the total length, type 8 code 0,
// and a correct ICMP checksum over the whole message (RFC 1122 3.2.2: silently drop
// ICMP with a bad checksum). Whether Dst is one of ours is the caller's check. The
// checksum pass is O(message length); echo is a control-path rarity.
func IsICMPEchoRequest(frame []byte, info *IPv4Info) bool {
	if info.Proto != ProtoICMP || info.IsFragment() {
		return false
	}
	start, end := info.L3+int(info.HdrLen), info.L3+int(info.TotalLen)
	if end-start < ICMPHdrLen || end > len(frame) {
		return false
	}
	m := frame[start:end]
	if m[0] != ICMPEchoRequest || m[1] != 0 {
		return false
	}
	return fold(onesSum(m, 0)) == 0xffff
}

// BuildICMPEchoReplyInPlace turns an echo request (IsICMPEchoRequest true) into the
// echo reply in the same buffer and returns the reply's frame length, L3+TotalLen
// (not padded; a VLAN tag is kept). The Ethernet and IP addresses are swapped (so the
// reply leaves from the address the request was sent to: Dst must be a unicast
// address of ours, and the Ethernet destination the port's unicast MAC; a caller that
// receives in promiscuous mode should follow with RewriteMACs(frame, portMAC,
// requesterMAC)), the type becomes 0 with the ICMP checksum updated incrementally
// (identifier, sequence and data are echoed unchanged), TTL is set to ReplyTTL, IP
// options are removed (the message moves up to offset 20; RFC 1122 lets a host omit
// record-route/timestamp processing) and the IP checksum is recomputed. info is
// updated to describe the reply. It returns 0 without touching the frame if frame or
// info do not describe an echo request that fits in frame.
func BuildICMPEchoReplyInPlace(frame []byte, info *IPv4Info) int {
	l3, ihl, tot := info.L3, int(info.HdrLen), int(info.TotalLen)
	if info.Proto != ProtoICMP || ihl < IPv4MinLen || tot < ihl+ICMPHdrLen ||
		l3 < EthHdrLen || l3+tot > len(frame) || frame[l3+ihl] != ICMPEchoRequest {
		return 0
	}
	swapMACs(frame)
	if ihl > IPv4MinLen {
		copy(frame[l3+IPv4MinLen:], frame[l3+ihl:l3+tot])
		tot -= ihl - IPv4MinLen
		ihl = IPv4MinLen
	}
	h := frame[l3 : l3+IPv4MinLen]
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:4], uint16(tot))
	binary.BigEndian.PutUint16(h[6:8], binary.BigEndian.Uint16(h[6:8])&0x4000) // keep DF only
	h[8] = ReplyTTL
	src, dst := binary.BigEndian.Uint32(h[12:16]), binary.BigEndian.Uint32(h[16:20])
	binary.BigEndian.PutUint32(h[12:16], dst)
	binary.BigEndian.PutUint32(h[16:20], src)
	SetHeaderChecksum(h)

	m := frame[l3+IPv4MinLen : l3+tot]
	old := binary.BigEndian.Uint16(m[0:2]) // type 8, code 0
	m[0] = ICMPEchoReply
	binary.BigEndian.PutUint16(m[2:4], csumUpdate16(binary.BigEndian.Uint16(m[2:4]), old, old&0x00ff))

	info.Src, info.Dst = dst, src
	info.HdrLen, info.TotalLen, info.TTL = uint8(ihl), uint16(tot), ReplyTTL
	info.FragOff &= 0x4000
	info.Hash = FlowHash(info.Src, info.Dst, 0, 0, ProtoICMP)
	return l3 + tot
}

// BuildICMPError writes into dst a new, untagged Ethernet/IPv4/ICMP error message of
// type typ and code (e.g. ICMPTimeExceeded/CodeTTLExceeded, ICMPDestUnreach/
// CodeNetUnreachable) about the packet orig that ParseIPv4 described in info, and
// returns its length (0 if none may or can be sent). The message goes from srcIP
// (the router's address on the port towards the source) to info.Src, with Ethernet
// addresses srcMAC -> dstMAC, TTL ReplyTTL, TOS 0xC0, and quotes the original
// datagram from its IP header on, as much as fits in 576 bytes (RFC 1812 4.3.2.3)
// and in len(dst). The 4 type-specific bytes are zero (the caller fills the next-hop
// MTU for "fragmentation needed").
//
// Per RFC 1812 4.3.2.7 no error is built (0 is returned) about: an ICMP error or an
// unknown ICMP type (only echo, timestamp, information and address-mask queries may
// provoke one); a non-initial fragment; a link-layer broadcast/multicast; an IP
// limited-broadcast or multicast destination; or a source that is not one host (0/8,
// 127/8, 224/4 and above). 0 is also returned when dst cannot hold the headers plus
// the original IP header and 8 bytes. Rate limiting is the caller's job.
func BuildICMPError(dst, orig []byte, info *IPv4Info, typ, code uint8, srcIP uint32, srcMAC, dstMAC [6]byte) int {
	l3, ihl, tot := info.L3, int(info.HdrLen), int(info.TotalLen)
	if ihl < IPv4MinLen || tot < ihl || l3 < EthHdrLen || l3+tot > len(orig) || !mayProvokeICMPError(orig, info) {
		return 0
	}
	const hdrs = EthHdrLen + IPv4MinLen + ICMPHdrLen
	quote := min(tot, icmpErrorMax-IPv4MinLen-ICMPHdrLen, len(dst)-hdrs)
	if quote < min(tot, ihl+8) {
		return 0
	}
	n := hdrs + quote
	b := dst[:n]
	copy(b[0:6], dstMAC[:])
	copy(b[6:12], srcMAC[:])
	binary.BigEndian.PutUint16(b[12:14], EtherTypeIPv4)

	h := b[EthHdrLen : EthHdrLen+IPv4MinLen]
	h[0], h[1] = 0x45, tosInternetControl
	binary.BigEndian.PutUint16(h[2:4], uint16(IPv4MinLen+ICMPHdrLen+quote))
	binary.BigEndian.PutUint32(h[4:8], 0) // id 0, no flags: a fresh, unfragmented datagram
	h[8], h[9] = ReplyTTL, ProtoICMP
	binary.BigEndian.PutUint32(h[12:16], srcIP)
	binary.BigEndian.PutUint32(h[16:20], info.Src)
	SetHeaderChecksum(h)

	m := b[EthHdrLen+IPv4MinLen:]
	m[0], m[1] = typ, code
	clear(m[2:ICMPHdrLen])
	copy(m[ICMPHdrLen:], orig[l3:l3+quote])
	binary.BigEndian.PutUint16(m[2:4], Checksum(m))
	return n
}

// mayProvokeICMPError applies RFC 1812 4.3.2.7's list of packets that must not cause
// an ICMP error (see BuildICMPError).
func mayProvokeICMPError(frame []byte, info *IPv4Info) bool {
	if frame[0]&1 != 0 { // Ethernet group bit: broadcast or multicast frame
		return false
	}
	if info.FragOff&0x1fff != 0 { // non-initial fragment
		return false
	}
	if info.Dst == 0xffffffff || info.Dst>>28 == 0xe { // limited broadcast, multicast
		return false
	}
	if s := info.Src >> 24; s == 0 || s == 127 || s >= 224 { // this-net, loopback, class D/E
		return false
	}
	if info.Proto == ProtoICMP {
		off := info.L3 + int(info.HdrLen)
		if int(info.TotalLen) <= int(info.HdrLen) {
			return false // no ICMP type to look at: do not risk answering an error
		}
		switch frame[off] {
		case ICMPEchoReply, ICMPEchoRequest, 13, 14, 15, 16, 17, 18: // queries
		default:
			return false
		}
	}
	return true
}
