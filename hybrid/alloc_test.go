package hybrid

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

var (
	sinkTier   Tier
	sinkReason Reason
)

func benchBuf(tb testing.TB) *Tiers {
	return newBuf(tb, Params{
		Queues: 1024, Enabled: true, Mode: ModeHybrid,
		OnchipBytes: 16 << 20, OffchipBytes: 4 << 30, OffchipRate: 900e9,
		PinnedClasses: 1 << 7,
	})
}

// evict5 leaves queue 5 evicted (one packet on each tier), so that its packets take
// the off-chip path.
func evict5(tb testing.TB, b *Tiers) {
	if err := b.SetEvictThreshold(5, 1, -1); err != nil {
		tb.Fatal(err)
	}
	t1, _ := b.Admit(0, 5, 0, 1500)
	t2, _ := b.Admit(0, 5, 0, 1500)
	if t1 != Onchip || t2 != Offchip || !b.Evicted(5) {
		tb.Fatal("queue 5 not evicted")
	}
}

func TestNoAllocs(t *testing.T) {
	b := benchBuf(t)
	evict5(t, b)
	var s Snapshot
	b.Snapshot(&s)
	var now int64
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Admit+Release onchip", func() {
			now += 100
			sinkTier, sinkReason = b.Admit(now, 1, 0, 1500)
			b.Release(now, 1, sinkTier, 1500, true)
		}},
		{"Admit+Release offchip", func() {
			now += 100
			sinkTier, sinkReason = b.Admit(now, 5, 0, 1500)
			b.Release(now, 5, sinkTier, 1500, true)
			if sinkTier != Offchip || sinkReason != OK {
				t.Fatalf("left the off-chip path: %v %v", sinkTier, sinkReason)
			}
		}},
		{"Admit pinned", func() {
			sinkTier, sinkReason = b.Admit(now, 5, 7, 64)
			b.Release(now, 5, sinkTier, 64, false)
		}},
		{"MarkDropping", func() { b.MarkDropping(now, 3) }},
		{"Publish", func() {
			b.Admit(now, 2, 0, 64)
			b.Publish()
			b.Release(now, 2, Onchip, 64, false)
		}},
		{"Snapshot", func() { b.Snapshot(&s) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Zero(t, testing.AllocsPerRun(1000, tc.f))
		})
	}
	assert.Equal(t, OK, sinkReason)
}

// BenchmarkAdmitReleaseOnchip: the common case, a short queue staying on-chip.
func BenchmarkAdmitReleaseOnchip(b *testing.B) {
	buf := benchBuf(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := i & 1023
		now := int64(i) * 10
		sinkTier, sinkReason = buf.Admit(now, q, 0, 1500)
		buf.Release(now, q, sinkTier, 1500, true)
	}
}

// BenchmarkAdmitReleaseOffchip: an evicted queue, paying write and read bandwidth.
func BenchmarkAdmitReleaseOffchip(b *testing.B) {
	buf := benchBuf(b)
	evict5(b, buf)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// 40 ns refills 4500 B at 900 Gb/s: enough for the 1500 B write and read.
		now := int64(i) * 40
		sinkTier, sinkReason = buf.Admit(now, 5, 0, 1500)
		buf.Release(now, 5, sinkTier, 1500, true)
	}
	if sinkTier != Offchip || sinkReason != OK {
		b.Fatalf("benchmark left the off-chip path: %v %v", sinkTier, sinkReason)
	}
}

// BenchmarkBurst32Publish is a 32-packet burst over 32 queues (admits on even
// iterations, the matching releases on odd ones) followed by one Publish: the
// per-burst cost on a busy lcore. Compare with 32 x BenchmarkAdmitReleaseOnchip / 2.
func BenchmarkBurst32Publish(b *testing.B) {
	buf := benchBuf(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		base := (i / 2 * 32) & 1023
		for k := 0; k < 32; k++ {
			if i%2 == 0 {
				buf.Admit(0, base+k, 0, 1500)
			} else {
				buf.Release(0, base+k, Onchip, 1500, true)
			}
		}
		buf.Publish()
	}
}
