package voq

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/stretchr/testify/require"
)

// TestSeqlockSnapshotNeverTorn runs the owner (random traffic plus Publish after every
// burst) and two readers concurrently; run it with -race. Every snapshot must satisfy
// invariants that span many words and both blocks: per queue and per port
// Arrivals == Dequeued + drops + Pkts, each port's depth equals the sum of its queues'
// depths, and counters never go backwards between snapshots.
func TestSeqlockSnapshotNeverTorn(t *testing.T) {
	a := mustNew(t, Config{Kind: KindVOQ, Ports: ports(4), Classes: 2, LimitPkts: 16, Overflow: OverflowHead,
		Arbiter: ArbiterDRR, AQM: randFactory(5, 0.02, 0.02, 0.02)})
	var done atomic.Bool
	var wg sync.WaitGroup
	reads := make([]int, 2)
	for r := range 2 {
		wg.Go(func() {
			var s, prev ArchSnapshot
			for !done.Load() || reads[r] == 0 {
				a.Snapshot(&s)
				reads[r]++
				depth := map[int]int{}
				for _, q := range s.Queues {
					if q.Arrivals != q.Dequeued+q.TotalDrops()+uint64(q.Pkts) {
						t.Errorf("torn queue %d: %+v", q.Index, q.QueueStats)
						return
					}
					depth[q.Port] += q.Pkts
				}
				for _, p := range s.Ports {
					if p.Arrivals != p.Dequeued+p.TotalDrops()+uint64(p.Pkts) || depth[p.Port] != p.Pkts {
						t.Errorf("torn port %d: %+v, queues hold %d", p.Port, p.QueueStats, depth[p.Port])
						return
					}
				}
				if prev.Queues != nil {
					if s.Publishes < prev.Publishes || s.Now < prev.Now {
						t.Errorf("went backwards: %d after %d", s.Publishes, prev.Publishes)
						return
					}
					for i := range s.Queues {
						if s.Queues[i].Arrivals < prev.Queues[i].Arrivals {
							t.Errorf("queue %d arrivals went backwards", i)
							return
						}
					}
				}
				prev, s = s, prev // swap buffers: both keep being reused
			}
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	sink := &recSink{}
	out := make([]pkt.Desc, 8)
	descs := make([]pkt.Desc, 8)
	now := int64(0)
	for burst := range 3000 {
		now += 1000
		for i := range descs {
			descs[i] = mk(burst*8+i, rng.IntN(4), rng.IntN(4), uint8(rng.IntN(2)), 64+rng.IntN(1000), now)
			a.Enqueue(now, &descs[i], sink)
		}
		for p := range 4 {
			a.Dequeue(now, p, out[:rng.IntN(4)], 1<<20, sink)
		}
		a.Publish()
	}
	done.Store(true)
	wg.Wait()
	require.Positive(t, reads[0])
	require.Positive(t, reads[1])
	// Publishes were skipped while a reader waited, but nothing was lost: once the
	// readers are gone one Publish brings everything up to date.
	a.Publish()
	var s ArchSnapshot
	a.Snapshot(&s)
	require.LessOrEqual(t, s.Publishes, uint64(3002), "New publishes once")
	require.Greater(t, s.Publishes, uint64(2), "readers that poll without pause slow publishing, never stop it")
	for _, p := range s.Ports {
		n, b := a.Backlog(p.Port)
		require.Equal(t, n, p.Pkts)
		require.Equal(t, b, p.Bytes)
	}
	t.Logf("publishes %d, reads %v", s.Publishes, reads)
}

// TestReaderWaitingPausesPublish: while a reader is registered as waiting, Publish
// leaves the published block alone and keeps its dirty lists for later.
func TestReaderWaitingPausesPublish(t *testing.T) {
	a := mustNew(t, Config{Kind: KindEgress, Ports: ports(1), LimitPkts: 8})
	b := a.(*egressArch)
	sink := &recSink{}
	d := mk(1, 0, 0, 0, 100, 0)
	calls := 0
	b.pub.Read(func() {
		// A Publish during each of the first copies makes the reader retry; after four
		// it registers as waiting, and the Publish during its fifth copy is skipped.
		if calls++; calls == 5 {
			a.Enqueue(0, &d, sink)
		}
		a.Publish()
	})
	require.Equal(t, 5, calls)
	var s ArchSnapshot
	a.Snapshot(&s)
	require.Zero(t, s.Queues[0].Pkts, "the Publish while the reader waited was skipped")
	a.Publish()
	a.Snapshot(&s)
	require.Equal(t, 1, s.Queues[0].Pkts)
}

func TestSnapshotReusesSlices(t *testing.T) {
	a := mustNew(t, Config{Kind: KindEgress, Ports: ports(3), Classes: 4, LimitPkts: 8})
	var s ArchSnapshot
	a.Snapshot(&s)
	require.Len(t, s.Queues, 12)
	require.Len(t, s.Ports, 3)
	q0, p0 := &s.Queues[0], &s.Ports[0]
	a.Snapshot(&s)
	require.Same(t, q0, &s.Queues[0])
	require.Same(t, p0, &s.Ports[0])
	allocs := testing.AllocsPerRun(100, func() { a.Snapshot(&s) })
	require.Zero(t, allocs)
}

// TestPublishOnlyAfterPublish: the owner's changes are invisible until Publish.
func TestPublishOnlyAfterPublish(t *testing.T) {
	a := mustNew(t, Config{Kind: KindEgress, Ports: ports(1), LimitPkts: 8})
	sink := &recSink{}
	d := mk(1, 0, 0, 0, 100, 0)
	a.Enqueue(5, &d, sink)
	var s ArchSnapshot
	a.Snapshot(&s)
	require.Zero(t, s.Queues[0].Pkts)
	a.Publish()
	a.Snapshot(&s)
	require.Equal(t, 1, s.Queues[0].Pkts)
	require.Equal(t, int64(5), s.Now)
}

// TestStatsEncodeRoundTrip sets every field of QueueStats and aqm.State to a distinct
// value through reflection, so a field added later and forgotten in encode/decode
// fails here.
func TestStatsEncodeRoundTrip(t *testing.T) {
	var in QueueStats
	n := uint64(1)
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Array:
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Int:
			v.SetInt(int64(n))
			n++
		case reflect.Uint64:
			v.SetUint(n)
			n++
		default:
			t.Fatalf("unhandled field kind %s", v.Kind())
		}
	}
	fill(reflect.ValueOf(&in).Elem())
	require.Equal(t, uint64(statWords+1), n, "statWords matches the struct")
	w := make([]atomic.Uint64, statWords)
	in.encode(w)
	var out QueueStats
	out.decode(w)
	require.Equal(t, in, out)

	st := aqm.State{Kind: aqm.KindPIE, Dropping: true, Count: 7, DropProb: 0.25, QDelay: 1234, AvgQueue: 3.5, Drops: 9, Marks: 11}
	require.Equal(t, aqmWords, reflect.TypeOf(st).NumField())
	aw := make([]atomic.Uint64, aqmWords)
	encodeAQM(&st, aw)
	var st2 aqm.State
	decodeAQM(&st2, aw)
	require.Equal(t, st, st2)
}

func TestHistogram(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		want int
	}{{-5, 0}, {0, 0}, {1023, 0}, {1024, 1}, {2047, 1}, {2048, 2}, {1 << 20, 11}, {60e9, 26}, {1 << 36, 27}, {1 << 62, 27}} {
		require.Equal(t, tc.want, bucketOf(tc.ns), "ns=%d", tc.ns)
		lo, hi := BucketBounds(tc.want)
		if tc.ns >= 0 {
			require.GreaterOrEqual(t, tc.ns, lo)
			require.True(t, hi < 0 || tc.ns < hi)
		}
	}
	// Quantiles against the exact value from sorted samples: the estimate must fall in
	// the bucket that holds the exact quantile.
	rng := rand.New(rand.NewPCG(3, 4))
	var h Histogram
	samples := make([]int64, 10000)
	for i := range samples {
		samples[i] = int64(rng.ExpFloat64() * 200_000) // mean 200 µs
		h.add(samples[i])
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := samples[int(q*float64(len(samples)))-1]
		lo, hi := BucketBounds(bucketOf(exact))
		got := h.Quantile(q)
		require.GreaterOrEqual(t, got, lo, "q=%g exact=%d", q, exact)
		require.LessOrEqual(t, got, hi, "q=%g exact=%d", q, exact)
	}
	require.Equal(t, uint64(10000), h.Count())
	var empty Histogram
	require.Zero(t, empty.Quantile(0.5))
}
