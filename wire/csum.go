package wire

import (
	"encoding/binary"
	"math/bits"
)

// The Internet checksum (RFC 1071) is the ones'-complement of the ones'-complement
// sum of the data taken as big-endian 16-bit words. Ones'-complement addition is
// addition modulo 0xFFFF with the end-around carry, and 2^16 = 1 (mod 0xFFFF), so
// the data may be summed in wider big-endian words (here 64-bit) and folded down at
// the end: the folded result is the same as the 16-bit word sum.

// onesSum adds b to the running 64-bit ones'-complement accumulator acc and returns
// the new accumulator (not folded). b may have any length; an odd trailing byte counts
// as the high byte of a word padded with zero, as RFC 1071 specifies. b must start at
// an even offset of the checksummed data.
func onesSum(b []byte, acc uint64) uint64 {
	var carry uint64
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	// Tail of 0..7 bytes, assembled left-aligned into one 64-bit word so that every
	// byte keeps its parity position (high or low byte of a 16-bit word).
	var tail uint64
	switch len(b) {
	case 7:
		tail |= uint64(b[6]) << 8
		fallthrough
	case 6:
		tail |= uint64(b[5]) << 16
		fallthrough
	case 5:
		tail |= uint64(b[4]) << 24
		fallthrough
	case 4:
		tail |= uint64(binary.BigEndian.Uint32(b)) << 32
	case 3:
		tail |= uint64(b[2]) << 40
		fallthrough
	case 2:
		tail |= uint64(b[1]) << 48
		fallthrough
	case 1:
		tail |= uint64(b[0]) << 56
	}
	acc, carry = bits.Add64(acc, tail, carry)
	// End-around carry: adding the final carry back cannot carry out again, because a
	// sum that just overflowed is at most 2^64-2 and the carry is 1.
	return acc + carry
}

// fold reduces a 64-bit ones'-complement accumulator to 16 bits. Four folds suffice
// for any 64-bit input: <2^33, then <2^17+2^16, then <=0x10001, then <=0xFFFF.
func fold(acc uint64) uint16 {
	acc = (acc >> 32) + (acc & 0xffffffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	acc = (acc >> 16) + (acc & 0xffff)
	return uint16(acc)
}

// Checksum returns the Internet checksum of b: the value to store in a zeroed checksum
// field so that the sum over b then verifies. Used for the headers the package builds.
func Checksum(b []byte) uint16 {
	return ^fold(onesSum(b, 0))
}

// HeaderChecksumOK verifies an IPv4 header's checksum. hdr must be exactly the header
// (IHL*4 bytes, checksum field included): the ones'-complement sum over all of it,
// checksum included, is 0xFFFF (negative zero) when the header is intact. A stored
// 0x0000 and 0xFFFF both verify, as RFC 1624 section 3 says a receiver must accept.
func HeaderChecksumOK(hdr []byte) bool {
	if len(hdr) == IPv4MinLen {
		return fold(sum20(hdr)) == 0xffff
	}
	return fold(onesSum(hdr, 0)) == 0xffff
}

// sum20 is the ones'-complement accumulator of a 20-byte option-less header, the
// common case, as five 32-bit words: no loop, no carry chain (5*2^32 fits in 64 bits).
func sum20(h []byte) uint64 {
	_ = h[19]
	return uint64(binary.BigEndian.Uint32(h[0:4])) + uint64(binary.BigEndian.Uint32(h[4:8])) +
		uint64(binary.BigEndian.Uint32(h[8:12])) + uint64(binary.BigEndian.Uint32(h[12:16])) +
		uint64(binary.BigEndian.Uint32(h[16:20]))
}

// SetHeaderChecksum recomputes and stores the IPv4 header checksum; hdr must be
// exactly the header (IHL*4 bytes).
func SetHeaderChecksum(hdr []byte) {
	if len(hdr) < IPv4MinLen {
		return
	}
	hdr[10], hdr[11] = 0, 0
	binary.BigEndian.PutUint16(hdr[10:12], Checksum(hdr))
}

// csumUpdate16 returns the checksum after one 16-bit word of the covered data changed
// from old to new, by RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). In ones'-complement
// arithmetic (end-around carry) a sum is +0 only when every term is 0, which needs a
// word going from 0xFFFF to 0x0000; none of the edits here (TTL, ECN, ICMP type) does
// that. So HC' is
// never 0xFFFF and equals what a full recomputation stores (the -0 pitfall of eqn. 2,
// HC' = HC - ~m - m', cannot occur). A header that arrived with the non-canonical
// 0xFFFF (which verifies just like 0x0000) also comes out canonical.
func csumUpdate16(hc, old, new uint16) uint16 {
	sum := uint32(^hc) + uint32(^old) + uint32(new) // < 3*2^16: two folds suffice
	sum = (sum >> 16) + (sum & 0xffff)
	sum = (sum >> 16) + (sum & 0xffff)
	return ^uint16(sum)
}
