package control

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/buffer"
	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/plan"
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
	if n := s.plan.Classes; *c < 0 || *c >= n {
		return 0, bad("class", strconv.Itoa(*c), "want 0..%d (or omit for every class)", n-1)
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
		rate, bucket, err := s.plan.PortRate("rate", c.Rate, port)
		if err != nil {
			return changeError(err)
		}
		return s.r.SetPortRate(ctx, port, rate, bucket)
	case "port_delay":
		port, err := s.portIndex(c.Port)
		if err != nil {
			return err
		}
		d, err := s.plan.PortDelay("delay", c.Delay)
		if err != nil {
			return changeError(err)
		}
		return s.r.SetPortDelay(ctx, port, d)
	case "port_catch_up":
		port, err := s.portIndex(c.Port)
		if err != nil {
			return err
		}
		d, err := s.plan.PortCatchUp("catch_up", c.CatchUp)
		if err != nil {
			return changeError(err)
		}
		return s.r.SetPortCatchUp(ctx, port, d)
	case "route_add":
		r, err := s.plan.Config.ParseRoute(c.Prefix, c.Port, c.Via, c.MAC)
		if err != nil {
			return changeError(err)
		}
		rt := dataplane.Route{Prefix: r.Net, Port: r.PortIndex, Via: r.NextHop}
		if r.HasMAC {
			rt.MAC = r.NextHopMAC
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

// changeError turns the plan's *config.FieldError into the API's refusal.
func changeError(err error) error {
	var fe *config.FieldError
	if errors.As(err, &fe) {
		return &api.ChangeError{Field: fe.Key, Value: fe.Value, Msg: fe.Msg}
	}
	return err
}

// classes lists the classes a change addresses (cls < 0: every class).
func (s *Source) classes(cls int) []int {
	if cls >= 0 {
		return []int{cls}
	}
	out := make([]int, s.plan.Classes)
	for i := range out {
		out[i] = i
	}
	return out
}

func (s *Source) applyLimit(ctx context.Context, c api.Change) error {
	port, cls, err := s.portClass(c)
	if err != nil {
		return err
	}
	rate, _ := s.r.PortRate(port)
	pkts, bytes, err := s.plan.QueueLimit("limit", c.Limit, port, rate)
	if err != nil {
		return changeError(err)
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
	prof, err := config.DecodeAQM(c.AQM)
	if err != nil {
		return changeError(err)
	}
	rate, _ := s.r.PortRate(port)
	// Resolve every addressed class before changing any, so a refusal changes nothing.
	classes := s.classes(cls)
	factories := make([]voq.Factory, len(classes))
	for i, k := range classes {
		spec, err := s.plan.AQMSpec(prof, "aqm", port, k, rate)
		if err != nil {
			return changeError(err)
		}
		factories[i] = plan.Factory(spec)
	}
	err = s.r.DoEgress(ctx, port, func(e dataplane.Egress) error {
		for i, k := range classes {
			if err := e.Arch.SetPolicy(port, k, factories[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return bad("aqm", prof.Kind, "%v", err)
	}
	return nil
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
	for _, arch := range s.r.Archs() {
		model, _ := arch.Memory().(*buffer.Model)
		if model == nil {
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
			fn = func() error { return model.SetPoolSize(c.Pool, bytes) }
		case "profile_reserved":
			bytes, err := memorySize(c.Size)
			if err != nil {
				return bad("size", c.Size, "want bytes (3000B) or packets (2p, %d B each)", config.FrameBytes)
			}
			fn = func() error { return model.SetReserved(c.Profile, bytes) }
		case "profile_alpha":
			if c.Alpha == nil {
				return bad("dynamic_th", "", "required: n in -7..7 (alpha = 2^n)")
			}
			fn = func() error { return model.SetAlpha(c.Profile, *c.Alpha) }
		}
		err := s.r.DoArch(ctx, func(a dataplane.Arch) error {
			if a != arch {
				return nil
			}
			return fn()
		})
		if err != nil {
			var pe *carving.ProfileError
			if errors.As(err, &pe) && pe.Param == "dynamic_th" {
				return bad("dynamic_th", pe.Value, "%s; alpha = 2^dynamic_th (profile %s)", pe.Msg, pe.Profile)
			}
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
