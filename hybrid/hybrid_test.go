package hybrid

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = int64(time.Millisecond)

func newBuf(t testing.TB, p Params) *Tiers {
	t.Helper()
	b, err := New(p)
	require.NoError(t, err)
	return b
}

// base is a hybrid buffer with room everywhere and a fast off-chip link.
func base() Params {
	return Params{
		Queues: 4, Enabled: true, Mode: ModeHybrid,
		OnchipBytes: 1 << 20, OffchipBytes: 64 << 20, OffchipRate: 100e9,
		EvictPackets: 10, EvictBytes: -1,
	}
}

func snap(b *Tiers) Snapshot {
	var s Snapshot
	b.Publish()
	b.Snapshot(&s)
	return s
}

func TestEvictAndReadmitOnlyWhenEmpty(t *testing.T) {
	b := newBuf(t, base())
	var now int64
	var fifo []Tier
	admit := func() Tier {
		tier, r := b.Admit(now, 0, 0, 1000)
		require.Equal(t, OK, r)
		fifo = append(fifo, tier)
		return tier
	}
	release := func() {
		b.Release(now, 0, fifo[0], 1000, true)
		fifo = fifo[1:]
	}
	for i := 0; i < 10; i++ {
		require.Equal(t, Onchip, admit(), "packet %d is under the threshold", i+1)
	}
	assert.False(t, b.Evicted(0))
	assert.Equal(t, Offchip, admit(), "the 11th packet passes 10 packets: evicted")
	assert.True(t, b.Evicted(0))
	// Drain to 2 packets: still evicted, new packets still go off-chip although the
	// queue is far below its threshold.
	for len(fifo) > 2 {
		release()
	}
	assert.Equal(t, Offchip, admit())
	for len(fifo) > 1 {
		release()
		assert.True(t, b.Evicted(0), "readmitted only when empty (%d left)", len(fifo))
	}
	release()
	assert.False(t, b.Evicted(0))
	assert.Equal(t, Onchip, admit(), "back on-chip after readmission")

	s := snap(b)
	assert.Equal(t, uint64(1), s.Evictions)
	assert.Equal(t, uint64(1), s.Readmissions)
	assert.Equal(t, uint64(11), s.Admitted[Onchip])
	assert.Equal(t, uint64(2), s.Admitted[Offchip])
	assert.InDelta(t, 2.0/13, s.OffchipFraction(), 1e-12)
	assert.Equal(t, uint64(2000), s.BytesWritten)
	assert.Equal(t, uint64(2000), s.BytesRead)
	assert.Equal(t, uint64(1), s.Queues[0].Evictions)
	assert.False(t, s.Queues[0].Evicted)
}

func TestEvictOnBytes(t *testing.T) {
	p := base()
	p.EvictPackets, p.EvictBytes = -1, 5000
	b := newBuf(t, p)
	for i := 0; i < 5; i++ {
		tier, r := b.Admit(0, 1, 0, 1000)
		require.Equal(t, OK, r)
		require.Equal(t, Onchip, tier)
	}
	tier, _ := b.Admit(0, 1, 0, 1)
	assert.Equal(t, Offchip, tier, "5001 bytes passes 5000")
	tier, _ = b.Admit(0, 2, 0, 9000)
	assert.Equal(t, Offchip, tier, "a single frame larger than the threshold evicts its queue")
	require.NoError(t, b.SetEvictThreshold(3, 3, 0))
	for i := 0; i < 3; i++ {
		tier, _ = b.Admit(0, 3, 0, 64)
		require.Equal(t, Onchip, tier)
	}
	tier, _ = b.Admit(0, 3, 0, 64)
	assert.Equal(t, Offchip, tier, "per-queue override of 3 packets")
	assert.ErrorContains(t, b.SetEvictThreshold(4, 1, 1), "queue 4 out of range 0..3")
}

