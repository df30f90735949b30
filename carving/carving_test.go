package carving

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const cell = DefaultCellSize

// dynCarver builds one dynamic pool of size bytes shared by queues with reserve 0 and
// dynamic_th n.
func dynCarver(t testing.TB, size int64, n, queues int) *Carver {
	t.Helper()
	b := make([]string, queues)
	for i := range b {
		b[i] = "p"
	}
	c, err := New(Config{
		Pools:    []Pool{{Name: "egress", Size: size, Mode: Dynamic}},
		Profiles: []Profile{{Name: "p", Pool: "egress", DynamicTh: n}},
		Bindings: b,
	})
	require.NoError(t, err)
	return c
}

// fillRoundRobin offers packets of length bytes to every queue in turn until a whole
// round admits nothing (saturated queues, no departures). It returns the refusals
// seen by reason.
func fillRoundRobin(c *Carver, queues []int, length int) (drops [NumReasons]int) {
	for {
		admitted := false
		for _, q := range queues {
			r := c.Admit(q, length)
			if r == OK {
				admitted = true
			} else {
				drops[r]++
			}
		}
		if !admitted {
			return drops
		}
	}
}

func TestDynamicThresholdConvergence(t *testing.T) {
	const B = 4000 * cell // shared pool: no reserves, so the whole pool is shared
	for _, tc := range []struct {
		n, S, length int
	}{
		{0, 1, cell}, {1, 4, cell}, {3, 8, cell}, {-2, 2, cell}, {-7, 3, cell},
		{7, 16, cell}, {2, 5, 1500}, {0, 10, 64},
	} {
		t.Run(fmt.Sprintf("n=%d/S=%d/len=%d", tc.n, tc.S, tc.length), func(t *testing.T) {
			c := dynCarver(t, B, tc.n, tc.S)
			qs := make([]int, tc.S)
			for i := range qs {
				qs[i] = i
			}
			drops := fillRoundRobin(c, qs, tc.length)
			assert.Zero(t, drops[NoSharedSpace], "dynamic thresholds keep free space: the pool never fills")
			assert.Positive(t, drops[OverThreshold])

			alpha := float64(uint64(1)<<uint(tc.n+7)) / 128 // 2^n exactly
			want := alpha * B / (1 + alpha*float64(tc.S))
			cost := float64(c.cost(tc.length))
			tol := 2 * cost // "within a cell or two": a packet is cost bytes of cells
			for _, q := range qs {
				assert.InDelta(t, want, float64(c.Used(q)), tol, "queue %d", q)
			}
			// The free space left is what a newly active queue could still take.
			var total int64
			for _, q := range qs {
				total += c.Used(q)
			}
			assert.InDelta(t, B/(1+alpha*float64(tc.S)), float64(B-total), float64(tc.S)*tol)
		})
	}
}

func TestReservedNeverTakenByOthers(t *testing.T) {
	for _, mode := range []Mode{Static, Dynamic} {
		t.Run(mode.String(), func(t *testing.T) {
			const size, reserve = 100 * cell, 10 * cell
			gold := Profile{Name: "gold", Pool: "p", Reserved: reserve}
			be := Profile{Name: "be", Pool: "p"}
			if mode == Static {
				be.StaticTh = size // the others could take the whole shared area
			} else {
				be.DynamicTh = MaxDynamicTh // alpha 128: they take nearly all of it
			}
			c, err := New(Config{
				Pools:    []Pool{{Name: "p", Size: size, Mode: mode}},
				Profiles: []Profile{gold, be},
				Bindings: []string{"gold", "be", "be", "be"},
			})
			require.NoError(t, err)
			fillRoundRobin(c, []int{1, 2, 3}, cell)
			var others int64
			for q := 1; q <= 3; q++ {
				others += c.Used(q)
			}
			assert.LessOrEqual(t, others, int64(size-reserve))
			if mode == Static {
				assert.Equal(t, int64(size-reserve), others, "static_th=size lets them fill the shared area")
			}
			for i := 0; i < reserve/cell; i++ {
				require.Equal(t, OK, c.Admit(0, cell), "reserved cell %d", i)
			}
			assert.Equal(t, int64(reserve), c.Used(0))
			if mode == Static {
				// static_th 0 and a full shared area: nothing beyond the reserve.
				assert.Equal(t, NoSharedSpace, c.Admit(0, cell))
			}
		})
	}
}

