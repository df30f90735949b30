package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dpdkq/dpdkq/config"
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

// dataplaneConfig resolves the file's config into the dataplane's parameters.
func dataplaneConfig(c *config.Config) (dataplane.Config, error) {
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
			BurstBytes: int(p.BurstBytes), Overhead: 24, Delay: p.Delay, EgressLcore: -1,
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
	if _, _, err := c.VOQConfig(all); err != nil {
		return dc, err
	}
	dc.NewArch = func(ports []int) (dataplane.Arch, error) {
		vc, setters, err := c.VOQConfig(ports)
		if err != nil {
			return nil, err
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
	if c.Queueing.Architecture == "egress" || len(dc.Workers) < 2 {
		return nil
	}
	owner := int(dc.Workers[0])
	for i := range dc.Ports {
		if l := dc.Ports[i].EgressLcore; l >= 0 && l != owner {
			return &config.FieldError{Key: fmt.Sprintf("ports[%d].egress_lcore", i), Value: fmt.Sprint(l),
				Msg: fmt.Sprintf("architecture %s needs every port's egress on one lcore (%d)", c.Queueing.Architecture, owner)}
		}
		dc.Ports[i].EgressLcore = owner
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
				nh += " (" + macString(r.NextHopMAC) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Net, c.Ports[r.PortIndex].Name, nh)
		}
		tw.Flush()
	}
}

func macString(m [6]byte) string {
	parts := make([]string, 6)
	for i, b := range m {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":")
}
