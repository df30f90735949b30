package traffic

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/wire"
)

func testAddressing(t testing.TB) *Addressing {
	ips, err := OutputIPs(netip.MustParseAddr("10.1.0.0"), 4, 2)
	require.NoError(t, err)
	return &Addressing{
		Port:   3,
		SrcMAC: [6]byte{0x02, 0, 0, 0, 0, 0x33},
		DstMAC: [6]byte{0x02, 0, 0, 0, 0, 0x01},
		SrcIP:  testpkt.IPv4("10.0.3.2"),
		DstIP:  ips,
	}
}

// TestWriteFrame: gopacket decodes every written frame as valid Ethernet/IPv4/UDP
// with a correct header checksum and the fields the Frame and Addressing give, and
// ParseFrame reads back the payload header.
func TestWriteFrame(t *testing.T) {
	a := testAddressing(t)
	buf := make([]byte, 2048)
	for _, f := range []Frame{
		{Len: 60, Out: 0, Flow: 0, Seq: 0, SPort: 49152},
		{Len: 566, Out: 2, Flow: 7, Seq: 1<<32 + 5, SPort: 49153, DSCP: 46, ECN: 2},
		{Len: 1514, Out: 3, Flow: 65535, Seq: 123456789, SPort: 65535, DSCP: 63, ECN: 3},
	} {
		for i := range buf {
			buf[i] = 0xa5 // garbage a pool buffer may hold
		}
		ts := uint64(0x0102030405060708) + f.Seq
		n := WriteFrame(buf, &f, a, ts)
		require.Equal(t, int(f.Len), n)
		d := testpkt.DecodeValid(t, buf[:n])
		require.NotNil(t, d.UDP)
		require.Equal(t, net.HardwareAddr(a.DstMAC[:]), d.Eth.DstMAC)
		require.Equal(t, net.HardwareAddr(a.SrcMAC[:]), d.Eth.SrcMAC)
		require.Equal(t, "10.0.3.2", d.IPv4.SrcIP.String())
		require.Equal(t, netip.AddrFrom4([4]byte{10, 1, byte(f.Out), 2}).String(), d.IPv4.DstIP.String())
		require.Equal(t, f.DSCP<<2|f.ECN, d.IPv4.TOS)
		require.EqualValues(t, n-14, d.IPv4.Length)
		require.Equal(t, layers.IPv4DontFragment, d.IPv4.Flags)
		require.EqualValues(t, 64, d.IPv4.TTL)
		require.EqualValues(t, f.SPort, d.UDP.SrcPort)
		require.EqualValues(t, DefaultDPort, d.UDP.DstPort)
		require.EqualValues(t, n-34, d.UDP.Length)
		require.Zero(t, d.UDP.Checksum, "no UDP checksum")
		require.Equal(t, n-42, len(d.UDP.Payload))
		require.Zero(t, testpkt.InetChecksum(buf[14:34]), "IPv4 header sums to 0xffff")

		p, ok := ParseFrame(buf[:n])
		require.True(t, ok)
		require.Equal(t, Payload{Timestamp: ts, Seq: uint32(f.Seq), Flow: f.Flow, Len: f.Len,
			Port: 3, DSCP: f.DSCP, ECN: f.ECN}, p)
	}

	// Zero and TSC options.
	a.Zero, a.TSC = true, true
	f := Frame{Len: 200, Out: 1}
	n := WriteFrame(buf, &f, a, 99)
	require.Equal(t, make([]byte, 200-42-PayloadLen), buf[42+PayloadLen:n])
	p, ok := ParseFrame(buf[:n])
	require.True(t, ok)
	require.EqualValues(t, FlagTSC, p.Flags)

	// Refusals: short buffer, runt frame, unknown output.
	require.Zero(t, WriteFrame(buf[:100], &f, a, 0))
	require.Zero(t, WriteFrame(buf, &Frame{Len: 59}, a, 0))
	require.Zero(t, WriteFrame(buf, &Frame{Len: 60, Out: 4}, a, 0))
}

