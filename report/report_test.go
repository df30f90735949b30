package report

import (
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/api/apitest"
	"github.com/dpdkq/dpdkq/hist"
)

// The fake router advances by one step at every Status call, that is at every
// snapshot the recorder takes: 5 ms of uptime, 1000 packets of 1500 bytes from p0
// to p1, and 100 packets dequeued from queue 0 (p1's only busy queue), 90 of them
// with a sojourn of 800 µs and 10 of 3.2 ms.
const (
	step     = 5 * time.Millisecond
	perStep  = 1000
	pktBytes = 1500
)

func newFake() *apitest.Fake {
	st := apitest.Sample()
	st.Ports[1].Egress.SojournBuckets = nil
	f := apitest.New(st)
	f.OnStatus = func(s *apitest.State) {
		s.Status.Uptime += step
		s.Ports[0].RxPackets += perStep
		s.Ports[0].RxBytes += perStep * pktBytes
		s.Ports[1].TxPackets += perStep
		s.Ports[1].TxBytes += perStep * pktBytes
		s.Ports[1].Egress.Packets++
		q := &s.Queues[0]
		q.Dequeued += 100
		for _, b := range []*[]api.SojournBucket{&q.SojournBuckets, &s.Ports[1].Egress.SojournBuckets} {
			*b = addSojourn(*b, 800_000, 90)
			*b = addSojourn(*b, 3_200_000, 10)
		}
	}
	return f
}

// addSojourn returns b with n more sojourns of ns, counted as the dataplane counts them.
func addSojourn(b []api.SojournBucket, ns int64, n uint64) []api.SojournBucket {
	h := new(hist.Histogram)
	var s hist.Sparse
	api.SojournSparse(b, &s)
	s.Add(h)
	h.RecordN(ns, n)
	h.Sparse(&s)
	return api.SojournBuckets(&s)
}

func newRecorder(t *testing.T, src api.Source) *Recorder {
	t.Helper()
	r, err := NewRecorder(src, step)
	require.NoError(t, err)
	return r
}

// table is a parsed CSV file with its header.
type table struct {
	header []string
	rows   [][]string
}

func readCSV(t *testing.T, path string) table {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err, "%s must parse as CSV", path)
	require.NotEmpty(t, all)
	return table{header: all[0], rows: all[1:]}
}

func (tb table) get(t *testing.T, row int, col string) string {
	t.Helper()
	for i, h := range tb.header {
		if h == col {
			return tb.rows[row][i]
		}
	}
	require.Failf(t, "no column", "%q", col)
	return ""
}

func (tb table) float(t *testing.T, row int, col string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(tb.get(t, row, col), 64)
	require.NoError(t, err, "row %d column %s", row, col)
	return v
}

// rowsOf returns the indexes of the rows whose column col is v.
func (tb table) rowsOf(t *testing.T, col, v string) []int {
	var out []int
	for i := range tb.rows {
		if tb.get(t, i, col) == v {
			out = append(out, i)
		}
	}
	return out
}

func TestNewRecorderValidates(t *testing.T) {
	t.Parallel()
	_, err := NewRecorder(apitest.New(apitest.Sample()), 500*time.Microsecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--sample")
	assert.Contains(t, err.Error(), "500µs")
	assert.Contains(t, err.Error(), "1ms")
	_, err = NewRecorder(nil, time.Second)
	assert.Error(t, err)
	_, err = NewRecorder(apitest.New(apitest.Sample()), time.Millisecond)
	assert.NoError(t, err)
}

func TestPortsCSVRatesFromUptime(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, newFake())
	// Sample every 7 ms of recorder time while the router's uptime moves 5 ms per
	// snapshot: rates must follow the router's clock, which its counters obey.
	const n = 12
	for i := range n {
		r.sampleAt(time.Duration(i) * 7 * time.Millisecond)
	}
	dir := t.TempDir()
	require.NoError(t, r.Write(dir, nil))

	tb := readCSV(t, filepath.Join(dir, "ports.csv"))
	assert.Equal(t, []string{"time_s", "port", "rx_pps", "tx_pps", "rx_bps", "tx_bps",
		"rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "drops", "egress_drops",
		"egress_depth_packets", "egress_depth_bytes", "egress_sojourn_p50_ms", "egress_sojourn_p99_ms",
		"loop_stalls"}, tb.header)
	require.Len(t, tb.rows, n*2, "one row per (sample, port)")

	p0, p1 := tb.rowsOf(t, "port", "p0"), tb.rowsOf(t, "port", "p1")
	require.Len(t, p0, n)
	require.Len(t, p1, n)
	wantPps := perStep / step.Seconds() // 200000
	for k := range n {
		assert.InDelta(t, float64(k)*0.007, tb.float(t, p1[k], "time_s"), 1e-12)
		assert.Equal(t, strconv.Itoa(900+(k+1)*perStep), tb.get(t, p1[k], "tx_packets"))
		if k == 0 {
			assert.Empty(t, tb.get(t, p1[0], "tx_pps"), "no interval before the first sample")
			assert.Empty(t, tb.get(t, p0[0], "rx_bps"))
			continue
		}
		assert.InDelta(t, wantPps, tb.float(t, p1[k], "tx_pps"), 1e-6)
		assert.InDelta(t, 8*pktBytes*wantPps, tb.float(t, p1[k], "tx_bps"), 1e-3)
		assert.InDelta(t, wantPps, tb.float(t, p0[k], "rx_pps"), 1e-6)
		assert.InDelta(t, 0, tb.float(t, p0[k], "tx_pps"), 0)
		assert.InDelta(t, 0, tb.float(t, p1[k], "rx_pps"), 0)
	}
	assert.Equal(t, "10", tb.get(t, p0[3], "drops"), "p0's receive drops: no_route 4 + ttl_expired 6")
	assert.Equal(t, "30", tb.get(t, p1[3], "egress_drops"), "p1's queue drops: tail 25 + aqm 5")
	assert.Equal(t, "64", tb.get(t, p1[3], "egress_depth_packets"), "60 + one per snapshot")
	assert.Equal(t, "90000", tb.get(t, p1[3], "egress_depth_bytes"))
}

