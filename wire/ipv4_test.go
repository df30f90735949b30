package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/pkt"
)

// TestParseIPv4Valid parses well-formed frames and compares every field with what
// gopacket decodes from the same bytes.
func TestParseIPv4Valid(t *testing.T) {
	padded := append(testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 0), make([]byte, 10)...) // 60 + 10
	cases := []struct {
		name  string
		frame []byte
		ports bool
	}{
		{"udp", testpkt.UDP("10.0.0.2", "10.2.3.4", 1234, 5001, 64, DSCPEF<<2|ECNECT0, 100), true},
		{"tcp", testpkt.TCP("10.0.0.7", "10.2.255.1", 40000, 443, 255, 0, 1460), true},
		{"icmp", testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 7, 9, 1, 56), false},
		{"udp_min_padded", testpkt.UDP("10.0.0.2", "10.2.0.10", 9, 9, 2, 0, 0), true},
		{"extra_padding", padded, true},
		{"vlan", testpkt.Options{VLAN: 42}.UDP("10.0.0.3", "10.2.0.1", 7, 8, 9, ECNCE, 30), true},
		{"ip_options", testpkt.Options{IPOptions: []layers.IPv4Option{
			{OptionType: 7, OptionLength: 11, OptionData: make([]byte, 9)}, // record route, room for 2
			{OptionType: 0},
		}}.TCP("10.0.0.4", "10.2.0.2", 80, 81, 30, 0, 10), true},
		{"df", testpkt.Options{DF: true, IPID: 777}.UDP("10.0.0.5", "10.2.0.3", 5, 6, 7, 0, 1), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := testpkt.DecodeValid(t, tc.frame)
			var p IPv4Info
			require.Equal(t, pkt.DropNone, ParseIPv4(tc.frame, &p))
			ip := d.IPv4
			wantL3 := 14
			if d.Dot1Q != nil {
				wantL3 = 18
			}
			assert.Equal(t, wantL3, p.L3)
			assert.Equal(t, ip.SrcIP.String(), p.SrcAddr().String())
			assert.Equal(t, ip.DstIP.String(), p.DstAddr().String())
			assert.Equal(t, int(ip.IHL)*4, int(p.HdrLen))
			assert.Equal(t, ip.Length, p.TotalLen)
			assert.Equal(t, ip.TTL, p.TTL)
			assert.Equal(t, ip.TOS, p.TOS)
			assert.Equal(t, ip.TOS>>2, p.DSCP())
			assert.Equal(t, ip.TOS&3, p.ECN())
			assert.Equal(t, uint8(ip.Protocol), p.Proto)
			assert.Equal(t, uint16(ip.Flags)<<13|ip.FragOffset, p.FragOff)
			var sp, dp uint16
			switch {
			case d.UDP != nil:
				sp, dp = uint16(d.UDP.SrcPort), uint16(d.UDP.DstPort)
			case d.TCP != nil:
				sp, dp = uint16(d.TCP.SrcPort), uint16(d.TCP.DstPort)
			}
			require.Equal(t, tc.ports, sp != 0)
			assert.Equal(t, sp, p.SrcPort)
			assert.Equal(t, dp, p.DstPort)
			assert.Equal(t, FlowHash(p.Src, p.Dst, sp, dp, uint8(ip.Protocol)), p.Hash)
		})
	}
}