func TestRefusedEvictingPacketDoesNotEvict(t *testing.T) {
	p := base()
	p.EvictPackets, p.EvictBytes = -1, 5000
	p.OffchipBytes = DefaultOffchipCell // room for one 2 KB cell only
	b := newBuf(t, p)
	_, r := b.Admit(0, 0, 0, 9000) // passes 5000 B but needs 5 off-chip cells
	require.Equal(t, OffchipFull, r)
	assert.False(t, b.Evicted(0), "the queue did not grow, it stays on-chip")
	tier, r := b.Admit(0, 0, 0, 1000)
	require.Equal(t, OK, r)
	assert.Equal(t, Onchip, tier)
	assert.Zero(t, snap(b).Evictions)
}

func TestScaledJerichoDefaults(t *testing.T) {
	for _, tc := range []struct {
		onchip         int64
		packets, bytes int64
	}{
		{JerichoOnchipBytes, 6000, 200_000},
		{JerichoOnchipBytes / 4, 1500, 50_000},
		{64 << 10, 23, 3036}, // tiny budget: bytes floored at two full frames
		{1 << 10, 4, 3036},
	} {
		p := base()
		p.OnchipBytes, p.EvictPackets, p.EvictBytes = tc.onchip, 0, 0
		b := newBuf(t, p)
		s := snap(b)
		assert.Equal(t, tc.packets, s.Queues[0].EvictPackets, "onchip %d", tc.onchip)
		assert.Equal(t, tc.bytes, s.Queues[0].EvictBytes, "onchip %d", tc.onchip)
	}
}

func TestPinnedClassesNeverLeaveOnchip(t *testing.T) {
	p := base()
	p.PinnedClasses = 1<<7 | 1<<5
	p.OnchipBytes = 20 * DefaultOnchipCell
	b := newBuf(t, p)
	onchipFull := 0
	for i := 0; i < 100; i++ {
		class := uint8(i % 8)
		tier, r := b.Admit(0, 0, class, 200)
		pinned := class == 7 || class == 5
		if pinned {
			assert.NotEqual(t, Offchip, tier, "pinned class %d", class)
			if r == OnchipFull {
				onchipFull++
			}
		}
	}
	s := snap(b)
	assert.True(t, s.Queues[0].Evicted, "the queue itself was evicted")
	assert.Positive(t, onchipFull, "pinned packets are dropped, not spilled, once on-chip is full")
	assert.Equal(t, uint64(onchipFull), s.Drops[OnchipFull])
	assert.Equal(t, int64(20*DefaultOnchipCell), s.Used[Onchip])
}

func TestOnchipFullSpillsWithoutEvicting(t *testing.T) {
	p := base()
	p.OnchipBytes = 4 * DefaultOnchipCell
	p.EvictPackets = 1000
	b := newBuf(t, p)
	for q := 0; q < 4; q++ {
		tier, r := b.Admit(0, q, 0, 256)
		require.Equal(t, OK, r)
		require.Equal(t, Onchip, tier)
	}
	tier, r := b.Admit(0, 0, 0, 256)
	require.Equal(t, OK, r)
	assert.Equal(t, Offchip, tier, "on-chip full: spilled")
	assert.False(t, b.Evicted(0), "a spill does not evict the queue")
	b.Release(0, 1, Onchip, 256, true)
	tier, _ = b.Admit(0, 0, 0, 256)
	assert.Equal(t, Onchip, tier, "room again: the same queue is back on-chip")
	s := snap(b)
	assert.Equal(t, uint64(1), s.Spills)
	assert.Zero(t, s.Evictions)
}