func TestStraddlingPacketChargesOnlyTheExcess(t *testing.T) {
	c, err := New(Config{
		Pools:    []Pool{{Name: "p", Size: 20 * cell, Mode: Static}},
		Profiles: []Profile{{Name: "a", Pool: "p", Reserved: 4 * cell, StaticTh: 2 * cell}},
		Bindings: []string{"a"},
	})
	require.NoError(t, err)
	require.Equal(t, OK, c.Admit(0, 3*cell))
	// 3 cells used, a 3-cell packet needs 2 cells beyond the reserve: exactly the
	// static threshold.
	require.Equal(t, OK, c.Admit(0, 2*cell+1))
	assert.Equal(t, OverThreshold, c.Admit(0, 1))
	c.Publish()
	var s Snapshot
	c.Snapshot(&s)
	assert.Equal(t, int64(2*cell), s.Pools[0].SharedUsed)
	c.Release(0, 3*cell)
	c.Publish()
	c.Snapshot(&s)
	assert.Zero(t, s.Pools[0].SharedUsed, "releasing brings the queue back inside its reserve")
}

func TestDescriptorsRunOutBeforeBytes(t *testing.T) {
	c, err := New(Config{
		Pools:    []Pool{{Name: "p", Size: 1 << 20, Mode: Dynamic, Descriptors: 100}},
		Profiles: []Profile{{Name: "a", Pool: "p", DynamicTh: 7}},
		Bindings: []string{"a"},
	})
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		require.Equal(t, OK, c.Admit(0, 64))
	}
	assert.Equal(t, NoDescriptor, c.Admit(0, 64))
	c.Publish()
	var s Snapshot
	c.Snapshot(&s)
	p := s.Pools[0]
	assert.Equal(t, int64(100), p.Descriptors)
	assert.Equal(t, int64(100*cell), p.Used, "only 100 cells (25.6 kB of 1 MB) in use")
	assert.Equal(t, uint64(1), p.Drops[NoDescriptor])
	assert.Equal(t, uint64(1), s.Queues[0].Drops[NoDescriptor])
	c.Release(0, 64)
	assert.Equal(t, OK, c.Admit(0, 64), "a released descriptor is reusable")
}

func TestGlobalDescriptorLimitSpansPools(t *testing.T) {
	c, err := New(Config{
		Descriptors: 150,
		Pools:       []Pool{{Name: "a", Size: 1 << 20}, {Name: "b", Size: 1 << 20}},
		Profiles:    []Profile{{Name: "pa", Pool: "a", DynamicTh: 7}, {Name: "pb", Pool: "b", DynamicTh: 7}},
		Bindings:    []string{"pa", "pb"},
	})
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		require.Equal(t, OK, c.Admit(0, 64))
	}
	for i := 0; i < 50; i++ {
		require.Equal(t, OK, c.Admit(1, 64))
	}
	assert.Equal(t, NoDescriptor, c.Admit(1, 64))
	assert.Equal(t, NoDescriptor, c.Admit(0, 64))
}

func TestEfficiency(t *testing.T) {
	for _, tc := range []struct {
		length int
		want   float64
	}{
		{64, 0.25}, {256, 1}, {1500, 1500.0 / 1536}, {257, 257.0 / 512},
	} {
		c := dynCarver(t, 1<<20, 7, 1)
		for i := 0; i < 10; i++ {
			require.Equal(t, OK, c.Admit(0, tc.length))
		}
		c.Publish()
		var s Snapshot
		c.Snapshot(&s)
		assert.InDelta(t, tc.want, s.Pools[0].Efficiency, 1e-12, "length %d", tc.length)
		assert.Equal(t, int64(10*tc.length), s.Pools[0].StoredBytes)
		assert.Equal(t, int64(10*((tc.length+cell-1)/cell)), s.Pools[0].UsedCells)
	}
}

