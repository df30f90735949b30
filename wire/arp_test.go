package wire

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
)

var (
	ourMAC = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	ourIP  = testpkt.IPv4("10.0.0.1")
)

func TestParseARP(t *testing.T) {
	hostMAC := [6]byte(testpkt.HostMAC)
	req := testpkt.ARPRequest("10.0.0.2", "10.0.0.1")
	var a ARPInfo
	require.True(t, ParseARP(req, &a))
	assert.Equal(t, ARPInfo{L3: 14, Op: ARPRequest, SenderMAC: hostMAC, SenderIP: testpkt.IPv4("10.0.0.2"),
		TargetIP: testpkt.IPv4("10.0.0.1")}, a)

	rep := testpkt.Options{VLAN: 7, SrcMAC: net.HardwareAddr(ourMAC[:])}.ARPReply("10.0.0.1", testpkt.HostMAC, "10.0.0.2")
	require.True(t, ParseARP(rep, &a))
	assert.Equal(t, ARPInfo{L3: 18, Op: ARPReply, SenderMAC: ourMAC, SenderIP: ourIP,
		TargetMAC: hostMAC, TargetIP: testpkt.IPv4("10.0.0.2")}, a)

	bad := func(off int, v uint16, wide bool) []byte {
		f := append([]byte(nil), req...)
		if wide {
			binary.BigEndian.PutUint16(f[14+off:], v)
		} else {
			f[14+off] = byte(v)
		}
		return f
	}
	cases := map[string][]byte{
		"htype_6":       bad(0, 6, true),
		"ptype_ipv6":    bad(2, EtherTypeIPv6, true),
		"hlen_8":        bad(4, 8, false),
		"plen_16":       bad(5, 16, false),
		"op_0":          bad(6, 0, true),
		"op_3":          bad(6, 3, true),
		"truncated":     req[:41],
		"ipv4":          testpkt.UDP("10.0.0.2", "10.0.0.1", 1, 2, 64, 0, 10),
		"empty":         nil,
		"vlan_cut":      testpkt.Options{VLAN: 7}.ARPRequest("10.0.0.2", "10.0.0.1")[:45],
		"ethernet_only": req[:14],
	}
	for name, f := range cases {
		assert.False(t, ParseARP(f, &a), name)
	}
	assert.True(t, ParseARP(req[:42], &a), "42 bytes without padding is enough")
}

func TestBuildARPReplyInPlace(t *testing.T) {
	for _, vlan := range []uint16{0, 300} {
		req := testpkt.Options{VLAN: vlan}.ARPRequest("10.0.0.2", "10.0.0.1")
		n := BuildARPReplyInPlace(req, ourMAC, ourIP)
		wantLen := 42
		if vlan != 0 {
			wantLen = 46
		}
		require.Equal(t, wantLen, n)
		d := testpkt.DecodeValid(t, req[:n])
		require.NotNil(t, d.ARP)
		assert.Equal(t, ourMAC[:], []byte(d.Eth.SrcMAC))
		assert.Equal(t, []byte(testpkt.HostMAC), []byte(d.Eth.DstMAC))
		assert.Equal(t, uint16(layers.ARPReply), d.ARP.Operation)
		assert.Equal(t, ourMAC[:], d.ARP.SourceHwAddress)
		assert.Equal(t, []byte{10, 0, 0, 1}, d.ARP.SourceProtAddress)
		assert.Equal(t, []byte(testpkt.HostMAC), d.ARP.DstHwAddress)
		assert.Equal(t, []byte{10, 0, 0, 2}, d.ARP.DstProtAddress)
		if vlan != 0 {
			require.NotNil(t, d.Dot1Q)
			assert.Equal(t, vlan, d.Dot1Q.VLANIdentifier)
		}
	}

	// Not for us, not a request, not ARP: refused, frame untouched.
	for name, f := range map[string][]byte{
		"other_target": testpkt.ARPRequest("10.0.0.2", "10.0.0.9"),
		"reply":        testpkt.Options{}.ARPReply("10.0.0.2", testpkt.RouterMAC, "10.0.0.1"),
		"ipv4":         testpkt.UDP("10.0.0.2", "10.0.0.1", 1, 2, 64, 0, 10),
	} {
		orig := append([]byte(nil), f...)
		assert.Zero(t, BuildARPReplyInPlace(f, ourMAC, ourIP), name)
		assert.Equal(t, orig, f, name)
	}
}

func TestBuildARPRequest(t *testing.T) {
	buf := make([]byte, 128)
	n := BuildARPRequest(buf, ourMAC, ourIP, testpkt.IPv4("10.1.0.2"))
	require.Equal(t, ARPFrameLen, n)
	d := testpkt.DecodeValid(t, buf[:n])
	require.NotNil(t, d.ARP)
	assert.Equal(t, BroadcastMAC[:], []byte(d.Eth.DstMAC))
	assert.Equal(t, ourMAC[:], []byte(d.Eth.SrcMAC))
	assert.Equal(t, uint16(layers.ARPRequest), d.ARP.Operation)
	assert.Equal(t, ourMAC[:], d.ARP.SourceHwAddress)
	assert.Equal(t, []byte{10, 0, 0, 1}, d.ARP.SourceProtAddress)
	assert.Equal(t, make([]byte, 6), d.ARP.DstHwAddress)
	assert.Equal(t, []byte{10, 1, 0, 2}, d.ARP.DstProtAddress)

	var a ARPInfo
	require.True(t, ParseARP(buf[:n], &a), "our own request parses")
	assert.Zero(t, BuildARPRequest(buf[:41], ourMAC, ourIP, 1))
}
