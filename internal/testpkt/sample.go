package testpkt

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/dpdkq/dpdkq/pkt"
)

// The sample traffic matches the default configuration: hosts on in0's subnet
// 10.0.0.0/24 send to hosts behind the route 10.2.0.0/16 via 10.1.0.2 (out0), frames
// addressed to the router's in0 MAC (RouterMAC). About 90% are forwardable; the rest
// are five bad kinds of about 2% each, one per expected drop reason.

// SampleFrame is one generated frame and what the router must do with it.
type SampleFrame struct {
	Data   []byte
	Expect pkt.DropReason // pkt.DropNone: forwarded out of out0
	Kind   string         // "udp", "tcp", "truncated", "bad_version", "bad_ihl", "bad_total_len", "bad_checksum", "ipv6", "unroutable", "ttl_expired"
}

// SampleCounts is the expected outcome of a sample, in counts of frames.
type SampleCounts struct {
	Total        int
	Forward      int                     // routed out of out0 (TTL decremented)
	ForwardBytes int                     // sum of the forwarded frames' lengths
	UDP, TCP     int                     // forwarded, by transport
	ECT          int                     // forwarded and ECN-capable (ECT(0) or ECT(1))
	EF           int                     // forwarded with DSCP EF (46)
	Drops        [pkt.NumDropReasons]int // dropped, by expected reason
}

// String is the one-line breakdown mkpcap prints.
func (c SampleCounts) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "total=%d forward=%d (udp=%d tcp=%d ect=%d ef=%d bytes=%d)",
		c.Total, c.Forward, c.UDP, c.TCP, c.ECT, c.EF, c.ForwardBytes)
	for r, n := range c.Drops {
		if n != 0 {
			fmt.Fprintf(&b, " %s=%d", pkt.DropReason(r), n)
		}
	}
	return b.String()
}

// sampleFlow is one 5-tuple of the forwardable traffic.
type sampleFlow struct {
	src, dst     string
	sport, dport uint16
	tcp          bool
	tos          uint8 // DSCP<<2 | ECN
	ttl          uint8
}

const (
	tosEF   = 46 << 2
	ecnECT1 = 1
	ecnECT0 = 2
	// Frame lengths as stored in the mbuf (no FCS). 1514 is a 1500-byte IP MTU plus
	// the 14-byte Ethernet header; 64 is the usual "smallest packet" of benchmarks
	// (it leaves 22 payload bytes of UDP and 10 of TCP).
	minFrame = 64
	maxFrame = 1514
)

// sampleFlows: six UDP and six TCP flows from distinct hosts. DSCP EF on UDP 0-1 and
// TCP 11, ECN-capable on UDP 5 (ECT(1)) and TCP 11 (ECT(0)); TTLs cover the
// usual initial values and 2 (forwardable once more, leaves with TTL 1).
var sampleFlows = func() []sampleFlow {
	tos := [12]uint8{tosEF, tosEF, 0, 0, 0, ecnECT1, 0, 0, 0, 0, 0, tosEF | ecnECT0}
	ttl := [12]uint8{64, 64, 128, 255, 2, 64, 64, 64, 128, 255, 2, 64}
	fs := make([]sampleFlow, 12)
	for i := range fs {
		fs[i] = sampleFlow{
			src:   fmt.Sprintf("10.0.0.%d", 10+i),
			dst:   fmt.Sprintf("10.2.%d.%d", i, 10+i),
			sport: uint16(10000 + i),
			dport: 5001,
			tcp:   i >= 6,
			tos:   tos[i],
			ttl:   ttl[i],
		}
		if fs[i].tcp {
			fs[i].dport = 5201
		}
	}
	return fs
}()

// Sample returns n frames of deterministic sample traffic (same n and seed, same
// bytes) and the expected counts. See SampleFrames.
func Sample(n int, seed int64) (frames [][]byte, expect SampleCounts) {
	sf, expect := SampleFrames(n, seed)
	frames = make([][]byte, len(sf))
	for i := range sf {
		frames[i] = sf[i].Data
	}
	return frames, expect
}

