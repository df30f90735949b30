package dataplane

import (
	"sync"
	"sync/atomic"

	"github.com/dpdkq/dpdkq/wire"
)

// neighTable maps IPv4 next hops to MAC addresses (the ARP cache). Every lcore reads
// it per packet without locks; learning (rare: ARP replies and requests to us) takes a
// mutex. Entries are never removed, only updated, so a reader that matched an IP reads
// a MAC written before the IP was published. Open addressing, linear probing, fixed
// size: a full table refuses new neighbors (their packets count as arp_pending).
type neighTable struct {
	mu    sync.Mutex
	slots [neighSlots]neighEntry
}

// 4096 slots: far more than the hosts of a lab's few subnets, small enough (96 KB) to
// stay in cache; probing stops at an empty slot.
const neighSlots = 4096

type neighEntry struct {
	ip      atomic.Uint32 // host order; 0 marks an empty slot
	mac     atomic.Uint64 // 48-bit MAC in the low bits, bit 48 set when resolved
	lastReq atomic.Int64  // last time an ARP request was sent for it (ns)
	static  atomic.Bool   // configured: never overwritten by learning
}

const macValid = 1 << 48

func macToU64(m [6]byte) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

func u64ToMAC(v uint64) (m [6]byte) {
	m[0], m[1], m[2], m[3], m[4], m[5] = byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return
}

func neighHash(ip uint32) uint32 { return wire.Hash32(ip) >> (32 - 12) } // neighSlots = 2^12

// lookup returns the MAC of ip if resolved. No allocation, no lock.
func (t *neighTable) lookup(ip uint32) ([6]byte, bool) {
	for i, h := uint32(0), neighHash(ip); i < neighSlots; i++ {
		e := &t.slots[(h+i)&(neighSlots-1)]
		switch e.ip.Load() {
		case ip:
			v := e.mac.Load()
			return u64ToMAC(v), v&macValid != 0
		case 0:
			return [6]byte{}, false
		}
	}
	return [6]byte{}, false
}

// slot finds or inserts ip's entry (nil when the table is full). Caller holds mu.
func (t *neighTable) slot(ip uint32) *neighEntry {
	for i, h := uint32(0), neighHash(ip); i < neighSlots; i++ {
		e := &t.slots[(h+i)&(neighSlots-1)]
		switch e.ip.Load() {
		case ip:
			return e
		case 0:
			e.ip.Store(ip)
			return e
		}
	}
	return nil
}

// learn records ip -> mac (static entries win over learned ones).
func (t *neighTable) learn(ip uint32, mac [6]byte, static bool) bool {
	if ip == 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.slot(ip)
	if e == nil {
		return false
	}
	if e.static.Load() && !static {
		return true
	}
	e.mac.Store(macToU64(mac) | macValid)
	if static {
		e.static.Store(true)
	}
	return true
}

// shouldRequest reports whether an ARP request for ip is due (at most one per
// interval per neighbor across all lcores), reserving the slot for ip.
func (t *neighTable) shouldRequest(ip uint32, now, interval int64) bool {
	var e *neighEntry
	for i, h := uint32(0), neighHash(ip); i < neighSlots; i++ {
		s := &t.slots[(h+i)&(neighSlots-1)]
		if v := s.ip.Load(); v == ip {
			e = s
			break
		} else if v == 0 {
			break
		}
	}
	if e == nil {
		t.mu.Lock()
		e = t.slot(ip)
		t.mu.Unlock()
		if e == nil {
			return false
		}
	}
	last := e.lastReq.Load()
	if last != 0 && now-last < interval {
		return false
	}
	return e.lastReq.CompareAndSwap(last, now)
}

// Neighbor is one ARP cache entry for the API and summary.
type Neighbor struct {
	IP       uint32
	MAC      [6]byte
	Resolved bool
	Static   bool
}

// snapshot lists the table (control path).
func (t *neighTable) snapshot() []Neighbor {
	var out []Neighbor
	for i := range t.slots {
		e := &t.slots[i]
		if ip := e.ip.Load(); ip != 0 {
			v := e.mac.Load()
			out = append(out, Neighbor{IP: ip, MAC: u64ToMAC(v), Resolved: v&macValid != 0, Static: e.static.Load()})
		}
	}
	return out
}