// TestParseIPv4Fragments: fragments carry no ports, so every fragment of a datagram
// hashes alike; a whole datagram of the same 5-tuple keeps its ports.
func TestParseIPv4Fragments(t *testing.T) {
	whole := testpkt.UDP("10.0.0.2", "10.2.0.10", 1111, 2222, 64, 0, 100)
	var p IPv4Info
	require.Equal(t, pkt.DropNone, ParseIPv4(whole, &p))
	require.False(t, p.IsFragment())
	require.Equal(t, uint16(1111), p.SrcPort)

	var hashes []uint32
	for _, fo := range []uint16{0x2000, 0x2000 | 185, 185, 0x4000 | 0} { // first, middle, last, DF-only
		f := append([]byte(nil), whole...)
		binary.BigEndian.PutUint16(f[14+6:], fo)
		testpkt.FixIPv4Checksum(f)
		require.Equal(t, pkt.DropNone, ParseIPv4(f, &p))
		if fo == 0x4000 {
			assert.False(t, p.IsFragment(), "DF alone is not a fragment")
			assert.Equal(t, uint16(1111), p.SrcPort)
			continue
		}
		assert.True(t, p.IsFragment())
		assert.Zero(t, p.SrcPort)
		assert.Zero(t, p.DstPort)
		hashes = append(hashes, p.Hash)
	}
	assert.Equal(t, hashes[0], hashes[1])
	assert.Equal(t, hashes[0], hashes[2])
}

// TestParseIPv4DropReasons covers every rejection, each frame built so that exactly
// the tested fault is the first one met (and, where it matters, a later fault too,
// to pin the checking order).
func TestParseIPv4DropReasons(t *testing.T) {
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 100) // 142 bytes, total length 128
	vlan := testpkt.Options{VLAN: 5}.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 100)
	qinq := append([]byte(nil), vlan...)
	binary.BigEndian.PutUint16(qinq[16:], EtherTypeVLAN) // inner TPID: a second tag
	withOpts := testpkt.Options{IPOptions: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}.
		UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 4) // IHL 6

	cases := []struct {
		name  string
		frame []byte
		want  pkt.DropReason
	}{
		{"valid", udp, pkt.DropNone},
		{"valid_vlan", vlan, pkt.DropNone},
		{"valid_options", withOpts, pkt.DropNone},
		{"empty", nil, pkt.DropMalformed},
		{"ethernet_only", testpkt.Truncated(udp, 14), pkt.DropMalformed},
		{"33_bytes", testpkt.Truncated(udp, 33), pkt.DropMalformed},
		{"33_bytes_bad_version_too", testpkt.Truncated(testpkt.BadVersion(udp, 6), 33), pkt.DropMalformed},
		{"34_bytes_header_only", testpkt.Truncated(testpkt.BadTotalLen(udp, 20), 34), pkt.DropNone},
		{"vlan_37_bytes", testpkt.Truncated(vlan, 37), pkt.DropMalformed},
		{"truncated_payload", testpkt.Truncated(udp, 141), pkt.DropMalformed},
		{"ipv6", testpkt.NonIPv4(10), pkt.DropUnsupported},
		{"arp", testpkt.ARPRequest("10.0.0.2", "10.0.0.1"), pkt.DropUnsupported},
		{"qinq", qinq, pkt.DropUnsupported},
		{"version_0", testpkt.BadVersion(udp, 0), pkt.DropMalformed},
		{"version_6", testpkt.BadVersion(udp, 6), pkt.DropMalformed},
		{"version_15", testpkt.BadVersion(udp, 15), pkt.DropMalformed},
		{"version_6_vlan", testpkt.BadVersion(vlan, 6), pkt.DropMalformed},
		{"version_and_checksum", testpkt.BadChecksum(testpkt.BadVersion(udp, 5)), pkt.DropMalformed},
		{"ihl_0", testpkt.BadIHL(udp, 0), pkt.DropMalformed},
		{"ihl_4", testpkt.BadIHL(udp, 4), pkt.DropMalformed},
		{"ihl_past_frame", testpkt.BadIHL(testpkt.Truncated(testpkt.BadTotalLen(udp, 20), 60), 15), pkt.DropMalformed},
		{"total_len_0", testpkt.BadTotalLen(udp, 0), pkt.DropMalformed},
		{"total_len_below_ihl", testpkt.BadTotalLen(udp, 19), pkt.DropMalformed},
		{"total_len_below_ihl_options", testpkt.BadTotalLen(withOpts, 23), pkt.DropMalformed},
		{"total_len_past_frame", testpkt.BadTotalLen(udp, 129), pkt.DropMalformed},
		{"total_len_past_frame_vlan", testpkt.BadTotalLen(vlan, 129), pkt.DropMalformed},
		{"total_len_short_ok", testpkt.BadTotalLen(udp, 30), pkt.DropNone}, // rest is padding
		{"total_len_and_checksum", testpkt.BadChecksum(testpkt.BadTotalLen(udp, 5000)), pkt.DropMalformed},
		{"bad_checksum", testpkt.BadChecksum(udp), pkt.DropBadChecksum},
		{"bad_checksum_vlan", testpkt.BadChecksum(vlan), pkt.DropBadChecksum},
		{"bad_checksum_options", testpkt.BadChecksum(withOpts), pkt.DropBadChecksum},
		{"ttl_1_parses", testpkt.TTL1(udp), pkt.DropNone},
		{"ttl_0_parses", testpkt.WithTTL(udp, 0), pkt.DropNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p IPv4Info
			got := ParseIPv4(tc.frame, &p)
			assert.Equal(t, tc.want, got, "got %s want %s", got, tc.want)
			if got == pkt.DropNone {
				assert.LessOrEqual(t, p.L3+int(p.TotalLen), len(tc.frame))
			}
		})
	}
}

