package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dpdkq/dpdkq/link"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setSampleDirs sets the variables the embedded default's device strings use.
func setSampleDirs(t *testing.T) (in, out string) {
	in, out = t.TempDir(), t.TempDir()
	t.Setenv("DPDKQ_SAMPLE_DIR", in)
	t.Setenv("DPDKQ_OUT_DIR", out)
	return in, out
}

func TestDefaultConfig(t *testing.T) {
	in, out := setSampleDirs(t)
	c, err := LoadBytes(Default(), nil)
	require.NoError(t, err)

	assert.Equal(t, "info", c.Log.Level)
	assert.Equal(t, []int{0, 1}, c.EAL.LcoreIDs)
	assert.True(t, c.EAL.NoHuge)
	assert.True(t, c.EAL.NoPCI)
	assert.Equal(t, []int{1}, c.WorkerLcores, "every lcore but the main one")
	assert.Equal(t, 32, c.BurstSize)

	require.Len(t, c.Ports, 2)
	in0, out0 := c.Ports[0], c.Ports[1]
	assert.Equal(t, "in0", in0.Name)
	assert.Equal(t, "net_pcap0,rx_pcap="+in+"/sample.pcap", in0.DevArgs)
	assert.Equal(t, "net_pcap1,tx_pcap="+out+"/out.pcap", out0.DevArgs)
	assert.False(t, in0.IsPCI)
	assert.Equal(t, netip.MustParsePrefix("10.0.0.1/24"), in0.Addr)
	assert.Equal(t, netip.MustParsePrefix("10.1.0.1/24"), out0.Addr)
	assert.Equal(t, ModeRoute, in0.Mode)
	assert.Equal(t, 1, in0.RXQueues)
	assert.Equal(t, 1500, in0.MTU)
	assert.True(t, in0.Promiscuous)
	assert.False(t, in0.Shaped())
	assert.Equal(t, 62.5e6, out0.RateBps)
	assert.Equal(t, 10*time.Millisecond, out0.Delay)
	// Default bucket: max(2 full frames on the wire = 2*(1500+14+24) B, 62.5e6 b/s * 1 ms
	// / 8 = 7812.5 B -> 7813 B).
	assert.Equal(t, int64(7813), out0.BurstBytes)

	require.Len(t, c.RouteTable, 3)
	assert.True(t, c.RouteTable[0].Connected)
	assert.Equal(t, netip.MustParsePrefix("10.0.0.0/24"), c.RouteTable[0].Net)
	assert.Equal(t, netip.MustParsePrefix("10.1.0.0/24"), c.RouteTable[1].Net)
	r := c.RouteTable[2]
	assert.False(t, r.Connected)
	assert.Equal(t, netip.MustParsePrefix("10.2.0.0/16"), r.Net)
	assert.Equal(t, 1, r.PortIndex)
	assert.Equal(t, netip.MustParseAddr("10.1.0.2"), r.NextHop)
	assert.True(t, r.HasMAC)
	assert.Equal(t, [6]byte{2, 0, 0, 0, 1, 2}, r.NextHopMAC)

	assert.Equal(t, []RXQueue{{Port: "in0", Queue: 0, Lcore: 1, PortIndex: 0}, {Port: "out0", Queue: 0, Lcore: 1, PortIndex: 1}}, c.RXPlan)

	q := c.Queueing
	assert.Equal(t, "egress", q.Architecture)
	assert.Equal(t, 8, q.Classes)
	assert.Equal(t, int64(1514), q.QuantumBytes)
	assert.Equal(t, Size{1000, Packets}, q.PerClass[7].LimitSize)
	assert.Equal(t, [MaxClasses]int{1, 1, 1, 1, 1, 1, 1, 1}, q.ClassWeights)
	assert.Equal(t, 5*time.Millisecond, q.Queue.AQM.CoDel.Target)
	assert.Equal(t, 0.125, q.Queue.AQM.PIE.Alpha)
	assert.Equal(t, int64(256), c.Buffer.CellBytes)
	assert.Equal(t, 100*time.Millisecond, c.Buffer.RTT)
	assert.Equal(t, "127.0.0.1:9180", c.API.Listen)
	assert.True(t, c.API.Telemetry)

	// Validating an already valid config again changes nothing.
	before := *c
	require.NoError(t, c.Validate())
	assert.Equal(t, before.RouteTable, c.RouteTable)
	assert.Equal(t, before.Ports, c.Ports)
}

