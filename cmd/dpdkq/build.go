package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"text/tabwriter"

	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/control"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/sizing"
	"github.com/dpdkq/dpdkq/voq"
)

// ealArgs turns the eal section into rte_eal_init arguments. Devices are not passed
// here: the dataplane hot-plugs each port's devargs, so errors name the port.
func ealArgs(c *config.Config) []string {
	e := c.EAL
	args := []string{"-l", e.Lcores, "--main-lcore", strconv.Itoa(e.MainLcore), "-m", strconv.Itoa(e.MemoryMB),
		"--file-prefix", e.FilePrefix}
	if e.NoHuge {
		args = append(args, "--no-huge")
	}
	if e.NoPCI {
		args = append(args, "--no-pci")
	}
	switch c.Log.Level {
	case "debug":
		args = append(args, "--log-level", "*:info")
	default:
		args = append(args, "--log-level", "*:warning")
	}
	return append(args, e.ExtraArgs...)
}

// dataplaneConfig resolves the file's config into the dataplane's parameters. Every
// queueing architecture built by the dataplane is recorded in archs (with its buffer
// model) for the control plane.
func dataplaneConfig(c *config.Config, archs *control.Archs) (dataplane.Config, error) {
	dc := dataplane.Config{
		Mbufs:     c.Mempool.Mbufs,
		MbufCache: c.Mempool.Cache,
		DataRoom:  c.Mempool.DataRoom,
		Burst:     c.BurstSize,
		DSCPClass: c.Queueing.DSCPClass,
	}
	for _, l := range c.WorkerLcores {
		dc.Workers = append(dc.Workers, uint(l))
	}
	for i := range c.Ports {
		p := &c.Ports[i]
		pc := dataplane.PortConfig{
			Name: p.Name, Device: p.DevArgs, Peer: p.PeerIndex, Addr: p.Addr, RxQueues: p.RXQueues,
			RxDesc: p.RXDesc, TxDesc: p.TXDesc, Promisc: p.Promiscuous, RateBps: p.RateBps,
			BurstBytes: int(p.BurstBytes), Overhead: config.WireOverhead, Delay: p.Delay, EgressLcore: -1,
		}
		if p.Mode == config.ModeXConnect {
			pc.Mode = dataplane.ModeXConnect
		}
		if p.HasHWAddr {
			pc.MAC = p.HWAddr
		}
		if p.EgressLcore != nil {
			pc.EgressLcore = *p.EgressLcore
		}
		dc.Ports = append(dc.Ports, pc)
	}
	if err := archOwnership(c, &dc); err != nil {
		return dc, err
	}
	// Build the whole queueing configuration once now, so its errors (AQM parameters,
	// limits in time units on unshaped ports, ...) come before DPDK starts.
	all := make([]int, len(c.Ports))
	for i := range all {
		all[i] = i
	}
	vcAll, _, err := c.VOQConfig(all)
	if err != nil {
		return dc, err
	}
	layout, err := voq.Layout(vcAll)
	if err != nil {
		return dc, fmt.Errorf("queueing: %w", err)
	}
	if _, err := c.NewBufferModel(layout, nil); err != nil {
		return dc, err
	}
	if err := checkMempool(c); err != nil {
		return dc, err
	}
	if c.Buffer.Hybrid.Enabled && c.Buffer.Hybrid.CopyOffchip {
		// One mbuf per 2 KB off-chip cell, capped: the copy pool is real memory.
		n := c.Buffer.Hybrid.OffchipBytes / 2048
		if n > 262143 {
			n = 262143
		}
		if n < 1023 {
			n = 1023
		}
		dc.OffchipMbufs = int(n)
	}
	dc.NewArch = func(ports []int, env dataplane.ArchEnv) (dataplane.Arch, error) {
		vc, setters, err := c.VOQConfig(ports)
		if err != nil {
			return nil, err
		}
		layout, err := voq.Layout(vc)
		if err != nil {
			return nil, fmt.Errorf("queueing: %w", err)
		}
		model, err := c.NewBufferModel(layout, env.CopyOffchip)
		if err != nil {
			return nil, err
		}
		if model != nil {
			vc.Buffer = model
		}
		a, err := voq.New(vc)
		if err != nil {
			return nil, fmt.Errorf("queueing: %w", err)
		}
		for _, set := range setters {
			if err := set(a); err != nil {
				return nil, fmt.Errorf("queueing: %w", err)
			}
		}
		archs.Add(a, model, layout)
		return a, nil
	}
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
	for _, rx := range c.RXPlan {
		dc.Rx = append(dc.Rx, dataplane.RxAssign{Port: rx.PortIndex, Queue: rx.Queue, Lcore: uint(rx.Lcore)})
	}
	return dc, nil
}

