package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/internal/testpkt"
)

// TestLiveAPIAndBufferModel runs the router on an endless pcap replay split between a
// congested 10 Mb/s port (out0) and an unshaped one (out1), with a carving pool and a
// hybrid buffer, and checks the control API while traffic flows: every endpoint, the
// Prometheus output, the buffer queries, live changes taking effect, refused changes,
// and that the congested queue was evicted off-chip while the light one stayed on-chip
// (its off-chip packets physically copied into a second mempool).
func TestLiveAPIAndBufferModel(t *testing.T) {
	dir := t.TempDir()
	var frames [][]byte
	for i := 0; i < 256; i++ {
		dst := "10.2.0.1" // congested
		if i%2 == 1 {
			dst = "10.3.0.1" // light
		}
		frames = append(frames, testpkt.UDP(fmt.Sprintf("10.0.0.%d", 2+i%100), dst, uint16(1000+i), 9, 64, 0, 200))
	}
	in := filepath.Join(dir, "in.pcap")
	require.NoError(t, testpkt.WritePcap(in, frames, nil))
	port := 19000 + os.Getpid()%1000
	cfg := fmt.Sprintf(`
log: {level: info}
eal: {lcores: "0-1", memory_mb: 1024, file_prefix: dqapi%[2]d}
mempool: {mbufs: 16383, cache: 128}
ports:
  - {name: in0, device: "net_pcap0,rx_pcap=%[1]s,infinite_rx=1", ipv4: 10.0.0.1/24}
  - {name: out0, device: "net_null0,no-rx=1", ipv4: 10.1.0.1/24, rate: 10Mbps}
  - {name: out1, device: "net_null1,no-rx=1", ipv4: 10.4.0.1/24}
routes:
  - {prefix: 10.2.0.0/16, port: out0, via: 10.1.0.2, mac: "02:00:00:00:01:02"}
  - {prefix: 10.3.0.0/16, port: out1, via: 10.4.0.2, mac: "02:00:00:00:04:02"}
queueing: {classes: 1, queue: {limit: 2000p}}
buffer:
  cell_size: 256B
  pools: [{name: egress, size: 2MB, mode: dynamic}]
  profiles: [{name: lossy, pool: egress, dynamic_th: 1}]
  hybrid: {enabled: true, onchip: 1MB, offchip: 64MB, offchip_bandwidth: 10Gbps, evict_packets: 300, copy_offchip: true}
api: {listen: "127.0.0.1:%[2]d"}
`, in, port)
	rt := startRouter(t, cfg)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	c, err := api.NewClient(base, "", nil)
	require.NoError(t, err)
	ctx := context.Background()
	var st api.Status
	require.Eventually(t, func() bool { return c.Get(ctx, "/api/v1/status", &st) == nil }, 20*time.Second, 100*time.Millisecond)
	require.Contains(t, st.DPDKVersion, "22.11")
	require.Len(t, st.Workers, 1)
	time.Sleep(500 * time.Millisecond)

	var ports []api.Port
	require.NoError(t, c.Get(ctx, "/api/v1/ports", &ports))
	require.Len(t, ports, 3)
	require.Greater(t, ports[0].RxPackets, uint64(10000))
	require.Greater(t, ports[0].Drops["no_buffer"]+ports[0].Drops["tail"], uint64(0), "the congested port overflows")
	require.Equal(t, 10e6, ports[1].RateBps)

	var queues []api.Queue
	require.NoError(t, c.Get(ctx, "/api/v1/queues?port=out0", &queues))
	require.Len(t, queues, 1)
	require.Greater(t, queues[0].Packets, 300, "congested queue is standing")
	require.Greater(t, queues[0].SojournP50, time.Millisecond)
	// The histogram behind it: non-empty buckets in order, each at most 1/64 of its
	// lower bound wide, and the p50 inside the range they cover.
	sb := queues[0].SojournBuckets
	require.NotEmpty(t, sb)
	for i, b := range sb {
		require.Positive(t, b.Count)
		require.LessOrEqual(t, b.Lo, b.Le)
		require.LessOrEqual(t, b.Le-b.Lo, max(b.Lo/64, 1))
		if i > 0 {
			require.Greater(t, b.Lo, sb[i-1].Le)
		}
	}
	require.GreaterOrEqual(t, queues[0].SojournP50, sb[0].Lo)
	require.LessOrEqual(t, queues[0].SojournP50, sb[len(sb)-1].Le)

	var buf api.Buffer
	require.NoError(t, c.Get(ctx, "/api/v1/buffer", &buf))
	require.Len(t, buf.Pools, 1)
	require.Greater(t, buf.Pools[0].Used, int64(0))
	require.NotNil(t, buf.Tiers)
	require.Equal(t, 1, buf.Tiers.EvictedQueues, "only the congested queue is evicted")
	require.EqualValues(t, 1, buf.Tiers.Evictions)
	require.Greater(t, buf.Tiers.OffchipPacketShare, 0.0)
	require.Less(t, buf.Tiers.OffchipPacketShare, 0.5, "the light port's packets stay on-chip")

	var routes []api.Route
	require.NoError(t, c.Get(ctx, "/api/v1/routes", &routes))
	require.GreaterOrEqual(t, len(routes), 5)

	// Buffer queries: packets to the congested destination are queued; the sample
	// holds only queued packets, with their 5-tuple.
	var dest struct {
		Count uint64 `json:"count"`
		Other bool   `json:"other"`
	}
	require.NoError(t, c.Get(ctx, "/api/v1/buffer/destination?ip=10.2.0.1", &dest))
	require.False(t, dest.Other)
	require.Greater(t, dest.Count, uint64(100))
	var sample []api.QueuedPacket
	require.NoError(t, c.Get(ctx, "/api/v1/buffer/queued?from=0s&to=1h&max=10", &sample))
	require.Len(t, sample, 10)
	for _, p := range sample {
		require.Equal(t, "10.2.0.1", p.Dst)
		require.Equal(t, "out0", p.Port)
		require.Equal(t, 17, int(p.Proto))
	}

	// Prometheus text format parses and carries the port counters.
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, fams, "dpdkq_port_rx_packets_total")
	require.Contains(t, fams, "dpdkq_queue_sojourn_seconds")
	require.Contains(t, fams, "dpdkq_tier_evictions_total")

	// Live changes: shrink out0's queue; it drains to the new limit and counts it.
	_, err = c.Apply(ctx, api.Change{Kind: "queue_limit", Port: "out0", Limit: "50p"})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, c.Get(ctx, "/api/v1/queues?port=out0", &queues))
	require.LessOrEqual(t, queues[0].Packets, 50)
	require.Greater(t, queues[0].Drops["overflow"], uint64(0), "the shrink is counted")

	// Rate change: out0's tx rate follows.
	txRate := func() float64 {
		var a, b []api.Port
		require.NoError(t, c.Get(ctx, "/api/v1/ports", &a))
		t0 := time.Now()
		time.Sleep(1 * time.Second)
		require.NoError(t, c.Get(ctx, "/api/v1/ports", &b))
		return float64(b[1].TxBytes-a[1].TxBytes) * 8 / time.Since(t0).Seconds()
	}
	before := txRate()
	_, err = c.Apply(ctx, api.Change{Kind: "port_rate", Port: "out0", Rate: "40Mbps"})
	require.NoError(t, err)
	after := txRate()
	t.Logf("out0 tx: %.1f Mb/s at 10 Mb/s, %.1f Mb/s after the change to 40 Mb/s", before/1e6, after/1e6)
	require.Greater(t, after, 2.5*before)

	// AQM switch: the queue reports CoDel.
	_, err = c.Apply(ctx, api.Change{Kind: "aqm", Port: "out0", AQM: map[string]any{"kind": "codel", "codel": map[string]any{"target": "5ms"}}})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, c.Get(ctx, "/api/v1/queues?port=out0", &queues))
	require.Equal(t, "codel", queues[0].AQM.Kind)

	// Refused changes name the field.
	_, err = c.Apply(ctx, api.Change{Kind: "port_rate", Port: "out0", Rate: "fast"})
	require.ErrorContains(t, err, "rate")
	_, err = c.Apply(ctx, api.Change{Kind: "queue_limit", Port: "nope", Limit: "1p"})
	require.ErrorContains(t, err, "port")
	_, err = c.Apply(ctx, api.Change{Kind: "profile_alpha", Profile: "lossy", Alpha: ptr(9)})
	require.Error(t, err)
	_, err = c.Apply(ctx, api.Change{Kind: "profile_alpha", Profile: "lossy", Alpha: ptr(-1)})
	require.NoError(t, err)
	_, err = c.Apply(ctx, api.Change{Kind: "profile_reserved", Profile: "lossy", Size: "3000B"})
	require.NoError(t, err)
	_, err = c.Apply(ctx, api.Change{Kind: "pool_size", Pool: "egress", Size: "1MB"})
	require.NoError(t, err)
	// The change is in effect when acknowledged; the figures show it at the owner's
	// next publication (every few hundred loop iterations).
	require.Eventually(t, func() bool {
		var pools api.Buffer
		return c.Get(ctx, "/api/v1/buffer", &pools) == nil && pools.Pools[0].Size == 1000000
	}, 5*time.Second, 20*time.Millisecond, "pool resized live")
	_, err = c.Apply(ctx, api.Change{Kind: "route_add", Prefix: "10.9.0.0/16", Port: "out1", Via: "10.4.0.9", MAC: "02:00:00:00:04:09"})
	require.NoError(t, err)
	require.NoError(t, c.Get(ctx, "/api/v1/routes", &routes))
	found := false
	for _, r := range routes {
		found = found || r.Prefix == "10.9.0.0/16"
	}
	require.True(t, found)
	_, err = c.Apply(ctx, api.Change{Kind: "route_del", Prefix: "10.9.0.0/16"})
	require.NoError(t, err)

	// The CLI reads the same API.
	o, err := exec.Command(binary, "stats", "--api", base).CombinedOutput()
	require.NoError(t, err, "%s", o)
	require.True(t, strings.Contains(string(o), "out0"), "%s", o)

	s := rt.stop(t) // also checks the balance and that no mbuf leaked
	require.NotNil(t, s.OffchipInUse, "copy_offchip runs a second mempool")
	require.Zero(t, *s.OffchipInUse, "every off-chip copy returned")
}

func ptr[T any](v T) *T { return &v }