func TestDefaultDSCPTable(t *testing.T) {
	tab := DefaultDSCPClass(8)
	for name, want := range map[string]uint8{
		"CS0": 0, "LE": 0, "AF11": 1, "CS1": 1, "AF21": 2, "AF33": 3, "AF41": 4, "CS4": 4,
		"CS5": 5, "VA": 5, "EF": 7, "CS6": 6, "CS7": 7,
	} {
		d, ok := parseDSCP(name)
		require.True(t, ok, name)
		assert.Equal(t, want, tab[d], name)
	}
	tab4 := DefaultDSCPClass(4)
	assert.Equal(t, uint8(3), tab4[46], "EF goes to the highest class")
	assert.Equal(t, uint8(0), tab4[8], "CS1 -> 1*4/8 = 0")
	assert.Equal(t, uint8(2), tab4[34], "AF41 -> 4*4/8 = 2")
	assert.Equal(t, uint8(3), tab4[56], "CS7 -> 7*4/8 = 3")
}

func TestDefaultNeedsSampleDirs(t *testing.T) {
	t.Setenv("DPDKQ_SAMPLE_DIR", "")
	t.Setenv("DPDKQ_OUT_DIR", "/tmp")
	_, err := LoadBytes(Default(), nil)
	require.Error(t, err)
	ps := Problems(err)
	require.Len(t, ps, 1, err.Error())
	assert.Equal(t, "ports[0].device", ps[0].Key)
	assert.Contains(t, ps[0].Msg, "DPDKQ_SAMPLE_DIR")
}

func TestLoadFile(t *testing.T) {
	setSampleDirs(t)
	path := filepath.Join(t.TempDir(), "dpdkq.yaml")
	require.NoError(t, os.WriteFile(path, Default(), 0o644))
	c, err := Load(path, []string{"log.level=debug"})
	require.NoError(t, err)
	assert.Equal(t, "debug", c.Log.Level)

	_, err = Load(path, []string{"log.level=loud"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), path, "the file is named")
	require.Len(t, Problems(err), 1)
	assert.Equal(t, "log.level", Problems(err)[0].Key)

	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	assert.ErrorIs(t, err, os.ErrNotExist)

	_, err = LoadBytes([]byte("ports: [\n"), nil)
	assert.ErrorContains(t, err, "yaml")
}

// base is a small valid configuration on devices that need no environment.
const base = `
eal:
  lcores: "0-1"
ports:
  - name: in0
    device: net_null0
    ipv4: 10.0.0.1/24
  - name: out0
    device: net_ring0
    ipv4: 10.1.0.1/24
    rate: 62.5Mbps
routes:
  - prefix: 10.2.0.0/16
    port: out0
    via: 10.1.0.2
`

func TestBaseIsValid(t *testing.T) {
	c, err := LoadBytes([]byte(base), nil)
	require.NoError(t, err)
	assert.Len(t, c.RouteTable, 3)

	// A bare 0 is a valid duration (no unit needed for nothing).
	c, err = LoadBytes([]byte(base+"queueing: {queue: {aqm: {codel: {ce_threshold: 0}}}}\n"), nil)
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), c.Queueing.Queue.AQM.CoDel.CEThreshold)
}

