package wire

import (
	"encoding/binary"
	"net/netip"
)

// Header sizes and EtherType values (IEEE 802.3, IEEE 802.1Q, IANA).
const (
	EthHdrLen   = 14 // destination MAC, source MAC, EtherType
	VLANHdrLen  = 18 // Ethernet header with one 802.1Q tag (TPID 0x8100 + TCI) inserted
	IPv4MinLen  = 20 // IPv4 header without options (IHL 5)
	IPv4MaxHLen = 60 // IHL is 4 bits of 32-bit words: 15*4

	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeVLAN = 0x8100 // 802.1Q customer tag
	EtherTypeIPv6 = 0x86DD
)

// BroadcastMAC is the all-ones Ethernet address.
var BroadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// EtherType returns the frame's EtherType and the offset of its layer-3 header,
// looking through at most one 802.1Q tag (the TPID 0x8100 is skipped and the inner
// EtherType returned, l3off 18). A frame too short to hold the (tagged) Ethernet
// header returns (0, 0). A second tag is reported as EtherTypeVLAN, which no caller
// forwards. The dataplane calls this first to send ARP to the control path.
func EtherType(frame []byte) (etype uint16, l3off int) {
	if len(frame) < EthHdrLen {
		return 0, 0
	}
	etype = binary.BigEndian.Uint16(frame[12:14])
	if etype != EtherTypeVLAN {
		return etype, EthHdrLen
	}
	if len(frame) < VLANHdrLen {
		return 0, 0
	}
	return binary.BigEndian.Uint16(frame[16:18]), VLANHdrLen
}

// RewriteMACs sets the Ethernet source and destination addresses (the next-hop
// rewrite). Note the argument order (src, dst) differs from the wire order (dst
// first). Frames shorter than 12 bytes are left alone.
func RewriteMACs(frame []byte, src, dst [6]byte) {
	if len(frame) < 12 {
		return
	}
	copy(frame[0:6], dst[:])
	copy(frame[6:12], src[:])
}

// swapMACs exchanges the Ethernet source and destination (len(frame) >= 12).
func swapMACs(frame []byte) {
	var tmp [6]byte
	copy(tmp[:], frame[0:6])
	copy(frame[0:6], frame[6:12])
	copy(frame[6:12], tmp[:])
}

// Addr converts a host-order IPv4 address to netip.Addr (no allocation).
func Addr(ip uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], ip)
	return netip.AddrFrom4(b)
}

// AddrU32 converts an IPv4 netip.Addr to host-order uint32; ok is false for
// anything but an IPv4 (or IPv4-mapped IPv6) address.
func AddrU32(a netip.Addr) (ip uint32, ok bool) {
	a = a.Unmap()
	if !a.Is4() {
		return 0, false
	}
	b := a.As4()
	return binary.BigEndian.Uint32(b[:]), true
}
