package plan

import (
	"fmt"

	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/voq"
)

// buildDataplane resolves the ports, routes, neighbours, rx plan and egress
// ownership into the dataplane's parameters, with NewArch building each lcore's
// queueing architecture from this plan.
func (p *Plan) buildDataplane() error {
	c := p.Config
	dc := dataplane.Config{
		Mbufs:     c.Mempool.Mbufs,
		MbufCache: c.Mempool.Cache,
		DataRoom:  c.Mempool.DataRoom,
		Burst:     c.BurstSize,
		DSCPClass: c.Queueing.DSCPClass,

		StallThreshold: c.StallThreshold,
	}
	for _, l := range c.WorkerLcores {
		dc.Workers = append(dc.Workers, uint(l))
	}
	for i := range c.Ports {
		pt := &c.Ports[i]
		pc := dataplane.PortConfig{
			Name: pt.Name, Device: pt.DevArgs, Peer: pt.PeerIndex, Addr: pt.Addr, RxQueues: pt.RXQueues,
			RxDesc: pt.RXDesc, TxDesc: pt.TXDesc, Promisc: pt.Promiscuous, RateBps: pt.RateBps,
			BurstBytes: p.Ports[i].BucketBytes, Overhead: config.WireOverhead, Delay: pt.Delay, EgressLcore: -1,
			CatchUp: pt.CatchUp,
		}
		if i < len(p.Traffic) {
			pc.Source, pc.SourceAddr, pc.Sink = p.Traffic[i].Source, p.Traffic[i].Addr, p.Traffic[i].Sink
		}
		if pt.Mode == config.ModeXConnect {
			pc.Mode = dataplane.ModeXConnect
		}
		if pt.HasHWAddr {
			pc.MAC = pt.HWAddr
		}
		if pt.EgressLcore != nil {
			pc.EgressLcore = *pt.EgressLcore
		}
		dc.Ports = append(dc.Ports, pc)
	}
	if err := p.egressOwnership(&dc); err != nil {
		return err
	}
	if c.Buffer.Hybrid.Enabled && c.Buffer.Hybrid.CopyOffchip {
		dc.OffchipMbufs = int(offchipMbufs(c))
	}
	dc.NewArch = p.NewArch
	for _, r := range c.RouteTable {
		if r.Connected {
			continue // the dataplane adds connected subnets and local addresses itself
		}
		rt := dataplane.Route{Prefix: r.Net, Port: r.PortIndex, Via: r.NextHop}
		if r.HasMAC {
			rt.MAC = r.NextHopMAC
		}
		dc.Routes = append(dc.Routes, rt)
	}
	for _, n := range c.Neighbors {
		dc.Neighbors = append(dc.Neighbors, dataplane.StaticNeighbor{IP: n.Addr, MAC: n.HWAddr})
	}
	for i := range c.Ports {
		if i < len(p.Traffic) && p.Traffic[i].Sink != nil {
			// The host behind a sink port: frames routed there need no ARP.
			dc.Neighbors = append(dc.Neighbors, dataplane.StaticNeighbor{IP: hostOf(c.Ports[i].Addr), MAC: SinkHostMAC})
		}
	}
	for _, rx := range c.RXPlan {
		dc.Rx = append(dc.Rx, dataplane.RxAssign{Port: rx.PortIndex, Queue: rx.Queue, Lcore: uint(rx.Lcore)})
	}
	p.Dataplane = dc
	return nil
}

// NewArch builds the queueing architecture of the output ports one lcore owns (the
// dataplane calls it while starting): the voq Config, its memory model, the Arch, and
// the per-(port, class) limits.
func (p *Plan) NewArch(ports []int, env dataplane.ArchEnv) (dataplane.Arch, error) {
	vc, err := p.VOQConfig(ports)
	if err != nil {
		return nil, err
	}
	layout, err := voq.Layout(vc)
	if err != nil {
		return nil, p.voqError(err)
	}
	model, err := p.MemoryModel(layout, env.CopyOffchip)
	if err != nil {
		return nil, err
	}
	if model != nil {
		vc.Memory = model
	}
	a, err := voq.New(vc)
	if err != nil {
		return nil, p.voqError(err)
	}
	if err := p.SetLimits(a, ports); err != nil {
		return nil, err
	}
	return a, nil
}

// egressOwnership: VOQs and input FIFOs couple every input with every output (the
// arbiter sees all of them), and a memory model's pools are shared by every queue, so
// one lcore must own the egress of every port then. Egress queueing lets ports be
// spread over the workers.
func (p *Plan) egressOwnership(dc *dataplane.Config) error {
	if (p.Arch == voq.KindEgress && !p.HasMemoryModel()) || len(dc.Workers) < 2 {
		return nil
	}
	owner := int(dc.Workers[0])
	for i := range dc.Ports {
		if l := dc.Ports[i].EgressLcore; l >= 0 && l != owner {
			return fe(fmt.Sprintf("ports[%d].egress_lcore", i), l,
				"architecture %s (or a buffer model) needs every port's egress on one lcore (%d)", p.Arch, owner)
		}
		dc.Ports[i].EgressLcore = owner
	}
	return nil
}
