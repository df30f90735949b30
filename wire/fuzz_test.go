package wire

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/pkt"
)

// FuzzParseIPv4 feeds arbitrary frames to the parser and to everything the
// dataplane may call after it. Properties: nothing panics; an accepted packet's
// header lies inside the frame and its checksum verifies by the plain reference sum;
// DecTTL, SetCE and the echo reply keep the header checksum valid; the ICMP error and
// the ARP reply builders stay inside their buffers.
func FuzzParseIPv4(f *testing.F) {
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, ECNECT0, 30)
	f.Add(udp)
	f.Add(testpkt.Options{VLAN: 3}.TCP("10.0.0.2", "10.2.0.10", 1, 2, 2, 0, 100))
	f.Add(testpkt.Options{IPOptions: []layers.IPv4Option{{OptionType: 1}, {OptionType: 0}}}.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 2, 64, 9))
	f.Add(testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 2, 64, 0))
	f.Add(testpkt.ARPRequest("10.0.0.2", "10.0.0.1"))
	f.Add(testpkt.BadChecksum(udp))
	f.Add(testpkt.BadIHL(udp, 15))
	f.Add(testpkt.BadTotalLen(udp, 21))
	f.Add(testpkt.Truncated(udp, 34))
	f.Add(testpkt.NonIPv4(4))
	f.Add([]byte{})

	ourIP := testpkt.IPv4("10.0.0.1")
	errBuf := make([]byte, 1024)
	check := func(t *testing.T, frame []byte) {
		var a ARPInfo
		if ParseARP(frame, &a) {
			arp := append([]byte(nil), frame...)
			want := 0
			if a.Op == ARPRequest {
				want = a.L3 + ARPLen
			}
			if n := BuildARPReplyInPlace(arp, ourMAC, a.TargetIP); n != want {
				t.Fatalf("ARP reply length %d, want %d (op %d)", n, want, a.Op)
			}
		}

		var p IPv4Info
		if ParseIPv4(frame, &p) != pkt.DropNone {
			return
		}
		end := p.L3 + int(p.TotalLen)
		if p.HdrLen < 20 || int(p.TotalLen) < int(p.HdrLen) || end > len(frame) {
			t.Fatalf("accepted inconsistent header: %+v, frame %d bytes", p, len(frame))
		}
		hdr := func() []byte { return frame[p.L3 : p.L3+int(p.HdrLen)] }
		// Accepting implies that the header checksum recomputes: the plain
		// reference checksum over the whole header (field included) is zero.
		if c := testpkt.InetChecksum(hdr()); c != 0 {
			t.Fatalf("accepted header %x whose checksum does not verify (%#x)", hdr(), c)
		}
		if p.Dst != binary.BigEndian.Uint32(hdr()[16:20]) || p.TTL != hdr()[8] {
			t.Fatalf("fields do not match the header: %+v", p)
		}

		BuildICMPError(errBuf, frame, &p, ICMPTimeExceeded, 0, ourIP, ourMAC, ourMAC)
		if IsICMPEchoRequest(frame, &p) {
			f2 := append([]byte(nil), frame...)
			q := p
			n := BuildICMPEchoReplyInPlace(f2, &q)
			if n <= 0 || n > len(f2) || !HeaderChecksumOK(f2[q.L3:q.L3+IPv4MinLen]) {
				t.Fatalf("bad echo reply: n=%d", n)
			}
			if Checksum(f2[q.L3+IPv4MinLen:n]) != 0 {
				t.Fatalf("echo reply ICMP checksum does not verify")
			}
		}
		ttl := p.TTL
		if DecTTL(frame, p.L3) != (ttl > 1) {
			t.Fatalf("DecTTL result wrong for TTL %d", ttl)
		}
		SetCE(frame, p.L3)
		if testpkt.InetChecksum(hdr()) != 0 {
			t.Fatalf("checksum broken after DecTTL/SetCE: %x", hdr())
		}
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		check(t, append([]byte(nil), frame...))
		// Random bytes almost never carry a valid header checksum; fixing it lets
		// the fuzzer reach the paths behind validation (options, fragments, ICMP).
		if etype, l3 := EtherType(frame); etype == EtherTypeIPv4 && len(frame) >= l3+IPv4MinLen {
			fixed := append([]byte(nil), frame...)
			testpkt.FixIPv4Checksum(fixed)
			check(t, fixed)
		}
	})
}

// FuzzRouteFields checks the fast path against ParseIPv4 on arbitrary frames: whatever
// RouteFields accepts, ParseIPv4 accepts with the same destination, hash and TOS at
// L3 14; RouteDst agrees with RouteFields; ForwardIPv4 equals DecTTL plus RewriteMACs,
// and on what RouteFields accepts, ForwardPlain equals ForwardIPv4 (which succeeds).
func FuzzRouteFields(f *testing.F) {
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, ECNECT0, 30)
	f.Add(udp)
	f.Add(testpkt.TCP("10.0.0.2", "10.2.0.10", 1, 2, 2, 0, 100))
	f.Add(testpkt.Options{VLAN: 3}.TCP("10.0.0.2", "10.2.0.10", 1, 2, 2, 0, 100))
	f.Add(testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 2, 1, 0))
	f.Add(testpkt.BadChecksum(udp))
	f.Add(testpkt.BadTotalLen(udp, 21))
	f.Add(testpkt.Truncated(udp, 34))
	f.Add(testpkt.NonIPv4(4))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, frame []byte) { checkRouteFields(t, frame) })
}

var testMACs = [12]byte{2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 9, 9}

func checkRouteFields(t *testing.T, frame []byte) {
	t.Helper()
	dst, hash, tos, ok := RouteFields(frame)
	if d2, t2, ok2 := RouteDst(frame); d2 != dst || t2 != tos || ok2 != ok {
		t.Fatalf("RouteDst (%#x %#x %v) differs from RouteFields (%#x %#x %v)", d2, t2, ok2, dst, tos, ok)
	}
	var p IPv4Info
	reason := ParseIPv4(frame, &p)
	if !ok {
		return
	}
	if reason != pkt.DropNone || p.L3 != EthHdrLen || p.Dst != dst || p.Hash != hash || p.TOS != tos {
		t.Fatalf("RouteFields accepted (dst %#x hash %#x tos %#x) but ParseIPv4 says %v %+v", dst, hash, tos, reason, p)
	}
	a, b := append([]byte(nil), frame...), append([]byte(nil), frame...)
	okA := ForwardIPv4(a, p.L3, &testMACs)
	okB := DecTTL(b, p.L3)
	if okB {
		var src, dstMAC [6]byte
		copy(dstMAC[:], testMACs[:6])
		copy(src[:], testMACs[6:])
		RewriteMACs(b, src, dstMAC)
	}
	if okA != okB || string(a) != string(b) {
		t.Fatalf("ForwardIPv4 (%v) %x differs from DecTTL+RewriteMACs (%v) %x", okA, a, okB, b)
	}
	c := append([]byte(nil), frame...)
	ForwardPlain(c, &testMACs)
	if !okA || string(c) != string(a) {
		t.Fatalf("ForwardPlain %x differs from ForwardIPv4 (%v) %x", c, okA, a)
	}
}