// archOwnership: VOQs and input FIFOs couple every input with every output (the
// arbiter sees all of them), so one lcore must own the egress of every port. Egress
// queueing lets ports be spread over the workers.
func archOwnership(c *config.Config, dc *dataplane.Config) error {
	// A buffer model's pools are shared by every queue, so they need a single owner too.
	if (c.Queueing.Architecture == "egress" && !c.HasBufferModel()) || len(dc.Workers) < 2 {
		return nil
	}
	owner := int(dc.Workers[0])
	for i := range dc.Ports {
		if l := dc.Ports[i].EgressLcore; l >= 0 && l != owner {
			return &config.FieldError{Key: fmt.Sprintf("ports[%d].egress_lcore", i), Value: fmt.Sprint(l),
				Msg: fmt.Sprintf("architecture %s (or a buffer model) needs every port's egress on one lcore (%d)", c.Queueing.Architecture, owner)}
		}
		dc.Ports[i].EgressLcore = owner
	}
	return nil
}

// checkMempool refuses a configuration whose logical buffer pools can hold more
// packets than the DPDK mempool has mbufs: every stored packet is one mbuf, and the rx
// rings hold mbufs too.
func checkMempool(c *config.Config) error {
	if len(c.Buffer.Pools) == 0 {
		return nil
	}
	cell := c.Buffer.CellBytes
	if cell <= 0 {
		cell = 256
	}
	var storable int64
	for _, p := range c.Buffer.Pools {
		if p.SizeParsed.Unit == config.Packets {
			storable += int64(p.SizeParsed.Value)
			continue
		}
		storable += p.SizeParsed.MemoryBytes() / cell
	}
	if d := int64(c.Buffer.Descriptors); d > 0 && d < storable {
		storable = d
	}
	var rx int64
	for _, p := range c.Ports {
		rx += int64(p.RXQueues * p.RXDesc)
	}
	need := storable + rx + int64(len(c.WorkerLcores)*(c.Mempool.Cache+2*c.BurstSize))
	if int64(c.Mempool.Mbufs) < need {
		return &config.FieldError{Key: "mempool.mbufs", Value: fmt.Sprint(c.Mempool.Mbufs),
			Msg: fmt.Sprintf("the buffer pools can hold %d packets (pool bytes / %d B cells, or buffer.descriptors), "+
				"plus %d in rx rings and caches: want at least %d mbufs, or smaller pools, or buffer.descriptors", storable, cell, need-storable, need)}
	}
	return nil
}

// printResolved shows the values derived from human units, so an operator sees what
// "10ms" or "62.5Mbps" became.
func printResolved(w io.Writer, c *config.Config) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tMODE\tDEVICE\tADDRESS\tRATE\tBUCKET\tDELAY\tQUEUE LIMIT")
	for i := range c.Ports {
		p := &c.Ports[i]
		rate := "unshaped"
		if p.RateBps > 0 {
			rate = sizing.FormatRate(p.RateBps)
		}
		addr := "-"
		if p.Addr.IsValid() {
			addr = p.Addr.String()
		}
		lim := c.Queueing.PerClass[0].LimitSize.Describe(p.RateBps, c.Buffer.RTT, p.MTU+14)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d B\t%s\t%s\n", p.Name, p.Mode, p.DevArgs, addr, rate, p.BurstBytes, p.Delay, lim)
	}
	tw.Flush()
	if len(c.RouteTable) > 0 {
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROUTE\tPORT\tNEXT HOP")
		for _, r := range c.RouteTable {
			nh := "connected"
			if r.NextHop.IsValid() {
				nh = r.NextHop.String()
			}
			if r.HasMAC {
				nh += " (" + net.HardwareAddr(r.NextHopMAC[:]).String() + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Net, c.Ports[r.PortIndex].Name, nh)
		}
		tw.Flush()
	}
}
