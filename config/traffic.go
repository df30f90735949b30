package config

import "time"

// Device names of the ports dpdkq implements itself, without a DPDK device: a traffic
// source (frames synthesized from the router's mbuf pool, paced by the clock) and a
// traffic sink (frames terminated and measured). A single `dpdkq run` can hold a whole
// N x N experiment with them.
const (
	DeviceSource = "source"
	DeviceSink   = "sink"
)

// SourceSection is a source port's `source:` section (ports[i].source, with device:
// source). Units are the file's: rates with bps..Tbps, times as durations. The plan
// turns it into traffic.SourceParams and validates it there.
type SourceSection struct {
	Rate      string        `mapstructure:"rate"`       // bit rate (e.g. 1Gbps), L1 unless layer: l2; or pps
	PPS       float64       `mapstructure:"pps"`        // frame rate, frames/s
	Layer     string        `mapstructure:"layer"`      // l1 (default: frame + 24 B, as the shaper charges) or l2
	Arrival   string        `mapstructure:"arrival"`    // constant (default), poisson, bernoulli, onoff, incast
	Slot      time.Duration `mapstructure:"slot"`       // bernoulli: slot length
	Burst     float64       `mapstructure:"burst"`      // onoff: mean frames per burst; incast: frames per burst
	BurstDist string        `mapstructure:"burst_dist"` // onoff: geometric (default) or fixed
	Idle      time.Duration `mapstructure:"idle"`       // onoff: mean idle time (or peak)
	Peak      string        `mapstructure:"peak"`       // onoff: rate inside a burst (a bit rate, or frames/s with pps)
	Period    time.Duration `mapstructure:"period"`     // incast: time between burst starts
	Offset    time.Duration `mapstructure:"offset"`     // incast: first burst at start + offset
	Dest      DestSection   `mapstructure:"dest"`
	Size      int           `mapstructure:"size"`  // fixed frame length without FCS (60..9014)
	Mix       string        `mapstructure:"mix"`   // imix
	Sizes     []SizeWeight  `mapstructure:"sizes"` // explicit distribution
	Flows     int           `mapstructure:"flows"` // flows per destination port (default 1)
	DSCP      []int         `mapstructure:"dscp"`  // DSCP of flow k is dscp[k mod len]
	ECN       []int         `mapstructure:"ecn"`   // ECN codepoint of flow k is ecn[k mod len]
	Start     time.Duration `mapstructure:"start"`
	Stop      time.Duration `mapstructure:"stop"` // 0: never
	Seed      uint64        `mapstructure:"seed"`
	CatchUp   time.Duration `mapstructure:"catch_up"`   // backlog older than this is skipped (default 1ms)
	LateAfter time.Duration `mapstructure:"late_after"` // lateness that counts a frame late (default 10µs)
}

// DestSection says where a source's frames go: port names of the router.
type DestSection struct {
	Kind     string             `mapstructure:"kind"`     // uniform (default), hotspot, permutation, weights
	Ports    []string           `mapstructure:"ports"`    // uniform/hotspot: destination ports
	Hot      string             `mapstructure:"hot"`      // hotspot: the hot port (one of ports)
	Fraction float64            `mapstructure:"fraction"` // hotspot: share of frames to hot
	Perm     []string           `mapstructure:"perm"`     // permutation: perm[k] is where source port k sends (k = index among sources)
	Weights  map[string]float64 `mapstructure:"weights"`  // weights: port name -> weight
}

// SizeWeight is one entry of an explicit frame-size distribution.
type SizeWeight struct {
	Len    int     `mapstructure:"len"`
	Weight float64 `mapstructure:"weight"`
}

// SinkSection is a sink port's `sink:` section (device: sink).
type SinkSection struct {
	PublishEvery int `mapstructure:"publish_every"` // records between snapshots for readers (default 1024)
}

// IsSource reports whether the port is a dpdkq traffic source.
func (p *Port) IsSource() bool { return p.DevArgs == DeviceSource }

// IsSink reports whether the port is a dpdkq traffic sink.
func (p *Port) IsSink() bool { return p.DevArgs == DeviceSink }

// IsInternal reports whether the port has no DPDK device (a source or a sink).
func (p *Port) IsInternal() bool { return p.IsSource() || p.IsSink() }