func TestRatesFallBackToSampleTime(t *testing.T) {
	t.Parallel()
	f := newFake()
	advance := f.OnStatus
	f.OnStatus = func(s *apitest.State) {
		up := s.Status.Uptime
		advance(s)
		s.Status.Uptime = up // a source whose uptime does not move
	}
	r := newRecorder(t, f)
	for i := range 4 {
		r.sampleAt(time.Duration(i) * 8 * time.Millisecond)
	}
	dir := t.TempDir()
	require.NoError(t, r.Write(dir, nil))
	tb := readCSV(t, filepath.Join(dir, "ports.csv"))
	for _, i := range tb.rowsOf(t, "port", "p1")[1:] {
		assert.InDelta(t, perStep/0.008, tb.float(t, i, "tx_pps"), 1e-6)
	}
}

func TestIntervalSojournPercentiles(t *testing.T) {
	t.Parallel()
	f := newFake()
	r := newRecorder(t, f)
	for i := range 5 {
		r.sampleAt(time.Duration(i) * step)
	}
	dir := t.TempDir()
	require.NoError(t, r.Write(dir, nil))

	// Each interval dequeues 90 packets of 800 µs and 10 of 3.2 ms: p50 is 0.8 ms and
	// p99 3.2 ms, each read as the middle of its bucket ([794624, 802816) and
	// [3178496, 3211264) ns), within the histogram's 1/128.
	const wantP50, wantP99 = 0.798719, 3.194879
	assert.InEpsilon(t, 0.8, wantP50, 1.0/128)
	assert.InEpsilon(t, 3.2, wantP99, 1.0/128)
	// The cumulative histogram (which also holds Sample's older packets, 3 of them
	// in the open bucket) answers something else: the difference matters.
	require.NotEqual(t, 3194879*time.Nanosecond, api.SojournQuantile(f.Queues()[0].SojournBuckets, 0.99))

	tb := readCSV(t, filepath.Join(dir, "queues.csv"))
	assert.Equal(t, []string{"time_s", "port", "input", "class", "queue", "depth_packets", "depth_bytes",
		"dequeued", "drops", "sojourn_p50_ms", "sojourn_p99_ms", "head_sojourn_ms"}, tb.header)
	require.Len(t, tb.rows, 5*3, "one row per (sample, queue)")
	q0 := tb.rowsOf(t, "queue", "0")
	require.Len(t, q0, 5)
	assert.Empty(t, tb.get(t, q0[0], "sojourn_p50_ms"), "no interval before the first sample")
	for _, i := range q0[1:] {
		assert.InDelta(t, wantP50, tb.float(t, i, "sojourn_p50_ms"), 1e-9)
		assert.InDelta(t, wantP99, tb.float(t, i, "sojourn_p99_ms"), 1e-9)
		assert.Equal(t, "4", tb.get(t, i, "head_sojourn_ms"))
		assert.Equal(t, "30", tb.get(t, i, "drops"))
		assert.Equal(t, "p1", tb.get(t, i, "port"))
		assert.Equal(t, "0", tb.get(t, i, "class"))
	}
	assert.Equal(t, strconv.Itoa(858+5*100), tb.get(t, q0[4], "dequeued"))
	for _, i := range tb.rowsOf(t, "queue", "1") {
		assert.Empty(t, tb.get(t, i, "sojourn_p99_ms"), "nothing dequeued: no percentile")
	}
	fifo := tb.rowsOf(t, "queue", "2")
	require.Len(t, fifo, 5)
	assert.Equal(t, []string{"", "p0", "-1"},
		[]string{tb.get(t, fifo[0], "port"), tb.get(t, fifo[0], "input"), tb.get(t, fifo[0], "class")})

	// p1's egress aggregate gets the same packets, so the same percentiles.
	pt := readCSV(t, filepath.Join(dir, "ports.csv"))
	p1 := pt.rowsOf(t, "port", "p1")
	assert.Empty(t, pt.get(t, p1[0], "egress_sojourn_p50_ms"))
	assert.InDelta(t, wantP50, pt.float(t, p1[2], "egress_sojourn_p50_ms"), 1e-9)
	assert.InDelta(t, wantP99, pt.float(t, p1[2], "egress_sojourn_p99_ms"), 1e-9)
}

