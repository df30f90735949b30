package carving

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	sinkReason Reason
	sinkInt    int64
)

func benchCarver(tb testing.TB, queues int) *Carver {
	tb.Helper()
	b := make([]string, queues)
	for i := range b {
		b[i] = "lossy"
		if i%4 == 0 {
			b[i] = "gold"
		}
	}
	c, err := New(Config{
		Descriptors: 1 << 20,
		Pools:       []Pool{{Name: "egress", Size: 16 << 20, Mode: Dynamic, Descriptors: 1 << 18}},
		Profiles: []Profile{
			{Name: "lossy", Pool: "egress", DynamicTh: 3},
			{Name: "gold", Pool: "egress", Reserved: 64 << 10, DynamicTh: -3},
		},
		Bindings: b,
	})
	require.NoError(tb, err)
	return c
}

func TestNoAllocs(t *testing.T) {
	c := benchCarver(t, 64)
	var snap Snapshot
	c.Snapshot(&snap) // sizes the slices once
	q := 0
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Admit+Release", func() {
			q = (q + 1) % 64
			sinkReason = c.Admit(q, 1500)
			c.Release(q, 1500)
		}},
		{"Admit refused", func() {
			sinkReason = c.Admit(1, 1<<30) // larger than the whole pool
		}},
		{"Threshold", func() { sinkInt = c.Threshold(3) }},
		{"Publish", func() {
			c.Admit(2, 64)
			c.Publish()
			c.Release(2, 64)
		}},
		{"Snapshot", func() { c.Snapshot(&snap) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Zero(t, testing.AllocsPerRun(1000, tc.f))
		})
	}
	assert.Equal(t, NoSharedSpace, sinkReason)
}

// BenchmarkAdmitRelease is one admit plus one release on a different queue each time,
// with the pool a quarter full so the shared-area path (threshold check) runs.
func BenchmarkAdmitRelease(b *testing.B) {
	c := benchCarver(b, 1024)
	for i := 0; i < 2000; i++ {
		c.Admit(1+i%1023, 1500)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := i & 1023
		sinkReason = c.Admit(q, 1500)
		if sinkReason == OK {
			c.Release(q, 1500)
		}
	}
}

// BenchmarkBurst32Publish is a 32-packet burst over 32 queues (admits on even
// iterations, the matching releases on odd ones) followed by one Publish: the
// per-burst cost on a busy lcore. Compare with 32 x BenchmarkAdmitRelease / 2.
func BenchmarkBurst32Publish(b *testing.B) {
	c := benchCarver(b, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		base := (i / 2 * 32) & 1023
		for k := 0; k < 32; k++ {
			if i%2 == 0 {
				c.Admit(base+k, 1500)
			} else {
				c.Release(base+k, 1500)
			}
		}
		c.Publish()
	}
}

func BenchmarkSnapshot1024(b *testing.B) {
	c := benchCarver(b, 1024)
	var s Snapshot
	c.Snapshot(&s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Snapshot(&s)
	}
}
