// Command mkpcap writes the project's sample pcap: deterministic traffic that the
// default configuration routes (10.0.0.0/24 on in0 to 10.2.0.0/16 via out0), mixed
// with about 2% each of malformed, bad-checksum, IPv6, unroutable and TTL-expired
// frames, and prints what the router is expected to do with them.
//
//	mkpcap -o sample.pcap [-n 2000] [-seed 1]
//	mkpcap -bench -o bench.pcap [-n 1024] [-size 64]   (all-valid UDP for throughput runs)
package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/dpdkq/dpdkq/internal/testpkt"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "mkpcap: %v\n", err)
		os.Exit(1)
	}
}

// run parses args, writes the pcap and prints the one-line breakdown to stdout.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkpcap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "sample.pcap", "output pcap file")
	n := fs.Int("n", 2000, "number of frames (1..10000000)")
	seed := fs.Int64("seed", 1, "random seed; the same -n and -seed give the same file")
	bench := fs.Bool("bench", false, "write only valid, routable UDP frames of -size bytes (throughput benchmarks)")
	size := fs.Int("size", 64, "frame size in bytes for -bench (60..1514, without FCS)")
	classes := fs.Int("classes", 1, "-bench frames cycle through this many DSCP class selectors (CS0..CS7), i.e. traffic classes 0..N-1 of an 8-class router")
	dstNet := fs.String("dst", "10.2.0.0/16", "destination prefix of the -bench frames (/16 or longer; 198.18.1.0/24 suits DPDK's l3fwd, which routes 198.18.N.0/24 to port N)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bench {
		if *size < 60 || *size > 1514 {
			return fmt.Errorf("-size %d out of range: want 60..1514", *size)
		}
		if *n < 1 || *n > 1_000_000 {
			return fmt.Errorf("-n %d out of range: want 1..1000000", *n)
		}
		if *classes < 1 || *classes > 8 {
			return fmt.Errorf("-classes %d out of range: want 1..8", *classes)
		}
		pfx, err := netip.ParsePrefix(*dstNet)
		if err != nil || !pfx.Addr().Is4() || pfx.Bits() < 16 || pfx.Bits() > 24 {
			return fmt.Errorf("-dst %q: want an IPv4 prefix from /16 to /24, e.g. 10.2.0.0/16", *dstNet)
		}
		base := pfx.Masked().Addr().As4()
		frames := make([][]byte, *n)
		for i := range frames {
			// 250 sources x destinations inside -dst, 42 bytes of
			// Ethernet+IPv4+UDP headers, the rest payload.
			src := fmt.Sprintf("10.0.0.%d", 2+i%250)
			// Consecutive frames go to consecutive /24s of -dst (so routes per /24 spread
			// them over ports), hosts 1..250 within each.
			span := 1 << (24 - pfx.Bits())
			third := base[2] | byte(i%span)
			dst := fmt.Sprintf("%d.%d.%d.%d", base[0], base[1], third, 1+(i/span)%250)
			// DSCP class selector CSc, c cycling so that every /24 sees every class.
			tos := uint8(((i + i/span) % *classes) << 5)
			frames[i] = testpkt.UDP(src, dst, uint16(1024+i%4096), 9, 64, tos, *size-42)
		}
		if err := testpkt.WritePcap(*out, frames, nil); err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "mkpcap: wrote %s: %d valid UDP frames of %d bytes\n", *out, *n, *size)
		return err
	}
	if *n < 1 || *n > 10_000_000 {
		return fmt.Errorf("-n %d out of range: want 1..10000000", *n)
	}
	frames, expect := testpkt.Sample(*n, *seed)
	if err := testpkt.WritePcap(*out, frames, nil); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "mkpcap: wrote %s: %s\n", *out, expect)
	return err
}
