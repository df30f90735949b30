package control

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/voq"
)

func bad(field, value, format string, a ...any) error {
	return &api.ChangeError{Field: field, Value: value, Msg: fmt.Sprintf(format, a...)}
}

func (s *Source) portIndex(name string) (int, error) {
	for i, n := range s.r.PortNames() {
		if n == name {
			return i, nil
		}
	}
	return 0, bad("port", name, "no such port (ports: %v)", s.r.PortNames())
}

func (s *Source) class(c *int) (int, error) {
	if c == nil {
		return -1, nil
	}
	if *c < 0 || *c >= s.cfg.Queueing.Classes {
		return 0, bad("class", strconv.Itoa(*c), "want 0..%d (or omit for every class)", s.cfg.Queueing.Classes-1)
	}
	return *c, nil
}

// Apply implements api.Source: it validates like the config file does, then has the
// owning lcore apply the change between bursts.
func (s *Source) Apply(ctx context.Context, c api.Change) error {
	switch c.Kind {
	case "queue_limit":
		return s.applyLimit(ctx, c)
	case "aqm":
		return s.applyAQM(ctx, c)
	case "port_rate":
		port, err := s.portIndex(c.Port)
		if err != nil {
			return err
		}
		rate := 0.0
		if c.Rate != "" && c.Rate != "0" {
			if rate, err = config.ParseRate(c.Rate); err != nil {
				return bad("rate", c.Rate, "%v", err)
			}
		}
		// The same default depth as at start-up, at the new rate.
		return s.r.SetPortRate(ctx, port, rate, link.DefaultBurstBytes(rate, s.cfg.Ports[port].WireFrameBytes()))
	case "port_delay":
		port, err := s.portIndex(c.Port)
		if err != nil {
			return err
		}
		d, err := time.ParseDuration(c.Delay)
		if err != nil || d < 0 || d > 10*time.Second {
			return bad("delay", c.Delay, "want a duration in 0..10s, e.g. 43.5ms")
		}
		return s.r.SetPortDelay(ctx, port, d)
	case "route_add":
		pfx, err := netip.ParsePrefix(c.Prefix)
		if err != nil || !pfx.Addr().Is4() {
			return bad("prefix", c.Prefix, "want an IPv4 CIDR, e.g. 10.3.0.0/16")
		}
		port, err := s.portIndex(c.Port)
		if err != nil {
			return err
		}
		rt := dataplane.Route{Prefix: pfx.Masked(), Port: port}
		if c.Via != "" {
			if rt.Via, err = netip.ParseAddr(c.Via); err != nil || !rt.Via.Is4() {
				return bad("via", c.Via, "want an IPv4 next-hop address")
			}
			if a := s.r.PortConfigs()[port].Addr; a.IsValid() && !a.Masked().Contains(rt.Via) {
				return bad("via", c.Via, "next hop is not in %s's subnet %s", c.Port, a.Masked())
			}
		}
		if c.MAC != "" {
			hw, err := config.ParseMAC(c.MAC)
			if err != nil {
				return bad("mac", c.MAC, "%v", err)
			}
			rt.MAC = hw
		}
		if err := s.r.AddRouteLive(ctx, rt); err != nil {
			return bad("prefix", c.Prefix, "%v", err)
		}
		return nil
	case "route_del":
		pfx, err := netip.ParsePrefix(c.Prefix)
		if err != nil || !pfx.Addr().Is4() {
			return bad("prefix", c.Prefix, "want an IPv4 CIDR, e.g. 10.3.0.0/16")
		}
		if err := s.r.DeleteRouteLive(ctx, pfx); err != nil {
			return bad("prefix", c.Prefix, "%v", err)
		}
		return nil
	case "pool_size", "profile_alpha", "profile_reserved":
		return s.applyBuffer(ctx, c)
	}
	return bad("kind", c.Kind, "want one of %v", api.ChangeKinds)
}

// portClass resolves the port and class a queue change addresses.
func (s *Source) portClass(c api.Change) (port, cls int, err error) {
	if port, err = s.portIndex(c.Port); err != nil {
		return 0, 0, err
	}
	cls, err = s.class(c.Class)
	return port, cls, err
}

