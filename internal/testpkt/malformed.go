package testpkt

import "encoding/binary"

// The mutators below take a valid Ethernet/IPv4 frame (untagged or with one 802.1Q
// tag), return a modified copy, and leave their input alone. Each one breaks exactly
// one thing: where the header checksum is not the subject, it is recomputed (with
// this package's own slow RFC 1071 sum, not package packet's) so that the intended
// fault is the first one a parser meets.

// Addresses the default configuration cannot route: TEST-NET-1 (RFC 5737), which
// matches none of its connected subnets (10.0.0.0/24, 10.1.0.0/24) or its route
// (10.2.0.0/16), and it has no default route.
const (
	UnroutableDst = "192.0.2.1"
	DefaultSrc    = "10.0.0.2"  // a host on in0's subnet
	DefaultDst    = "10.2.0.10" // a host behind the 10.2.0.0/16 route via out0
)

// Truncated returns the first n bytes of frame.
func Truncated(frame []byte, n int) []byte {
	return append([]byte(nil), frame[:n]...)
}

// BadVersion sets the IP version nibble (anything but 4 is malformed for IPv4).
func BadVersion(frame []byte, version uint8) []byte {
	f, l3 := clone(frame)
	f[l3] = version<<4 | f[l3]&0x0f
	FixIPv4Checksum(f)
	return f
}

// BadIHL sets the IHL nibble (header length in 32-bit words; below 5 is malformed,
// and so is one pointing past the frame).
func BadIHL(frame []byte, ihl uint8) []byte {
	f, l3 := clone(frame)
	f[l3] = f[l3]&0xf0 | ihl&0x0f
	FixIPv4Checksum(f)
	return f
}

// BadTotalLen sets the IPv4 total length (malformed when below the header length or
// beyond the bytes the frame holds after the Ethernet header).
func BadTotalLen(frame []byte, totalLen uint16) []byte {
	f, l3 := clone(frame)
	binary.BigEndian.PutUint16(f[l3+2:], totalLen)
	FixIPv4Checksum(f)
	return f
}

// BadChecksum returns the frame with its IPv4 header checksum wrong: the correct value
// XOR 0x8001. (Only XOR with 0 or 0xFFFF could leave it valid, 0x0000 and 0xFFFF
// being the two encodings of zero.)
func BadChecksum(frame []byte) []byte {
	f, l3 := clone(frame)
	FixIPv4Checksum(f)
	binary.BigEndian.PutUint16(f[l3+10:], binary.BigEndian.Uint16(f[l3+10:])^0x8001)
	return f
}

// WithTTL sets the TTL and fixes the header checksum.
func WithTTL(frame []byte, ttl uint8) []byte {
	f, l3 := clone(frame)
	f[l3+8] = ttl
	FixIPv4Checksum(f)
	return f
}

// WithTOS sets the whole TOS byte (DSCP<<2 | ECN) and fixes the header checksum.
func WithTOS(frame []byte, tos uint8) []byte {
	f, l3 := clone(frame)
	f[l3+1] = tos
	FixIPv4Checksum(f)
	return f
}

// TTL1 sets TTL to 1: valid, but must not be forwarded (time exceeded).
func TTL1(frame []byte) []byte { return WithTTL(frame, 1) }

// NonIPv4 returns an IPv6/UDP frame (EtherType 0x86DD) to the router's MAC.
func NonIPv4(payloadLen int) []byte {
	return Options{}.IPv6UDP("fd00::2", "fd00:2::10", 40000, 9, payloadLen)
}

// Unroutable returns a valid UDP frame from DefaultSrc to UnroutableDst.
func Unroutable(payloadLen int) []byte {
	return UDP(DefaultSrc, UnroutableDst, 40000, 9, 64, 0, payloadLen)
}

// L3Offset returns 14, or 18 when the frame carries one 802.1Q tag.
func L3Offset(frame []byte) int {
	if len(frame) >= 14 && binary.BigEndian.Uint16(frame[12:14]) == 0x8100 {
		return 18
	}
	return 14
}

// FixIPv4Checksum recomputes the IPv4 header checksum in place over IHL*4 bytes, or
// over 20 bytes when IHL is below 5 or the header would run past the frame. The frame
// must hold at least 20 bytes after its L3 offset.
func FixIPv4Checksum(frame []byte) {
	l3 := L3Offset(frame)
	n := int(frame[l3]&0x0f) * 4
	if n < 20 || l3+n > len(frame) {
		n = 20
	}
	h := frame[l3 : l3+n]
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], InetChecksum(h))
}

// InetChecksum is a deliberately plain RFC 1071 checksum (16-bit words, 32-bit
// accumulator folded at the end, exact for inputs up to 128 KiB), kept separate from
// package packet's fast one so tests can compare the two.
func InetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func clone(frame []byte) ([]byte, int) {
	return append([]byte(nil), frame...), L3Offset(frame)
}
