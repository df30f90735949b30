package buffer

import (
	"testing"

	"github.com/dpdkq/dpdkq/carving"
	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
	"github.com/stretchr/testify/require"
)

func mustModel(t testing.TB, c Config) *Model {
	t.Helper()
	m, err := New(c)
	require.NoError(t, err)
	return m
}

// oneProfile is a carving config with one pool and one profile bound to every queue.
func oneProfile(size int64, mode carving.Mode, th int, staticTh, reserved, descs int64) *carving.Config {
	return &carving.Config{
		CellSize: 256,
		Pools:    []carving.Pool{{Name: "p", Size: size, Mode: mode, Descriptors: descs}},
		Profiles: []carving.Profile{{Name: "q", Pool: "p", DynamicTh: th, StaticTh: staticTh, Reserved: reserved}},
	}
}

// all binds every queue to the profile named name.
func all(name string) func(int) string { return func(int) string { return name } }

func desc(l int, class uint8) *pkt.Desc { return &pkt.Desc{Len: uint32(l), Class: class} }

// TestReasonMapping forces every refusal of both models through Model.Admit and checks
// the pkt.DropReason it becomes, against the reason the model itself counted.
func TestReasonMapping(t *testing.T) {
	carvingCase := func(cc *carving.Config, lens []int, want pkt.DropReason, wantC carving.Reason) func(t *testing.T) {
		return func(t *testing.T) {
			m := mustModel(t, Config{Queues: 2, Carving: cc, Profile: all("q")})
			for _, l := range lens {
				require.Equal(t, pkt.DropNone, m.Admit(0, 0, desc(l, 0)))
			}
			require.Equal(t, want, m.Admit(0, 0, desc(256, 0)))
			m.Publish()
			var s carving.Snapshot
			m.Carver().Snapshot(&s)
			require.Equal(t, uint64(1), s.Queues[0].Drops[wantC])
			require.Equal(t, int64(len(lens)), s.Queues[0].Packets, "the refused packet is not charged")
		}
	}
	t.Run("carving/no_descriptor", carvingCase(oneProfile(1<<20, carving.Dynamic, 0, 0, 0, 2), []int{64, 64}, pkt.DropNoDescriptor, carving.NoDescriptor))
	t.Run("carving/no_shared_space", carvingCase(oneProfile(512, carving.Static, 0, 1<<20, 0, 0), []int{256, 256}, pkt.DropNoBuffer, carving.NoSharedSpace))
	// alpha = 1, 1024 B shared: 256 <= 1024, 512 <= 768, then 768 > 512.
	t.Run("carving/over_threshold", carvingCase(oneProfile(1024, carving.Dynamic, 0, 0, 0, 0), []int{256, 256}, pkt.DropNoBuffer, carving.OverThreshold))

	hybridCase := func(p hybrid.Params, steps []struct {
		q    int
		l    int
		want pkt.DropReason
	}, wantH ...hybrid.Reason) func(t *testing.T) {
		return func(t *testing.T) {
			m := mustModel(t, Config{Queues: 2, Hybrid: &p})
			for i, s := range steps {
				require.Equal(t, s.want, m.Admit(1000, s.q, desc(s.l, 0)), "step %d", i)
			}
			m.Publish()
			var s hybrid.Snapshot
			m.Hybrid().Snapshot(&s)
			for _, r := range wantH {
				require.Equal(t, uint64(1), s.Drops[r], "hybrid counted %s once", r)
			}
		}
	}
	type step = struct {
		q    int
		l    int
		want pkt.DropReason
	}
	off := hybrid.Params{Enabled: true, Mode: hybrid.ModeOffchipOnly, OffchipBytes: 1 << 20, OffchipRate: 1e3, OffchipBurst: 1000, BWReserve: 200}
	t.Run("hybrid/onchip_full", hybridCase(hybrid.Params{OnchipBytes: 512}, []step{{0, 256, 0}, {1, 256, 0}, {0, 1, pkt.DropNoBuffer}}, hybrid.OnchipFull))
	t.Run("hybrid/offchip_full", hybridCase(hybrid.Params{Enabled: true, Mode: hybrid.ModeOffchipOnly, OffchipBytes: 2048, OffchipRate: 1e9},
		[]step{{0, 100, 0}, {0, 100, pkt.DropNoBuffer}}, hybrid.OffchipFull))
	// 1000 B bucket, 200 B reserve, refill negligible at 1 kb/s: 600 fits, the next 600
	// does not (400 left), after which queue 0 must leave the reserve: 300 + 200 > 400,
	// while queue 1, not dropping, still gets 300.
	t.Run("hybrid/offchip_bandwidth+reserve", hybridCase(off,
		[]step{{0, 600, 0}, {0, 600, pkt.DropOffchipBW}, {0, 300, pkt.DropOffchipBW}, {1, 300, 0}}, hybrid.OffchipBandwidth, hybrid.BandwidthReserve))
}