func TestFlatModeNeverUsesOffchip(t *testing.T) {
	for _, p := range []Params{
		{Queues: 2, Enabled: false, Mode: ModeHybrid, OnchipBytes: 100 * DefaultOnchipCell, EvictPackets: 1},
		{Queues: 2, Enabled: true, Mode: ModeOnchipOnly, OnchipBytes: 100 * DefaultOnchipCell, EvictPackets: 1, PinnedClasses: 0xff},
	} {
		b := newBuf(t, p)
		assert.Equal(t, ModeOnchipOnly, b.Mode())
		admitted := 0
		for i := 0; i < 300; i++ {
			tier, r := b.Admit(int64(i), i%2, uint8(i%8), 64)
			assert.Equal(t, Onchip, tier)
			if r == OK {
				admitted++
			} else {
				assert.Equal(t, OnchipFull, r)
			}
		}
		assert.Equal(t, 100, admitted, "the budget (100 cells) is the only limit")
		s := snap(b)
		assert.Zero(t, s.Admitted[Offchip])
		assert.Zero(t, s.BytesWritten)
		assert.Zero(t, s.Evictions, "no eviction in a flat buffer even past the threshold")
		assert.Equal(t, uint64(200), s.Drops[OnchipFull])
	}
}

func TestOffchipOnlyPaysBandwidthForEverything(t *testing.T) {
	p := base()
	p.Mode = ModeOffchipOnly
	p.PinnedClasses = 0xff
	b := newBuf(t, p)
	for i := 0; i < 20; i++ {
		tier, r := b.Admit(0, i%4, 7, 100)
		require.Equal(t, OK, r)
		require.Equal(t, Offchip, tier)
	}
	s := snap(b)
	assert.Equal(t, uint64(2000), s.BytesWritten)
	assert.Equal(t, int64(20*DefaultOffchipCell), s.Used[Offchip], "each frame takes a whole 2 KB DRAM cell")
	assert.Equal(t, 1.0, s.OffchipFraction())
}

func TestOffchipCapacity(t *testing.T) {
	p := base()
	p.Mode = ModeOffchipOnly
	p.OffchipBytes = 3 * DefaultOffchipCell
	b := newBuf(t, p)
	for i := 0; i < 3; i++ {
		_, r := b.Admit(0, 0, 0, 1500)
		require.Equal(t, OK, r)
	}
	_, r := b.Admit(0, 0, 0, 64)
	assert.Equal(t, OffchipFull, r)
	b.Release(0, 0, Offchip, 1500, false)
	_, r = b.Admit(0, 1, 0, 64)
	assert.Equal(t, OK, r)
	s := snap(b)
	assert.Zero(t, s.BytesRead, "a dropped off-chip packet is not read")
	assert.Equal(t, uint64(1), s.Dropped[Offchip])
}

// TestBandwidthLimitOverOneSecond offers far more than the off-chip link can carry,
// reading back whatever was written, and checks that writes + reads over one
// simulated second stay within rate x 1 s + burst (+ one frame of read debt), and
// that the link is actually used.
func TestBandwidthLimitOverOneSecond(t *testing.T) {
	for _, withReads := range []bool{false, true} {
		p := Params{
			Queues: 8, Enabled: true, Mode: ModeOffchipOnly,
			OffchipBytes: 4 << 30, OffchipRate: 8e9, OffchipBurst: 64 << 10, BWReserve: -1,
		}
		b := newBuf(t, p)
		const step = int64(time.Microsecond)
		var fifo []int
		var admitted int
		for now := int64(0); now < int64(time.Second); now += step {
			q := int(now/step) % 8
			if _, r := b.Admit(now, q, 0, 1500); r == OK { // 1.5 GB/s offered
				fifo = append(fifo, q)
				admitted++
			}
			if withReads && now%(2*step) == 0 && len(fifo) > 0 {
				b.Release(now, fifo[0], Offchip, 1500, true)
				fifo = fifo[1:]
			}
		}
		s := snap(b)
		total := float64(s.BytesWritten + s.BytesRead)
		const budget = 1e9 // 8 Gb/s for one second
		assert.LessOrEqual(t, total, budget+64<<10+1500, "reads=%v", withReads)
		assert.Greater(t, total, 0.99*budget, "reads=%v: the link is saturated", withReads)
		assert.Positive(t, s.Drops[OffchipBandwidth])
		if withReads {
			assert.Positive(t, s.BytesRead)
		}
	}
}

