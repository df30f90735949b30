// Package report records a running router's per-port and per-queue figures at a
// fixed interval and, at exit, writes them as a run report: the JSON summary, CSV
// time series (ports.csv, queues.csv) and PNG plots of throughput, egress depth and
// sojourn percentiles.
//
// The recorder reads the router only through api.Source, whose calls copy published
// snapshots, so sampling never holds up an lcore. Each sample keeps cumulative
// counters as they are; rates are derived when the report is written, from the
// difference of two kept samples divided by the router's own uptime difference
// (the sampling time when the uptime does not move). Sojourn percentiles are the
// exception: they need whole histograms, which are too big to keep per row, so each
// sample stores the p50/p99 of the packets dequeued since the previous snapshot,
// computed from the difference of the two cumulative histograms.
package report

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/hist"
)

// defaultMaxRows bounds the rows kept (port rows plus queue rows). A port row is 88
// bytes and a queue row 64, so a million rows is under 90 MB in the worst case, and
// at 100 ms with 4 ports and 32 queues it covers about 45 minutes before the first
// downsampling.
const defaultMaxRows = 1_000_000

// minInterval is the shortest sampling interval: below a millisecond the Go timer
// and the snapshot copies would make the interval itself the noise.
const minInterval = time.Millisecond

// Recorder samples an api.Source at a fixed interval and keeps the time series in
// memory, bounded in rows. Its methods are safe for concurrent use.
type Recorder struct {
	src      api.Source
	interval time.Duration

	startOnce, stopOnce sync.Once
	quit, done          chan struct{}

	mu       sync.Mutex
	t0       time.Time // when the recorder started (Start, or NewRecorder without Start)
	started  bool
	stopped  bool // Stop was called: Start does nothing from then on
	finished bool // the final sample is taken; nothing more is recorded
	maxRows  int  // bound on len(ports)+len(queues); tests shrink it
	ticks    int  // sampler ticks so far, kept or not
	stride   int  // record one tick in stride: doubles at each downsampling

	samples []sampleInfo
	ports   []portRow
	queues  []queueRow

	// Identities are interned so rows stay small.
	portIDs   map[string]int32
	portNames []string
	queueIDs  map[queueKey]int32
	queueKeys []queueKey

	// Cumulative sojourn histograms of the latest snapshot taken (kept or not), the
	// base of the next interval's percentiles; cur and diff are scratch.
	prevPortHist  map[int32]*hist.Sparse
	prevQueueHist map[int32]*hist.Sparse
	cur, diff     hist.Sparse

	// Poll-loop stalls seen in the lcores' recent lists (stalls.go).
	stallEvents []stallEvent
	stallSeen   map[stallKey]bool
}

// sampleInfo is when one sample was taken.
type sampleInfo struct {
	t      time.Duration // since the recorder started
	uptime time.Duration // the router's Status.Uptime at the sample
	stalls uint64        // poll-loop stalls of all lcores since the router started
}

// queueKey identifies a queue across snapshots.
type queueKey struct {
	port, input  string
	class, index int
}

// portRow is one port at one sample; counters are cumulative as the router reports
// them.
type portRow struct {
	sample, port             int32 // indexes into samples and portNames
	rxPackets, txPackets     uint64
	rxBytes, txBytes         uint64
	drops                    uint64 // drops of packets received on the port, all reasons
	egressDrops              uint64 // drops in the queues feeding the port, all reasons
	depthPackets, depthBytes int64
	p50, p99                 time.Duration // egress sojourn over the interval; -1: none dequeued
}

// queueRow is one queue at one sample.
type queueRow struct {
	sample, queue            int32 // indexes into samples and queueKeys
	depthPackets, depthBytes int64
	dequeued, drops          uint64        // cumulative
	p50, p99                 time.Duration // sojourn over the interval; -1: none dequeued
	head                     time.Duration // sojourn of the packet at the head now
}

// NewRecorder returns a recorder of src sampling every interval (at least 1 ms).
func NewRecorder(src api.Source, interval time.Duration) (*Recorder, error) {
	if src == nil {
		return nil, errors.New("report: nil api.Source")
	}
	if interval < minInterval {
		return nil, fmt.Errorf("--sample = %q: the sampling interval must be at least %v", interval.String(), minInterval)
	}
	return &Recorder{
		src: src, interval: interval,
		quit: make(chan struct{}), done: make(chan struct{}),
		t0: time.Now(), maxRows: defaultMaxRows, stride: 1,
		portIDs: map[string]int32{}, queueIDs: map[queueKey]int32{},
		prevPortHist: map[int32]*hist.Sparse{}, prevQueueHist: map[int32]*hist.Sparse{},
	}, nil
}

// Start begins sampling in a goroutine: one sample now, then one per interval until
// Stop. Calling it again, or after Stop, does nothing.
func (r *Recorder) Start() {
	r.startOnce.Do(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.stopped {
			return
		}
		r.started = true
		r.t0 = time.Now()
		go r.loop()
	})
}

// Stop ends sampling and takes a final sample, so the series reaches the end of the
// run even between ticks (its interval, and so its rates, may be shorter than the
// others). Later calls do nothing.
func (r *Recorder) Stop() {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		r.stopped = true
		started := r.started
		r.mu.Unlock()
		if started {
			close(r.quit)
			<-r.done
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.record(time.Since(r.t0), true)
	})
}

// Samples is the number of samples kept (after any downsampling).
func (r *Recorder) Samples() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples)
}

