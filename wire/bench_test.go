package wire

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/pkt"
)

// Sinks keep results alive so the compiler cannot drop the calls being measured.
var (
	sinkReason pkt.DropReason
	sinkBool   bool
	sinkInt    int
	sinkU32    uint32
	sinkV      Verdict
)

// TestNoAllocs proves that every function the dataplane calls per packet, and the
// in-place reply builders, run without allocating.
func TestNoAllocs(t *testing.T) {
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 255, ECNECT0, 100)
	ttl, c0, c1 := udp[22], udp[24], udp[25] // restored before each DecTTL
	ect := testpkt.WithTOS(udp, ECNECT1)
	arpReq := testpkt.ARPRequest("10.0.0.2", "10.0.0.1")
	arpWork := make([]byte, len(arpReq))
	echo := testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 2, 64, 56)
	echoWork := make([]byte, len(echo))
	buf := make([]byte, 1600)
	var p, ep IPv4Info
	var a ARPInfo
	var local LocalAddrs
	require.NoError(t, local.Add(testpkt.IPv4("10.0.0.1")))
	src, dst := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}

	tests := []struct {
		name string
		fn   func()
	}{
		{"ParseIPv4", func() { sinkReason = ParseIPv4(udp, &p) }},
		{"Classify", func() { sinkV, sinkReason = Classify(udp, &p, &local) }},
		{"EtherType", func() { _, sinkInt = EtherType(udp) }},
		{"DecTTL", func() { udp[22], udp[24], udp[25] = ttl, c0, c1; sinkBool = DecTTL(udp, 14) }},
		{"SetCE", func() { copy(udp, ect); sinkBool = SetCE(udp, 14) }},
		{"RewriteMACs", func() { RewriteMACs(udp, src, dst) }},
		{"HeaderChecksumOK", func() { sinkBool = HeaderChecksumOK(udp[14:34]) }},
		{"FlowHash", func() { sinkU32 = FlowHash(1, 2, 3, 4, 5) }},
		{"ParseARP", func() { sinkBool = ParseARP(arpReq, &a) }},
		{"BuildARPReplyInPlace", func() {
			copy(arpWork, arpReq)
			sinkInt = BuildARPReplyInPlace(arpWork, src, ourIP)
		}},
		{"BuildARPRequest", func() { sinkInt = BuildARPRequest(buf, src, 1, 2) }},
		{"IsICMPEchoRequest", func() { ParseIPv4(echo, &ep); sinkBool = IsICMPEchoRequest(echo, &ep) }},
		{"BuildICMPEchoReplyInPlace", func() {
			copy(echoWork, echo)
			ParseIPv4(echoWork, &ep)
			sinkInt = BuildICMPEchoReplyInPlace(echoWork, &ep)
		}},
		{"BuildICMPError", func() {
			ParseIPv4(udp, &p)
			sinkInt = BuildICMPError(buf, udp, &p, ICMPTimeExceeded, 0, 1, src, dst)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
				t.Fatalf("%s: %v allocations per run, want 0", tc.name, n)
			}
		})
	}
}

// frameRing cycles through n copies of a frame, like the mbufs of successive rx
// bursts. The copies start with TTL 255 and are restored (one memcpy per copy) every
// 250 passes, before any TTL runs out; that amortized cost is part of the figure.
// Rewriting a frame's TTL and checksum right before parsing it would instead measure
// a store-forwarding stall that real DMA'd packets never see.
type frameRing struct {
	pristine []byte
	work     [][]byte
	i, round int
}

func newFrameRing(frame []byte, n int) *frameRing {
	r := &frameRing{pristine: testpkt.WithTTL(frame, 255)}
	for range n {
		r.work = append(r.work, append([]byte(nil), r.pristine...))
	}
	return r
}

func (r *frameRing) next() []byte {
	if r.i == len(r.work) {
		r.i = 0
		if r.round++; r.round == 250 {
			r.round = 0
			for _, w := range r.work {
				copy(w, r.pristine)
			}
		}
	}
	f := r.work[r.i]
	r.i++
	return f
}

