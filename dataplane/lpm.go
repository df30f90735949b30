package dataplane

import "unsafe"

// lpmTable reads an rte_lpm's tables from Go, exactly as rte_lpm_lookup (inline in
// rte_lpm.h) does: the entry for the top 24 bits of the address, then, when that entry
// points to a group of 256 tbl8 entries, the entry for the low 8 bits. An entry is 32
// bits: next hop (24), valid (1), valid_group (1), depth (6). The tables are DPDK's
// own, written only by rte_lpm_add/rte_lpm_delete while every lcore is quiesced, so
// the poll loop may read them without a cgo call.
type lpmTable struct {
	tbl24, tbl8 uintptr
}

const (
	lpmValidExt = 0x03000000 // valid and valid_group: the entry points into tbl8
	lpmHopMask  = 0x00FFFFFF
)

// lookup returns the next hop with lpmHit set, or a value without lpmHit on a miss.
func (t *lpmTable) lookup(ip uint32) uint32 {
	e := *(*uint32)(unsafe.Add(unsafe.Pointer(nil), t.tbl24+uintptr(ip>>8)*4)) //nolint:govet // C memory
	if e&lpmValidExt == lpmValidExt {
		i := uintptr(ip&0xFF) + uintptr(e&lpmHopMask)*256
		e = *(*uint32)(unsafe.Add(unsafe.Pointer(nil), t.tbl8+i*4)) //nolint:govet // C memory
	}
	return e
}