func TestEnvOverride(t *testing.T) {
	t.Setenv("DPDKQ_LOG_LEVEL", "debug")
	t.Setenv("DPDKQ_EAL_NO_HUGE", "false")
	t.Setenv("DPDKQ_MEMPOOL_MBUFS", "4095")
	t.Setenv("DPDKQ_QUEUEING_QUEUE_AQM_KIND", "codel")
	t.Setenv("DPDKQ_PORTS_1_RATE", "10Mbps")
	t.Setenv("DPDKQ_PORTS_0_MTU", "1400") // not in the file: the schema gives it a variable
	t.Setenv("DPDKQ_API_LISTEN", "")      // empty disables the API
	c, err := LoadBytes([]byte(base), nil)
	require.NoError(t, err)
	assert.Equal(t, "debug", c.Log.Level)
	assert.False(t, c.EAL.NoHuge)
	assert.Equal(t, 4095, c.Mempool.Mbufs)
	assert.Equal(t, "codel", c.Queueing.PerClass[0].AQM.Kind)
	assert.Equal(t, 10e6, c.Ports[1].RateBps)
	assert.Equal(t, 1400, c.Ports[0].MTU)
	assert.Equal(t, "", c.API.Listen)

	t.Setenv("DPDKQ_WORKERS", "1")
	t.Setenv("DPDKQ_EAL_LCORES", "0-2")
	c, err = LoadBytes([]byte(base), []string{"log.level=error"})
	require.NoError(t, err)
	assert.Equal(t, "error", c.Log.Level, "--set beats the environment")
	assert.Equal(t, []int{1}, c.WorkerLcores)
	assert.Equal(t, []int{0, 1, 2}, c.EAL.LcoreIDs)

	t.Setenv("DPDKQ_PORTS_1_RATE", "fast")
	_, err = LoadBytes([]byte(base), nil)
	require.Error(t, err)
	assert.Equal(t, "ports[1].rate", Problems(err)[0].Key)
}

func TestDefaultBucketIsTheLiveOne(t *testing.T) {
	// A slow port's default bucket holds two full frames as the shaper charges them, and
	// is the depth a live rate change to the same rate gets (link.DefaultBurstBytes).
	c, err := LoadBytes([]byte(base), []string{"ports.1.rate=10Mbps"})
	require.NoError(t, err)
	assert.Equal(t, int64(3076), c.Ports[1].BurstBytes)
	assert.Equal(t, int(c.Ports[1].BurstBytes), link.DefaultBurstBytes(10e6, c.Ports[1].WireFrameBytes()))
}

func TestSetOverride(t *testing.T) {
	c, err := LoadBytes([]byte(base), []string{
		"log.level=warn",
		"ports.1.rate=10Gbps",
		"ports[0].delay=5ms",
		"routes.0.via=10.1.0.3",
		"routes.1.prefix=10.3.0.0/16", // index one past the end appends a route
		"routes.1.port=in0",
		"queueing.queue.limit=500p",
		"eal.extra_args.0=--log-level=8", // appends to the empty default list
		"workers=1",
		"queueing.class_rates.3=10Mbps", // a key inside a map
	})
	require.NoError(t, err)
	assert.Equal(t, "warn", c.Log.Level)
	assert.Equal(t, 10e9, c.Ports[1].RateBps)
	assert.Equal(t, 5*time.Millisecond, c.Ports[0].Delay)
	assert.Equal(t, netip.MustParseAddr("10.1.0.3"), c.Routes[0].NextHop)
	require.Len(t, c.Routes, 2)
	assert.Equal(t, netip.MustParsePrefix("10.3.0.0/16"), c.Routes[1].Net)
	assert.Equal(t, Size{500, Packets}, c.Queueing.PerClass[4].LimitSize)
	assert.Equal(t, []string{"--log-level=8"}, c.EAL.ExtraArgs)
	assert.Equal(t, []int{1}, c.WorkerLcores)
	assert.Equal(t, 10e6, c.Queueing.ClassRateBps[3])

	for _, tc := range []struct{ set, key, msg string }{
		{"log.level", "--set", "key=value"},
		{"=x", "--set", "key=value"},
		{"ports.5.rate=1Mbps", "--set ports.5.rate", "out of range"},
		{"ports.x.rate=1Mbps", "--set ports.x.rate", "not a list index"},
		{"log.level.x=1", "--set log.level.x", "single value"},
		{"log..level=1", "--set", "empty path segment"},
	} {
		_, err := LoadBytes([]byte(base), []string{tc.set})
		require.Error(t, err, tc.set)
		ps := Problems(err)
		require.NotEmpty(t, ps, tc.set)
		assert.Equal(t, tc.key, ps[0].Key, tc.set)
		assert.Contains(t, ps[0].Msg, tc.msg, tc.set)
	}
}