// TestRollback: when hybrid refuses, carving gets its reservation back at once.
func TestRollback(t *testing.T) {
	m := mustModel(t, Config{Queues: 1, Carving: oneProfile(1<<20, carving.Dynamic, 0, 0, 0, 0), Profile: all("q"),
		Hybrid: &hybrid.Params{OnchipBytes: 512}})
	d := desc(300, 0)
	require.Equal(t, pkt.DropNone, m.Admit(0, 0, d))
	require.Equal(t, int64(512), m.Carver().Used(0))
	require.Equal(t, pkt.DropNoBuffer, m.Admit(0, 0, desc(300, 0)), "on-chip budget of 512 B is spent")
	require.Equal(t, int64(512), m.Carver().Used(0), "the refused packet's cells were returned")
	require.Zero(t, m.RolledBack(), "published only at Publish")
	m.Publish()
	require.Equal(t, uint64(1), m.RolledBack())
	m.Release(0, 0, d, true)
	require.Zero(t, m.Carver().Used(0))
	m.Publish()
	var cs carving.Snapshot
	m.Carver().Snapshot(&cs)
	require.Zero(t, cs.AccountingErrs)
	require.Zero(t, cs.Pools[0].Used)
	var hs hybrid.Snapshot
	m.Hybrid().Snapshot(&hs)
	require.Zero(t, hs.AccountingErrs)
	require.Equal(t, [2]uint64{1, 0}, hs.Dequeued)
}

// TestTierAndClass: Admit writes hybrid's tier into the Desc, Release hands it back,
// and Config.Class (not the packet's class) decides pinning when set.
func TestTierAndClass(t *testing.T) {
	p := hybrid.Params{Enabled: true, OnchipBytes: 1 << 20, OffchipBytes: 1 << 20, OffchipRate: 1e10, EvictPackets: 2, EvictBytes: -1,
		PinnedClasses: 1 << 7}
	for _, tc := range []struct {
		name      string
		class     func(int) uint8
		pktClass  uint8
		wantTiers []uint8
	}{
		{"unpinned", nil, 0, []uint8{0, 0, 1, 1}},
		{"packet class pinned", nil, 7, []uint8{0, 0, 0, 0}},
		{"queue class pinned", func(int) uint8 { return 7 }, 0, []uint8{0, 0, 0, 0}},
		{"queue class overrides packet", func(int) uint8 { return 1 }, 7, []uint8{0, 0, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustModel(t, Config{Queues: 1, Class: tc.class, Hybrid: &p})
			ds := make([]*pkt.Desc, len(tc.wantTiers))
			for i := range ds {
				ds[i] = desc(100, tc.pktClass)
				ds[i].Tier = 9 // stale garbage must be overwritten
				require.Equal(t, pkt.DropNone, m.Admit(0, 0, ds[i]))
				require.Equal(t, tc.wantTiers[i], ds[i].Tier, "packet %d", i)
			}
			for _, d := range ds {
				m.Release(0, 0, d, true)
			}
			m.Publish()
			var s hybrid.Snapshot
			m.Hybrid().Snapshot(&s)
			require.Zero(t, s.AccountingErrs, "Release found each packet in the tier Admit chose")
			require.Equal(t, [2]int64{0, 0}, s.Packets)
		})
	}
	// Without hybrid the tier is 0.
	m := mustModel(t, Config{Queues: 1, Carving: oneProfile(1<<20, carving.Dynamic, 0, 0, 0, 0), Profile: all("q")})
	d := desc(100, 0)
	d.Tier = 1
	require.Equal(t, pkt.DropNone, m.Admit(0, 0, d))
	require.Zero(t, d.Tier)
}

func TestConfigErrors(t *testing.T) {
	cc := oneProfile(1<<20, carving.Dynamic, 0, 0, 0, 0)
	hp := &hybrid.Params{OnchipBytes: 1 << 20}
	for _, tc := range []struct {
		cfg  Config
		want []string
	}{
		{Config{Queues: 0, Hybrid: hp}, []string{"Queues = 0", "1..16777216"}},
		{Config{Queues: 2}, []string{"neither Carving nor Hybrid"}},
		{Config{Queues: 2, Hybrid: hp, Class: func(int) uint8 { return 8 }}, []string{"Class(0) = 8", "0..7"}},
		{Config{Queues: 2, Carving: cc}, []string{"without Bindings or a Profile"}},
		{Config{Queues: 2, Carving: &carving.Config{Pools: cc.Pools, Profiles: cc.Profiles, Bindings: []string{"q"}}}, []string{"len(Carving.Bindings) = 1", "Queues = 2"}},
		{Config{Queues: 2, Carving: cc, Profile: all("nope")}, []string{"carving: bindings[0]", `"nope"`}},
		{Config{Queues: 2, Hybrid: &hybrid.Params{Queues: 3, OnchipBytes: 1 << 20}}, []string{"Hybrid.Queues = 3", "Queues = 2"}},
		{Config{Queues: 2, Hybrid: &hybrid.Params{OnchipBytes: 1}}, []string{"hybrid: onchip_bytes 1"}},
	} {
		_, err := New(tc.cfg)
		require.Error(t, err)
		for _, w := range tc.want {
			require.Contains(t, err.Error(), w)
		}
	}
	// The caller's configs are left as they were.
	c := Config{Queues: 2, Carving: cc, Profile: all("q"), Hybrid: hp}
	mustModel(t, c)
	require.Nil(t, cc.Bindings)
	require.Zero(t, hp.Queues)
}

