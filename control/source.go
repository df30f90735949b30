// Package control connects the HTTP control plane (package api) to a running router:
// it implements api.Source over the Dataplane interface (which *dataplane.Router
// implements), turning published snapshots into the API's views and live changes,
// resolved and checked by the run's plan (package plan), into commands the owning
// lcores apply between bursts.
package control

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/plan"
	"github.com/dpdkq/dpdkq/voq"
)

// Dataplane is what the control plane needs of a running router.
type Dataplane interface {
	Lcores() []dataplane.LcoreInfo
	// StallThreshold is the iteration gap the poll loops count as a stall.
	StallThreshold() time.Duration
	Pool() *mempool.Pool // nil: no pool to report
	PortNames() []string
	PortConfigs() []dataplane.PortConfig
	PortMAC(i int) [6]byte
	PortRate(i int) (rateBps float64, delay time.Duration)
	Counters() []dataplane.PortCounters
	QueueSnapshots() []voq.ArchSnapshot
	// Archs lists the queueing architectures (one per lcore owning egress ports).
	Archs() []dataplane.Arch
	Routes() []dataplane.RouteEntry
	Neighbors() []dataplane.Neighbor
	DestinationCount(dst netip.Addr) (n uint64, other bool)
	QueuedBetween(ctx context.Context, from, to int64, max int) []dataplane.QueuedPacket

	SetPortRate(ctx context.Context, i int, rateBps float64, depth int) error
	SetPortDelay(ctx context.Context, i int, d time.Duration) error
	SetPortCatchUp(ctx context.Context, i int, d time.Duration) error
	PortCatchUp(i int) time.Duration
	AddRouteLive(ctx context.Context, rt dataplane.Route) error
	DeleteRouteLive(ctx context.Context, pfx netip.Prefix) error
	// DoEgress runs fn on the lcore that owns port's egress, between bursts.
	DoEgress(ctx context.Context, port int, fn func(e dataplane.Egress) error) error
	// DoArch runs fn on every lcore that owns an architecture, between bursts.
	DoArch(ctx context.Context, fn func(a dataplane.Arch) error) error
}

// Source implements api.Source for one running router.
type Source struct {
	r           Dataplane
	plan        *plan.Plan
	version     string
	dpdkVersion string
	started     time.Time
}

var _ api.Source = (*Source)(nil)

// New wraps a started router and the plan it was started from. version is dpdkq's,
// dpdkVersion DPDK's.
func New(r Dataplane, p *plan.Plan, version, dpdkVersion string) *Source {
	return &Source{r: r, plan: p, version: version, dpdkVersion: dpdkVersion, started: time.Now()}
}

func macString(m [6]byte) string { return net.HardwareAddr(m[:]).String() }

// Status implements api.Source.
func (s *Source) Status() api.Status {
	st := api.Status{Version: s.version, DPDKVersion: s.dpdkVersion, Uptime: time.Since(s.started),
		StallThreshold: s.r.StallThreshold()}
	for _, l := range s.r.Lcores() {
		lc := api.Lcore{ID: l.ID, RxQueues: l.RxQueues, Egress: l.Egress, Stalls: l.Stalls.Count,
			Stalled: l.Stalls.Total, WorstStall: l.Stalls.Worst, RecentStalls: []api.Stall{}}
		for _, x := range l.Stalls.Recent {
			lc.RecentStalls = append(lc.RecentStalls, api.Stall{Start: x.Start, Duration: x.Duration})
		}
		st.Workers = append(st.Workers, lc)
	}
	if p := s.r.Pool(); p != nil {
		st.Mempool = api.Mempool{Size: p.Size(), InUse: p.InUse()}
	}
	return st
}

func drops(d *[pkt.NumDropReasons]uint64) map[string]uint64 {
	m := map[string]uint64{}
	for r, v := range d {
		if v != 0 && pkt.DropReason(r) != pkt.DropShutdown {
			m[pkt.DropReason(r).String()] = v
		}
	}
	return m
}

func figures(q *voq.QueueStats, head int64) api.QueueFigures {
	f := api.QueueFigures{Packets: q.Pkts, Bytes: q.Bytes, PeakPackets: q.PeakPkts, PeakBytes: q.PeakBytes,
		Enqueued: q.Enqueued, Dequeued: q.Dequeued, DequeuedBytes: q.DequeuedBytes, Marks: q.Marks,
		Drops: drops(&q.Drops), HeadSojourn: time.Duration(head),
		SojournBuckets: api.SojournBuckets(&q.Sojourn.Sparse)}
	if q.Sojourn.Count() > 0 {
		f.SojournP50 = time.Duration(q.Sojourn.Quantile(0.5))
		f.SojournP99 = time.Duration(q.Sojourn.Quantile(0.99))
	}
	return f
}