// TestParseFrame: frames built by gopacket (testpkt) with the payload header are read
// through an 802.1Q tag and IP options; frames without the magic, truncated, non-UDP
// or fragments are refused.
func TestParseFrame(t *testing.T) {
	hdr := make([]byte, PayloadLen)
	binary.BigEndian.PutUint16(hdr[0:], Magic)
	hdr[2] = 9
	binary.BigEndian.PutUint16(hdr[4:], 77)
	binary.BigEndian.PutUint32(hdr[6:], 1234)
	binary.BigEndian.PutUint64(hdr[10:], 5555)
	withPayload := func(frame []byte) []byte {
		copy(frame[len(frame)-PayloadLen-10:], hdr) // payload is PayloadLen+10 bytes
		return frame
	}
	want := Payload{Timestamp: 5555, Seq: 1234, Flow: 77, Port: 9, DSCP: 10, ECN: 1}
	for _, o := range []testpkt.Options{
		{},
		{VLAN: 5},
		{IPOptions: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}},
	} {
		fr := withPayload(o.UDP("10.0.0.2", "10.1.1.2", 49152, 9, 64, 10<<2|1, PayloadLen+10))
		p, ok := ParseFrame(fr)
		require.True(t, ok, "%+v", o)
		w := want
		w.Len = uint16(len(fr))
		require.Equal(t, w, p)
	}
	good := withPayload(testpkt.UDP("10.0.0.2", "10.1.1.2", 49152, 9, 64, 0, PayloadLen+10))
	_, ok := ParseFrame(good)
	require.True(t, ok)

	noMagic := append([]byte(nil), good...)
	noMagic[42] ^= 1
	frag := append([]byte(nil), good...)
	frag[14+7] = 1 // fragment offset 1
	tcp := testpkt.TCP("10.0.0.2", "10.1.1.2", 1, 2, 64, 0, PayloadLen+10)
	for name, fr := range map[string][]byte{
		"no magic":  noMagic,
		"truncated": good[:42+PayloadLen-1],
		"fragment":  frag,
		"tcp":       tcp,
		"arp":       testpkt.ARPRequest("10.0.0.2", "10.0.0.1"),
		"ipv6":      testpkt.Options{}.IPv6UDP("2001:db8::1", "2001:db8::2", 1, 2, 40),
		"empty":     nil,
	} {
		_, ok := ParseFrame(fr)
		require.False(t, ok, name)
	}
}

func TestOutputIPs(t *testing.T) {
	ips, err := OutputIPs(netip.MustParseAddr("10.1.0.0"), 3, 7)
	require.NoError(t, err)
	require.Equal(t, []uint32{testpkt.IPv4("10.1.0.7"), testpkt.IPv4("10.1.1.7"), testpkt.IPv4("10.1.2.7")}, ips)
	_, err = OutputIPs(netip.MustParseAddr("10.1.0.1"), 3, 7)
	require.Error(t, err)
	_, err = OutputIPs(netip.MustParseAddr("255.255.255.0"), 2, 7)
	require.Error(t, err)
}

// TestHeaderChecksum: the checksum from field values equals wire.Checksum over
// the header bytes, on random fields including all-ones values that exercise every
// carry fold.
func TestHeaderChecksum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := make([]byte, 20)
	pick := func(bits uint) uint32 {
		if r.IntN(3) == 0 {
			return 1<<bits - 1
		}
		return r.Uint32() & (1<<bits - 1)
	}
	for range 200_000 {
		tos, tl, id, ttl := uint8(pick(8)), uint16(pick(16)), uint16(pick(16)), uint8(pick(8))
		src, dst := pick(32), pick(32)
		h[0], h[1], h[8], h[9] = 0x45, tos, ttl, 17
		binary.BigEndian.PutUint16(h[2:], tl)
		binary.BigEndian.PutUint16(h[4:], id)
		binary.BigEndian.PutUint16(h[6:], 0x4000)
		h[10], h[11] = 0, 0
		binary.BigEndian.PutUint32(h[12:], src)
		binary.BigEndian.PutUint32(h[16:], dst)
		require.Equal(t, wire.Checksum(h), headerChecksum(tos, tl, id, ttl, src, dst), "%x", h)
	}
}
