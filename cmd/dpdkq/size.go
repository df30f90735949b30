package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/sizing"
)

func newSizeCmd() *cobra.Command {
	var rate, onchip string
	var rtt time.Duration
	var flows, pktSize int
	c := &cobra.Command{
		Use:   "size",
		Short: "Buffer sizing: BDP, BDP/√N, and core/edge recommendations in bytes, packets and time",
		Long: `Print the buffer sizes a port needs by the usual rules:
  BDP = RTT × C (rule of thumb), BDP/√N for N long-lived desynchronized flows
  (Appenzeller, Keslassy, McKeown 2004), and operational guidance of 5-10 ms of
  buffering per port for core routers and 10-30 ms for edge routers,
each in bytes, packets of --pkt-size and time at the port rate, plus how long an
on-chip buffer of --onchip bytes lasts at that rate.`,
		Example: "  dpdkq size --rate 10Gbps --rtt 100ms --flows 10000\n  dpdkq size --rate 62.5Mbps --rtt 87ms --flows 1 --pkt-size 1500",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bps, err := config.ParseRate(rate)
			if err != nil {
				return fmt.Errorf("--rate: %w", err)
			}
			if err := sizing.Validate(bps, rtt, flows, pktSize); err != nil {
				return err
			}
			r := sizing.Compute(bps, rtt, flows, pktSize)
			if onchip != "" && onchip != "0" {
				sz, err := config.ParseSize(onchip)
				if err != nil || sz.Unit != config.Bytes {
					return fmt.Errorf("--onchip %q: want bytes, e.g. 16MB", onchip)
				}
				r.AddBuffer("on-chip buffer ("+onchip+")", int64(sz.Value))
			}
			return sizing.Format(cmd.OutOrStdout(), r)
		},
	}
	f := c.Flags()
	f.StringVar(&rate, "rate", "10Gbps", "port rate (bps, kbps, Mbps, Gbps, Tbps)")
	f.DurationVar(&rtt, "rtt", 100*time.Millisecond, "round-trip time of the flows")
	f.IntVar(&flows, "flows", 1, "number of long-lived flows N")
	f.IntVar(&pktSize, "pkt-size", 1500, "packet size in bytes for the packet counts")
	f.StringVar(&onchip, "onchip", "16MB", "on-chip buffer size to express in time at the rate (0 to omit)")
	return c
}