// TestIntervalSojournResolvesSmallChanges: a sojourn that creeps up by 1% per interval
// from 6.4 ms shows as a distinct p50 in every row, each within 1% of the truth.
func TestIntervalSojournResolvesSmallChanges(t *testing.T) {
	t.Parallel()
	st := apitest.Sample()
	st.Queues = st.Queues[:1]
	i := 0
	sojourn := func(i int) float64 { return 6.4e6 * math.Pow(1.01, float64(i)) }
	f := apitest.New(st)
	f.OnStatus = func(s *apitest.State) {
		s.Status.Uptime += step
		q := &s.Queues[0]
		q.Dequeued += 100
		q.SojournBuckets = addSojourn(q.SojournBuckets, int64(sojourn(i)), 100)
		i++
	}
	r := newRecorder(t, f)
	for k := range 12 {
		r.sampleAt(time.Duration(k) * step)
	}
	dir := t.TempDir()
	require.NoError(t, r.Write(dir, nil))
	tb := readCSV(t, filepath.Join(dir, "queues.csv"))
	rows := tb.rowsOf(t, "queue", "0")
	require.Len(t, rows, 12)
	seen := map[string]bool{}
	for k, row := range rows[1:] {
		// Row k+1 holds the packets added at the snapshot of sample k+1 (Status is
		// called once per sample, before the queues are read).
		want := sojourn(k+1) / 1e6
		assert.InEpsilon(t, want, tb.float(t, row, "sojourn_p50_ms"), 0.01, "row %d", k+1)
		assert.InEpsilon(t, want, tb.float(t, row, "sojourn_p99_ms"), 0.01, "row %d", k+1)
		v := tb.get(t, row, "sojourn_p50_ms")
		assert.False(t, seen[v], "row %d repeats p50 %s", k+1, v)
		seen[v] = true
	}
}

func TestStartStopRunsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, newFake())
	r.Start()
	r.Start() // a second Start does not start a second sampler
	require.Eventually(t, func() bool { return r.Samples() > 10 }, 10*time.Second, time.Millisecond)
	r.Stop()
	n := r.Samples()
	assert.Greater(t, n, 11, "Stop adds a final sample")
	r.Stop()
	r.sampleAt(time.Hour)
	r.Start()
	assert.Equal(t, n, r.Samples(), "nothing is recorded after Stop")

	dir := t.TempDir()
	require.NoError(t, r.Write(dir, map[string]int{"forwarded": 7}))
	tb := readCSV(t, filepath.Join(dir, "ports.csv"))
	require.Len(t, tb.rows, 2*n)
	// One snapshot is one step of the fake router whatever the wall clock did, so
	// every rate is exact.
	prev := -1.0
	for _, i := range tb.rowsOf(t, "port", "p1")[1:] {
		assert.InDelta(t, perStep/step.Seconds(), tb.float(t, i, "tx_pps"), 1e-6)
		ts := tb.float(t, i, "time_s")
		assert.Greater(t, ts, prev, "time increases")
		prev = ts
	}
}

func TestStopWithoutStartWritesOneSample(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, newFake())
	r.Stop()
	require.Equal(t, 1, r.Samples())
	r.Start()
	assert.Equal(t, 1, r.Samples(), "Start after Stop does nothing")

	dir := filepath.Join(t.TempDir(), "nested", "report")
	require.NoError(t, r.Write(dir, map[string]any{"ports": 2, "ok": true}))
	checkPNGs(t, dir)
	tb := readCSV(t, filepath.Join(dir, "ports.csv"))
	require.Len(t, tb.rows, 2)
	assert.Empty(t, tb.get(t, 0, "tx_pps"))

	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "\n  \"ok\": true", "indented")
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, map[string]any{"ports": 2.0, "ok": true}, back)
}