func (s *Source) applyLimit(ctx context.Context, c api.Change) error {
	port, cls, err := s.portClass(c)
	if err != nil {
		return err
	}
	size, err := config.ParseSize(c.Limit)
	if err != nil || !(size.Value > 0) {
		return bad("limit", c.Limit, "want a size above zero: packets (1000p), bytes (64KB), time (10ms) or bdp (0.5bdp)")
	}
	rate, _ := s.r.PortRate(port)
	pkts, bytes, err := s.cfg.ResolveLimit(size, port, rate)
	if err != nil {
		return bad("limit", c.Limit, "%v", err)
	}
	err = s.r.DoEgress(ctx, port, func(e dataplane.Egress) error { return e.Arch.SetLimit(port, cls, pkts, bytes) })
	if err != nil {
		return bad("limit", c.Limit, "%v", err)
	}
	return nil
}

func (s *Source) applyAQM(ctx context.Context, c api.Change) error {
	port, cls, err := s.portClass(c)
	if err != nil {
		return err
	}
	var prof config.AQMProfile
	dec, _ := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result: &prof, TagName: "mapstructure", ErrorUnused: true, WeaklyTypedInput: true,
		DecodeHook: mapstructure.StringToTimeDurationHookFunc(),
	})
	if err := dec.Decode(c.AQM); err != nil {
		return bad("aqm", fmt.Sprint(c.AQM), "%v", err)
	}
	seedClass := cls
	if seedClass < 0 {
		seedClass = 0
	}
	spec, err := s.cfg.AQMSpecFrom(prof, "aqm", seedClass)
	if err != nil {
		if fe, ok := err.(*config.FieldError); ok {
			return &api.ChangeError{Field: fe.Key, Value: fe.Value, Msg: fe.Msg}
		}
		return bad("aqm", prof.Kind, "%v", err)
	}
	var factory voq.Factory
	if spec.Kind != aqm.KindNone {
		factory = func(q int, _ uint8) aqm.Policy {
			p, err := spec.New(uint64(q))
			if err != nil {
				return aqm.NewNone() // validated above
			}
			return p
		}
	}
	return s.r.DoEgress(ctx, port, func(e dataplane.Egress) error { return e.Arch.SetPolicy(port, cls, factory) })
}

// memorySize parses a buffer-memory size (bytes or packets), as the config does.
func memorySize(raw string) (int64, error) {
	size, err := config.ParseSize(raw)
	if err != nil {
		return 0, err
	}
	if size.Unit != config.Bytes && size.Unit != config.Packets {
		return 0, fmt.Errorf("%s is not a memory size", raw)
	}
	return size.MemoryBytes(), nil
}

func (s *Source) applyBuffer(ctx context.Context, c api.Change) error {
	found := false
	for _, e := range s.archs.All() {
		if e.Model == nil {
			continue
		}
		found = true
		var fn func() error
		switch c.Kind {
		case "pool_size":
			bytes, err := memorySize(c.Size)
			if err != nil || bytes == 0 {
				return bad("size", c.Size, "want bytes (4MB) or packets (3000p, %d B each, as in the config), above zero", config.FrameBytes)
			}
			fn = func() error { return e.Model.SetPoolSize(c.Pool, bytes) }
		case "profile_reserved":
			bytes, err := memorySize(c.Size)
			if err != nil {
				return bad("size", c.Size, "want bytes (3000B) or packets (2p, %d B each)", config.FrameBytes)
			}
			fn = func() error { return e.Model.SetReserved(c.Profile, bytes) }
		case "profile_alpha":
			if c.Alpha == nil {
				return bad("dynamic_th", "", "required: n in -7..7 (alpha = 2^n)")
			}
			fn = func() error { return e.Model.SetAlpha(c.Profile, *c.Alpha) }
		}
		err := s.r.DoArch(ctx, func(a dataplane.Arch) error {
			if a != e.Arch {
				return nil
			}
			return fn()
		})
		if err != nil {
			field := "pool"
			if c.Kind != "pool_size" {
				field = "profile"
			}
			return bad(field, c.Pool+c.Profile, "%v", err)
		}
	}
	if !found {
		return bad("kind", c.Kind, "no buffer model is configured (buffer.pools)")
	}
	return nil
}