func TestClassQueuesInherit(t *testing.T) {
	y := base + `
queueing:
  queue:
    limit: 300p
    aqm:
      codel:
        target: 7ms
  class_queues:
    7:
      aqm:
        kind: codel
    "2":
      limit: 64KiB
      overflow: head
`
	c, err := LoadBytes([]byte(y), nil)
	require.NoError(t, err)
	q := c.Queueing
	assert.Equal(t, "codel", q.PerClass[7].AQM.Kind)
	assert.Equal(t, 7*time.Millisecond, q.PerClass[7].AQM.CoDel.Target, "inherited from queueing.queue")
	assert.Equal(t, 100*time.Millisecond, q.PerClass[7].AQM.CoDel.Interval, "inherited default")
	assert.Equal(t, Size{300, Packets}, q.PerClass[7].LimitSize, "inherited from queueing.queue")
	assert.Equal(t, "none", q.PerClass[0].AQM.Kind)
	assert.Equal(t, Size{65536, Bytes}, q.PerClass[2].LimitSize)
	assert.Equal(t, "head", q.PerClass[2].Overflow)
	assert.Equal(t, "tail", q.PerClass[3].Overflow)
}

func TestDSCPMapOverride(t *testing.T) {
	c, err := LoadBytes([]byte(base+"queueing:\n  dscp_map:\n    EF: 5\n    0: 1\n    af41: 6\n"), nil)
	require.NoError(t, err)
	want := DefaultDSCPClass(8)
	want[46], want[0], want[34] = 5, 1, 6
	assert.Equal(t, want, c.Queueing.DSCPClass)
}

func TestXConnectAndRXMap(t *testing.T) {
	y := `
eal: {lcores: "0-2"}
ports:
  - {name: a, device: "0000:01:00.0", mode: xconnect, xconnect: b, rx_queues: 2}
  - {name: b, device: "net_tap0,iface=dtap0", mode: xconnect, xconnect: a}
rx:
  - {port: a, queue: 0, lcore: 1}
  - {port: a, queue: 1, lcore: 2}
  - {port: b, queue: 0, lcore: 2}
`
	c, err := LoadBytes([]byte(y), nil)
	require.NoError(t, err)
	assert.Equal(t, 1, c.Ports[0].PeerIndex)
	assert.Equal(t, 0, c.Ports[1].PeerIndex)
	assert.True(t, c.Ports[0].IsPCI)
	assert.Empty(t, c.RouteTable, "xconnect ports have no connected routes")
	assert.Equal(t, []int{1, 2}, c.WorkerLcores)
	require.Len(t, c.RXPlan, 3)
	assert.Equal(t, RXQueue{Port: "b", Queue: 0, Lcore: 2, PortIndex: 1}, c.RXPlan[2])

	// Without rx the queues are dealt round-robin over the workers.
	c, err = LoadBytes([]byte(strings.Split(y, "rx:")[0]), nil)
	require.NoError(t, err)
	var lcores []int
	for _, r := range c.RXPlan {
		lcores = append(lcores, r.Lcore)
	}
	assert.Equal(t, []int{1, 2, 1}, lcores)
}

func TestBufferSection(t *testing.T) {
	y := base + `
buffer:
  pools:
    - {name: egress, size: 4MB}
    - {name: fixed, size: 2000p, mode: static}
  profiles:
    - {name: lossy, pool: egress, reserved: 10KB, dynamic_th: 3}
    - {name: capped, pool: fixed, static_th: 500p}
    - {name: timed, pool: egress, reserved: 1ms, dynamic_th: -2}
  bindings:
    - {profile: lossy, port: in0}
    - {profile: capped, port: out0, class: 7}
    - {profile: timed, port: out0}
  hybrid:
    enabled: true
    onchip: 1MiB
    pinned_classes: [6, 7]
`
	c, err := LoadBytes([]byte(y), nil)
	require.NoError(t, err)
	b := c.Buffer
	assert.Equal(t, "dynamic", b.Pools[0].Mode, "element default")
	assert.Equal(t, Size{4e6, Bytes}, b.Pools[0].SizeParsed)
	assert.Equal(t, 1, b.Profiles[1].PoolIndex)
	assert.Equal(t, Size{500, Packets}, b.Profiles[1].StaticSize)
	assert.Equal(t, Size{1e6, Time}, b.Profiles[2].ReservedSize)
	assert.Equal(t, 2, b.Bindings[2].ProfileIndex)
	assert.Equal(t, 1, b.Bindings[2].PortIndex)
	assert.Equal(t, int64(1<<20), b.Hybrid.OnchipBytes)
	assert.Equal(t, 900e9, b.Hybrid.OffchipBps)
	assert.Equal(t, int64(200000), b.Hybrid.EvictBytesLimit)
}
