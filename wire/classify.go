package wire

import (
	"fmt"

	"github.com/dpdkq/dpdkq/pkt"
)

// Verdict is the first decision about a received frame.
type Verdict uint8

const (
	// Forward: a valid IPv4 packet for someone else; route it, then DecTTL.
	Forward Verdict = iota
	// ToRouter: ARP (any), or IPv4 addressed to one of the router's unicast addresses;
	// the control path answers ARP requests and ICMP echo and drops the rest
	// (pkt.DropNotForUs).
	ToRouter
	// Drop: drop with the accompanying pkt.DropReason.
	Drop
)

// String names the verdict for logs and tests.
func (v Verdict) String() string {
	switch v {
	case Forward:
		return "forward"
	case ToRouter:
		return "to_router"
	case Drop:
		return "drop"
	}
	return "unknown"
}

// MaxLocalAddrs bounds LocalAddrs: one address per port, and a router here has a few
// ports, so a linear scan over at most 16 words (one or two cache lines) beats a map.
const MaxLocalAddrs = 16

// LocalAddrs is the set of the router's own unicast IPv4 addresses. Fill it at start-up
// with Add; Contains is safe to call concurrently from any number of lcores once
// filling is done (it only reads).
type LocalAddrs struct {
	n    int
	addr [MaxLocalAddrs]uint32
}

// Add inserts a host-order address (duplicates are ignored). It fails when the set
// already holds MaxLocalAddrs addresses.
func (l *LocalAddrs) Add(ip uint32) error {
	if l.Contains(ip) {
		return nil
	}
	if l.n == MaxLocalAddrs {
		return fmt.Errorf("packet: cannot add local address %s: at most %d local addresses (one per port)",
			Addr(ip), MaxLocalAddrs)
	}
	l.addr[l.n] = ip
	l.n++
	return nil
}

// Contains reports whether ip is one of the router's addresses.
func (l *LocalAddrs) Contains(ip uint32) bool {
	for _, a := range l.addr[:l.n] {
		if a == ip {
			return true
		}
	}
	return false
}

// Len returns the number of addresses in the set.
func (l *LocalAddrs) Len() int { return l.n }

// Classify is the per-frame front door: ARP goes ToRouter (p.L3 is set, nothing else);
// IPv4 is validated by ParseIPv4 (Drop with its reason on failure); a valid packet for
// one of local's addresses goes ToRouter; one for the limited broadcast address or a
// multicast group (224/4) is dropped with pkt.DropNotForUs, since this router neither
// forwards those nor answers them; everything else is Forward (route lookup and
// DecTTL are the caller's next steps). Other EtherTypes: Drop, pkt.DropUnsupported.
func Classify(frame []byte, p *IPv4Info, local *LocalAddrs) (Verdict, pkt.DropReason) {
	etype, l3 := EtherType(frame)
	if etype == EtherTypeARP {
		p.L3 = l3
		return ToRouter, pkt.DropNone
	}
	if r := ParseIPv4(frame, p); r != pkt.DropNone {
		return Drop, r
	}
	if local.Contains(p.Dst) {
		return ToRouter, pkt.DropNone
	}
	if p.Dst == 0xffffffff || p.Dst>>28 == 0xe {
		return Drop, pkt.DropNotForUs
	}
	return Forward, pkt.DropNone
}
