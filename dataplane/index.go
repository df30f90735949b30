package dataplane

import (
	"math/bits"
	"sync/atomic"
)

// destIndex counts queued packets per IPv4 destination, so "how many packets in the
// buffer are headed to X" is answered in O(1) while the router runs. Each lcore that
// owns queues keeps one: it increments for a packet still queued at a publication
// (worker.indexArrival) and decrements when that packet leaves the queue (dequeue or
// drop), remembering the slot in the packet's descriptor. The table is
// bounded (open addressing, linear probing); when it has no room for a new destination
// the packet is counted in the "other" bucket. A slot whose count fell to zero may be
// taken by a new destination: lookups never stop at a reused slot (only at an empty
// one), so no key is ever lost.
//
// Readers never touch the owner's table: Publish copies the changed slots into a
// seqlock-protected mirror with the same layout, and lookups probe the mirror.
type destIndex struct {
	slots [destSlots]destSlot
	other int64
	dirty [destSlots / 64]uint64 // slots changed since the last publish

	seq    atomic.Uint64
	pkeys  [destSlots]atomic.Uint32
	pcount [destSlots]atomic.Int64
	pother atomic.Int64
}

// destSlot keeps what one packet's inc or dec touches in 8 bytes (one cache line;
// the owner's table is 32 KB).
type destSlot struct {
	key   uint32
	count int32 // queued packets: bounded by the mbuf pool, far below 2^31
}

// 4096 destinations per lcore: a lab's hosts and prefixes fit; more go to "other".
const destSlots = 4096

// maxProbe bounds every probe sequence, so a crowded table costs at most this many
// slot reads per packet; a destination that finds no place within it counts as other.
const maxProbe = 32

// otherSlot is the slot value of the "other" bucket (slots are stored +1).
const otherSlot = 0xFFFF

func newDestIndex() *destIndex {
	return &destIndex{}
}

func destHash(ip uint32) uint32 { return (ip * 2654435761) >> 20 }

// inc counts one more packet for ip and returns the slot+1 to remember.
func (x *destIndex) inc(ip uint32) uint16 {
	if ip == 0 {
		x.other++
		return otherSlot
	}
	reuse := -1
	h := destHash(ip)
	for i := uint32(0); i < maxProbe; i++ {
		s := (h + i) & (destSlots - 1)
		k := x.slots[s].key
		if k == ip {
			x.bump(int(s), 1)
			return uint16(s) + 1
		}
		if k == 0 {
			if reuse < 0 {
				reuse = int(s)
			}
			break
		}
		if reuse < 0 && x.slots[s].count == 0 {
			reuse = int(s)
		}
	}
	if reuse < 0 {
		x.other++
		return otherSlot
	}
	x.slots[reuse].key = ip
	x.bump(reuse, 1)
	return uint16(reuse) + 1
}

// dec undoes inc for the slot it returned.
func (x *destIndex) dec(slot uint16) {
	if slot == otherSlot {
		x.other--
		return
	}
	x.bump(int(slot)-1, -1)
}

func (x *destIndex) bump(s int, d int32) {
	x.slots[s].count += d
	x.dirty[s>>6] |= 1 << (s & 63) // no branch: a store to a word that stays in L1
}

// publish copies changed slots to the readers' mirror.
func (x *destIndex) publish() {
	changed := false
	for _, w := range x.dirty {
		if w != 0 {
			changed = true
			break
		}
	}
	if !changed && x.pother.Load() == x.other {
		return
	}
	x.seq.Add(1)
	for i, w := range x.dirty {
		for w != 0 {
			s := i<<6 | bits.TrailingZeros64(w)
			w &= w - 1
			// Loads are plain moves, stores are not: store only what changed (a busy
			// destination often drains back to the count last published).
			e := &x.slots[s]
			if x.pkeys[s].Load() != e.key {
				x.pkeys[s].Store(e.key)
			}
			if c := int64(e.count); x.pcount[s].Load() != c {
				x.pcount[s].Store(c)
			}
		}
		x.dirty[i] = 0
	}
	x.pother.Store(x.other)
	x.seq.Add(1)
}

// lookup returns the published count for ip, or the "other" bucket (other true) when
// ip has no slot. Safe from any goroutine.
func (x *destIndex) lookup(ip uint32) (n int64, other bool) {
	for {
		s0 := x.seq.Load()
		if s0&1 != 0 {
			continue
		}
		n, other = x.probe(ip)
		if x.seq.Load() == s0 {
			return n, other
		}
	}
}

func (x *destIndex) probe(ip uint32) (int64, bool) {
	h := destHash(ip)
	for i := uint32(0); i < maxProbe; i++ {
		s := (h + i) & (destSlots - 1)
		switch x.pkeys[s].Load() {
		case ip:
			return x.pcount[s].Load(), false
		case 0:
			return x.pother.Load(), true
		}
	}
	return x.pother.Load(), true
}
