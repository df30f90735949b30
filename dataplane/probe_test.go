package dataplane

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProbeErrors: a mistyped driver name and a pcap file that does not exist are
// reported as such, not as the errno their return codes would read as.
func TestProbeErrors(t *testing.T) {
	for _, c := range []struct{ dev, want string }{
		{"net_pacp40,rx_pcap=/nonexistent.pcap", "no DPDK bus or driver recognises this device name"},
		{"net_pcap40,rx_pcap=/nonexistent.pcap,tx_iface=lo", "the driver refused the device or its arguments"},
	} {
		cfg := Config{Ports: []PortConfig{{Name: "a", Device: c.dev, Addr: netip.MustParsePrefix("10.0.0.1/24"), EgressLcore: -1}}}
		handConfig(&cfg)
		_, err := start(cfg, nil, false)
		require.ErrorContains(t, err, c.want, c.dev)
		require.NotContains(t, err.Error(), "Operation not permitted")
		require.NotContains(t, err.Error(), "Bad address")
	}
}
