package wire

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/pkt"
)

func parse(t *testing.T, f []byte) *IPv4Info {
	t.Helper()
	var p IPv4Info
	require.Equal(t, pkt.DropNone, ParseIPv4(f, &p))
	return &p
}

func TestIsICMPEchoRequest(t *testing.T) {
	echo := testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 2, 64, 56)
	assert.True(t, IsICMPEchoRequest(echo, parse(t, echo)))
	assert.True(t, IsICMPEchoRequest(echo, parse(t, testpkt.WithTTL(echo, 1))), "TTL 1 is fine for us")

	badSum := append([]byte(nil), echo...)
	badSum[14+20+2] ^= 0x10
	reply := append([]byte(nil), echo...)
	reply[14+20] = 0
	binary.BigEndian.PutUint16(reply[14+20+2:], 0)
	binary.BigEndian.PutUint16(reply[14+20+2:], testpkt.InetChecksum(reply[14+20:]))
	frag := append([]byte(nil), echo...)
	binary.BigEndian.PutUint16(frag[14+6:], 0x2000)
	testpkt.FixIPv4Checksum(frag)
	short := testpkt.BadTotalLen(echo, 27) // 7 ICMP bytes

	for name, f := range map[string][]byte{
		"bad_icmp_checksum": badSum,
		"echo_reply":        reply,
		"fragment":          frag,
		"short_icmp":        short,
		"udp":               testpkt.UDP("10.0.0.2", "10.0.0.1", 1, 2, 64, 0, 56),
	} {
		assert.False(t, IsICMPEchoRequest(f, parse(t, f)), name)
	}
}

// TestBuildICMPEchoReplyInPlace turns requests of many shapes into replies and checks
// them with gopacket: checksums, swapped addresses, echoed id/seq/payload.
func TestBuildICMPEchoReplyInPlace(t *testing.T) {
	nopOpts := []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
	cases := []struct {
		name string
		opts testpkt.Options
		plen int
	}{
		{"plain_56", testpkt.Options{}, 56},
		{"empty_payload", testpkt.Options{}, 0},
		{"odd_payload", testpkt.Options{}, 33},
		{"big", testpkt.Options{}, 1472},
		{"vlan", testpkt.Options{VLAN: 12}, 56},
		{"df_and_id", testpkt.Options{DF: true, IPID: 4242}, 17},
		{"ip_options", testpkt.Options{IPOptions: nopOpts}, 21},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.opts.ICMPEcho("10.0.0.2", "10.0.0.1", 0xbeef, 77, 5, tc.plen)
			reqD := testpkt.DecodeValid(t, req)
			p := parse(t, req)
			require.True(t, IsICMPEchoRequest(req, p))
			n := BuildICMPEchoReplyInPlace(req, p)
			l3 := 14
			if tc.opts.VLAN != 0 {
				l3 = 18
			}
			require.Equal(t, l3+20+8+tc.plen, n)
			d := testpkt.DecodeValid(t, req[:n])
			require.NotNil(t, d.ICMP)
			assert.Equal(t, reqD.Eth.SrcMAC, d.Eth.DstMAC)
			assert.Equal(t, reqD.Eth.DstMAC, d.Eth.SrcMAC)
			assert.Equal(t, "10.0.0.1", d.IPv4.SrcIP.String())
			assert.Equal(t, "10.0.0.2", d.IPv4.DstIP.String())
			assert.Equal(t, uint8(ReplyTTL), d.IPv4.TTL)
			assert.Equal(t, uint8(5), d.IPv4.IHL, "options removed")
			assert.Equal(t, reqD.IPv4.Flags&layers.IPv4DontFragment, d.IPv4.Flags)
			assert.Equal(t, uint8(layers.ICMPv4TypeEchoReply), d.ICMP.TypeCode.Type())
			assert.Equal(t, uint16(0xbeef), d.ICMP.Id)
			assert.Equal(t, uint16(77), d.ICMP.Seq)
			assert.Equal(t, testpkt.Payload(tc.plen), []byte(d.ICMP.Payload))
			// info now describes the reply
			assert.Equal(t, *parse(t, req[:n]), *p)
		})
	}
	udp := testpkt.UDP("10.0.0.2", "10.0.0.1", 1, 2, 64, 0, 56)
	orig := append([]byte(nil), udp...)
	assert.Zero(t, BuildICMPEchoReplyInPlace(udp, parse(t, udp)))
	assert.Equal(t, orig, udp)
	echo := testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 2, 64, 56)
	assert.Zero(t, BuildICMPEchoReplyInPlace(echo[:60], parse(t, echo)), "info longer than frame")
}

