package wire

import "encoding/binary"

// ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses.
const (
	ARPLen     = 28 // htype, ptype, hlen, plen, op, sha, spa, tha, tpa
	ARPRequest = 1  // op: who has tpa? tell spa
	ARPReply   = 2  // op: spa is at sha

	// ARPFrameLen is an untagged Ethernet+ARP frame: 42 bytes. The builders return
	// this (46 behind a VLAN tag) without padding to the 60-byte Ethernet minimum:
	// NICs pad short frames in hardware, DPDK does not require it, and the pcap
	// vdev records what we built.
	ARPFrameLen = EthHdrLen + ARPLen
)

// ARPInfo is what ParseARP learns from one ARP packet.
type ARPInfo struct {
	L3        int     // offset of the ARP header in the frame (14, or 18 behind a VLAN tag)
	Op        uint16  // ARPRequest or ARPReply
	SenderMAC [6]byte // sha
	SenderIP  uint32  // spa, host order
	TargetMAC [6]byte // tha (zero in a request)
	TargetIP  uint32  // tpa, host order
}

// ParseARP parses an Ethernet/IPv4 ARP request or reply (untagged or behind one
// 802.1Q tag) into a and reports whether it is well formed: EtherType ARP, htype 1
// (Ethernet), ptype 0x0800, hlen 6, plen 4, op 1 or 2, and all 28 bytes present.
// Trailing padding is ignored. a is unspecified when it returns false.
func ParseARP(frame []byte, a *ARPInfo) bool {
	etype, l3 := EtherType(frame)
	if etype != EtherTypeARP || len(frame)-l3 < ARPLen {
		return false
	}
	h := frame[l3 : l3+ARPLen]
	if binary.BigEndian.Uint16(h[0:2]) != 1 || binary.BigEndian.Uint16(h[2:4]) != EtherTypeIPv4 ||
		h[4] != 6 || h[5] != 4 {
		return false
	}
	op := binary.BigEndian.Uint16(h[6:8])
	if op != ARPRequest && op != ARPReply {
		return false
	}
	a.L3 = l3
	a.Op = op
	copy(a.SenderMAC[:], h[8:14])
	a.SenderIP = binary.BigEndian.Uint32(h[14:18])
	copy(a.TargetMAC[:], h[18:24])
	a.TargetIP = binary.BigEndian.Uint32(h[24:28])
	return true
}

// BuildARPReplyInPlace turns an ARP request for ourIP into our reply in the same
// buffer and returns the reply's frame length, L3+28 (42 untagged, 46 tagged; see
// ARPFrameLen on padding; a VLAN tag is kept). The reply goes to the requester's
// hardware address (sha), from ourMAC; its sender is (ourMAC, ourIP) and its target
// the requester. It returns 0 and leaves the frame untouched if the frame is not a
// well-formed request whose target is ourIP. Learning the requester's binding (RFC
// 826 merge) is the caller's business, before or after this call.
func BuildARPReplyInPlace(frame []byte, ourMAC [6]byte, ourIP uint32) int {
	var a ARPInfo
	if !ParseARP(frame, &a) || a.Op != ARPRequest || a.TargetIP != ourIP {
		return 0
	}
	h := frame[a.L3 : a.L3+ARPLen]
	copy(frame[0:6], a.SenderMAC[:])
	copy(frame[6:12], ourMAC[:])
	binary.BigEndian.PutUint16(h[6:8], ARPReply)
	copy(h[8:14], ourMAC[:])
	binary.BigEndian.PutUint32(h[14:18], ourIP)
	copy(h[18:24], a.SenderMAC[:])
	binary.BigEndian.PutUint32(h[24:28], a.SenderIP)
	return a.L3 + ARPLen
}

// BuildARPRequest writes a broadcast, untagged "who has targetIP? tell ourIP" request
// into buf and returns its length, ARPFrameLen (42, unpadded), or 0 if buf is shorter.
func BuildARPRequest(buf []byte, ourMAC [6]byte, ourIP, targetIP uint32) int {
	if len(buf) < ARPFrameLen {
		return 0
	}
	b := buf[:ARPFrameLen]
	copy(b[0:6], BroadcastMAC[:])
	copy(b[6:12], ourMAC[:])
	binary.BigEndian.PutUint16(b[12:14], EtherTypeARP)
	h := b[EthHdrLen:]
	binary.BigEndian.PutUint16(h[0:2], 1) // htype Ethernet
	binary.BigEndian.PutUint16(h[2:4], EtherTypeIPv4)
	h[4], h[5] = 6, 4
	binary.BigEndian.PutUint16(h[6:8], ARPRequest)
	copy(h[8:14], ourMAC[:])
	binary.BigEndian.PutUint32(h[14:18], ourIP)
	clear(h[18:24]) // tha unknown
	binary.BigEndian.PutUint32(h[24:28], targetIP)
	return ARPFrameLen
}
