package mempool

import "unsafe"

// offMeta is the offset of the metadata dynamic field, known after RegisterMeta.
var offMeta = ^uintptr(0)

// Meta is dpdkq's per-mbuf metadata, stored in a registered mbuf dynamic field so a
// packet handed from one lcore to another (through a ring) keeps its classification.
type Meta struct {
	Hash    uint32 // flow hash
	OutPort uint16 // output port index
	InPort  uint16 // input port index
	Class   uint8  // traffic class
	ECN     uint8  // ECN codepoint
	L3      uint8  // offset of the IPv4 header in the frame
	Kind    uint8  // dataplane-defined packet kind
	_       [4]byte
}

// Meta must fit the registered dynamic field (dq_meta_size bytes): this fails to
// compile otherwise.
var _ [metaFieldSize - unsafe.Sizeof(Meta{})]byte

func at(m uintptr, off uintptr) unsafe.Pointer {
	// m is C memory owned by DPDK; the GC never moves or frees it.
	return unsafe.Add(unsafe.Pointer(nil), m+off) //nolint:govet
}

// MetaOf returns the mbuf's metadata field. RegisterMeta must have succeeded.
func MetaOf(m uintptr) *Meta { return (*Meta)(at(m, offMeta)) }

// DataOff is the headroom offset of the packet data in the buffer.
func DataOff(m uintptr) uint16 { return *(*uint16)(at(m, offDataOff)) }

// DataLen is the length of the first (only) segment.
func DataLen(m uintptr) int { return int(*(*uint16)(at(m, offDataLen))) }

// PktLen is the packet's total length over all segments.
func PktLen(m uintptr) uint32 { return *(*uint32)(at(m, offPktLen)) }

// NbSegs is the number of segments.
func NbSegs(m uintptr) int { return int(*(*uint16)(at(m, offNbSegs))) }

// Port is the input port the PMD recorded.
func Port(m uintptr) uint16 { return *(*uint16)(at(m, offPort)) }

// PoolOf is the handle of the mempool the mbuf came from.
func PoolOf(m uintptr) uintptr { return *(*uintptr)(at(m, offPool)) }

// Data returns the first segment's bytes (len data_len, cap up to the buffer end), a
// view into the mbuf: no copy, valid while the caller owns the mbuf.
func Data(m uintptr) []byte {
	buf := *(*uintptr)(at(m, offBufAddr))
	off := uintptr(DataOff(m))
	blen := uintptr(*(*uint16)(at(m, offBufLen)))
	p := (*byte)(at(buf, off))
	return unsafe.Slice(p, blen-off)[:DataLen(m)]
}

// Frame is Data without the tailroom (len and cap are data_len), small enough to be
// inlined: the per-packet view of the hot path.
func Frame(m uintptr) []byte {
	buf := *(*uintptr)(at(m, offBufAddr))
	return unsafe.Slice((*byte)(at(buf, uintptr(*(*uint16)(at(m, offDataOff))))), *(*uint16)(at(m, offDataLen)))
}

// SetLen sets a single-segment mbuf's data and packet length (n must fit the buffer).
func SetLen(m uintptr, n int) {
	*(*uint16)(at(m, offDataLen)) = uint16(n)
	*(*uint32)(at(m, offPktLen)) = uint32(n)
}
