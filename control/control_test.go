package control

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/plan"
	"github.com/dpdkq/dpdkq/voq"
)

// fakeDataplane is a Dataplane without DPDK: the plan's real (pure Go) queueing
// architecture, and records of every change it is asked to make.
type fakeDataplane struct {
	p      *plan.Plan
	arch   *recArch
	rate   []float64
	bucket []int
	delay  []time.Duration
	catch  []time.Duration
	routes []dataplane.Route
	del    []netip.Prefix
}

// recArch records the limits and policies an Arch is given.
type recArch struct {
	voq.Arch
	limits   map[[2]int][2]int
	policies map[[2]int]bool // (port, class) -> a non-nil factory
}

func (a *recArch) SetLimit(port, class, pkts, bytes int) error {
	if err := a.Arch.SetLimit(port, class, pkts, bytes); err != nil {
		return err
	}
	a.limits[[2]int{port, class}] = [2]int{pkts, bytes}
	return nil
}

func (a *recArch) SetPolicy(port, class int, f voq.Factory) error {
	a.policies[[2]int{port, class}] = f != nil
	return a.Arch.SetPolicy(port, class, f)
}

func newFake(t *testing.T, yaml string, sets ...string) (*fakeDataplane, *Source) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.pcap"), []byte("x"), 0o644))
	c, err := config.LoadBytes([]byte(`
eal: {lcores: "0-1"}
ports:
  - {name: in0, device: "net_pcap0,rx_pcap=`+dir+`/in.pcap", ipv4: 10.0.0.1/24}
  - {name: out0, device: "net_pcap1,tx_pcap=`+dir+`/out.pcap", ipv4: 10.1.0.1/24, rate: 62.5Mbps, delay: 10ms}
`+yaml), sets)
	require.NoError(t, err)
	p, err := plan.BuildWith(c, plan.Options{MemTotal: func() (int64, error) { return 64 << 30, nil }})
	require.NoError(t, err)
	a, err := p.NewArch([]int{0, 1}, dataplane.ArchEnv{})
	require.NoError(t, err)
	f := &fakeDataplane{p: p, arch: &recArch{Arch: a, limits: map[[2]int][2]int{}, policies: map[[2]int]bool{}},
		rate: []float64{0, 62.5e6}, bucket: []int{0, 7813}, delay: []time.Duration{0, 10 * time.Millisecond},
		catch: []time.Duration{0, 0}}
	return f, New(f, p, "1.2.3", "DPDK 22.11.test")
}

var _ Dataplane = (*fakeDataplane)(nil)

