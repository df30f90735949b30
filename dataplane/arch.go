package dataplane

import (
	"github.com/dpdkq/dpdkq/voq"
)

// Arch is the queueing architecture an lcore's egress ports use (voq.Arch: egress
// queues, VOQs or input FIFOs). One instance is owned by one lcore.
type Arch = voq.Arch

// defaultArch is a plain FIFO per output port with tail drop: voq's egress
// architecture with one class and no AQM.
func defaultArch(ports []int, limit int) (Arch, error) {
	return voq.New(voq.Config{Kind: voq.KindEgress, Ports: ports, Classes: 1, LimitPkts: limit})
}

// QueueSnapshots returns the published queue statistics of every lcore's
// architecture (one entry per lcore that owns egress ports). Safe while running.
func (r *Router) QueueSnapshots() []voq.ArchSnapshot {
	var out []voq.ArchSnapshot
	for _, w := range r.workers {
		if w.arch == nil {
			continue
		}
		var s voq.ArchSnapshot
		w.arch.Snapshot(&s)
		out = append(out, s)
	}
	return out
}

// Archs returns the queueing architecture of every lcore that owns egress ports (one
// entry per such lcore). The instances are fixed once the router started.
func (r *Router) Archs() []Arch {
	var out []Arch
	for _, w := range r.workers {
		if w.arch != nil {
			out = append(out, w.arch)
		}
	}
	return out
}