// BenchmarkForward measures the per-packet parse-and-rewrite work of forwarding:
// ParseIPv4 (validation, header checksum, ports, flow hash) + DecTTL + RewriteMACs,
// over a ring of 256 frames.
func BenchmarkForward(b *testing.B) {
	for _, size := range []int{64, 1514} {
		b.Run(map[int]string{64: "64B", 1514: "1514B"}[size], func(b *testing.B) {
			ring := newFrameRing(testpkt.UDP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, 0, size-42), 256)
			src, dst := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
			var p IPv4Info
			b.ReportAllocs()
			for b.Loop() {
				f := ring.next()
				if ParseIPv4(f, &p) != pkt.DropNone || !DecTTL(f, p.L3) {
					b.Fatal("not forwardable")
				}
				RewriteMACs(f, src, dst)
			}
		})
	}
}

func BenchmarkParseIPv4(b *testing.B) {
	f := testpkt.TCP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, 0, 0)
	var p IPv4Info
	b.ReportAllocs()
	for b.Loop() {
		sinkReason = ParseIPv4(f, &p)
	}
}

func BenchmarkDecTTL(b *testing.B) {
	ring := newFrameRing(testpkt.UDP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, 0, 22), 256)
	b.ReportAllocs()
	for b.Loop() {
		sinkBool = DecTTL(ring.next(), 14)
	}
}

func BenchmarkSetCE(b *testing.B) {
	f := testpkt.UDP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, ECNECT0, 22)
	tos, csum := f[15], binary.BigEndian.Uint16(f[24:])
	b.ReportAllocs()
	for b.Loop() {
		// Restored with stores of the width SetCE loads, so no store-forwarding stall.
		f[15] = tos
		binary.BigEndian.PutUint16(f[24:], csum)
		sinkBool = SetCE(f, 14)
	}
}

func BenchmarkFlowHash(b *testing.B) {
	b.ReportAllocs()
	var i uint32
	for b.Loop() {
		i++
		sinkU32 = FlowHash(0x0A000002, 0x0A02000A, uint16(i), 5001, ProtoUDP)
	}
}

func BenchmarkEchoReply(b *testing.B) {
	echo := testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 2, 64, 56)
	w := make([]byte, len(echo))
	var p IPv4Info
	b.ReportAllocs()
	for b.Loop() {
		copy(w, echo)
		ParseIPv4(w, &p)
		if !IsICMPEchoRequest(w, &p) {
			b.Fatal("not an echo request")
		}
		sinkInt = BuildICMPEchoReplyInPlace(w, &p)
	}
}

func BenchmarkARPReply(b *testing.B) {
	req := testpkt.ARPRequest("10.0.0.2", "10.0.0.1")
	w := make([]byte, len(req))
	ip := testpkt.IPv4("10.0.0.1")
	b.ReportAllocs()
	for b.Loop() {
		copy(w, req)
		sinkInt = BuildARPReplyInPlace(w, ourMAC, ip)
	}
}

var sinkU8 uint8

// BenchmarkRouteFields is the dataplane's fast parse (compare BenchmarkParseIPv4).
func BenchmarkRouteFields(b *testing.B) {
	f := testpkt.TCP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		d, h, t, ok := RouteFields(f)
		sinkU32, sinkBool, sinkU8 = d^h, ok, t
	}
}

// BenchmarkForwardFast is BenchmarkForward's work on the dataplane's fast path:
// RouteFields + ForwardIPv4.
func BenchmarkForwardFast(b *testing.B) {
	ring := newFrameRing(testpkt.UDP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, 0, 22), 256)
	macs := [12]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	b.ReportAllocs()
	for b.Loop() {
		f := ring.next()
		if _, _, _, ok := RouteFields(f); !ok || !ForwardIPv4(f, EthHdrLen, &macs) {
			b.Fatal("not forwardable")
		}
	}
}