func (f *fakeDataplane) Lcores() []dataplane.LcoreInfo {
	return []dataplane.LcoreInfo{{ID: 1, RxQueues: []string{"in0/0", "out0/0"}, Egress: []string{"in0", "out0"},
		Stalls: dataplane.StallStats{Count: 2, Total: 7 * time.Millisecond, Worst: 5 * time.Millisecond,
			Recent: []dataplane.Stall{{Start: time.Second, Duration: 2 * time.Millisecond}, {Start: 2 * time.Second, Duration: 5 * time.Millisecond}}}}}
}
func (f *fakeDataplane) StallThreshold() time.Duration { return time.Millisecond }
func (f *fakeDataplane) Pool() *mempool.Pool           { return nil }
func (f *fakeDataplane) PortNames() []string           { return []string{"in0", "out0"} }
func (f *fakeDataplane) PortConfigs() []dataplane.PortConfig {
	return f.p.Dataplane.Ports
}
func (f *fakeDataplane) PortMAC(i int) [6]byte { return [6]byte{2, 0, 0, 0, 0, byte(i)} }
func (f *fakeDataplane) PortRate(i int) (float64, time.Duration) {
	return f.rate[i], f.delay[i]
}
func (f *fakeDataplane) Counters() []dataplane.PortCounters {
	return []dataplane.PortCounters{{RxPackets: 10, Fwd: 9}, {TxPackets: 9}}
}
func (f *fakeDataplane) QueueSnapshots() []voq.ArchSnapshot {
	var s voq.ArchSnapshot
	f.arch.Snapshot(&s)
	return []voq.ArchSnapshot{s}
}
func (f *fakeDataplane) Archs() []dataplane.Arch { return []dataplane.Arch{f.arch} }
func (f *fakeDataplane) Routes() []dataplane.RouteEntry {
	return []dataplane.RouteEntry{{Prefix: netip.MustParsePrefix("10.1.0.0/24"), Port: 1, Connected: true}}
}
func (f *fakeDataplane) Neighbors() []dataplane.Neighbor { return nil }
func (f *fakeDataplane) DestinationCount(netip.Addr) (uint64, bool) {
	return 0, false
}
func (f *fakeDataplane) QueuedBetween(context.Context, int64, int64, int) []dataplane.QueuedPacket {
	return nil
}
func (f *fakeDataplane) SetPortRate(_ context.Context, i int, rate float64, depth int) error {
	f.rate[i], f.bucket[i] = rate, depth
	return nil
}
func (f *fakeDataplane) SetPortDelay(_ context.Context, i int, d time.Duration) error {
	f.delay[i] = d
	return nil
}
func (f *fakeDataplane) SetPortCatchUp(_ context.Context, i int, d time.Duration) error {
	f.catch[i] = d
	return nil
}
func (f *fakeDataplane) PortCatchUp(i int) time.Duration { return f.catch[i] }
func (f *fakeDataplane) AddRouteLive(_ context.Context, rt dataplane.Route) error {
	f.routes = append(f.routes, rt)
	return nil
}
func (f *fakeDataplane) DeleteRouteLive(_ context.Context, pfx netip.Prefix) error {
	if pfx.Bits() == 8 {
		return errors.New("no such route")
	}
	f.del = append(f.del, pfx)
	return nil
}

// DoEgress and DoArch publish after fn, as the owner lcore's loop does soon after.
func (f *fakeDataplane) DoEgress(_ context.Context, port int, fn func(e dataplane.Egress) error) error {
	defer f.arch.Publish()
	return fn(dataplane.Egress{Port: port, Arch: f.arch})
}
func (f *fakeDataplane) DoArch(_ context.Context, fn func(a dataplane.Arch) error) error {
	defer f.arch.Publish()
	return fn(f.arch)
}

func TestViews(t *testing.T) {
	_, s := newFake(t, "")
	st := s.Status()
	assert.Equal(t, "1.2.3", st.Version)
	assert.Equal(t, "DPDK 22.11.test", st.DPDKVersion)
	require.Len(t, st.Workers, 1)
	assert.Equal(t, []string{"in0", "out0"}, st.Workers[0].Egress)
	assert.Equal(t, time.Millisecond, st.StallThreshold)
	assert.EqualValues(t, 2, st.Workers[0].Stalls)
	assert.Equal(t, 7*time.Millisecond, st.Workers[0].Stalled)
	assert.Equal(t, 5*time.Millisecond, st.Workers[0].WorstStall)
	assert.Equal(t, []api.Stall{{Start: time.Second, Duration: 2 * time.Millisecond}, {Start: 2 * time.Second, Duration: 5 * time.Millisecond}},
		st.Workers[0].RecentStalls)

	ports := s.Ports()
	require.Len(t, ports, 2)
	assert.Equal(t, "out0", ports[1].Name)
	assert.Equal(t, 62.5e6, ports[1].RateBps)
	assert.Equal(t, 10*time.Millisecond, ports[1].Delay)
	assert.Equal(t, "10.1.0.1/24", ports[1].Address)
	assert.EqualValues(t, 9, ports[0].Forwarded)

	qs := s.Queues()
	require.Len(t, qs, 16, "egress: 2 ports x 8 classes")
	assert.Equal(t, "in0", qs[0].Port)
	assert.Equal(t, "out0", qs[15].Port)
	assert.Equal(t, 7, qs[15].Class)
	assert.Equal(t, "none", qs[0].AQM.Kind)

	rs := s.Routes()
	require.Len(t, rs, 1)
	assert.Equal(t, "out0", rs[0].Port)
	assert.Equal(t, api.Buffer{}, s.Buffer(), "no memory model")
	assert.Same(t, s.plan.Config, s.Config())
}

func intp(n int) *int { return &n }