func TestReadsGoIntoDebtAndHoldBackWrites(t *testing.T) {
	p := Params{
		Queues: 1, Enabled: true, Mode: ModeOffchipOnly,
		OffchipBytes: 1 << 20, OffchipRate: 8e6, OffchipBurst: 3000, BWReserve: -1, // 1 byte/us
	}
	b := newBuf(t, p)
	for i := 0; i < 2; i++ {
		_, r := b.Admit(0, 0, 0, 1500)
		require.Equal(t, OK, r)
	}
	b.Release(0, 0, Offchip, 1500, true)
	b.Release(0, 0, Offchip, 1500, true)
	assert.InDelta(t, -3000, b.Tokens(0), 1e-9, "reads are never refused: the bucket carries the debt")
	_, r := b.Admit(0, 0, 0, 100)
	assert.Equal(t, OffchipBandwidth, r)
	us := int64(time.Microsecond)
	_, r = b.Admit(3099*us, 0, 0, 100) // repaid the debt, 99 bytes in hand
	assert.Equal(t, OffchipBandwidth, r)
	_, r = b.Admit(3100*us, 0, 0, 100)
	assert.Equal(t, OK, r, "100 bytes in hand and no reserve configured")
}

// TestWritePriorityDropPolicy: when the bucket runs low, the queue that is already
// dropping for bandwidth loses packets while a fresh queue still gets in, until the
// reserve is spent; after the hold time both are equal again.
func TestWritePriorityDropPolicy(t *testing.T) {
	us := int64(time.Microsecond)
	p := Params{
		Queues: 2, Enabled: true, Mode: ModeOffchipOnly,
		OffchipBytes: 1 << 20, OffchipRate: 8e9, // 1 byte/ns = 1000 bytes/us
		OffchipBurst: 10_000, BWReserve: 4000, BWDropHold: 100 * time.Microsecond,
	}
	b := newBuf(t, p)
	const A, B = 0, 1
	var now int64
	for i := 0; i < 6; i++ { // A writes 9000 of the 10000 tokens
		_, r := b.Admit(now, A, 0, 1500)
		require.Equal(t, OK, r)
	}
	_, r := b.Admit(now, A, 0, 1500)
	require.Equal(t, OffchipBandwidth, r, "1000 tokens left")

	now += 4 * us // +4000 tokens: 5000
	_, r = b.Admit(now, A, 0, 1500)
	assert.Equal(t, BandwidthReserve, r, "A is dropping: needs 1500 + 4000 reserve")
	for i := 0; i < 3; i++ { // B spends 4500 of the 5000, reserve included
		_, r = b.Admit(now, B, 0, 1500)
		require.Equal(t, OK, r, "B is not dropping: it may use the reserve (write %d)", i)
	}
	_, r = b.Admit(now, B, 0, 1500)
	assert.Equal(t, OffchipBandwidth, r, "500 tokens: even B cannot pay")

	// After the hold time with no further drop, A competes normally again.
	now += 101 * us // bucket full again (10000)
	assert.Equal(t, 10_000.0, b.Tokens(now))
	for i := 0; i < 6; i++ {
		_, r = b.Admit(now, A, 0, 1500)
		require.Equal(t, OK, r, "A write %d after the hold", i)
	}
	// MarkDropping (a tail drop reported by the queue) has the same effect.
	now += 10 * us // full
	b.MarkDropping(now, B)
	for i := 0; i < 4; i++ {
		_, r = b.Admit(now, B, 0, 1500)
		require.Equal(t, OK, r)
	}
	_, r = b.Admit(now, B, 0, 1500) // 4000 left: not enough with a 4000 reserve
	assert.Equal(t, BandwidthReserve, r)
	_, r = b.Admit(now, A, 0, 1500)
	assert.Equal(t, OK, r, "A is not marked and may use the reserve")

	s := snap(b)
	assert.Equal(t, uint64(2), s.Drops[BandwidthReserve])
	assert.Equal(t, uint64(2), s.Drops[OffchipBandwidth])
	assert.Equal(t, uint64(4), s.BandwidthDrops())
	assert.Equal(t, uint64(1), s.Queues[A].Drops[BandwidthReserve])
}

