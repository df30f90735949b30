package plan

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/traffic"
)

// Traffic is the plan of a port dpdkq implements itself (device: source or sink).
type Traffic struct {
	Source *traffic.SourceParams // device: source
	// Addr addresses a source's frames: SrcIP is the host behind the source port,
	// DstIP[o] a host on port o's subnet (so the router routes the frame to port o).
	// The dataplane fills in the MACs.
	Addr traffic.Addressing
	Sink *traffic.SinkParams // device: sink
}

// SinkHostMAC is the MAC of the host the plan puts behind every sink port (a static
// neighbour), so frames routed to a sink need no ARP.
var SinkHostMAC = [6]byte{0x02, 0xd9, 0x51, 0x4b, 0x00, 0x01}

// hostOf is the address of "the host" on a port's subnet: the next address after the
// port's own, or the one before it when the next is the broadcast address.
func hostOf(pfx netip.Prefix) netip.Addr {
	a := pfx.Addr()
	n := a.Next()
	if !pfx.Contains(n) || (pfx.Bits() <= 30 && n == config.LastAddr(pfx)) {
		return a.Prev()
	}
	return n
}

func ip32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// buildTraffic resolves every source and sink port: the source sections into
// traffic.SourceParams (validated by traffic, errors keyed ports[i].source...), the
// destinations by port name into port indices, the addressing, and one sink setup
// sized for every source's flows.
func (p *Plan) buildTraffic() error {
	c := p.Config
	p.Traffic = make([]Traffic, len(c.Ports))
	idx := map[string]int{}
	for i := range c.Ports {
		idx[c.Ports[i].Name] = i
	}
	var errs []error
	bad := func(key string, v any, format string, a ...any) {
		errs = append(errs, &config.FieldError{Key: key, Value: fmt.Sprint(v), Msg: fmt.Sprintf(format, a...)})
	}
	portIdx := func(key, name string) int {
		j, ok := idx[name]
		switch {
		case !ok:
			bad(key, name, "no such port")
			return -1
		case !c.Ports[j].Addr.IsValid():
			bad(key, name, "port %s has no ipv4 address, so no frame can be routed to it", name)
			return -1
		}
		return j
	}
	n := len(c.Ports)
	dst := make([]uint32, n)
	for i := range c.Ports {
		if c.Ports[i].Addr.IsValid() {
			dst[i] = ip32(hostOf(c.Ports[i].Addr))
		}
	}
	flows, sources := 0, 0
	for i := range c.Ports {
		pt := &c.Ports[i]
		if !pt.IsSource() || pt.Source == nil {
			continue
		}
		key := fmt.Sprintf("ports[%d].source", i)
		s := pt.Source
		if pt.Mode != config.ModeRoute || !pt.Addr.IsValid() {
			bad(fmt.Sprintf("ports[%d].mode", i), pt.Mode, "a source port routes: it needs mode route and an ipv4 address")
			continue
		}
		sp := traffic.SourceParams{Port: i, PPS: s.PPS, Layer: s.Layer, Arrival: s.Arrival, Slot: s.Slot,
			Burst: s.Burst, BurstDist: s.BurstDist, Idle: s.Idle, Period: s.Period, Offset: s.Offset,
			Size: s.Size, Mix: s.Mix, Flows: s.Flows, DSCP: s.DSCP, ECN: s.ECN, Start: s.Start, Stop: s.Stop,
			Seed: s.Seed, CatchUp: s.CatchUp, LateAfter: s.LateAfter}
		if s.Rate != "" {
			r, err := config.ParseRate(s.Rate)
			if err != nil {
				bad(key+".rate", s.Rate, "%v", err)
				continue
			}
			sp.Rate = r
		}
		if s.Peak != "" {
			if s.PPS != 0 {
				var v float64
				if _, err := fmt.Sscanf(s.Peak, "%g", &v); err != nil {
					bad(key+".peak", s.Peak, "with pps, peak is a frame rate in frames/s")
					continue
				}
				sp.Peak = v
			} else {
				r, err := config.ParseRate(s.Peak)
				if err != nil {
					bad(key+".peak", s.Peak, "%v", err)
					continue
				}
				sp.Peak = r
			}
		}
		for _, w := range s.Sizes {
			sp.Sizes = append(sp.Sizes, traffic.SizeWeight{Len: w.Len, Weight: w.Weight})
		}
		d := s.Dest
		sp.Dest.Kind = d.Kind
		for k, name := range d.Ports {
			if j := portIdx(fmt.Sprintf("%s.dest.ports[%d]", key, k), name); j >= 0 {
				sp.Dest.Outputs = append(sp.Dest.Outputs, j)
			}
		}
		if d.Hot != "" {
			sp.Dest.Hot = portIdx(key+".dest.hot", d.Hot)
		}
		sp.Dest.Fraction = d.Fraction
		for k, name := range d.Perm {
			if j := portIdx(fmt.Sprintf("%s.dest.perm[%d]", key, k), name); j >= 0 {
				sp.Dest.Perm = append(sp.Dest.Perm, j)
			}
		}
		if len(d.Weights) > 0 {
			sp.Dest.Weights = make([]float64, n)
			for name, w := range d.Weights {
				if j := portIdx(key+".dest.weights."+name, name); j >= 0 {
					sp.Dest.Weights[j] = w
				}
			}
		}
		if len(sp.Dest.Outputs) == 0 && len(sp.Dest.Perm) == 0 && sp.Dest.Weights == nil {
			bad(key+".dest.ports", nil, "required: the ports this source sends to, e.g. dest: {ports: [out0, out1]}")
			continue
		}
		src, err := traffic.NewSource(key, sp, 0)
		if err != nil {
			errs = append(errs, trafficErr(err))
			continue
		}
		flows = max(flows, src.NumFlowIDs())
		sources++
		p.Traffic[i] = Traffic{Source: &sp, Addr: traffic.Addressing{Port: uint8(i), SrcIP: ip32(hostOf(pt.Addr)), DstIP: dst, TSC: false}}
	}
	for i := range c.Ports {
		pt := &c.Ports[i]
		if !pt.IsSink() {
			continue
		}
		if !pt.Addr.IsValid() {
			bad(fmt.Sprintf("ports[%d].ipv4", i), nil, "a sink port needs an ipv4 address: frames are routed to the host behind it")
			continue
		}
		sk := traffic.SinkParams{Inputs: n, Outputs: n, Classes: p.Classes, Flows: max(flows, 1)}
		if pt.Sink != nil {
			sk.PublishEvery = pt.Sink.PublishEvery
		}
		if _, err := traffic.NewSink(fmt.Sprintf("ports[%d].sink", i), sk, nil); err != nil {
			errs = append(errs, trafficErr(err))
			continue
		}
		p.Traffic[i].Sink = &sk
	}
	if sources > 0 && p.Classes < 1 {
		return errors.New("traffic: no classes")
	}
	return errors.Join(errs...)
}

// trafficErr turns traffic's field errors into config field errors (same key, value
// and message), so they print like every other configuration error.
func trafficErr(err error) error {
	var out []error
	for _, fe := range traffic.Problems(err) {
		out = append(out, &config.FieldError{Key: fe.Key, Value: fe.Value, Msg: fe.Msg})
	}
	if len(out) == 0 {
		return err
	}
	return errors.Join(out...)
}