// TestApply: every kind of live change reaches the dataplane resolved by the plan,
// and every refusal names the field, the value and what is allowed.
func TestApply(t *testing.T) {
	f, s := newFake(t, "")
	ctx := context.Background()

	require.NoError(t, s.Apply(ctx, api.Change{Kind: "queue_limit", Port: "out0", Class: intp(2), Limit: "10ms"}))
	assert.Equal(t, [2]int{0, 78125}, f.arch.limits[[2]int{1, 2}], "10 ms at 62.5 Mb/s")
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "aqm", Port: "out0", AQM: map[string]any{"kind": "codel", "codel": map[string]any{"target": "2ms"}}}))
	for cls := range 8 {
		assert.True(t, f.arch.policies[[2]int{1, cls}], "class %d", cls)
	}
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "aqm", Port: "out0", Class: intp(1), AQM: map[string]any{"kind": "none"}}))
	assert.False(t, f.arch.policies[[2]int{1, 1}])
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "port_rate", Port: "out0", Rate: "10Mbps"}))
	assert.Equal(t, 10e6, f.rate[1])
	assert.Equal(t, 3076, f.bucket[1], "the start-up bucket formula at the new rate")
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "port_rate", Port: "out0", Rate: "0"}))
	assert.Zero(t, f.rate[1])
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "port_delay", Port: "out0", Delay: "43.5ms"}))
	assert.Equal(t, 43500*time.Microsecond, f.delay[1])
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "port_catch_up", Port: "out0", CatchUp: "20ms"}))
	assert.Equal(t, 20*time.Millisecond, f.catch[1])
	assert.Equal(t, 20*time.Millisecond, s.Ports()[1].CatchUp, "the ports view shows the live window")
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "route_add", Port: "out0", Prefix: "10.3.0.0/16", Via: "10.1.0.2", MAC: "02:00:00:00:01:02"}))
	require.Len(t, f.routes, 1)
	assert.Equal(t, dataplane.Route{Prefix: netip.MustParsePrefix("10.3.0.0/16"), Port: 1, Via: netip.MustParseAddr("10.1.0.2"),
		MAC: [6]byte{2, 0, 0, 0, 1, 2}}, f.routes[0])
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "route_del", Prefix: "10.3.0.0/16"}))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.3.0.0/16")}, f.del)

	for _, tc := range []struct {
		c                 api.Change
		field, value, msg string
	}{
		{api.Change{Kind: "queue_limit", Port: "out9", Limit: "10p"}, "port", "out9", "no such port"},
		{api.Change{Kind: "queue_limit", Port: "out0", Class: intp(8), Limit: "10p"}, "class", "8", "0..7"},
		{api.Change{Kind: "queue_limit", Port: "out0", Limit: "lots"}, "limit", "lots", "above zero"},
		{api.Change{Kind: "queue_limit", Port: "out0", Limit: "100000p"}, "limit", "100000p", "more than the pool can spare"},
		{api.Change{Kind: "queue_limit", Port: "in0", Limit: "10ms"}, "limit", "10ms", "rate"},
		{api.Change{Kind: "aqm", Port: "out0", AQM: map[string]any{"kind": "pie", "pie": map[string]any{"alpha": 5000}}}, "aqm.pie.alpha", "5000", "(0, 32]"},
		{api.Change{Kind: "aqm", Port: "out0", AQM: map[string]any{"kind": "codel", "codel": map[string]any{"targt": "5ms"}}}, "aqm.codel.targt", "", `did you mean "target"`},
		{api.Change{Kind: "aqm", Port: "out0", AQM: map[string]any{"kind": "codel", "codel": map[string]any{"target": 5}}}, "aqm.codel.target", "5", "unit"},
		{api.Change{Kind: "aqm", Port: "out0", AQM: map[string]any{"kind": "blue"}}, "aqm.kind", "blue", "codel"},
		{api.Change{Kind: "port_rate", Port: "out0", Rate: "fast"}, "rate", "fast", ""},
		{api.Change{Kind: "port_rate", Port: "out0", Rate: "10bps"}, "rate", "10bps", "1kbps"},
		{api.Change{Kind: "port_delay", Port: "out0", Delay: "11s"}, "delay", "11s", "0..10s"},
		{api.Change{Kind: "port_delay", Port: "out0", Delay: "soon"}, "delay", "soon", "duration"},
		{api.Change{Kind: "port_catch_up", Port: "out0", CatchUp: "2s"}, "catch_up", "2s", "0..1s"},
		{api.Change{Kind: "port_catch_up", Port: "out0", CatchUp: "lots"}, "catch_up", "lots", "duration"},
		{api.Change{Kind: "port_catch_up", Port: "out9", CatchUp: "1ms"}, "port", "out9", "no such port"},
		{api.Change{Kind: "route_add", Port: "out0", Prefix: "10.3.0.0"}, "prefix", "10.3.0.0", "CIDR"},
		{api.Change{Kind: "route_add", Port: "out0", Prefix: "10.3.0.0/16", Via: "10.9.0.2"}, "via", "10.9.0.2", "subnet"},
		{api.Change{Kind: "route_add", Port: "out0", Prefix: "10.3.0.0/16", MAC: "ff:ff:ff:ff:ff:ff"}, "mac", "ff:ff:ff:ff:ff:ff", "unicast"},
		{api.Change{Kind: "route_del", Prefix: "10.0.0.0/8"}, "prefix", "10.0.0.0/8", "no such route"},
		{api.Change{Kind: "profile_alpha", Profile: "x", Alpha: intp(1)}, "kind", "profile_alpha", "no buffer model"},
		{api.Change{Kind: "teleport"}, "kind", "teleport", "want one of"},
	} {
		err := s.Apply(ctx, tc.c)
		var ce *api.ChangeError
		require.True(t, errors.As(err, &ce), "%+v: %v", tc.c, err)
		assert.Equal(t, tc.field, ce.Field, "%+v", tc.c)
		assert.Equal(t, tc.value, ce.Value, "%+v", tc.c)
		assert.Contains(t, ce.Msg, tc.msg, "%+v", tc.c)
	}
}