// TestCountersAddUp drives a random mix through a constrained hybrid buffer and
// checks the books against the test's own record of every resident packet.
func TestCountersAddUp(t *testing.T) {
	type res struct {
		tier Tier
		n    int
	}
	p := Params{
		Queues: 6, Enabled: true, Mode: ModeHybrid,
		OnchipBytes: 40 * DefaultOnchipCell, OffchipBytes: 30 * DefaultOffchipCell,
		OffchipRate: 1e9, OffchipBurst: 20_000,
		EvictPackets: 8, EvictBytes: 6000, PinnedClasses: 1 << 7,
	}
	var reasons [NumReasons]int
	for seed := uint64(1); seed <= 5; seed++ {
		b := newBuf(t, p)
		rng := rand.New(rand.NewPCG(seed, 7))
		fifo := make([][]res, p.Queues)
		var now int64
		var admits [NumTiers]int
		for step := 0; step < 5000; step++ {
			if rng.IntN(8) == 0 { // time moves in jumps: bursts in between
				now += int64(rng.IntN(20_000))
			}
			q := rng.IntN(p.Queues)
			if rng.IntN(100) < 55 {
				n := 1 + rng.IntN(1600)
				class := uint8(rng.IntN(8))
				wasEvicted := b.Evicted(q)
				tier, r := b.Admit(now, q, class, n)
				reasons[r]++
				if r != OK {
					continue
				}
				admits[tier]++
				if class == 7 {
					require.Equal(t, Onchip, tier, "pinned")
				}
				if wasEvicted && class != 7 {
					require.Equal(t, Offchip, tier, "an evicted queue's packets go off-chip")
				}
				fifo[q] = append(fifo[q], res{tier, n})
			} else if len(fifo[q]) > 0 {
				h := fifo[q][0]
				fifo[q] = fifo[q][1:]
				b.Release(now, q, h.tier, h.n, rng.IntN(4) != 0)
				if len(fifo[q]) == 0 {
					require.False(t, b.Evicted(q), "empty queue is readmitted")
				}
			}
			if step%100 != 0 {
				continue
			}
			s := snap(b)
			var pk, by, used [NumTiers]int64
			var evicted uint64
			for q := range fifo {
				var qp, qb [NumTiers]int64
				for _, r := range fifo[q] {
					qp[r.tier]++
					qb[r.tier] += int64(r.n)
					cell := int64(DefaultOnchipCell)
					if r.tier == Offchip {
						cell = DefaultOffchipCell
					}
					used[r.tier] += (int64(r.n) + cell - 1) / cell * cell
				}
				require.Equal(t, qp, s.Queues[q].Packets)
				require.Equal(t, qb, s.Queues[q].Bytes)
				for t := range qp {
					pk[t] += qp[t]
					by[t] += qb[t]
				}
				if s.Queues[q].Evicted {
					evicted++
					require.Positive(t, qp[Onchip]+qp[Offchip], "an evicted queue is never empty")
				}
			}
			for tr := 0; tr < NumTiers; tr++ {
				require.Equal(t, pk[tr], s.Packets[tr])
				require.Equal(t, by[tr], s.Bytes[tr])
				require.Equal(t, used[tr], s.Used[tr])
				require.LessOrEqual(t, s.Used[tr], s.Capacity[tr])
				require.Equal(t, s.Admitted[tr], s.Dequeued[tr]+s.Dropped[tr]+uint64(s.Packets[tr]),
					"admitted = released + resident, tier %d", tr)
				require.Equal(t, uint64(admits[tr]), s.Admitted[tr])
			}
			require.Equal(t, evicted, s.Evictions-s.Readmissions)
			require.Zero(t, s.AccountingErrs)
		}
	}
	for r := OK; r < NumReasons; r++ {
		assert.Positive(t, reasons[r], "the random mix never produced %s", r)
	}
	t.Logf("decisions by reason: %v", reasons)
}

