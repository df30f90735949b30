package wire

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
	"github.com/dpdkq/dpdkq/pkt"
)

func TestClassify(t *testing.T) {
	var local LocalAddrs
	require.NoError(t, local.Add(testpkt.IPv4("10.0.0.1")))
	require.NoError(t, local.Add(testpkt.IPv4("10.1.0.1")))
	require.NoError(t, local.Add(testpkt.IPv4("10.1.0.1")), "duplicate ignored")
	assert.Equal(t, 2, local.Len())

	cases := []struct {
		name   string
		frame  []byte
		v      Verdict
		reason pkt.DropReason
	}{
		{"forward", testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10), Forward, pkt.DropNone},
		{"forward_ttl1_is_later", testpkt.TTL1(testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10)), Forward, pkt.DropNone},
		{"ping_in0", testpkt.ICMPEcho("10.0.0.2", "10.0.0.1", 1, 1, 1, 8), ToRouter, pkt.DropNone},
		{"ping_out0_addr", testpkt.ICMPEcho("10.0.0.2", "10.1.0.1", 1, 1, 64, 8), ToRouter, pkt.DropNone},
		{"arp", testpkt.ARPRequest("10.0.0.2", "10.0.0.1"), ToRouter, pkt.DropNone},
		{"arp_vlan", testpkt.Options{VLAN: 2}.ARPRequest("10.0.0.2", "10.0.0.1"), ToRouter, pkt.DropNone},
		{"limited_broadcast", testpkt.UDP("10.0.0.2", "255.255.255.255", 68, 67, 64, 0, 10), Drop, pkt.DropNotForUs},
		{"multicast", testpkt.UDP("10.0.0.2", "224.0.0.251", 5353, 5353, 1, 0, 10), Drop, pkt.DropNotForUs},
		{"ipv6", testpkt.NonIPv4(10), Drop, pkt.DropUnsupported},
		{"malformed", testpkt.BadVersion(testpkt.UDP("10.0.0.2", "10.2.0.10", 1, 2, 64, 0, 10), 6), Drop, pkt.DropMalformed},
		{"bad_checksum", testpkt.BadChecksum(testpkt.UDP("10.0.0.2", "10.0.0.1", 1, 2, 64, 0, 10)), Drop, pkt.DropBadChecksum},
	}
	for _, tc := range cases {
		var p IPv4Info
		v, r := Classify(tc.frame, &p, &local)
		assert.Equal(t, tc.v, v, "%s: verdict %s", tc.name, v)
		assert.Equal(t, tc.reason, r, "%s: reason %s", tc.name, r)
	}
	var p IPv4Info
	_, _ = Classify(testpkt.Options{VLAN: 2}.ARPRequest("10.0.0.2", "10.0.0.1"), &p, &local)
	assert.Equal(t, 18, p.L3)
}

func TestLocalAddrsFull(t *testing.T) {
	var l LocalAddrs
	for i := range MaxLocalAddrs {
		require.NoError(t, l.Add(uint32(0x0A000001+i)))
	}
	err := l.Add(0x0A0000FF)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "10.0.0.255")
	assert.Contains(t, err.Error(), "16")
	assert.False(t, l.Contains(0x0A0000FF))
	assert.True(t, l.Contains(0x0A000001+MaxLocalAddrs-1))
}

func TestVerdictString(t *testing.T) {
	assert.Equal(t, "forward", Forward.String())
	assert.Equal(t, "to_router", ToRouter.String())
	assert.Equal(t, "drop", Drop.String())
	assert.Equal(t, "unknown", Verdict(9).String())
}
