package plan

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dpdkq/dpdkq/buffer"
	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/voq"
)

// HasMemoryModel reports whether the buffer section asks for shared-pool carving or
// hybrid tiers (otherwise queues only have their own limits).
func (p *Plan) HasMemoryModel() bool {
	b := &p.Config.Buffer
	return len(b.Pools) > 0 || b.Hybrid.Enabled
}

// memoryConfig builds the packet-memory model's parameters for one architecture's
// queue layout. A queue's profile is the binding that names its port and class, else
// the one that names its port with no class, else the first profile. nil when the
// file configures no model.
func (p *Plan) memoryConfig(layout []voq.QueueInfo) (*buffer.Config, error) {
	if !p.HasMemoryModel() {
		return nil, nil
	}
	b := &p.Config.Buffer
	bc := &buffer.Config{}
	if len(b.Pools) > 0 {
		cc := &carving.Config{CellSize: int(b.CellBytes), Descriptors: int64(b.Descriptors)}
		for _, pl := range b.Pools {
			mode := carving.Dynamic
			if pl.Mode == "static" {
				mode = carving.Static
			}
			cc.Pools = append(cc.Pools, carving.Pool{Name: pl.Name, Size: pl.SizeParsed.MemoryBytes(), Mode: mode})
		}
		for _, pr := range b.Profiles {
			cp := carving.Profile{Name: pr.Name, Pool: pr.Pool, Reserved: pr.ReservedSize.MemoryBytes()}
			if pr.DynamicTh != nil {
				cp.DynamicTh = *pr.DynamicTh
			} else {
				cp.StaticTh = pr.StaticSize.MemoryBytes()
			}
			cc.Profiles = append(cc.Profiles, cp)
		}
		bc.Carving = cc
	}
	if b.Hybrid.Enabled {
		h := &b.Hybrid
		mode, err := hybrid.ParseMode(h.Mode)
		if err != nil {
			return nil, fe("buffer.hybrid.mode", h.Mode, "want one of hybrid, onchip-only, offchip-only")
		}
		hp := &hybrid.Params{Enabled: true, Mode: mode, OnchipBytes: h.OnchipBytes, OffchipBytes: h.OffchipBytes,
			OffchipRate: h.OffchipBps, EvictPackets: int64(h.EvictPackets), EvictBytes: h.EvictBytesLimit}
		for _, cls := range h.PinnedClasses {
			hp.PinnedClasses |= 1 << uint(cls)
		}
		bc.Hybrid = hp
	}
	profileOf := func(qi voq.QueueInfo) string {
		port := qi.Port
		if port < 0 {
			port = qi.Input // an input FIFO holds packets for every output
		}
		best, bestScore := "", -1
		for _, bd := range b.Bindings {
			if bd.PortIndex != port {
				continue
			}
			score := 0
			if bd.Class != nil {
				if *bd.Class != qi.Class {
					continue
				}
				score = 1
			}
			if score > bestScore {
				best, bestScore = bd.Profile, score
			}
		}
		if best == "" && len(b.Profiles) > 0 {
			best = b.Profiles[0].Name
		}
		return best
	}
	bc.SetLayout(layout, profileOf)
	return bc, nil
}

// MemoryModel builds the model for a layout (nil, nil when none is configured); errors
// name the buffer section. copyOffchip is the dataplane's copy into the off-chip pool
// (used with buffer.hybrid.copy_offchip).
func (p *Plan) MemoryModel(layout []voq.QueueInfo, copyOffchip func(uintptr) uintptr) (*buffer.Model, error) {
	bc, err := p.memoryConfig(layout)
	if err != nil || bc == nil {
		return nil, err
	}
	if p.Config.Buffer.Hybrid.CopyOffchip {
		bc.CopyOffchip = copyOffchip
	}
	m, err := buffer.New(*bc)
	if err != nil {
		return nil, p.memoryError(err)
	}
	return m, nil
}

// hybridKeys maps hybrid's parameter names to the buffer.hybrid keys.
var hybridKeys = map[string]string{"onchip_bytes": "onchip", "offchip_bytes": "offchip", "offchip_rate": "offchip_bandwidth"}

// memoryError names the key in carving's and hybrid's errors.
func (p *Plan) memoryError(err error) error {
	var pe *carving.ProfileError
	if errors.As(err, &pe) {
		for i, pr := range p.Config.Buffer.Profiles {
			if pr.Name == pe.Profile {
				return fe(fmt.Sprintf("buffer.profiles[%d].%s", i, pe.Param), pe.Value, "want %s", strings.TrimPrefix(pe.Msg, "out of range "))
			}
		}
	}
	msg := strings.TrimPrefix(err.Error(), "buffer: ")
	switch {
	case strings.HasPrefix(msg, "hybrid: "):
		msg = strings.TrimPrefix(msg, "hybrid: ")
		// hybrid names its Params in their config spelling where they differ.
		param, rest, _ := strings.Cut(msg, " ")
		if k, ok := hybridKeys[param]; ok {
			return fe("buffer.hybrid."+k, nil, "%s", rest)
		}
		return fe("buffer.hybrid", nil, "%s", msg)
	case strings.HasPrefix(msg, "carving: "):
		return fe("buffer", nil, "%s", strings.TrimPrefix(msg, "carving: "))
	}
	return fe("buffer", nil, "%s", msg)
}

