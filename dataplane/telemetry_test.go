package dataplane_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/internal/testpkt"
)

// telemetryQuery speaks DPDK's telemetry v2 socket protocol (what dpdk-telemetry.py
// uses): connect, read the greeting, send a command, read one JSON reply.
func telemetryQuery(t *testing.T, cmd string) map[string]any {
	t.Helper()
	path := fmt.Sprintf("/var/run/dpdk/dqdp%d/dpdk_telemetry.v2", os.Getpid())
	c, err := net.Dial("unixpacket", path)
	require.NoError(t, err, "telemetry socket %s", path)
	defer c.Close()
	buf := make([]byte, 1<<16)
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = c.Read(buf) // greeting
	require.NoError(t, err)
	_, err = c.Write([]byte(cmd))
	require.NoError(t, err)
	n, err := c.Read(buf)
	require.NoError(t, err)
	var reply map[string]any
	require.NoError(t, json.Unmarshal(buf[:n], &reply), "%s", buf[:n])
	return reply
}

func TestTelemetryCommands(t *testing.T) {
	dir := t.TempDir()
	frames, expect := testpkt.Sample(300, 2)
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	require.NoError(t, testpkt.WritePcap(in, frames, nil))
	r, err := dataplane.Start(baseConfig(t, "net_pcap0,rx_pcap="+in, "net_pcap1,tx_pcap="+out), nil)
	require.NoError(t, err)
	defer r.Stop()
	require.NoError(t, r.RegisterTelemetry())
	waitRx(t, r, uint64(len(frames)), 100*time.Millisecond)

	ports := telemetryQuery(t, dataplane.TelPorts)[dataplane.TelPorts].(map[string]any)
	in0 := ports["in0"].(map[string]any)
	require.EqualValues(t, expect.Total, in0["rx_packets"])
	require.EqualValues(t, expect.Drops[3], in0["drop_malformed"])
	require.Contains(t, ports, "out0")

	queues := telemetryQuery(t, dataplane.TelQueues)[dataplane.TelQueues].(map[string]any)
	require.NotEmpty(t, queues)
	var dequeued float64
	for _, q := range queues {
		dequeued += q.(map[string]any)["dequeued"].(float64)
	}
	require.EqualValues(t, expect.Forward, dequeued)

	// DPDK's own commands answer on the same socket.
	require.Contains(t, telemetryQuery(t, "/ethdev/list"), "/ethdev/list")
}
