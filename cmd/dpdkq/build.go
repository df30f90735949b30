package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/control"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/plan"
	"github.com/dpdkq/dpdkq/sizing"
)

// The control plane drives the router through its Dataplane interface.
var _ control.Dataplane = (*dataplane.Router)(nil)

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

// printResolved shows the plan: the values derived from human units (what "10ms" or
// "62.5Mbps" became), the queueing, each class's AQM and the memory model, and the
// warnings.
func printResolved(w io.Writer, p *plan.Plan) {
	c := p.Config
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tMODE\tDEVICE\tADDRESS\tRATE\tBUCKET\tDELAY\tQUEUE LIMIT")
	for i := range c.Ports {
		pt, pp := &c.Ports[i], &p.Ports[i]
		rate, bucket := "unshaped", "-"
		if pp.RateBps > 0 {
			rate, bucket = sizing.FormatRate(pp.RateBps), fmt.Sprintf("%d B", pp.BucketBytes)
		}
		addr := "-"
		if pt.Addr.IsValid() {
			addr = pt.Addr.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", pt.Name, pt.Mode, pt.DevArgs, addr, rate, bucket, pt.Delay, pp.Limits[0].Text)
	}
	tw.Flush()
	q := &c.Queueing
	fmt.Fprintf(w, "queueing: %s, %d class(es), scheduler %s", p.Arch, p.Classes, q.Scheduler)
	if p.Arch.String() == "voq" {
		fmt.Fprintf(w, ", arbiter %s", q.Arbiter)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tLIMIT\tOVERFLOW\tAQM\tFQ")
	for cls := 0; cls < p.Classes; cls++ {
		prof := &q.PerClass[cls]
		fq := "-"
		if p.FQ != nil && prof.FQ.Enabled {
			fq = fmt.Sprintf("%d flows, quantum %s, limit %s", prof.FQ.Flows, prof.FQ.Quantum, prof.FQ.Limit)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", cls, prof.Limit, prof.Overflow, describeAQM(p.Ports[0].AQM[cls]), fq)
	}
	tw.Flush()
	if p.HasMemoryModel() {
		b := &c.Buffer
		for _, pl := range b.Pools {
			fmt.Fprintf(w, "buffer pool %s: %s (%d B), %s thresholds, cells of %d B\n", pl.Name, pl.Size, pl.SizeParsed.MemoryBytes(), pl.Mode, b.CellBytes)
		}
		if h := &b.Hybrid; h.Enabled {
			fmt.Fprintf(w, "hybrid tiers (%s): on-chip %d B, off-chip %d B at %s, evict past %d packets or %d B\n",
				h.Mode, h.OnchipBytes, h.OffchipBytes, sizing.FormatRate(h.OffchipBps), h.EvictPackets, h.EvictBytesLimit)
		}
	}
	fmt.Fprintf(w, "mbuf pool: %d mbufs of %d B\n", c.Mempool.Mbufs, c.Mempool.DataRoom)
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
	for _, warn := range p.Warnings {
		fmt.Fprintln(w, "warning: "+warn)
	}
}

// describeAQM is one line of an AQM spec's effective settings.
func describeAQM(s aqm.Spec) string {
	switch s.Kind {
	case aqm.KindCoDel:
		c := s.CoDel
		return fmt.Sprintf("codel target %s interval %s ecn %v", c.Target, c.Interval, c.ECN)
	case aqm.KindPIE:
		c := s.PIE
		return fmt.Sprintf("pie target %s t_update %s alpha %g beta %g ecn %v", c.Target, c.TUpdate, c.Alpha, c.Beta, c.ECN)
	case aqm.KindRED:
		r := s.RED
		parts := []string{fmt.Sprintf("red wq_log2 %d", r.WqLog2)}
		for _, pr := range r.Profiles {
			parts = append(parts, fmt.Sprintf("min_th %d max_th %d %s maxp 1/%d", pr.MinTh, pr.MaxTh, r.Unit, pr.MaxPInv))
		}
		return strings.Join(parts, " ") + fmt.Sprintf(" ecn %v", r.ECN)
	}
	return "none (tail or head drop at the limit)"
}
