package voq

import (
	"math"
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
// fails here. Sojourn is left out: it publishes itself (see Histogram).
func TestStatsEncodeRoundTrip(t *testing.T) {
	var in QueueStats
	n := uint64(1)
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type() == reflect.TypeFor[QueueStats]() && v.Type().Field(i).Name == "Sojourn" {
					continue // published by its hist.Shared, not through the words
				}
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

// TestSojournHistogram: sojourns recorded by runs of packets with one enqueue time
// (single packets are runs of one) reach the snapshot of the queue and of its port at
// the next Publish, with quantiles within the histogram's bound of the exact ones.
func TestSojournHistogram(t *testing.T) {
	a := mustNew(t, Config{Kind: KindEgress, Ports: []int{0}, LimitPkts: 1 << 14})
	b := a.(interface{ b() *base }).b()
	rng := rand.New(rand.NewPCG(3, 4))
	st, ps := b.leaves[0].stats(), &b.led.ports[0]
	samples := make([]int64, 0, 10000)
	const now = 1_000_000_000
	for len(samples) < 10000 {
		ns := int64(rng.ExpFloat64() * 200_000) // mean 200 µs
		r := sojournRuns{st: st, ps: ps}
		for range 1 + len(samples)%3 {
			r.add(now, now-ns)
			samples = append(samples, ns)
		}
		r.flush(now)
	}
	var s ArchSnapshot
	a.Snapshot(&s)
	require.Zero(t, s.Queues[0].Sojourn.Count(), "nothing is visible before Publish")
	b.led.touchQ(0) // what the dequeue paths do
	b.led.portAt(0)
	a.Publish()
	a.Snapshot(&s)
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	for _, h := range []*Histogram{&s.Queues[0].Sojourn, &s.Ports[0].Sojourn} {
		require.Equal(t, uint64(len(samples)), h.Count())
		for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
			exact := samples[int(math.Ceil(q*float64(len(samples))))-1]
			require.InDelta(t, exact, h.Quantile(q), float64(exact)/128, "q=%g", q)
		}
	}
	r := sojournRuns{st: st, ps: ps}
	r.add(now, now+5) // a clock step back counts as 0
	r.flush(now)
	b.led.touchQ(0)
	a.Publish()
	a.Snapshot(&s)
	require.Equal(t, uint64(len(samples)+1), s.Queues[0].Sojourn.Count())
	require.Equal(t, int64(0), s.Queues[0].Sojourn.Buckets[0].Lo)
	var empty Histogram
	require.Zero(t, empty.Quantile(0.5))
}