// TestDecTTLRandom decrements the TTL of many random headers (all IHLs, random
// fields and options) and checks the incrementally updated checksum against a full
// recomputation and against gopacket's checksum code.
func TestDecTTLRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 50000 {
		h := randomHeader(rng, 5+rng.IntN(11))
		h[8] = byte(2 + rng.IntN(254))
		fixChecksum(h)
		checkDecTTL(t, ethFrame(h), i)
	}
}

// TestDecTTLCorners pins the checksum values where ones'-complement arithmetic has
// two zeros: a result that must be 0x0000 (never 0xFFFF), a header arriving with the
// non-canonical 0xFFFF, and a header arriving with 0x0000.
func TestDecTTLCorners(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for i := range 20 {
		// After the decrement the checksum must be exactly 0x0000: find a header
		// whose checksum is 0x0000 at TTL-1, then raise its TTL back by one.
		h := headerWithChecksum(rng, 0)
		if h[8] == 0xff {
			continue
		}
		h[8]++
		fixChecksum(h)
		f := ethFrame(h)
		checkDecTTL(t, f, i)
		require.Equal(t, uint16(0), binary.BigEndian.Uint16(f[14+10:]), "result must be +0's complement 0x0000")

		// Arriving with 0xFFFF where 0x0000 is canonical.
		h = headerWithChecksum(rng, 0)
		if h[8] < 2 {
			continue
		}
		binary.BigEndian.PutUint16(h[10:], 0xffff)
		require.True(t, HeaderChecksumOK(h))
		checkDecTTL(t, ethFrame(h), i)

		// Arriving with 0x0000 (canonical).
		h = headerWithChecksum(rng, 0)
		if h[8] < 2 {
			continue
		}
		checkDecTTL(t, ethFrame(h), i)
	}
	// Successive decrements from 255 down to 1 on one frame: an error in any step
	// would carry into all later ones.
	for range 50 {
		h := randomHeader(rng, 5+rng.IntN(11))
		h[8] = 255
		fixChecksum(h)
		f := ethFrame(h)
		for ttl := 255; ttl >= 2; ttl-- {
			checkDecTTL(t, f, ttl)
		}
		require.False(t, DecTTL(f, 14))
	}
}

func checkDecTTL(t *testing.T, f []byte, i int) {
	t.Helper()
	h := f[14:]
	ihl := int(h[0]&0xf) * 4
	ttl := h[8]
	require.True(t, DecTTL(f, 14), "case %d", i)
	require.Equal(t, ttl-1, h[8])
	got := binary.BigEndian.Uint16(h[10:])
	want := recomputed(h[:ihl])
	require.Equal(t, want, got, "case %d header %x", i, h[:ihl])
	require.Zero(t, gopacket.FoldChecksum(gopacket.ComputeChecksum(h[:ihl], 0)), "gopacket rejects %x", h[:ihl])
}