// mbufReserve is what the mbuf pool must keep beyond any one queue: every rx
// descriptor holds an mbuf, every lcore's cache can hide Cache more, each worker's rx
// and tx burst arrays hold a burst each, and ARP and ICMP replies need mbufs of their
// own (a burst's worth).
func mbufReserve(c *config.Config) int {
	n := 0
	for _, pt := range c.Ports {
		n += pt.RXQueues * pt.RXDesc
	}
	n += len(c.EAL.LcoreIDs) * c.Mempool.Cache
	n += len(c.WorkerLcores)*2*c.BurstSize + c.BurstSize
	return n
}

// checkQueueMbufs refuses a queue limit that one congested queue could not reach
// without taking the mbufs the rx rings and control frames need: the device would
// then lose input as rx_nombuf and the router could not answer ARP. Packet limits are
// exact; a byte limit is refused when it holds more full-size frames than the pool
// can spare, and noted in Warnings when it could hold that many minimum-size frames.
func (p *Plan) checkQueueMbufs() error {
	c := p.Config
	p.reserve = mbufReserve(c)
	if c.Mempool.Mbufs <= p.reserve {
		return fe("mempool.mbufs", c.Mempool.Mbufs, "too small: the rx rings (rx_queues x rx_desc over all ports), the per-lcore "+
			"caches, the bursts and control frames hold %d mbufs before any packet is queued; want more than that", p.reserve)
	}
	var errs []error
	seen := map[string]bool{}
	for cls := 0; cls < p.Classes; cls++ {
		key := p.classKey(cls) + ".limit"
		if p.fqClass(cls) {
			fq := p.FQ
			if fq.LimitPkts > 0 && fq.LimitPkts <= voq.MaxLimitPkts && fq.LimitPkts > c.Mempool.Mbufs-p.reserve && !seen["fq"] {
				seen["fq"] = true
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s.fq.limit = %q: FQ-CoDel may hold %d packets, more than the %d mbufs "+
					"the pool can spare (mempool.mbufs %d minus %d for rx rings, caches and control frames); an unresponsive flood "+
					"would exhaust the pool", p.classKey(cls), c.Queueing.PerClass[cls].FQ.Limit, fq.LimitPkts, c.Mempool.Mbufs-p.reserve,
					c.Mempool.Mbufs, p.reserve))
			}
			continue
		}
		for pi := range p.Ports {
			l := p.Ports[pi].Limits[cls]
			if seen[key] {
				break
			}
			if err := p.checkLimitMbufs(key, c.Queueing.PerClass[cls].Limit, l.Pkts, l.Bytes, true); err != nil {
				errs = append(errs, err)
				seen[key] = true
			}
		}
	}
	return errors.Join(errs...)
}

// checkLimitMbufs checks one queue limit against the mbufs the pool can spare.
func (p *Plan) checkLimitMbufs(key, raw string, pkts, bytes int, warn bool) error {
	c := p.Config
	spare := c.Mempool.Mbufs - p.reserve
	how := fmt.Sprintf("mempool.mbufs %d minus %d kept for rx rings, lcore caches, bursts and control frames", c.Mempool.Mbufs, p.reserve)
	switch {
	case pkts > 0 && pkts > spare:
		return fe(key, raw, "one full queue would hold %d mbufs, more than the pool can spare (%d = %s): want at most %dp, or raise mempool.mbufs",
			pkts, spare, how, max(spare, 0))
	case pkts == 0 && bytes/config.FrameBytes > spare:
		return fe(key, raw, "resolves to %d B, %d full-size frames: more mbufs than the pool can spare (%d = %s); lower it or raise mempool.mbufs",
			bytes, bytes/config.FrameBytes, spare, how)
	case pkts == 0 && bytes/64 > spare && warn:
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s = %q: %d B hold up to %d minimum-size frames, more than the %d mbufs the pool can spare (%s)",
			key, raw, bytes, bytes/64, spare, how))
	}
	return nil
}

// checkMempool refuses a configuration whose logical buffer pools can hold more
// packets than the DPDK mempool has mbufs: every stored packet is one mbuf, and the rx
// rings, caches and bursts hold mbufs too.
func (p *Plan) checkMempool() error {
	c := p.Config
	if len(c.Buffer.Pools) == 0 {
		return nil
	}
	cell := c.Buffer.CellBytes
	if cell <= 0 {
		cell = 256
	}
	var storable int64
	for _, pl := range c.Buffer.Pools {
		if pl.SizeParsed.Unit == config.Packets {
			storable += int64(pl.SizeParsed.Value)
			continue
		}
		storable += pl.SizeParsed.MemoryBytes() / cell
	}
	if d := int64(c.Buffer.Descriptors); d > 0 && d < storable {
		storable = d
	}
	need := storable + int64(p.reserve)
	if int64(c.Mempool.Mbufs) < need {
		return fe("mempool.mbufs", c.Mempool.Mbufs,
			"the buffer pools can hold %d packets (pool bytes / %d B cells, or buffer.descriptors), plus %d in rx rings, caches, "+
				"bursts and control frames: want at least %d mbufs, or smaller pools, or buffer.descriptors", storable, cell, p.reserve, need)
	}
	return nil
}