func TestSetAlphaTakesEffectOnNextAdmission(t *testing.T) {
	const B = 1000 * cell
	c := dynCarver(t, B, 0, 1)
	fillRoundRobin(c, []int{0}, cell)
	assert.InDelta(t, B/2, float64(c.Used(0)), cell)
	before := c.Used(0)
	require.Equal(t, OverThreshold, c.Admit(0, cell))

	require.NoError(t, c.SetAlpha("p", 1))
	assert.Equal(t, 2*(B-before), c.Threshold(0), "threshold is alpha x free right now")
	require.Equal(t, OK, c.Admit(0, cell), "next admission sees alpha 2")
	fillRoundRobin(c, []int{0}, cell)
	assert.InDelta(t, 2.0*B/3, float64(c.Used(0)), cell)

	// Lowering alpha below the current share keeps the packets and refuses new ones.
	require.NoError(t, c.SetAlpha("p", -1))
	held := c.Used(0)
	assert.Equal(t, OverThreshold, c.Admit(0, cell))
	assert.Equal(t, held, c.Used(0))

	c.Publish()
	var s Snapshot
	c.Snapshot(&s)
	assert.Equal(t, -1, s.Queues[0].DynamicTh)
	assert.Equal(t, (B-held)/2, s.Queues[0].Threshold)

	assert.ErrorContains(t, c.SetAlpha("p", 8), "dynamic_th 8 out of range -7..7")
	assert.ErrorContains(t, c.SetAlpha("nope", 1), `profile "nope"`)
}

func TestShrinkPoolBelowUseDrains(t *testing.T) {
	const B = 100 * cell
	c := dynCarver(t, B, 7, 2)
	for i := 0; i < 60; i++ {
		require.Equal(t, OK, c.Admit(i%2, cell))
	}
	require.NoError(t, c.SetPoolSize("egress", 40*cell))
	c.Publish()
	var s Snapshot
	c.Snapshot(&s)
	assert.Equal(t, int64(-20*cell), s.Pools[0].SharedFree, "used may exceed the new size")
	assert.Equal(t, NoSharedSpace, c.Admit(0, cell))

	// Drain 20 cells: still at the new size, still refused; one more and it admits.
	for i := 0; i < 20; i++ {
		c.Release(i%2, cell)
		assert.Equal(t, NoSharedSpace, c.Admit(1, cell), "after %d releases", i+1)
	}
	c.Release(0, cell)
	assert.Equal(t, OK, c.Admit(1, cell))
	for c.Used(0) > 0 {
		c.Release(0, cell)
	}
	for c.Used(1) > 0 {
		c.Release(1, cell)
	}
	c.Publish()
	c.Snapshot(&s)
	assert.Zero(t, s.Pools[0].Used)
	assert.Zero(t, s.Pools[0].SharedUsed)
	assert.Zero(t, s.Pools[0].Descriptors)
	assert.Zero(t, s.AccountingErrs)
	assert.Equal(t, int64(60*cell), s.Pools[0].Peak)

	assert.ErrorContains(t, c.SetPoolSize("egress", 0), "size 0")
}

func TestSetReservedRecountsShared(t *testing.T) {
	c, err := New(Config{
		Pools:    []Pool{{Name: "p", Size: 100 * cell, Mode: Static}},
		Profiles: []Profile{{Name: "a", Pool: "p", Reserved: 10 * cell, StaticTh: 100 * cell}},
		Bindings: []string{"a", "a"},
	})
	require.NoError(t, err)
	for i := 0; i < 30; i++ {
		require.Equal(t, OK, c.Admit(0, cell))
	}
	require.NoError(t, c.SetReserved("a", 40*cell)) // reserves now 80 of 100 cells
	c.Publish()
	var s Snapshot
	c.Snapshot(&s)
	assert.Equal(t, int64(80*cell), s.Pools[0].Reserved)
	assert.Zero(t, s.Pools[0].SharedUsed, "queue 0's 30 cells now lie inside its reserve")
	require.NoError(t, c.SetReserved("a", 0))
	c.Publish()
	c.Snapshot(&s)
	assert.Equal(t, int64(30*cell), s.Pools[0].SharedUsed)
	assert.ErrorContains(t, c.SetReserved("a", 60*cell), "over its size")
	assert.ErrorContains(t, c.SetStaticTh("a", -1), "static_th -1")
	require.NoError(t, c.SetStaticTh("a", 30*cell))
	assert.Equal(t, OverThreshold, c.Admit(0, cell))
}