func TestDecTTLRefuses(t *testing.T) {
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10)
	for _, ttl := range []uint8{0, 1} {
		f := testpkt.WithTTL(udp, ttl)
		orig := append([]byte(nil), f...)
		assert.False(t, DecTTL(f, 14))
		assert.Equal(t, orig, f, "frame must be untouched")
	}
	f := testpkt.WithTTL(udp, 2)
	require.True(t, DecTTL(f, 14))
	assert.Equal(t, uint8(1), testpkt.DecodeValid(t, f).IPv4.TTL)
	assert.False(t, DecTTL(f, 14), "now 1")

	assert.False(t, DecTTL(udp[:33], 14))
	assert.False(t, DecTTL(udp, -1))
	assert.False(t, DecTTL(udp, len(udp)-19))
	vlan := testpkt.Options{VLAN: 9}.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10)
	require.True(t, DecTTL(vlan, 18))
	assert.Equal(t, uint8(63), testpkt.DecodeValid(t, vlan).IPv4.TTL)
}

// TestSetCE checks each ECN codepoint on random headers: ECT(0)/ECT(1) become CE with
// a checksum equal to a full recomputation; CE stays; not-ECT is refused untouched.
func TestSetCE(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for i := range 20000 {
		h := randomHeader(rng, 5+rng.IntN(11))
		fixChecksum(h)
		f := ethFrame(h)
		h = f[14 : 14+len(h)]
		before := append([]byte(nil), f...)
		ecn := h[1] & 3
		ok := SetCE(f, 14)
		switch ecn {
		case ECNNotECT:
			require.False(t, ok)
			require.Equal(t, before, f)
		case ECNCE:
			require.True(t, ok)
			require.Equal(t, before, f)
		default:
			require.True(t, ok)
			require.Equal(t, before[15]|3, h[1], "DSCP kept, ECN set to CE")
			require.Equal(t, recomputed(h), binary.BigEndian.Uint16(h[10:]), "case %d", i)
			require.Zero(t, gopacket.FoldChecksum(gopacket.ComputeChecksum(h, 0)))
			h[1] = before[15]
			h[10], h[11] = before[24], before[25]
			require.Equal(t, before, f, "nothing else changed")
		}
	}
	// On real frames, gopacket agrees.
	for _, tos := range []uint8{ECNECT0, ECNECT1, DSCPEF<<2 | ECNECT0} {
		f := testpkt.TCP("10.0.0.2", "10.2.0.10", 1, 2, 64, tos, 100)
		require.True(t, SetCE(f, 14))
		d := testpkt.DecodeValid(t, f)
		assert.Equal(t, tos|3, d.IPv4.TOS)
	}
	assert.False(t, SetCE(make([]byte, 30), 14))
}

func TestRewriteMACs(t *testing.T) {
	f := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10)
	src := [6]byte{0x02, 0, 0, 0, 0x10, 0x01}
	dst := [6]byte{0x02, 0, 0, 0, 0x20, 0x02}
	RewriteMACs(f, src, dst)
	d := testpkt.DecodeValid(t, f)
	assert.Equal(t, src[:], []byte(d.Eth.SrcMAC))
	assert.Equal(t, dst[:], []byte(d.Eth.DstMAC))
	short := []byte{1, 2, 3}
	RewriteMACs(short, src, dst)
	assert.Equal(t, []byte{1, 2, 3}, short)
}

func TestEtherType(t *testing.T) {
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10)
	vlan := testpkt.Options{VLAN: 100}.ARPRequest("10.0.0.2", "10.0.0.1")
	cases := []struct {
		name  string
		frame []byte
		et    uint16
		l3    int
	}{
		{"ipv4", udp, EtherTypeIPv4, 14},
		{"arp", testpkt.ARPRequest("10.0.0.2", "10.0.0.1"), EtherTypeARP, 14},
		{"ipv6", testpkt.NonIPv4(0), EtherTypeIPv6, 14},
		{"vlan_arp", vlan, EtherTypeARP, 18},
		{"vlan_cut", vlan[:17], 0, 0},
		{"short", udp[:13], 0, 0},
		{"exactly_14", udp[:14], EtherTypeIPv4, 14},
	}
	for _, tc := range cases {
		et, l3 := EtherType(tc.frame)
		assert.Equal(t, tc.et, et, tc.name)
		assert.Equal(t, tc.l3, l3, tc.name)
	}
}

