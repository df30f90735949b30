package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeviceForms(t *testing.T) {
	ok := []string{"net_null0,no-rx=1", "net_pcap0,rx_pcap=/a/b.pcap,infinite_rx=1", "0000:01:00.0",
		"net_memif0,role=server,socket=/run/memif.sock,socket-abstract=no", "net_af_xdp1,iface=eth0", "eth_pcap0,iface=lo"}
	for _, d := range ok {
		y := "ports:\n  - {name: a, device: \"" + d + "\", mode: xconnect, xconnect: b}\n  - {name: b, device: \"net_ring9\", mode: xconnect, xconnect: a}\neal: {no_pci: false}\napi: {listen: \"\"}\n"
		_, err := LoadBytes([]byte(y), nil)
		require.NoError(t, err, d)
	}
	bad := []string{"null0", "net_null", "net_null0,no-rx", "net_null0,=1", "net_null0,,a=1"}
	for _, d := range bad {
		y := "ports:\n  - {name: a, device: \"" + d + "\", mode: xconnect, xconnect: b}\n  - {name: b, device: \"net_ring9\", mode: xconnect, xconnect: a}\napi: {listen: \"\"}\n"
		_, err := LoadBytes([]byte(y), nil)
		require.ErrorContains(t, err, "ports[0].device", d)
	}
}

func TestDeviceDriverTypoNamesTheList(t *testing.T) {
	y := "ports:\n  - {name: a, device: \"net_pcapp0,rx_pcap=x.pcap\", mode: xconnect, xconnect: b}\n  - {name: b, device: \"net_ring9\", mode: xconnect, xconnect: a}\napi: {listen: \"\"}\n"
	_, err := LoadBytes([]byte(y), nil)
	require.ErrorContains(t, err, `ports[0].device = "net_pcapp0,rx_pcap=x.pcap"`)
	require.ErrorContains(t, err, "af_packet, af_xdp, bonding")
	require.ErrorContains(t, err, `did you mean "pcap"`)
}
