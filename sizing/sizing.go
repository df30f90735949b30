// Package sizing does the buffer-sizing arithmetic behind `dpdkq size`: the
// bandwidth-delay product (RTT x C), the Stanford small-buffer rule RTT x C / sqrt(N)
// for N long-lived desynchronized flows (Appenzeller, Keslassy & McKeown, SIGCOMM
// 2004), and the operational ranges of "An Update on Router Buffering" (core routers 5-10 ms of buffering at
// port rate, edge routers 10-30 ms). Every figure is given in bytes, in packets of
// the chosen size, in time at the port rate and as a fraction of the BDP, because
// that article recommends judging buffers by time and BDP rather than bytes alone.
package sizing

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
)

// The role recommendations of "An Update on Router Buffering" ("Core router buffering in the range of 5-10
// msec", "Edge router buffering in the range of 10-30 msec").
const (
	CoreLow  = 5 * time.Millisecond
	CoreHigh = 10 * time.Millisecond
	EdgeLow  = 10 * time.Millisecond
	EdgeHigh = 30 * time.Millisecond
)

// Figure is one buffer size expressed four ways.
type Figure struct {
	Name    string
	Bytes   float64
	Packets float64       // Bytes / packet size (fractional, as the rules give it)
	Time    time.Duration // how long the port takes to send Bytes (drain time)
	OfBDP   float64       // Bytes / BDP
}

// Report holds the inputs and the standard figures; Extra holds figures the caller
// adds with AddBuffer (an on-chip tier, a configured queue limit).
type Report struct {
	RateBps float64 // port rate, bits/s
	RTT     time.Duration
	Flows   int // long-lived flows N (values below 1 are taken as 1)
	PktSize int // bytes per packet for the packet counts

	BDP      Figure // RTT x C
	BDPSqrtN Figure // RTT x C / sqrt(N)
	CoreLow  Figure // 5 ms at port rate
	CoreHigh Figure // 10 ms
	EdgeLow  Figure // 10 ms
	EdgeHigh Figure // 30 ms
	Extra    []Figure
}

// Validate checks Compute's inputs and names the bad one.
func Validate(rateBps float64, rtt time.Duration, flows int, pktSize int) error {
	switch {
	case !(rateBps > 0) || math.IsInf(rateBps, 0):
		return fmt.Errorf("sizing: rate %g bit/s must be > 0 and finite", rateBps)
	case rtt <= 0:
		return fmt.Errorf("sizing: rtt %v must be > 0", rtt)
	case flows < 1:
		return fmt.Errorf("sizing: flows %d must be >= 1", flows)
	case pktSize < 1 || pktSize > 1<<16:
		return fmt.Errorf("sizing: packet size %d out of range 1..%d bytes", pktSize, 1<<16)
	}
	return nil
}

// Compute returns the sizing figures for a port of rateBps bits/s, a round-trip time,
// N long-lived flows and a packet size. Call Validate first; Compute itself takes
// flows < 1 as 1 and gives 0 packets for a packet size < 1.
func Compute(rateBps float64, rtt time.Duration, flows int, pktSize int) Report {
	r := Report{RateBps: rateBps, RTT: rtt, Flows: max(flows, 1), PktSize: pktSize}
	bdp := rateBps * rtt.Seconds() / 8
	r.BDP = r.figure("BDP (RTT x C)", bdp)
	r.BDPSqrtN = r.figure(fmt.Sprintf("BDP/sqrt(N), N=%d", r.Flows), bdp/math.Sqrt(float64(r.Flows)))
	r.CoreLow = r.figure("core role, low (5 ms)", r.bytesFor(CoreLow))
	r.CoreHigh = r.figure("core role, high (10 ms)", r.bytesFor(CoreHigh))
	r.EdgeLow = r.figure("edge role, low (10 ms)", r.bytesFor(EdgeLow))
	r.EdgeHigh = r.figure("edge role, high (30 ms)", r.bytesFor(EdgeHigh))
	return r
}

// AddBuffer appends a figure for a buffer of the given size (e.g. "on-chip tier",
// 16 MB) so Format shows how long it lasts at the port rate and against the BDP.
func (r *Report) AddBuffer(name string, bytes int64) {
	r.Extra = append(r.Extra, r.figure(name, float64(bytes)))
}

// Figures returns all figures in display order.
func (r *Report) Figures() []Figure {
	return append([]Figure{r.BDP, r.BDPSqrtN, r.CoreLow, r.CoreHigh, r.EdgeLow, r.EdgeHigh}, r.Extra...)
}

func (r *Report) bytesFor(d time.Duration) float64 { return r.RateBps * d.Seconds() / 8 }

func (r *Report) figure(name string, bytes float64) Figure {
	f := Figure{Name: name, Bytes: bytes, Time: drainTime(bytes, r.RateBps)}
	if r.PktSize > 0 {
		f.Packets = bytes / float64(r.PktSize)
	}
	if bdp := r.RateBps * r.RTT.Seconds() / 8; bdp > 0 {
		f.OfBDP = bytes / bdp
	}
	return f
}

// drainTime is how long a port of rateBps takes to send bytes, rounded to the ns.
func drainTime(bytes, rateBps float64) time.Duration {
	if !(rateBps > 0) {
		return 0
	}
	return time.Duration(math.Round(bytes * 8 / rateBps * 1e9))
}

// OnchipTime is how long a buffer of the given bytes lasts when filled or drained at
// rateBps: e.g. a 16 MB on-chip tier at 10 Gb/s lasts 12.8 ms.
func OnchipTime(bytes int64, rateBps float64) time.Duration {
	return drainTime(float64(bytes), rateBps)
}

// Format writes the report as an aligned table: bytes in decimal units (kB, MB, GB,
// as link rates are decimal), packets, milliseconds at port rate, fraction of BDP.
func Format(w io.Writer, r Report) error {
	if _, err := fmt.Fprintf(w, "port %s, RTT %s, %d long-lived flow(s), %d B packets\n\n",
		FormatRate(r.RateBps), fmtMs(r.RTT), r.Flows, r.PktSize); err != nil {
		return err
	}
	figs := r.Figures()
	// Numbers are right-aligned by the tabwriter; names are padded to one width first
	// so that the first column reads left-aligned.
	width := len("figure")
	for _, f := range figs {
		width = max(width, len(f.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tbytes\tpackets\ttime at port rate\tx BDP\t\n", width, "figure")
	for _, f := range figs {
		fmt.Fprintf(tw, "%-*s\t%s\t%.1f\t%s\t%.3f\t\n", width, f.Name, FormatBytes(f.Bytes), f.Packets, fmtMs(f.Time), f.OfBDP)
	}
	return tw.Flush()
}

func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// FormatBytes prints a byte count with a decimal unit: "125.00 MB", "679.69 kB",
// "512 B".
func FormatBytes(b float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for math.Abs(b) >= 1000 && i < len(units)-1 {
		b /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.2f %s", b, units[i])
}

// FormatRate prints a rate in bits/s with a decimal unit: "10 Gb/s", "62.5 Mb/s".
func FormatRate(bps float64) string {
	units := []string{"b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s"}
	i := 0
	for bps >= 1000 && i < len(units)-1 {
		bps /= 1000
		i++
	}
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", bps), "0"), ".")
	return s + " " + units[i]
}