func TestAddrConversions(t *testing.T) {
	a := netip.MustParseAddr("10.2.3.4")
	u, ok := AddrU32(a)
	require.True(t, ok)
	assert.Equal(t, uint32(0x0A020304), u)
	assert.Equal(t, a, Addr(u))
	u, ok = AddrU32(netip.MustParseAddr("::ffff:1.2.3.4"))
	assert.True(t, ok)
	assert.Equal(t, uint32(0x01020304), u)
	_, ok = AddrU32(netip.MustParseAddr("fd00::1"))
	assert.False(t, ok)
}

// TestSampleOutcomes runs the project's sample traffic through ParseIPv4, a
// stand-in for the default config's routing table and DecTTL, and checks that every
// frame meets the outcome the generator promised (and the promised ECN/DSCP counts).
func TestSampleOutcomes(t *testing.T) {
	frames, expect := testpkt.SampleFrames(3000, 7)
	var got testpkt.SampleCounts
	got.Total = len(frames)
	route := netip.MustParsePrefix("10.2.0.0/16")
	for i, sf := range frames {
		f := append([]byte(nil), sf.Data...)
		var p IPv4Info
		r := ParseIPv4(f, &p)
		if r == pkt.DropNone && !route.Contains(p.DstAddr()) {
			r = pkt.DropNoRoute
		}
		if r == pkt.DropNone && !DecTTL(f, p.L3) {
			r = pkt.DropTTLExpired
		}
		require.Equal(t, sf.Expect, r, "frame %d kind %s", i, sf.Kind)
		if r != pkt.DropNone {
			got.Drops[r]++
			continue
		}
		got.Forward++
		got.ForwardBytes += len(f)
		if p.ECN() != ECNNotECT {
			got.ECT++
		}
		if p.DSCP() == DSCPEF {
			got.EF++
		}
		if p.Proto == ProtoTCP {
			got.TCP++
		} else {
			got.UDP++
		}
		require.Equal(t, p.TTL-1, testpkt.DecodeValid(t, f).IPv4.TTL)
	}
	assert.Equal(t, expect, got)
}

// ethFrame wraps an IPv4 header (and nothing else) in an untagged Ethernet header.
func ethFrame(h []byte) []byte {
	f := make([]byte, 14+len(h))
	binary.BigEndian.PutUint16(f[12:], EtherTypeIPv4)
	copy(f[14:], h)
	return f
}

// fixChecksum stores the reference checksum of header h.
func fixChecksum(h []byte) {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], testpkt.InetChecksum(h))
}

// recomputed returns the reference checksum of header h (its checksum field
// ignored), without changing h.
func recomputed(h []byte) uint16 {
	c := append([]byte(nil), h...)
	c[10], c[11] = 0, 0
	return testpkt.InetChecksum(c)
}

