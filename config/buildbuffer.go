package config

import (
	"fmt"

	"github.com/dpdkq/dpdkq/buffer"
	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/voq"
)

// FrameBytes is what one packet counts for in buffer memory sizes given in packets
// (pool sizes, reserves, static thresholds): a full Ethernet frame without FCS.
const FrameBytes = 1514

// MemoryBytes is a buffer-memory size in bytes: bytes as given, packets as full
// frames. Sizes in time or BDP units are refused by validation for these keys.
func (s Size) MemoryBytes() int64 {
	if s.Unit == Packets {
		return int64(s.Value * FrameBytes)
	}
	return int64(s.Value)
}

// HasBufferModel reports whether the buffer section asks for shared-pool carving or a
// hybrid buffer (otherwise queues only have their own limits).
func (c *Config) HasBufferModel() bool {
	return len(c.Buffer.Pools) > 0 || c.Buffer.Hybrid.Enabled
}

// BufferConfig builds the packet-memory model for one queueing architecture, given its
// queue layout. A queue's profile is the binding that names its port and class, else
// the one that names its port with no class, else the first profile. nil when the file
// configures no model.
func (c *Config) BufferConfig(layout []voq.QueueInfo) (*buffer.Config, error) {
	if !c.HasBufferModel() {
		return nil, nil
	}
	b := &c.Buffer
	bc := &buffer.Config{}
	if len(b.Pools) > 0 {
		cc := &carving.Config{CellSize: int(b.CellBytes), Descriptors: int64(b.Descriptors)}
		for _, p := range b.Pools {
			mode := carving.Dynamic
			if p.Mode == "static" {
				mode = carving.Static
			}
			cc.Pools = append(cc.Pools, carving.Pool{Name: p.Name, Size: p.SizeParsed.MemoryBytes(), Mode: mode})
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
			return nil, &FieldError{Key: "buffer.hybrid.mode", Value: h.Mode, Msg: err.Error()}
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

// NewBufferModel builds the model for a layout (nil, nil when none is configured);
// errors name the buffer section.
func (c *Config) NewBufferModel(layout []voq.QueueInfo, copyOffchip func(uintptr) uintptr) (*buffer.Model, error) {
	bc, err := c.BufferConfig(layout)
	if err != nil || bc == nil {
		return nil, err
	}
	if c.Buffer.Hybrid.CopyOffchip {
		bc.CopyOffchip = copyOffchip
	}
	m, err := buffer.New(*bc)
	if err != nil {
		return nil, fmt.Errorf("buffer: %w", err)
	}
	return m, nil
}