func TestReleaseMismatchCounted(t *testing.T) {
	b := newBuf(t, base())
	b.Release(0, 0, Offchip, 100, true)
	b.Release(0, 0, Tier(5), 100, true)
	s := snap(b)
	assert.Equal(t, uint64(2), s.AccountingErrs)
	assert.Zero(t, s.BytesRead)
}

func TestValidation(t *testing.T) {
	_, err := New(base())
	require.NoError(t, err)
	for _, tc := range []struct {
		edit func(*Params)
		want string
	}{
		{func(p *Params) { p.Queues = 0 }, "queues 0 out of range"},
		{func(p *Params) { p.Mode = 9 }, "mode 9"},
		{func(p *Params) { p.OnchipBytes = 10 }, "onchip_bytes 10"},
		{func(p *Params) { p.OffchipBytes = 0 }, "offchip_bytes 0"},
		{func(p *Params) { p.OffchipRate = 0 }, "offchip_rate 0"},
		{func(p *Params) { p.OffchipRate = math.Inf(1) }, "offchip_rate +Inf"},
		{func(p *Params) { p.OnchipCell = -2 }, "onchip_cell -2"},
		{func(p *Params) { p.OffchipCell = 1 << 21 }, "offchip_cell 2097152"},
		{func(p *Params) { p.OffchipBurst = -1 }, "offchip_burst -1"},
		{func(p *Params) { p.OffchipBurst = 1000; p.BWReserve = 1000 }, "bw_reserve 1000"},
		{func(p *Params) { p.BWDropHold = -time.Second }, "bw_drop_hold -1s"},
	} {
		p := base()
		tc.edit(&p)
		_, err := New(p)
		assert.ErrorContains(t, err, tc.want)
	}
	// Off-chip settings are not needed for a flat buffer, on-chip ones not for
	// offchip-only.
	_, err = New(Params{Queues: 1, OnchipBytes: 4096})
	assert.NoError(t, err)
	_, err = New(Params{Queues: 1, Enabled: true, Mode: ModeOffchipOnly, OffchipBytes: 4096, OffchipRate: 1e9})
	assert.NoError(t, err)
	m, err := ParseMode("offchip-only")
	assert.NoError(t, err)
	assert.Equal(t, ModeOffchipOnly, m)
	_, err = ParseMode("dram")
	assert.ErrorContains(t, err, `mode "dram"`)
}

// TestSnapshotNeverTorn: a concurrent reader must always see a coherent record:
// admitted = dequeued + dropped + resident per tier, and a queue's bytes a multiple
// of the single frame length used.
func TestSnapshotNeverTorn(t *testing.T) {
	b := newBuf(t, base())
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		var s Snapshot
		for !stop.Load() {
			b.Snapshot(&s)
			for tr := 0; tr < NumTiers; tr++ {
				if s.Admitted[tr] != s.Dequeued[tr]+s.Dropped[tr]+uint64(s.Packets[tr]) || s.Bytes[tr] != s.Packets[tr]*100 {
					t.Errorf("torn global record %+v", s)
					return
				}
				for _, q := range s.Queues {
					if q.Bytes[tr] != q.Packets[tr]*100 {
						t.Errorf("torn queue record %+v", q)
						return
					}
				}
			}
			reads.Add(1)
		}
	}()
	var fifo [4][]Tier
	// Keep writing until the reader has overlapped many Publish calls (bounded).
	for i := 0; i < 20000 || (reads.Load() < 2000 && i < 5_000_000); i++ {
		if i%1024 == 0 {
			runtime.Gosched() // let the reader in even with GOMAXPROCS=1
		}
		q := i % 4
		if (i/80)%2 == 0 {
			if tier, r := b.Admit(int64(i)*1000, q, 0, 100); r == OK {
				fifo[q] = append(fifo[q], tier)
			}
		} else if len(fifo[q]) > 0 {
			b.Release(int64(i)*1000, q, fifo[q][0], 100, i%3 != 0)
			fifo[q] = fifo[q][1:]
		}
		if i%8 == 0 {
			b.Publish()
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.GreaterOrEqual(t, reads.Load(), int64(2000))
}