func (r *Recorder) loop() {
	defer close(r.done)
	tk := time.NewTicker(r.interval)
	defer tk.Stop()
	for {
		r.mu.Lock()
		r.record(time.Since(r.t0), false)
		r.mu.Unlock()
		select {
		case <-r.quit:
			return
		case <-tk.C:
		}
	}
}

// sampleAt is one sampler tick at time t since the start; tests drive it by hand.
func (r *Recorder) sampleAt(t time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(t, false)
}

// record takes a snapshot at time t (a tick, or the final sample) and keeps it.
// The caller holds r.mu.
func (r *Recorder) record(t time.Duration, final bool) {
	if r.finished {
		return
	}
	if !final {
		n := r.ticks
		r.ticks++
		// After k downsamplings only ticks that are multiples of 2^k are kept; the
		// kept samples are exactly those ticks, so the spacing stays regular.
		if n%r.stride != 0 {
			return
		}
	}
	r.finished = final

	st := r.src.Status()
	ports := r.src.Ports()
	queues := r.src.Queues()

	s := int32(len(r.samples))
	r.samples = append(r.samples, sampleInfo{t: t, uptime: st.Uptime, stalls: r.recordStalls(&st)})
	for i := range ports {
		p := &ports[i]
		id := r.portID(p.Name)
		p50, p99 := r.interval50and99(r.prevPortHist, id, p.Egress.SojournBuckets)
		r.ports = append(r.ports, portRow{
			sample: s, port: id,
			rxPackets: p.RxPackets, txPackets: p.TxPackets, rxBytes: p.RxBytes, txBytes: p.TxBytes,
			drops: sum(p.Drops), egressDrops: sum(p.Egress.Drops),
			depthPackets: int64(p.Egress.Packets), depthBytes: int64(p.Egress.Bytes),
			p50: p50, p99: p99,
		})
	}
	for i := range queues {
		q := &queues[i]
		id := r.queueID(queueKey{port: q.Port, input: q.Input, class: q.Class, index: q.Index})
		p50, p99 := r.interval50and99(r.prevQueueHist, id, q.SojournBuckets)
		r.queues = append(r.queues, queueRow{
			sample: s, queue: id,
			depthPackets: int64(q.Packets), depthBytes: int64(q.Bytes),
			dequeued: q.Dequeued, drops: sum(q.Drops),
			p50: p50, p99: p99, head: q.HeadSojourn,
		})
	}
	for len(r.ports)+len(r.queues) > r.maxRows && len(r.samples) > 1 {
		r.downsample(final)
	}
}

// downsample halves the series by dropping every other sample (the odd ones; the
// final sample survives when keepLast) and doubles the effective interval. Rates
// stay exact because they are derived from the cumulative counters of the samples
// that remain. A kept row's sojourn percentiles still describe only the snapshot
// interval just before it (up to half of its new interval): merging them would need
// each row's histogram, which is what the bound is there to avoid.
func (r *Recorder) downsample(keepLast bool) {
	n := len(r.samples)
	newIdx := make([]int32, n) // -1: dropped
	kept := 0
	for i := range r.samples {
		if i%2 == 0 || (keepLast && i == n-1) {
			newIdx[i] = int32(kept)
			r.samples[kept] = r.samples[i]
			kept++
		} else {
			newIdx[i] = -1
		}
	}
	r.samples = r.samples[:kept]
	r.ports = compact(r.ports, newIdx, func(p *portRow) *int32 { return &p.sample })
	r.queues = compact(r.queues, newIdx, func(q *queueRow) *int32 { return &q.sample })
	r.stride *= 2
}

// compact keeps the rows whose sample survives and renumbers their sample index.
func compact[T any](rows []T, newIdx []int32, sample func(*T) *int32) []T {
	out := rows[:0]
	for i := range rows {
		s := sample(&rows[i])
		if ni := newIdx[*s]; ni >= 0 {
			*s = ni
			out = append(out, rows[i])
		}
	}
	return out
}

func (r *Recorder) portID(name string) int32 {
	id, ok := r.portIDs[name]
	if !ok {
		id = int32(len(r.portNames))
		r.portIDs[name] = id
		r.portNames = append(r.portNames, name)
	}
	return id
}

func (r *Recorder) queueID(k queueKey) int32 {
	id, ok := r.queueIDs[k]
	if !ok {
		id = int32(len(r.queueKeys))
		r.queueIDs[k] = id
		r.queueKeys = append(r.queueKeys, k)
	}
	return id
}

// interval50and99 returns the p50 and p99 sojourn of the packets counted in cur but
// not in the previous snapshot of the same series, and makes cur the new base. The
// difference of two cumulative histograms is exact per bucket, so the percentiles are
// within the histogram's 1/128 of the exact ones of that interval's packets. It
// answers -1, -1 for the first snapshot of a series (no interval yet) and for an
// interval in which nothing was dequeued.
func (r *Recorder) interval50and99(prev map[int32]*hist.Sparse, id int32, cur []api.SojournBucket) (p50, p99 time.Duration) {
	old, seen := prev[id]
	if !seen {
		old = new(hist.Sparse)
		prev[id] = old
	}
	api.SojournSparse(cur, &r.cur)
	r.diff.Sub(&r.cur, old)
	// r.cur becomes the base; old's slice is reused as the next scratch.
	*old, r.cur = r.cur, *old
	if !seen || r.diff.Count() == 0 {
		return -1, -1
	}
	return time.Duration(r.diff.Quantile(0.50)), time.Duration(r.diff.Quantile(0.99))
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}
