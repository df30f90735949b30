package config

import (
	"fmt"

	"github.com/dpdkq/dpdkq/buffer"
	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/voq"
)

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
		for i, p := range b.Pools {
			size := p.SizeParsed.Value
			if p.SizeParsed.Unit == Packets {
				size *= 1514
			}
			mode := carving.Dynamic
			if p.Mode == "static" {
				mode = carving.Static
			}
			_ = i
			cc.Pools = append(cc.Pools, carving.Pool{Name: p.Name, Size: int64(size), Mode: mode})
		}
		for _, pr := range b.Profiles {
			cp := carving.Profile{Name: pr.Name, Pool: pr.Pool, Reserved: int64(pr.ReservedSize.Value)}
			if pr.ReservedSize.Unit == Packets {
				cp.Reserved = int64(pr.ReservedSize.Value * 1514)
			}
			if pr.DynamicTh != nil {
				cp.DynamicTh = *pr.DynamicTh
			} else {
				cp.StaticTh = int64(pr.StaticSize.Value)
				if pr.StaticSize.Unit == Packets {
					cp.StaticTh = int64(pr.StaticSize.Value * 1514)
				}
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