// SampleFrames returns n frames with their expected outcome. Each of the five bad
// kinds gets round(n/50) frames (2%): malformed (truncated, bad version, bad IHL and
// bad total length in rotation), bad checksum, IPv6 (unsupported EtherType),
// unroutable (to TEST-NET addresses) and TTL 1 or 0; the rest are UDP and TCP frames
// of the 12 sample flows with lengths 64 (1/3), 1514 (1/3) or uniform in between.
// Positions are shuffled with the seed.
func SampleFrames(n int, seed int64) ([]SampleFrame, SampleCounts) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5EED))
	k := (n + 25) / 50
	bad := []pkt.DropReason{pkt.DropMalformed, pkt.DropBadChecksum, pkt.DropUnsupported, pkt.DropNoRoute, pkt.DropTTLExpired}
	plan := make([]pkt.DropReason, n) // DropNone (forward) unless set below
	i := 0
	for _, r := range bad {
		for range k {
			plan[i] = r
			i++
		}
	}
	rng.Shuffle(n, func(a, b int) { plan[a], plan[b] = plan[b], plan[a] })

	g := sampleGen{rng: rng, seq: make([]uint32, len(sampleFlows))}
	out := make([]SampleFrame, n)
	c := SampleCounts{Total: n}
	malformed := 0
	for i, r := range plan {
		var f SampleFrame
		switch r {
		case pkt.DropNone:
			fl := &sampleFlows[rng.IntN(len(sampleFlows))]
			f = SampleFrame{Data: g.flowFrame(fl), Kind: "udp"}
			if fl.tcp {
				f.Kind = "tcp"
				c.TCP++
			} else {
				c.UDP++
			}
			c.Forward++
			c.ForwardBytes += len(f.Data)
			if fl.tos&3 != 0 {
				c.ECT++
			}
			if fl.tos>>2 == 46 {
				c.EF++
			}
		case pkt.DropMalformed:
			f = g.malformed(malformed % 4)
			malformed++
		case pkt.DropBadChecksum:
			f = SampleFrame{Data: BadChecksum(g.anyFlowFrame()), Kind: "bad_checksum"}
		case pkt.DropUnsupported:
			f = SampleFrame{Data: NonIPv4(g.length() - 14 - 40 - 8), Kind: "ipv6"}
		case pkt.DropNoRoute:
			dst := fmt.Sprintf("192.0.2.%d", 1+rng.IntN(254))
			if rng.IntN(2) == 0 {
				dst = fmt.Sprintf("198.51.100.%d", 1+rng.IntN(254))
			}
			f = SampleFrame{Data: UDP(DefaultSrc, dst, 40000, 9, 64, 0, g.length()-14-20-8), Kind: "unroutable"}
		case pkt.DropTTLExpired:
			ttl := uint8(1)
			if rng.IntN(4) == 0 {
				ttl = 0
			}
			f = SampleFrame{Data: WithTTL(g.anyFlowFrame(), ttl), Kind: "ttl_expired"}
		}
		f.Expect = r
		if r != pkt.DropNone {
			c.Drops[r]++
		}
		out[i] = f
	}
	return out, c
}

// sampleGen holds the generator's random source and per-flow TCP sequence numbers.
type sampleGen struct {
	rng *rand.Rand
	seq []uint32
}

// length draws a frame length: 64 or 1514 with probability 1/3 each, else uniform.
func (g *sampleGen) length() int {
	switch g.rng.IntN(3) {
	case 0:
		return minFrame
	case 1:
		return maxFrame
	}
	return minFrame + g.rng.IntN(maxFrame-minFrame+1)
}

func (g *sampleGen) flowFrame(fl *sampleFlow) []byte {
	l := g.length()
	if !fl.tcp {
		return UDP(fl.src, fl.dst, fl.sport, fl.dport, fl.ttl, fl.tos, l-14-20-8)
	}
	fi := int(fl.sport - 10000)
	o := Options{TCPSeq: g.seq[fi]}
	g.seq[fi] += uint32(l - 14 - 20 - 20)
	return o.TCP(fl.src, fl.dst, fl.sport, fl.dport, fl.ttl, fl.tos, l-14-20-20)
}

func (g *sampleGen) anyFlowFrame() []byte {
	return g.flowFrame(&sampleFlows[g.rng.IntN(len(sampleFlows))])
}

// malformed builds one of the four malformed sub-kinds from a forwardable frame.
func (g *sampleGen) malformed(sub int) SampleFrame {
	base := g.anyFlowFrame()
	switch sub {
	case 0: // cut anywhere from inside the IP header to one byte short
		return SampleFrame{Data: Truncated(base, 20+g.rng.IntN(len(base)-20)), Kind: "truncated"}
	case 1:
		v := [4]uint8{0, 5, 6, 15}[g.rng.IntN(4)]
		return SampleFrame{Data: BadVersion(base, v), Kind: "bad_version"}
	case 2:
		return SampleFrame{Data: BadIHL(base, uint8(g.rng.IntN(5))), Kind: "bad_ihl"}
	}
	tot := g.rng.IntN(20) // shorter than the header
	if g.rng.IntN(2) == 0 {
		tot = len(base) - 14 + 1 + g.rng.IntN(100) // longer than the frame holds
	}
	return SampleFrame{Data: BadTotalLen(base, uint16(tot)), Kind: "bad_total_len"}
}
