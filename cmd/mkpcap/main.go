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
		frames := make([][]byte, *n)
		for i := range frames {
			// 256 sources x 256 destinations behind the default route, 42 bytes of
			// Ethernet+IPv4+UDP headers, the rest payload.
			src := fmt.Sprintf("10.0.0.%d", 2+i%250)
			dst := fmt.Sprintf("10.2.%d.%d", (i/250)%256, 1+i%250)
			frames[i] = testpkt.UDP(src, dst, uint16(1024+i%4096), 9, 64, 0, *size-42)
		}
		if err := testpkt.WritePcap(*out, frames, nil); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "mkpcap: wrote %s: %d valid UDP frames of %d bytes\n", *out, *n, *size)
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