func TestReleaseWithoutAdmitIsCountedNotCorrupting(t *testing.T) {
	c := dynCarver(t, 100*cell, 0, 2)
	c.Release(0, 100)
	require.Equal(t, OK, c.Admit(1, 100))
	c.Release(1, 5000) // longer than what the queue holds
	c.Publish()
	var s Snapshot
	c.Snapshot(&s)
	assert.Equal(t, uint64(2), s.AccountingErrs)
	assert.Zero(t, s.Pools[0].Used)
	assert.Zero(t, s.Pools[0].Descriptors)
	assert.Zero(t, s.Queues[1].Used)
}

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		return Config{
			Pools:    []Pool{{Name: "p", Size: 1000, Mode: Dynamic}, {Name: "s", Size: 1000, Mode: Static}},
			Profiles: []Profile{{Name: "a", Pool: "p", DynamicTh: 3}, {Name: "b", Pool: "s", StaticTh: 10}},
			Bindings: []string{"a", "b"},
		}
	}
	_, err := New(good())
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"cell", func(c *Config) { c.CellSize = -1 }, "cell_size -1"},
		{"no pools", func(c *Config) { c.Pools = nil }, "pools: at least one"},
		{"pool size", func(c *Config) { c.Pools[0].Size = 0 }, `pool "p": size 0`},
		{"dup pool", func(c *Config) { c.Pools[1].Name = "p" }, `pools[1].name "p" is a duplicate`},
		{"pool desc", func(c *Config) { c.Pools[0].Descriptors = -5 }, "descriptors -5"},
		{"unknown pool", func(c *Config) { c.Profiles[0].Pool = "x" }, `profile "a": pool "x"`},
		{"n high", func(c *Config) { c.Profiles[0].DynamicTh = 8 }, "dynamic_th 8 out of range -7..7"},
		{"n low", func(c *Config) { c.Profiles[0].DynamicTh = -8 }, "dynamic_th -8 out of range -7..7"},
		{"static in dynamic", func(c *Config) { c.Profiles[0].StaticTh = 5 }, "static_th 5 set but pool \"p\" is dynamic"},
		{"dynamic in static", func(c *Config) { c.Profiles[1].DynamicTh = 1 }, "dynamic_th 1 set but pool \"s\" is static"},
		{"reserved neg", func(c *Config) { c.Profiles[0].Reserved = -1 }, `profile "a": reserved -1`},
		{"reserved sum", func(c *Config) {
			c.Profiles[0].Reserved = 400
			c.Bindings = []string{"a", "a", "a"}
		}, `pool "p": reserved sum 1200`},
		{"binding", func(c *Config) { c.Bindings[1] = "zz" }, `bindings[1]: profile "zz"`},
		{"no queues", func(c *Config) { c.Bindings = nil }, "bindings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.edit(&cfg)
			_, err := New(cfg)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestSnapshotNeverTorn runs a reader against the owner. With one packet length,
// every coherent queue record has Used = Packets x cost and StoredBytes = Packets x
// length; a torn copy would break that.
func TestSnapshotNeverTorn(t *testing.T) {
	const length = 300 // 2 cells
	c := dynCarver(t, 1<<22, 3, 4)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		var s Snapshot
		for !stop.Load() {
			c.Snapshot(&s)
			for _, q := range s.Queues {
				if q.Used != q.Packets*2*cell || q.StoredBytes != q.Packets*length {
					t.Errorf("torn queue record %+v", q)
					return
				}
			}
			p := s.Pools[0]
			if p.Used != p.Descriptors*2*cell || p.StoredBytes != p.Descriptors*length {
				t.Errorf("torn pool record %+v", p)
				return
			}
			reads.Add(1)
		}
	}()
	// Keep writing until the reader has overlapped many Publish calls (bounded).
	for i := 0; i < 20000 || (reads.Load() < 2000 && i < 5_000_000); i++ {
		if i%1024 == 0 {
			runtime.Gosched() // let the reader in even with GOMAXPROCS=1
		}
		q := i % 4
		if (i/64)%2 == 0 {
			c.Admit(q, length)
		} else {
			c.Release(q, length)
		}
		if i%8 == 0 {
			c.Publish()
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.GreaterOrEqual(t, reads.Load(), int64(2000))
}
