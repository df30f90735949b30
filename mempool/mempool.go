// Package mempool is the mbuf edge of dpdkq: DPDK packet-buffer pools, bulk free,
// in-use counts, and mbuf field access from Go without a cgo call.
//
// Mbufs cross package boundaries as uintptr handles (cgo's C types are distinct per
// package). A handle is C memory owned by DPDK, never by the Go garbage collector.
package mempool

/*
#cgo pkg-config: libdpdk
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_malloc.h>
#include <rte_errno.h>

static void dq_free_bulk(uintptr_t arr, unsigned n) { rte_pktmbuf_free_bulk((struct rte_mbuf **)arr, n); }
static uintptr_t dq_alloc(struct rte_mempool *mp) { return (uintptr_t)rte_pktmbuf_alloc(mp); }
static int dq_alloc_bulk(struct rte_mempool *mp, uintptr_t arr, unsigned n) {
	return rte_pktmbuf_alloc_bulk(mp, (struct rte_mbuf **)arr, n);
}
static void dq_free(uintptr_t m) { rte_pktmbuf_free((struct rte_mbuf *)m); }

// The pool, or NULL with the reason in *err (rte_errno, read on the thread that set it).
static struct rte_mempool *dq_pool_create(const char *name, unsigned n, unsigned cache, uint16_t room, int socket, int *err) {
	struct rte_mempool *mp = rte_pktmbuf_pool_create(name, n, cache, 0, room, socket);
	*err = mp == NULL ? rte_errno : 0;
	return mp;
}

// The size of mempool.Meta (checked at compile time on the Go side).
enum { dq_meta_size = 16 };
static const struct rte_mbuf_dynfield dq_meta_desc = {
	.name = "dpdkq_meta", .size = dq_meta_size, .align = 8,
};
static int dq_register_meta(int *err) {
	int off = rte_mbuf_dynfield_register(&dq_meta_desc);
	*err = off < 0 ? rte_errno : 0;
	return off;
}

// Field offsets as enumerators: cgo turns them into Go constants, so a field access
// from Go is one load at a fixed displacement.
enum {
	dq_off_buf_addr = offsetof(struct rte_mbuf, buf_addr),
	dq_off_data_off = offsetof(struct rte_mbuf, data_off),
	dq_off_pkt_len  = offsetof(struct rte_mbuf, pkt_len),
	dq_off_data_len = offsetof(struct rte_mbuf, data_len),
	dq_off_port     = offsetof(struct rte_mbuf, port),
	dq_off_nb_segs  = offsetof(struct rte_mbuf, nb_segs),
	dq_off_buf_len  = offsetof(struct rte_mbuf, buf_len),
	dq_off_pool     = offsetof(struct rte_mbuf, pool),
};
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/dpdkq/dpdkq/lcore"
)

// metaFieldSize is the size of the registered metadata dynfield (Meta fits it).
const metaFieldSize = uintptr(C.dq_meta_size)

// DefaultDataRoom is RTE_MBUF_DEFAULT_BUF_SIZE: 2048 bytes of data plus headroom.
const DefaultDataRoom = C.RTE_MBUF_DEFAULT_BUF_SIZE

// Pool is a DPDK packet mbuf pool.
type Pool struct {
	mp   *C.struct_rte_mempool
	name string
	size int
}

// Create makes a pool of n mbufs with a per-lcore cache and a data room per mbuf.
// It needs an initialized EAL.
func Create(name string, n, cache, dataRoom uint, socket int) (*Pool, error) {
	if n == 0 {
		return nil, fmt.Errorf("mempool %q: size must be > 0", name)
	}
	if cache > C.RTE_MEMPOOL_CACHE_MAX_SIZE || cache > n/2 {
		return nil, fmt.Errorf("mempool %q: cache %d must be <= %d and <= half the pool (%d)", name, cache, C.RTE_MEMPOOL_CACHE_MAX_SIZE, n/2)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var errno C.int
	mp := C.dq_pool_create(cname, C.uint(n), C.uint(cache), C.uint16_t(dataRoom), C.int(socket), &errno)
	if mp == nil {
		return nil, fmt.Errorf("mempool %q: rte_pktmbuf_pool_create(n=%d cache=%d room=%d): %s (with --no-huge, raise eal.memory_mb)",
			name, n, cache, dataRoom, lcore.Strerror(int(errno)))
	}
	return &Pool{mp: mp, name: name, size: int(n)}, nil
}

// Free releases the pool. Every mbuf must have been returned first.
func (p *Pool) Free() {
	if p != nil && p.mp != nil {
		C.rte_mempool_free(p.mp)
		p.mp = nil
	}
}

// Name is the pool's name.
func (p *Pool) Name() string { return p.name }

// Size is the number of mbufs in the pool.
func (p *Pool) Size() int { return p.size }

// InUse is the number of mbufs currently allocated from the pool (per-lcore caches
// count as available). Not for the hot path: it walks every lcore cache.
func (p *Pool) InUse() int { return int(C.rte_mempool_in_use_count(p.mp)) }

// Avail is the number of free mbufs (including per-lcore caches).
func (p *Pool) Avail() int { return int(C.rte_mempool_avail_count(p.mp)) }

// Ptr is the pool's rte_mempool pointer as a handle, for other cgo packages.
func (p *Pool) Ptr() uintptr { return uintptr(unsafe.Pointer(p.mp)) }

// Alloc takes one mbuf (0 when the pool is exhausted). One cgo call: control path only.
func (p *Pool) Alloc() uintptr { return uintptr(C.dq_alloc(p.mp)) }

// AllocBulk fills b[0..n) with fresh mbufs, all or nothing.
func (p *Pool) AllocBulk(b *Burst, n int) bool {
	return C.dq_alloc_bulk(p.mp, C.uintptr_t(b.Addr()), C.uint(n)) == 0
}

// Field offsets inside struct rte_mbuf (constants from the C header).
const (
	offBufAddr = uintptr(C.dq_off_buf_addr)
	offDataOff = uintptr(C.dq_off_data_off)
	offPktLen  = uintptr(C.dq_off_pkt_len)
	offDataLen = uintptr(C.dq_off_data_len)
	offPort    = uintptr(C.dq_off_port)
	offNbSegs  = uintptr(C.dq_off_nb_segs)
	offBufLen  = uintptr(C.dq_off_buf_len)
	offPool    = uintptr(C.dq_off_pool)
)

// RegisterMeta registers the metadata dynfield. Call once after EAL init.
func RegisterMeta() error {
	var errno C.int
	off := C.dq_register_meta(&errno)
	if off < 0 {
		return fmt.Errorf("mempool: registering mbuf dynfield: %s", lcore.Strerror(int(errno)))
	}
	offMeta = uintptr(off)
	return nil
}

// Free1 frees one mbuf (control path).
func Free1(m uintptr) { C.dq_free(C.uintptr_t(m)) }

// Burst is an array of mbuf handles in C memory. Because it is not Go memory, passing
// it to C costs no cgocheck walk (see DESIGN.md: ~60 ns per call instead of ~1 µs).
type Burst struct {
	base unsafe.Pointer
	s    []uintptr
}

// NewBurst allocates a C array of n handles. Free it with Close.
func NewBurst(n int) *Burst {
	base := C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(uintptr(0))))
	return &Burst{base: base, s: unsafe.Slice((*uintptr)(base), n)}
}

// S is the Go view of the array.
func (b *Burst) S() []uintptr { return b.s }

// Addr is the array's C address.
func (b *Burst) Addr() uintptr { return uintptr(b.base) }

// Close frees the array (not the mbufs in it).
func (b *Burst) Close() {
	if b.base != nil {
		C.free(b.base)
		b.base, b.s = nil, nil
	}
}

// FreeBulk returns b[0..n) to their pools in one cgo call.
func (b *Burst) FreeBulk(n int) {
	if n > 0 {
		C.dq_free_bulk(C.uintptr_t(uintptr(b.base)), C.uint(n))
	}
}
