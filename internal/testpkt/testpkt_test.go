package testpkt

import (
	"encoding/binary"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/pkt"
)

func TestBuildersDecodeValid(t *testing.T) {
	u := UDP("10.0.0.2", "10.2.0.10", 1234, 5001, 7, 0xB8|2, 100)
	d := DecodeValid(t, u)
	require.NotNil(t, d.UDP)
	assert.Equal(t, 14+20+8+100, len(u))
	assert.Equal(t, "10.0.0.2", d.IPv4.SrcIP.String())
	assert.Equal(t, "10.2.0.10", d.IPv4.DstIP.String())
	assert.Equal(t, uint8(7), d.IPv4.TTL)
	assert.Equal(t, uint8(0xBA), d.IPv4.TOS)
	assert.Equal(t, layers.UDPPort(1234), d.UDP.SrcPort)
	assert.Equal(t, Payload(100), d.UDP.Payload)
	assert.Equal(t, HostMAC, d.Eth.SrcMAC)
	assert.Equal(t, RouterMAC, d.Eth.DstMAC)
	assert.NotZero(t, d.UDP.Checksum)

	tc := Options{TCPSeq: 99, VLAN: 10, SrcMAC: net.HardwareAddr{2, 9, 9, 9, 9, 9}, DF: true, IPID: 5}.
		TCP("10.0.0.3", "10.2.1.1", 1, 2, 64, 0, 0)
	d = DecodeValid(t, tc)
	require.NotNil(t, d.TCP)
	require.NotNil(t, d.Dot1Q)
	assert.Equal(t, uint16(10), d.Dot1Q.VLANIdentifier)
	assert.Equal(t, uint32(99), d.TCP.Seq)
	assert.Equal(t, layers.IPv4DontFragment, d.IPv4.Flags)
	assert.Equal(t, uint16(5), d.IPv4.Id)
	assert.Equal(t, net.HardwareAddr{2, 9, 9, 9, 9, 9}, d.Eth.SrcMAC)
	assert.Equal(t, 60, len(UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 0)), "padded to the Ethernet minimum")

	d = DecodeValid(t, ICMPEcho("10.0.0.2", "10.0.0.1", 3, 4, 64, 56))
	require.NotNil(t, d.ICMP)
	assert.Equal(t, layers.CreateICMPv4TypeCode(8, 0), d.ICMP.TypeCode)
	assert.Equal(t, uint16(3), d.ICMP.Id)

	d = DecodeValid(t, ARPRequest("10.0.0.2", "10.0.0.1"))
	require.NotNil(t, d.ARP)
	assert.Equal(t, Broadcast, d.Eth.DstMAC)
	assert.Equal(t, []byte{10, 0, 0, 1}, d.ARP.DstProtAddress)

	d = DecodeValid(t, NonIPv4(10))
	require.NotNil(t, d.IPv6)
	assert.Equal(t, layers.EthernetTypeIPv6, d.Eth.EthernetType)

	d = DecodeValid(t, Unroutable(10))
	assert.Equal(t, UnroutableDst, d.IPv4.DstIP.String())
	assert.Equal(t, uint32(0xC0000201), IPv4(UnroutableDst))
	assert.Panics(t, func() { IPv4("fd00::1") })
}

// TestMutators checks that each mutator breaks exactly what it says: the IPv4
// checksum stays valid (per gopacket) unless it is the subject, and the field is set.
func TestMutators(t *testing.T) {
	base := UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 100)
	orig := append([]byte(nil), base...)
	ipSumOK := func(f []byte) bool {
		l3 := L3Offset(f)
		n := int(f[l3]&0xf) * 4
		if n < 20 || l3+n > len(f) {
			n = 20
		}
		return gopacket.FoldChecksum(gopacket.ComputeChecksum(f[l3:l3+n], 0)) == 0
	}

	f := BadVersion(base, 6)
	assert.Equal(t, uint8(0x65), f[14])
	assert.True(t, ipSumOK(f))
	f = BadIHL(base, 3)
	assert.Equal(t, uint8(0x43), f[14])
	assert.True(t, ipSumOK(f))
	f = BadTotalLen(base, 4000)
	assert.Equal(t, uint16(4000), binary.BigEndian.Uint16(f[16:]))
	assert.True(t, ipSumOK(f))
	f = BadChecksum(base)
	assert.False(t, ipSumOK(f))
	d, err := Decode(f)
	require.NoError(t, err)
	assert.ErrorContains(t, d.VerifyChecksums(), "IPv4 checksum")
	f = TTL1(base)
	assert.Equal(t, uint8(1), DecodeValid(t, f).IPv4.TTL)
	f = WithTOS(base, 0xB9)
	assert.Equal(t, uint8(0xB9), DecodeValid(t, f).IPv4.TOS)
	f = Truncated(base, 20)
	assert.Len(t, f, 20)

	vlan := Options{VLAN: 4}.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10)
	assert.Equal(t, 18, L3Offset(vlan))
	assert.Equal(t, uint8(9), DecodeValid(t, WithTTL(vlan, 9)).IPv4.TTL)

	assert.Equal(t, orig, base, "mutators must not touch their input")
}