// TestApplyMemoryModel: pool and profile changes reach the Arch's memory model, and
// the buffer view reads it.
func TestApplyMemoryModel(t *testing.T) {
	_, s := newFake(t, "buffer:\n  pools: [{name: shared, size: 1MB}]\n  profiles: [{name: lossy, pool: shared, dynamic_th: 0}]\n")
	ctx := context.Background()
	b := s.Buffer()
	require.Len(t, b.Pools, 1)
	assert.EqualValues(t, 1000000, b.Pools[0].Size)
	require.Len(t, b.Pools[0].Queues, 16)
	assert.Equal(t, "out0", b.Pools[0].Queues[15].Port)

	require.NoError(t, s.Apply(ctx, api.Change{Kind: "pool_size", Pool: "shared", Size: "2MB"}))
	assert.EqualValues(t, 2000000, s.Buffer().Pools[0].Size)
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "profile_alpha", Profile: "lossy", Alpha: intp(2)}))
	require.NoError(t, s.Apply(ctx, api.Change{Kind: "profile_reserved", Profile: "lossy", Size: "2p"}))

	for _, tc := range []struct {
		c                 api.Change
		field, value, msg string
	}{
		{api.Change{Kind: "pool_size", Pool: "shared", Size: "10ms"}, "size", "10ms", "bytes"},
		{api.Change{Kind: "pool_size", Pool: "nope", Size: "1MB"}, "pool", "nope", "nope"},
		{api.Change{Kind: "profile_alpha", Profile: "lossy"}, "dynamic_th", "", "-7..7"},
		{api.Change{Kind: "profile_alpha", Profile: "lossy", Alpha: intp(9)}, "dynamic_th", "9", "-7..7"},
	} {
		err := s.Apply(ctx, tc.c)
		var ce *api.ChangeError
		require.True(t, errors.As(err, &ce), "%+v: %v", tc.c, err)
		assert.Equal(t, tc.field, ce.Field, "%+v", tc.c)
		assert.Equal(t, tc.value, ce.Value, "%+v", tc.c)
		assert.Contains(t, ce.Msg, tc.msg, "%+v", tc.c)
	}
}