func TestPassthroughs(t *testing.T) {
	cc := &carving.Config{
		CellSize: 256,
		Pools: []carving.Pool{{Name: "dyn", Size: 1 << 16, Mode: carving.Dynamic},
			{Name: "st", Size: 1 << 16, Mode: carving.Static}},
		Profiles: []carving.Profile{{Name: "a", Pool: "dyn"}, {Name: "s", Pool: "st", StaticTh: 1024}},
	}
	m := mustModel(t, Config{Queues: 2, Carving: cc, Profile: func(q int) string { return []string{"a", "s"}[q] },
		Hybrid: &hybrid.Params{Enabled: true, OnchipBytes: 1 << 20, OffchipBytes: 1 << 20, OffchipRate: 1e9}})
	require.NoError(t, m.SetAlpha("a", -2))
	require.NoError(t, m.SetReserved("a", 4096))
	require.NoError(t, m.SetPoolSize("dyn", 1<<17))
	require.NoError(t, m.SetStaticTh("s", 2048))
	require.NoError(t, m.SetEvictThreshold(1, 5, -1))
	m.Publish()
	var cs carving.Snapshot
	m.Carver().Snapshot(&cs)
	require.Equal(t, -2, cs.Queues[0].DynamicTh)
	require.Equal(t, int64(4096), cs.Queues[0].Reserved)
	require.Equal(t, int64(1<<17), cs.Pools[0].Size)
	require.Equal(t, int64(2048), cs.Queues[1].Threshold)
	var hs hybrid.Snapshot
	m.Hybrid().Snapshot(&hs)
	require.Equal(t, int64(5), hs.Queues[1].EvictPackets)

	require.ErrorContains(t, m.SetAlpha("a", 9), "dynamic_th 9")
	require.ErrorContains(t, m.SetAlpha("zz", 0), `"zz"`)

	h := mustModel(t, Config{Queues: 1, Hybrid: &hybrid.Params{OnchipBytes: 1 << 20}})
	for _, err := range []error{h.SetAlpha("a", 0), h.SetReserved("a", 0), h.SetPoolSize("dyn", 1), h.SetStaticTh("s", 1)} {
		require.ErrorContains(t, err, "no carving model")
	}
	c := mustModel(t, Config{Queues: 1, Carving: oneProfile(1<<20, carving.Dynamic, 0, 0, 0, 0), Profile: all("q")})
	require.ErrorContains(t, c.SetEvictThreshold(0, 1, 1), "no hybrid model")
	require.Nil(t, c.Hybrid())
	require.Nil(t, h.Carver())
	require.Equal(t, 1, c.Queues())
	require.Equal(t, 1, h.Queues())
}

// TestSetLayout binds carving profiles by (port, class) through voq.Layout and takes
// the queue classes for pinning; input FIFOs keep the packet's class.
func TestSetLayout(t *testing.T) {
	vc := voq.Config{Kind: voq.KindVOQ, Ports: []int{3, 5}, Inputs: []int{1, 2, 4}, Classes: 2, LimitPkts: 8}
	layout, err := voq.Layout(vc)
	require.NoError(t, err)
	cc := &carving.Config{Pools: []carving.Pool{{Name: "p", Size: 1 << 20}},
		Profiles: []carving.Profile{{Name: "hi"}, {Name: "lo"}}}
	cc.Profiles[0].Pool, cc.Profiles[1].Pool = "p", "p"
	var bc Config
	bc.Carving = cc
	bc.Hybrid = &hybrid.Params{OnchipBytes: 1 << 20}
	bc.SetLayout(layout, func(q voq.QueueInfo) string {
		if q.Port == 5 && q.Class == 1 {
			return "hi"
		}
		return "lo"
	})
	m := mustModel(t, bc)
	require.Equal(t, 12, m.Queues())
	vc.Memory = m
	a, err := voq.New(vc)
	require.NoError(t, err)
	var cs carving.Snapshot
	m.Carver().Snapshot(&cs)
	for q, qs := range cs.Queues {
		port, _, class, ok := a.QueueInfo(q)
		require.True(t, ok)
		want := "lo"
		if port == 5 && class == 1 {
			want = "hi"
		}
		require.Equal(t, want, qs.Profile, "queue %d (port %d class %d)", q, port, class)
		require.Equal(t, uint8(class), m.class[q])
	}

	fl, err := voq.Layout(voq.Config{Kind: voq.KindInputFIFO, Ports: []int{0, 1}, LimitPkts: 8})
	require.NoError(t, err)
	var fc Config
	fc.SetLayout(fl, nil)
	require.Equal(t, 2, fc.Queues)
	require.Nil(t, fc.Class, "input FIFOs mix classes: use each packet's")
	require.Nil(t, fc.Profile)

	// A model sized for another layout is refused by voq.New.
	vc.Ports = []int{3}
	_, err = voq.New(vc)
	require.ErrorContains(t, err, "Memory has 12 queues")
}