func TestBuildICMPError(t *testing.T) {
	src := testpkt.IPv4("10.0.0.1")
	hostMAC := [6]byte(testpkt.HostMAC)
	dst := make([]byte, 2048)

	for _, tc := range []struct {
		name  string
		frame []byte
		quote int
	}{
		{"small_udp", testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 1, 0, 10), 38},
		{"full_size_tcp", testpkt.TCP("10.0.0.2", "10.2.0.10", 1, 2, 1, 0, 1460), 548},
		{"vlan_echo", testpkt.Options{VLAN: 3}.ICMPEcho("10.0.0.2", "10.2.0.10", 1, 2, 1, 100), 128},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := parse(t, tc.frame)
			n := BuildICMPError(dst, tc.frame, p, ICMPTimeExceeded, CodeTTLExceeded, src, ourMAC, hostMAC)
			require.Equal(t, 14+20+8+tc.quote, n)
			d := testpkt.DecodeValid(t, dst[:n])
			require.NotNil(t, d.ICMP)
			assert.Equal(t, ourMAC[:], []byte(d.Eth.SrcMAC))
			assert.Equal(t, hostMAC[:], []byte(d.Eth.DstMAC))
			assert.Equal(t, "10.0.0.1", d.IPv4.SrcIP.String())
			assert.Equal(t, "10.0.0.2", d.IPv4.DstIP.String())
			assert.Equal(t, uint8(0xC0), d.IPv4.TOS)
			assert.Equal(t, layers.IPProtocolICMPv4, d.IPv4.Protocol)
			assert.LessOrEqual(t, int(d.IPv4.Length), 576)
			assert.Equal(t, layers.CreateICMPv4TypeCode(11, 0), d.ICMP.TypeCode)
			assert.Equal(t, tc.frame[p.L3:p.L3+tc.quote], []byte(d.ICMP.Payload), "quotes the original from its IP header")
		})
	}

	udp := testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 1, 0, 10)
	n := BuildICMPError(dst[:14+20+8+28], udp, parse(t, udp), ICMPDestUnreach, CodeNetUnreachable, src, ourMAC, hostMAC)
	require.Equal(t, 14+20+8+28, n, "quote clipped to the room in dst")
	testpkt.DecodeValid(t, dst[:n])
	assert.Zero(t, BuildICMPError(dst[:14+20+8+27], udp, parse(t, udp), 3, 0, src, ourMAC, hostMAC), "no room for header+8")

	// RFC 1812 4.3.2.7: packets that must not provoke an ICMP error.
	icmpErr := make([]byte, 256)
	m := BuildICMPError(icmpErr, udp, parse(t, udp), ICMPTimeExceeded, 0, src, ourMAC, hostMAC)
	icmpErr = icmpErr[:m]
	bcastMAC := append([]byte(nil), udp...)
	copy(bcastMAC, BroadcastMAC[:])
	nonFirstFrag := append([]byte(nil), udp...)
	binary.BigEndian.PutUint16(nonFirstFrag[14+6:], 0x2000|10)
	testpkt.FixIPv4Checksum(nonFirstFrag)
	for name, f := range map[string][]byte{
		"icmp_error":         icmpErr,
		"link_broadcast":     bcastMAC,
		"non_first_fragment": nonFirstFrag,
		"limited_broadcast":  testpkt.UDP("10.0.0.2", "255.255.255.255", 1, 2, 1, 0, 10),
		"multicast_dst":      testpkt.UDP("10.0.0.2", "239.1.1.1", 1, 2, 1, 0, 10),
		"src_zero":           testpkt.UDP("0.0.0.0", "10.2.0.10", 1, 2, 1, 0, 10),
		"src_loopback":       testpkt.UDP("127.0.0.1", "10.2.0.10", 1, 2, 1, 0, 10),
		"src_class_e":        testpkt.UDP("240.0.0.1", "10.2.0.10", 1, 2, 1, 0, 10),
	} {
		assert.Zero(t, BuildICMPError(dst, f, parse(t, f), ICMPTimeExceeded, 0, src, ourMAC, hostMAC), name)
	}
}
