package api_test

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/api/apitest"
	"github.com/dpdkq/dpdkq/hist"
)

// scrape fetches /metrics and parses it with Prometheus's own text parser.
func scrape(t *testing.T, st apitest.State) map[string]*dto.MetricFamily {
	t.Helper()
	base := serve(t, apitest.New(st), api.Options{Version: "v-test"})
	code, body, h := do(t, "GET", base+"/metrics", "", "")
	require.Equal(t, http.StatusOK, code, body)
	require.True(t, strings.HasPrefix(h.Get("Content-Type"), "text/plain"), h.Get("Content-Type"))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return fams
}

// find returns the one metric of family name whose labels include want, failing when
// there is none or more than one.
func find(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	fam, ok := fams[name]
	require.True(t, ok, "family %s missing", name)
	var hit *dto.Metric
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, lp := range m.Label {
			labels[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if match {
			require.Nil(t, hit, "%s%v matches more than one series", name, want)
			hit = m
		}
	}
	require.NotNil(t, hit, "%s%v not found", name, want)
	return hit
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := find(t, fams, name, labels)
	switch fams[name].GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("%s is a %v", name, fams[name].GetType())
	return 0
}

type L = map[string]string

func TestMetricsValues(t *testing.T) {
	st := apitest.Sample()
	fams := scrape(t, st)

	types := map[string]dto.MetricType{
		"dpdkq_port_rx_packets_total":        dto.MetricType_COUNTER,
		"dpdkq_port_drops_total":             dto.MetricType_COUNTER,
		"dpdkq_queue_depth_packets":          dto.MetricType_GAUGE,
		"dpdkq_queue_drops_total":            dto.MetricType_COUNTER,
		"dpdkq_queue_sojourn_seconds":        dto.MetricType_HISTOGRAM,
		"dpdkq_aqm_drop_probability":         dto.MetricType_GAUGE,
		"dpdkq_pool_used_bytes":              dto.MetricType_GAUGE,
		"dpdkq_tier_evictions_total":         dto.MetricType_COUNTER,
		"dpdkq_uptime_seconds":               dto.MetricType_GAUGE,
		"dpdkq_build_info":                   dto.MetricType_GAUGE,
		"dpdkq_tier_offchip_packet_fraction": dto.MetricType_GAUGE,
	}
	for name, typ := range types {
		require.Contains(t, fams, name)
		assert.Equal(t, typ, fams[name].GetType(), name)
		assert.NotEmpty(t, fams[name].GetHelp(), name)
	}
	// The Go and process collectors are registered too.
	assert.Contains(t, fams, "go_goroutines")
	assert.Contains(t, fams, "process_resident_memory_bytes")

	checks := []struct {
		name   string
		labels L
		want   float64
	}{
		{"dpdkq_uptime_seconds", nil, 90},
		{"dpdkq_build_info", L{"version": "v-test", "dpdk": "DPDK 22.11.4"}, 1},
		{"dpdkq_mempool_in_use", nil, 1500},
		{"dpdkq_mempool_size", nil, 8191},
		{"dpdkq_lcore_stalls_total", L{"lcore": "1"}, 2},
		{"dpdkq_lcore_stall_seconds_total", L{"lcore": "1"}, 0.035},
		{"dpdkq_lcore_stall_worst_seconds", L{"lcore": "1"}, 0.030},
		{"dpdkq_port_rx_packets_total", L{"port": "p0"}, 1000},
		{"dpdkq_port_rx_bytes_total", L{"port": "p0"}, 1_500_000},
		{"dpdkq_port_tx_packets_total", L{"port": "p1"}, 900},
		{"dpdkq_port_tx_bytes_total", L{"port": "p1"}, 1_350_000},
		{"dpdkq_port_forwarded_total", L{"port": "p0"}, 990},
		{"dpdkq_port_drops_total", L{"port": "p0", "reason": "no_route"}, 4},
		{"dpdkq_port_drops_total", L{"port": "p0", "reason": "ttl_expired"}, 6},
		{"dpdkq_port_ce_marked_total", L{"port": "p1"}, 9},
		{"dpdkq_port_rate_bytes_per_second", L{"port": "p1"}, 10e6 / 8},
		{"dpdkq_port_delay_seconds", L{"port": "p1"}, 0.020},
		{"dpdkq_port_egress_depth_packets", L{"port": "p1"}, 60},
		{"dpdkq_port_egress_depth_bytes", L{"port": "p1"}, 90_000},
		{"dpdkq_port_tx_held_packets", L{"port": "p1"}, 7},
		{"dpdkq_queue_depth_packets", L{"queue": "0", "port": "p1", "input": "", "class": "0"}, 50},
		{"dpdkq_queue_depth_bytes", L{"queue": "1", "class": "1"}, 15_000},
		{"dpdkq_queue_peak_packets", L{"queue": "0"}, 200},
		{"dpdkq_queue_peak_bytes", L{"queue": "0"}, 300_000},
		{"dpdkq_queue_enqueued_total", L{"queue": "0"}, 938},
		{"dpdkq_queue_dequeued_total", L{"queue": "0"}, 858},
		{"dpdkq_queue_dequeued_bytes_total", L{"queue": "0"}, 1_287_000},
		{"dpdkq_queue_drops_total", L{"queue": "0", "reason": "tail"}, 25},
		{"dpdkq_queue_drops_total", L{"queue": "0", "reason": "aqm"}, 5},
		{"dpdkq_queue_drops_total", L{"queue": "2", "port": "", "input": "p0", "class": "-1", "reason": "no_buffer"}, 2},
		{"dpdkq_queue_ce_marked_total", L{"queue": "0"}, 9},
		{"dpdkq_queue_head_sojourn_seconds", L{"queue": "0"}, 0.004},
		{"dpdkq_aqm_codel_state_drops", L{"queue": "0", "kind": "codel"}, 3},
		{"dpdkq_aqm_codel_dropping", L{"queue": "0", "kind": "codel"}, 1},
		{"dpdkq_aqm_drops_total", L{"queue": "0", "kind": "codel"}, 5},
		{"dpdkq_aqm_marks_total", L{"queue": "0", "kind": "codel"}, 9},
		{"dpdkq_aqm_drop_probability", L{"queue": "1", "kind": "pie"}, 0.125},
		{"dpdkq_aqm_queue_delay_seconds", L{"queue": "1", "kind": "pie"}, 0.003},
		{"dpdkq_aqm_drop_probability", L{"queue": "2", "kind": "red"}, 0.02},
		{"dpdkq_aqm_average_queue", L{"queue": "2", "kind": "red"}, 4.5},
		{"dpdkq_pool_size_bytes", L{"pool": "shared"}, 1_000_000},
		{"dpdkq_pool_used_bytes", L{"pool": "shared"}, 96_000},
		{"dpdkq_pool_stored_bytes", L{"pool": "shared"}, 90_000},
		{"dpdkq_pool_peak_bytes", L{"pool": "shared"}, 320_000},
		{"dpdkq_pool_efficiency_ratio", L{"pool": "shared"}, 0.9375},
		{"dpdkq_pool_drops_total", L{"pool": "shared", "reason": "no_buffer"}, 2},
		{"dpdkq_pool_threshold_bytes", L{"pool": "shared", "queue": "0", "port": "p1", "class": "0", "profile": "lossy"}, 452_000},
		{"dpdkq_pool_queue_used_bytes", L{"pool": "shared", "queue": "1"}, 16_000},
		{"dpdkq_tier_bytes", L{"tier": "onchip"}, 60_000},
		{"dpdkq_tier_bytes", L{"tier": "offchip"}, 30_000},
		{"dpdkq_tier_peak_bytes", L{"tier": "offchip"}, 250_000},
		{"dpdkq_tier_offchip_packet_fraction", nil, 0.25},
		{"dpdkq_tier_offchip_byte_fraction", nil, 0.3},
		{"dpdkq_tier_evictions_total", nil, 7},
		{"dpdkq_tier_readmissions_total", nil, 6},
		{"dpdkq_tier_bandwidth_drops_total", nil, 1},
		{"dpdkq_tier_evicted_queues", nil, 1},
	}
	for _, c := range checks {
		assert.InDelta(t, c.want, value(t, fams, c.name, c.labels), 1e-12, "%s%v", c.name, c.labels)
	}

	// AQM figures follow the kind: CoDel has no probability, PIE no CoDel count.
	for _, m := range fams["dpdkq_aqm_drop_probability"].Metric {
		for _, lp := range m.Label {
			if lp.GetName() == "kind" {
				assert.NotEqual(t, "codel", lp.GetValue())
			}
		}
	}
	assert.Len(t, fams["dpdkq_aqm_codel_state_drops"].Metric, 1)
	// Zero-valued reasons absent from the map are not invented.
	assert.Len(t, fams["dpdkq_port_drops_total"].Metric, 2)
}

func TestMetricsSojournHistogram(t *testing.T) {
	st := apitest.Sample()
	fams := scrape(t, st)
	require.Len(t, fams["dpdkq_queue_sojourn_seconds"].Metric, len(st.Queues))

	// The bounds, computed here independently: 1, 2, 5 x 10^k s for k = -6..2.
	var want []float64
	for k := -6; k <= 2; k++ {
		p := math.Pow(10, float64(k))
		want = append(want, p, 2*p, 5*p)
	}
	for _, q := range st.Queues {
		m := find(t, fams, "dpdkq_queue_sojourn_seconds", L{"queue": strconv.Itoa(q.Index)})
		h := m.GetHistogram()
		buckets := h.GetBucket()
		require.Len(t, buckets, len(want)+1, "27 bounds and +Inf")
		require.True(t, math.IsInf(buckets[len(want)].GetUpperBound(), 1))
		var total uint64
		for _, b := range q.SojournBuckets {
			total += b.Count
		}
		require.Equal(t, total, h.GetSampleCount())
		require.Equal(t, total, buckets[len(want)].GetCumulativeCount())
		for i, b := range buckets[:len(want)] {
			assert.InEpsilon(t, want[i], b.GetUpperBound(), 1e-12)
			// Cumulative: every sojourn bucket whose largest value is at or below the bound.
			var cum uint64
			for _, sb := range q.SojournBuckets {
				if sb.Le >= 0 && sb.Le.Seconds() <= want[i]*(1+1e-12) {
					cum += sb.Count
				}
			}
			assert.Equal(t, cum, b.GetCumulativeCount(), "queue %d bound %g", q.Index, want[i])
		}
	}
	// Queue 0: 5 of 100 ns and 10 of ~1.5 µs below 2 µs; the 20 of 5 ms sit in a bucket
	// [4.980736, 5.046272) ms that straddles the 5 ms bound, so they count under 10 ms;
	// 3 in the open bucket count only in +Inf.
	h0 := find(t, fams, "dpdkq_queue_sojourn_seconds", L{"queue": "0"}).GetHistogram()
	assert.Equal(t, uint64(5), h0.Bucket[0].GetCumulativeCount())   // 1 µs
	assert.Equal(t, uint64(15), h0.Bucket[1].GetCumulativeCount())  // 2 µs
	assert.Equal(t, uint64(15), h0.Bucket[11].GetCumulativeCount()) // 5 ms
	assert.Equal(t, uint64(35), h0.Bucket[12].GetCumulativeCount()) // 10 ms
	assert.Equal(t, uint64(35), h0.Bucket[26].GetCumulativeCount()) // 500 s
	assert.Equal(t, uint64(38), h0.GetSampleCount())
	// _sum takes each bucket's middle; the open bucket's Lo (2^40 ns).
	assert.InDelta(t, (5*100+10*1511+20*5_013_503+3*float64(int64(1)<<40))*1e-9, h0.GetSampleSum(), 1e-9)
	// Queue 1: 7 packets in [794624, 802816) ns; middle 798719 ns.
	h1 := find(t, fams, "dpdkq_queue_sojourn_seconds", L{"queue": "1"}).GetHistogram()
	assert.InDelta(t, 7*798719e-9, h1.GetSampleSum(), 1e-12)
	assert.Equal(t, uint64(7), h1.Bucket[9].GetCumulativeCount()) // 1 ms
	assert.Equal(t, uint64(0), h1.Bucket[8].GetCumulativeCount()) // 500 µs
}

func TestMetricsEmptySojournAndNoTiers(t *testing.T) {
	st := apitest.Sample()
	st.Buffer.Tiers = nil
	st.Queues = st.Queues[:1]
	st.Queues[0].SojournBuckets = nil // nothing dequeued yet
	st.Queues[0].AQM = api.AQMState{Kind: "none"}
	fams := scrape(t, st)
	h := find(t, fams, "dpdkq_queue_sojourn_seconds", L{"queue": "0"}).GetHistogram()
	require.Len(t, h.Bucket, 28)
	assert.Equal(t, uint64(0), h.Bucket[26].GetCumulativeCount())
	assert.Equal(t, uint64(0), h.GetSampleCount())
	for name := range fams {
		assert.False(t, strings.HasPrefix(name, "dpdkq_tier_"), "%s without tiers", name)
		assert.False(t, strings.HasPrefix(name, "dpdkq_aqm_"), "%s without AQM", name)
	}
}

func TestSojournHelpers(t *testing.T) {
	// JSON form of a histogram and back: Le is the bucket's last ns, the overflow last.
	h := new(hist.Histogram)
	h.RecordN(6_400_000, 90)
	h.RecordN(20_000_000, 10)
	h.RecordN(hist.MaxValue+1, 1)
	var sp hist.Sparse
	h.Sparse(&sp)
	b := api.SojournBuckets(&sp)
	require.Len(t, b, 3)
	assert.Equal(t, api.SojournBucket{Lo: 6_356_992, Le: 6_422_527, Count: 90}, b[0])
	assert.Equal(t, api.SojournBucket{Lo: 1 << 40, Le: -1, Count: 1}, b[2])
	var back hist.Sparse
	api.SojournSparse(b, &back)
	assert.Equal(t, sp, back)
	assert.Nil(t, api.SojournBuckets(&hist.Sparse{}), "empty: no buckets")

	// A p50 of a known 6.4 ms sojourn reads within 1%.
	assert.InEpsilon(t, 6.4e6, float64(api.SojournQuantile(b, 0.5)), 0.01)
	assert.InEpsilon(t, 20e6, float64(api.SojournQuantile(b, 0.95)), 0.01)
	assert.Equal(t, time.Duration(1)<<40, api.SojournQuantile(b, 1), "the open bucket answers its Lo")
	assert.Equal(t, time.Duration(0), api.SojournQuantile(nil, 0.99))

	// The interval between two reads: only what was added.
	h.RecordN(50_000, 4)
	var sp2 hist.Sparse
	h.Sparse(&sp2)
	d := api.SojournDelta(api.SojournBuckets(&sp2), b)
	require.Len(t, d, 1)
	assert.Equal(t, uint64(4), d[0].Count)
	assert.InEpsilon(t, 50e3, float64(api.SojournQuantile(d, 0.5)), 0.01)
	assert.Nil(t, api.SojournDelta(b, b), "nothing dequeued in between")
}

// TestMetricsLint runs client_golang's promlint (promtool's checks) over the scrape.
func TestMetricsLint(t *testing.T) {
	base := serve(t, apitest.New(apitest.Sample()), api.Options{})
	code, body, _ := do(t, "GET", base+"/metrics", "", "")
	require.Equal(t, http.StatusOK, code)
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	require.NoError(t, err)
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "dpdkq_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

// BenchmarkMetricsScrape measures one /metrics scrape of the sample state (3 queues,
// 2 ports, a pool and tiers), Go and process collectors included. Control-plane cost
// only: the scrape reads Source snapshots and never touches an lcore.
func BenchmarkMetricsScrape(b *testing.B) {
	s, err := api.NewServer(apitest.New(apitest.Sample()), api.Options{Listen: "127.0.0.1:0"})
	require.NoError(b, err)
	h := s.Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkQueuesEndpoint measures GET /api/v1/queues on the sample state.
func BenchmarkQueuesEndpoint(b *testing.B) {
	s, err := api.NewServer(apitest.New(apitest.Sample()), api.Options{Listen: "127.0.0.1:0"})
	require.NoError(b, err)
	h := s.Handler()
	req := httptest.NewRequest("GET", "/api/v1/queues", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