// Ports implements api.Source.
func (s *Source) Ports() []api.Port {
	cnt := s.r.Counters()
	egress := map[int]api.QueueFigures{}
	for _, as := range s.r.QueueSnapshots() {
		for i := range as.Ports {
			ps := &as.Ports[i]
			egress[ps.Port] = figures(&ps.QueueStats, ps.HeadSojourn)
		}
	}
	out := make([]api.Port, len(cnt))
	for i, pc := range s.r.PortConfigs() {
		c := &cnt[i]
		p := api.Port{Name: pc.Name, Index: i, Mode: "route", MAC: macString(s.r.PortMAC(i)),
			RxPackets: c.RxPackets, RxBytes: c.RxBytes, TxPackets: c.TxPackets, TxBytes: c.TxBytes,
			Forwarded: c.Fwd, Drops: drops(&c.Drops), Marked: c.Marks, TxHeld: c.TxHeld, Egress: egress[i]}
		p.RateBps, p.Delay = s.r.PortRate(i)
		p.CatchUp = s.r.PortCatchUp(i)
		if pc.Mode == dataplane.ModeXConnect {
			p.Mode = "xconnect"
		} else if pc.Addr.IsValid() {
			p.Address = pc.Addr.String()
		}
		out[i] = p
	}
	return out
}

func (s *Source) portName(i int) string {
	if i < 0 {
		return ""
	}
	names := s.r.PortNames()
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprint(i)
}

// Queues implements api.Source.
func (s *Source) Queues() []api.Queue {
	var out []api.Queue
	for _, as := range s.r.QueueSnapshots() {
		for i := range as.Queues {
			q := &as.Queues[i]
			out = append(out, api.Queue{Index: q.Index, Port: s.portName(q.Port), Input: s.portName(q.Input),
				Class: q.Class, QueueFigures: figures(&q.QueueStats, q.HeadSojourn),
				AQM: api.AQMState{Kind: q.AQM.Kind.String(), Dropping: q.AQM.Dropping, Count: q.AQM.Count,
					DropProb: q.AQM.DropProb, QDelay: time.Duration(q.AQM.QDelay), AvgQueue: q.AQM.AvgQueue,
					Drops: q.AQM.Drops, Marks: q.AQM.Marks}})
		}
	}
	return out
}

// Buffer implements api.Source.
func (s *Source) Buffer() api.Buffer { return bufferView(s) }

// Routes implements api.Source.
func (s *Source) Routes() []api.Route {
	var out []api.Route
	for _, e := range s.r.Routes() {
		rt := api.Route{Prefix: e.Prefix.String(), Port: s.portName(e.Port), Connected: e.Connected}
		if e.Local {
			rt.Via = "local"
		} else if e.Via.IsValid() {
			rt.Via = e.Via.String()
		}
		if e.Static {
			rt.MAC = macString(e.MAC)
		}
		out = append(out, rt)
	}
	return out
}

// Neighbors implements api.Source.
func (s *Source) Neighbors() []api.Neighbor {
	var out []api.Neighbor
	for _, n := range s.r.Neighbors() {
		ip := netip.AddrFrom4([4]byte{byte(n.IP >> 24), byte(n.IP >> 16), byte(n.IP >> 8), byte(n.IP)})
		e := api.Neighbor{IP: ip.String(), Resolved: n.Resolved, Static: n.Static}
		if n.Resolved {
			e.MAC = macString(n.MAC)
		}
		out = append(out, e)
	}
	return out
}

// Config implements api.Source.
func (s *Source) Config() any { return s.plan.Config }

// DestinationCount implements api.Source.
func (s *Source) DestinationCount(dst netip.Addr) (uint64, bool) { return s.r.DestinationCount(dst) }

// QueuedBetween implements api.Source.
func (s *Source) QueuedBetween(from, to time.Duration, max int) []api.QueuedPacket {
	var out []api.QueuedPacket
	for _, q := range s.r.QueuedBetween(context.Background(), int64(from), int64(to), max) {
		tier := "onchip"
		if q.Tier == 1 {
			tier = "offchip"
		}
		out = append(out, api.QueuedPacket{Src: q.Src.String(), Dst: q.Dst.String(), SrcPort: q.SrcPort,
			DstPort: q.DstPort, Proto: q.Proto, Len: q.Len, Class: q.Class, Queue: q.Queue,
			Port: s.portName(q.Port), Tier: tier, Age: time.Duration(q.Age)})
	}
	return out
}

// Traffic is what the router's traffic source and sink ports sent and measured so far
// (api.TrafficSource). Empty when the dataplane has none.
func (s *Source) Traffic() any {
	if t, ok := s.r.(interface {
		TrafficSummary() []dataplane.TrafficSummary
	}); ok {
		if ts := t.TrafficSummary(); ts != nil {
			return ts
		}
	}
	return []dataplane.TrafficSummary{}
}
