package wire

import (
	"encoding/binary"
	"math/bits"
)

// RouteFields is the forwarding fast path of ParseIPv4 for the common frame: untagged
// Ethernet, IPv4 without options (version/IHL byte 0x45). It returns what routing and
// queueing need, in registers: the destination (host order), the flow hash (as
// ParseIPv4's Hash) and the TOS byte; the IPv4 header is at offset EthHdrLen.
//
// ok is false for anything else (a tag, options, another EtherType, a malformed or
// truncated frame, a wrong checksum, a TTL of 0 or 1 — which the slow path drops
// or, for the router's own address, still answers): the caller then calls ParseIPv4, which handles
// the rare valid shapes and names the reason for the invalid ones. So RouteFields
// accepts a subset of what ParseIPv4 accepts, with the same results (tested).
func RouteFields(frame []byte) (dst, hash uint32, tos uint8, ok bool) {
	return routeFields(frame, true)
}

// RouteDst is RouteFields without the flow hash, for a router whose queues do not
// use it (the hash is a few ns of a packet's budget at line rate).
func RouteDst(frame []byte) (dst uint32, tos uint8, ok bool) {
	dst, _, tos, ok = routeFields(frame, false)
	return dst, tos, ok
}

func routeFields(frame []byte, withHash bool) (dst, hash uint32, tos uint8, ok bool) {
	if len(frame) < EthHdrLen+IPv4MinLen {
		return 0, 0, 0, false
	}
	// Whole-word loads only (no byte reads of the same bytes, which would make the
	// compiler assemble the words byte by byte); fields are cut out of the words.
	// w0: version/IHL, TOS, total length, id, flags/fragment offset; w1: TTL,
	// protocol, checksum, source; w2: destination. Little-endian loads, so a field's
	// bytes appear swapped.
	et := binary.LittleEndian.Uint16(frame[12:14])
	w0 := binary.LittleEndian.Uint64(frame[14:22])
	w1 := binary.LittleEndian.Uint64(frame[22:30])
	w2 := binary.LittleEndian.Uint32(frame[30:34])
	if et != 0x0008 || uint8(w0) != 0x45 {
		return 0, 0, 0, false
	}
	// The ones'-complement sum is independent of byte order (RFC 1071 section 2(B)):
	// add the header as little-endian words; folding the sum s to 16 bits with
	// end-around carries computes s mod 0xffff (2^16 = 1 mod 0xffff), with 0xffff for a
	// non-zero multiple. A valid header folds to 0xffff, so it is valid exactly when s
	// is a multiple of 0xffff (s > 0: the first byte is 0x45). The compiler turns the
	// divisibility test into a multiply and a compare, shorter than the folds' chain.
	s := (w0 & 0xffffffff) + (w0 >> 32) + (w1 & 0xffffffff) + (w1 >> 32) + uint64(w2) // < 5*2^32
	// w1's low byte is the TTL
	if s%0xffff != 0 || uint8(w1) <= 1 {
		return 0, 0, 0, false
	}
	tot := int(bits.ReverseBytes16(uint16(w0 >> 16)))
	if tot < IPv4MinLen || tot > len(frame)-EthHdrLen {
		return 0, 0, 0, false
	}
	dst = bits.ReverseBytes32(w2)
	if !withHash {
		return dst, 0, uint8(w0 >> 8), true
	}
	src := bits.ReverseBytes32(uint32(w1 >> 32))
	proto := uint8(w1 >> 8)
	frag := uint16(w0>>48) & 0xff3f // flags/offset with DF and the reserved bit cleared, swapped
	var ports uint32
	if (proto == ProtoTCP || proto == ProtoUDP) && frag == 0 && tot >= IPv4MinLen+4 {
		ports = binary.BigEndian.Uint32(frame[EthHdrLen+IPv4MinLen : EthHdrLen+IPv4MinLen+4])
	}
	return dst, FlowHash(src, dst, uint16(ports>>16), uint16(ports), proto), uint8(w0 >> 8), true
}

// ForwardPlain is ForwardIPv4 at l3 = EthHdrLen for a frame RouteFields accepted (so
// its TTL is above 1 and the header is whole), small enough to be inlined.
func ForwardPlain(frame []byte, macs *[12]byte) {
	decTTL(frame[EthHdrLen : EthHdrLen+IPv4MinLen])
	putMACs(frame, macs)
}

// putMACs writes the Ethernet addresses (macs is dst||src) with two word moves rather
// than copy (which may call memmove for 12 bytes).
func putMACs(frame []byte, macs *[12]byte) {
	binary.LittleEndian.PutUint64(frame[0:8], binary.LittleEndian.Uint64(macs[0:8]))
	binary.LittleEndian.PutUint32(frame[8:12], binary.LittleEndian.Uint32(macs[8:12]))
}

// ForwardIPv4 does the per-hop rewrite of a routed frame whose IPv4 header is at l3:
// TTL decrement with the incremental checksum update (RFC 1624 eqn. 3) and the
// Ethernet addresses (dst, then src, as on the wire: macs is dst||src). It returns
// false, leaving the frame untouched, when TTL <= 1 or the frame cannot hold the
// header. Same result as DecTTL followed by RewriteMACs.
func ForwardIPv4(frame []byte, l3 int, macs *[12]byte) bool {
	if !DecTTL(frame, l3) { // also proves len(frame) >= 20 > 12
		return false
	}
	putMACs(frame, macs)
	return true
}