func checkPNGs(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"throughput.png", "queue_depth.png", "sojourn.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		img, err := png.Decode(f)
		f.Close()
		require.NoError(t, err, name)
		// 8x4 inches at 96 dpi.
		assert.Equal(t, 8*96, img.Bounds().Dx(), name)
		assert.Equal(t, 4*96, img.Bounds().Dy(), name)
	}
}

func TestPlotsAndTheirSeries(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, newFake())
	for i := range 20 {
		r.sampleAt(time.Duration(i) * step)
	}
	dir := t.TempDir()
	require.NoError(t, r.Write(dir, nil))
	checkPNGs(t, dir)

	names := func(ss []series) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.name)
		}
		return out
	}
	// p0 transmits nothing and queues nothing: it is left out, not drawn as zeros.
	tp := r.throughputSeries()
	assert.Equal(t, []string{"p1"}, names(tp))
	require.Len(t, tp[0].xys, 19, "the first sample has no rate")
	assert.InDelta(t, 8*pktBytes*perStep/step.Seconds()/1e6, tp[0].xys[5].Y, 1e-9, "Mb/s")
	assert.InDelta(t, 6*step.Seconds(), tp[0].xys[5].X, 1e-12)

	dp := r.depthSeries()
	assert.Equal(t, []string{"p1"}, names(dp))
	assert.Equal(t, 61.0, dp[0].xys[0].Y)

	sj := r.sojournSeries()
	assert.Equal(t, []string{"p1 p50", "p1 p99"}, names(sj))
	assert.False(t, sj[0].dashed)
	assert.True(t, sj[1].dashed)
	assert.InDelta(t, 3.194879, sj[1].xys[0].Y, 1e-9) // the middle of 3.2 ms's bucket
}

func TestWriteErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, newFake())
	r.sampleAt(0)

	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "ports.csv"), 0o755)) // not creatable as a file
	err := r.Write(dir, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "ports.csv"))

	err = r.Write(t.TempDir(), map[string]any{"bad": make(chan int)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "summary.json")

	file := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	err = r.Write(filepath.Join(file, "sub"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(file, "sub"))
}

func TestDownsamplingBoundsRows(t *testing.T) {
	t.Parallel()
	// A fake whose transmit rate grows at every snapshot, and a log of what it
	// served, so a merged interval's rate can be told from its last sub-interval's.
	f := newFake()
	advance := f.OnStatus
	served := map[time.Duration]uint64{} // uptime -> p1's tx packets; written under f's lock
	k := uint64(0)
	f.OnStatus = func(s *apitest.State) {
		advance(s)
		k++
		s.Ports[1].TxPackets += k * 100
		served[s.Status.Uptime] = s.Ports[1].TxPackets
	}
	r := newRecorder(t, f)
	const rowsPerSample = 2 + 3 // Sample has 2 ports and 3 queues
	r.maxRows = 6 * rowsPerSample

	const ticks = 50
	for i := range ticks {
		r.sampleAt(time.Duration(i) * step)
		require.LessOrEqual(t, len(r.ports)+len(r.queues), r.maxRows, "tick %d", i)
		require.Equal(t, len(r.samples)*2, len(r.ports))
		require.Equal(t, len(r.samples)*3, len(r.queues))
	}
	// 6 samples fit; at the 7th the series halves, and again whenever it would grow
	// past 6: 50 ticks end with a stride of 16 (ticks 0, 16, 32, 48).
	require.Equal(t, 16, r.stride)
	require.Equal(t, 4, r.Samples())
	for i, s := range r.samples {
		assert.Equal(t, time.Duration(i)*16*step, s.t, "kept samples stay evenly spaced")
	}

	r.mu.Lock()
	r.record(51*step, true) // the final sample, as Stop takes it
	r.mu.Unlock()
	last := r.samples[len(r.samples)-1]
	assert.Equal(t, 51*step, last.t, "the final sample is kept")

	dir := t.TempDir()
	require.NoError(t, r.Write(dir, nil))
	tb := readCSV(t, filepath.Join(dir, "ports.csv"))
	p1 := tb.rowsOf(t, "port", "p1")
	require.Len(t, p1, r.Samples())
	for j := 1; j < len(r.samples); j++ {
		a, b := r.samples[j-1], r.samples[j]
		want := float64(served[b.uptime]-served[a.uptime]) / (b.uptime - a.uptime).Seconds()
		assert.InDelta(t, want, tb.float(t, p1[j], "tx_pps"), 1e-6, "rate over the whole merged interval %d", j)
	}
}