// TestRouteFieldsAgrees runs the fast path over the sample traffic (valid UDP/TCP with
// every TOS and TTL, and each kind of bad frame): it accepts the plain valid ones that
// can be forwarded (TTL above 1) and agrees with ParseIPv4 (checkRouteFields), and refuses every frame ParseIPv4 drops.
func TestRouteFieldsAgrees(t *testing.T) {
	accepted := 0
	frames, _ := testpkt.Sample(4000, 5)
	for _, frame := range frames {
		checkRouteFields(t, frame)
		var p IPv4Info
		_, _, _, ok := RouteFields(frame)
		if ParseIPv4(frame, &p) != pkt.DropNone {
			require.False(t, ok)
		} else if p.L3 == EthHdrLen && p.HdrLen == IPv4MinLen && p.TTL > 1 {
			require.True(t, ok, "a plain valid frame must take the fast path: %+v", p)
			accepted++
		}
	}
	require.Greater(t, accepted, 1000)
	// TTL 0 and 1 go to the slow path (dropped there, or answered when for the router).
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 30)
	for _, ttl := range []uint8{0, 1, 2} {
		_, _, _, ok := RouteFields(testpkt.WithTTL(udp, ttl))
		require.Equal(t, ttl == 2, ok, "ttl %d", ttl)
	}

	// Fragment and flag bits decide whether the ports enter the hash; protocols
	// without ports; options (slow path).
	for _, frag := range []uint16{0, 0x4000, 0x8000, 0x2000, 0x0001, 0x1fff, 0x6000, 0xc000} {
		for _, f := range [][]byte{
			testpkt.UDP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, 0, 30),
			testpkt.TCP("10.0.0.2", "10.2.0.10", 1234, 5001, 64, 0, 30),
			testpkt.ICMPEcho("10.0.0.2", "10.2.0.10", 1, 2, 64, 8),
		} {
			binary.BigEndian.PutUint16(f[20:22], frag)
			SetHeaderChecksum(f[14:34])
			_, _, _, ok := RouteFields(f)
			require.True(t, ok, "frag %#x", frag)
			checkRouteFields(t, f)
		}
	}
	opt := testpkt.Options{IPOptions: []layers.IPv4Option{{OptionType: 1}, {OptionType: 0}}}.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 30)
	_, _, _, ok := RouteFields(opt)
	require.False(t, ok, "options take the slow path")
}

// TestRouteFieldsChecksumRandom: over random option-less headers, the fast path accepts
// exactly those whose checksum verifies (reference: a full recomputation), including
// the ones'-complement corners (sums that fold to 0x0000 or 0xffff).
func TestRouteFieldsChecksumRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 30)
	good, bad := 0, 0
	for i := 0; i < 200000; i++ {
		f := append([]byte(nil), udp...)
		h := f[EthHdrLen : EthHdrLen+IPv4MinLen]
		for j := 1; j < IPv4MinLen; j++ {
			h[j] = byte(rng.Uint32())
		}
		h[2], h[3] = 0, byte(len(f)-EthHdrLen) // total length that fits
		h[6] &= 0x40                           // DF at most: no fragments
		h[8] |= 2                              // TTL above 1
		switch rng.IntN(3) {
		case 0: // correct checksum
			h[10], h[11] = 0, 0
			c := testpkt.InetChecksum(h)
			h[10], h[11] = byte(c>>8), byte(c)
		case 1: // all ones or all zeros, the corners of ones' complement
			h[10], h[11] = 0xff, 0xff
			if rng.IntN(2) == 0 {
				h[10], h[11] = 0, 0
			}
		}
		valid := testpkt.InetChecksum(h) == 0
		_, _, _, ok := RouteFields(f)
		require.Equal(t, valid, ok, "header %x", h)
		if valid {
			good++
		} else {
			bad++
		}
	}
	require.Greater(t, good, 60000)
	require.Greater(t, bad, 60000)
}

// TestIPv4Dst reads back the destination ParseIPv4 finds, at the header offset it
// reports (plain, VLAN-tagged, with options), and 0 for a frame too short.
func TestIPv4Dst(t *testing.T) {
	for _, f := range [][]byte{
		testpkt.UDP("10.0.0.2", "10.2.3.4", 1, 2, 64, 0, 10),
		testpkt.Options{VLAN: 42}.UDP("10.0.0.3", "10.2.0.1", 7, 8, 9, 0, 30),
		testpkt.Options{IPOptions: []layers.IPv4Option{{OptionType: 0}}}.TCP("10.0.0.4", "172.16.0.9", 80, 81, 30, 0, 10),
	} {
		var in IPv4Info
		require.Equal(t, pkt.DropNone, ParseIPv4(f, &in))
		require.Equal(t, in.Dst, IPv4Dst(f, in.L3))
		require.Zero(t, IPv4Dst(f[:in.L3+IPv4MinLen-1], in.L3))
	}
}