func TestInetChecksum(t *testing.T) {
	for _, b := range [][]byte{{}, {1}, {0xff, 0xff}, {1, 2, 3}, Payload(1001), Payload(1500)} {
		assert.Equal(t, gopacket.FoldChecksum(gopacket.ComputeChecksum(b, 0)), InetChecksum(b), "len %d", len(b))
	}
	// RFC 1071 section 3 example words 0001 f203 f4f5 f6f7: sum ddf2, checksum 220d.
	assert.Equal(t, uint16(0x220d), InetChecksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}))
}

func TestDecodeRejectsGarbage(t *testing.T) {
	_, err := Decode([]byte{1, 2, 3})
	assert.Error(t, err)
}

func TestPcapRoundTrip(t *testing.T) {
	dir := t.TempDir()
	frames := [][]byte{UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10), ARPRequest("10.0.0.2", "10.0.0.1"), Truncated(NonIPv4(5), 20)}
	ts := []time.Time{time.Unix(1700000000, 123000).UTC()}
	path := filepath.Join(dir, "x.pcap")
	require.NoError(t, WritePcap(path, frames, ts))
	got, err := ReadPcap(path)
	require.NoError(t, err)
	require.Len(t, got, len(frames))
	for i := range frames {
		assert.Equal(t, frames[i], got[i].Data)
	}
	assert.True(t, ts[0].Equal(got[0].TS), "given timestamp kept (µs resolution)")
	assert.True(t, BaseTime.Add(time.Microsecond).Equal(got[1].TS), "default timestamps step 1 µs")

	_, err = ReadPcap(filepath.Join(dir, "missing.pcap"))
	assert.Error(t, err)
	assert.Error(t, WritePcap(filepath.Join(dir, "no", "such", "dir.pcap"), frames, nil))
}

func TestSampleDeterministic(t *testing.T) {
	a, ca := Sample(500, 42)
	b, cb := Sample(500, 42)
	require.Equal(t, a, b)
	require.Equal(t, ca, cb)
	c, _ := Sample(500, 43)
	assert.NotEqual(t, a, c, "another seed gives other traffic")
}

// TestSampleCounts recounts a sample from its frames, using gopacket to decode them,
// and checks the published counts.
func TestSampleCounts(t *testing.T) {
	frames, c := SampleFrames(2000, 1)
	require.Len(t, frames, 2000)
	assert.Equal(t, 2000, c.Total)
	assert.Equal(t, 1800, c.Forward)
	for _, r := range []pkt.DropReason{pkt.DropMalformed, pkt.DropBadChecksum, pkt.DropUnsupported, pkt.DropNoRoute, pkt.DropTTLExpired} {
		assert.Equal(t, 40, c.Drops[r], r.String())
	}
	sum := c.Forward
	for _, n := range c.Drops {
		sum += n
	}
	assert.Equal(t, c.Total, sum)

	var re SampleCounts
	re.Total = len(frames)
	kinds := map[string]int{}
	for i, f := range frames {
		kinds[f.Kind]++
		if f.Expect != pkt.DropNone {
			re.Drops[f.Expect]++
			if f.Expect == pkt.DropMalformed {
				continue
			}
			d := decodeOrFail(t, f.Data)
			switch f.Expect {
			case pkt.DropBadChecksum:
				assert.Error(t, d.VerifyChecksums(), "frame %d", i)
			case pkt.DropTTLExpired:
				assert.LessOrEqual(t, d.IPv4.TTL, uint8(1))
			case pkt.DropUnsupported:
				assert.NotNil(t, d.IPv6)
			case pkt.DropNoRoute:
				assert.NotEqual(t, byte(10), d.IPv4.DstIP[0])
			}
			continue
		}
		d := DecodeValid(t, f.Data)
		require.Equal(t, byte(10), d.IPv4.DstIP[0])
		require.Equal(t, byte(2), d.IPv4.DstIP[1], "frame %d goes to 10.2.0.0/16", i)
		require.GreaterOrEqual(t, d.IPv4.TTL, uint8(2))
		require.GreaterOrEqual(t, len(f.Data), 64)
		require.LessOrEqual(t, len(f.Data), 1514)
		re.Forward++
		re.ForwardBytes += len(f.Data)
		if d.IPv4.TOS&3 != 0 {
			re.ECT++
		}
		if d.IPv4.TOS>>2 == 46 {
			re.EF++
		}
		if d.TCP != nil {
			re.TCP++
		} else {
			re.UDP++
		}
	}
	assert.Equal(t, c, re)
	for _, k := range []string{"truncated", "bad_version", "bad_ihl", "bad_total_len"} {
		assert.Equal(t, 10, kinds[k], k)
	}
	assert.Greater(t, c.ECT, 0)
	assert.Greater(t, c.EF, 0)
	assert.Contains(t, c.String(), "forward=1800")
	assert.Contains(t, c.String(), "ttl_expired=40")

	small, cs := Sample(10, 1)
	assert.Len(t, small, 10)
	assert.Equal(t, 10, cs.Forward, "below 25 frames no bad kind gets a frame")
}

func decodeOrFail(t *testing.T, f []byte) *Decoded {
	t.Helper()
	d, err := Decode(f)
	require.NoError(t, err)
	return d
}
