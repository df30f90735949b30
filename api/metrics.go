package api

import (
	"net/http"
	"strconv"

	"github.com/dpdkq/dpdkq/hist"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Label sets. A queue is identified by its index (stable for the router's life, and
// what pool metrics refer to) plus the output port, input port and class that make it
// readable; input is "" for egress queues and port is "" for input FIFOs.
var (
	portLabels   = []string{"port"}
	lcoreLabels  = []string{"lcore"}
	queueLabels  = []string{"queue", "port", "input", "class"}
	aqmLabels    = []string{"queue", "port", "input", "class", "kind"}
	poolLabels   = []string{"pool"}
	poolQLabels  = []string{"pool", "queue", "port", "class", "profile"}
	tierLabels   = []string{"tier"}
	reasonSuffix = "reason"
)

// collector reads the Source on every scrape and turns the snapshot into const
// metrics: the router's counters live in the dataplane, so mirroring them into
// client_golang counters would only add a second copy that can drift.
type collector struct {
	src     Source
	version string
	all     []*prometheus.Desc

	uptime, buildInfo, mempoolInUse, mempoolSize *prometheus.Desc

	lcoreStalls, lcoreStalled, lcoreWorst *prometheus.Desc

	portRxPkts, portRxBytes, portTxPkts, portTxBytes, portFwd, portDrops, portMarked *prometheus.Desc
	portRate, portDelay, portEgressPkts, portEgressBytes, portTxHeld                 *prometheus.Desc

	qDepthPkts, qDepthBytes, qPeakPkts, qPeakBytes, qEnq, qDeq, qDeqBytes *prometheus.Desc
	qDrops, qMarked, qHeadSojourn, qSojourn                               *prometheus.Desc

	aqmProb, aqmCount, aqmDropping, aqmQDelay, aqmAvgQueue, aqmDrops, aqmMarks *prometheus.Desc

	poolSize, poolUsed, poolStored, poolPeak, poolCells, poolDesc, poolEff, poolDrops *prometheus.Desc
	poolQUsed, poolQPeak, poolQThreshold                                              *prometheus.Desc

	tierBytes, tierPeak, tierPktFrac, tierByteFrac, tierEvict, tierReadmit, tierBWDrops, tierEvicted *prometheus.Desc
}

func newCollector(src Source, version string) *collector {
	c := &collector{src: src, version: version}
	d := func(name, help string, labels []string) *prometheus.Desc {
		desc := prometheus.NewDesc("dpdkq_"+name, help, labels, nil)
		c.all = append(c.all, desc)
		return desc
	}
	with := func(l []string, extra string) []string { return append(append([]string(nil), l...), extra) }

	c.uptime = d("uptime_seconds", "Time since the router started.", nil)
	c.buildInfo = d("build_info", "Always 1; labels carry dpdkq's and DPDK's versions.", []string{"version", "dpdk"})
	c.mempoolInUse = d("mempool_in_use", "Mbufs of the packet pool currently in use.", nil)
	c.mempoolSize = d("mempool_size", "Mbufs in the packet pool.", nil)

	c.lcoreStalls = d("lcore_stalls_total", "Poll-loop iteration gaps longer than stall_threshold (the lcore did not poll).", lcoreLabels)
	c.lcoreStalled = d("lcore_stall_seconds_total", "Time the lcore's poll loop spent in stalls.", lcoreLabels)
	c.lcoreWorst = d("lcore_stall_worst_seconds", "Longest poll-loop stall since start.", lcoreLabels)

	c.portRxPkts = d("port_rx_packets_total", "Packets received on the port.", portLabels)
	c.portRxBytes = d("port_rx_bytes_total", "Bytes received on the port.", portLabels)
	c.portTxPkts = d("port_tx_packets_total", "Packets transmitted on the port.", portLabels)
	c.portTxBytes = d("port_tx_bytes_total", "Bytes transmitted on the port.", portLabels)
	c.portFwd = d("port_forwarded_total", "Packets received on the port and handed to an output queue.", portLabels)
	c.portDrops = d("port_drops_total", "Packets received on the port and dropped, by reason.", with(portLabels, reasonSuffix))
	c.portMarked = d("port_ce_marked_total", "Packets received on the port that left CE-marked.", portLabels)
	c.portRate = d("port_rate_bytes_per_second", "Configured egress shaping rate (bits/s / 8); 0 means unshaped.", portLabels)
	c.portDelay = d("port_delay_seconds", "Configured egress delay line.", portLabels)
	c.portEgressPkts = d("port_egress_depth_packets", "Packets queued for the port over all its queues.", portLabels)
	c.portEgressBytes = d("port_egress_depth_bytes", "Bytes queued for the port over all its queues.", portLabels)
	c.portTxHeld = d("port_tx_held_packets", "Frames the port's device refused, waiting to be sent again (backpressure).", portLabels)

	c.qDepthPkts = d("queue_depth_packets", "Packets in the queue now.", queueLabels)
	c.qDepthBytes = d("queue_depth_bytes", "Bytes in the queue now.", queueLabels)
	c.qPeakPkts = d("queue_peak_packets", "Largest depth in packets since start.", queueLabels)
	c.qPeakBytes = d("queue_peak_bytes", "Largest depth in bytes since start.", queueLabels)
	c.qEnq = d("queue_enqueued_total", "Packets admitted to the queue.", queueLabels)
	c.qDeq = d("queue_dequeued_total", "Packets that left the queue for transmission.", queueLabels)
	c.qDeqBytes = d("queue_dequeued_bytes_total", "Bytes that left the queue for transmission.", queueLabels)
	c.qDrops = d("queue_drops_total", "Packets the queue dropped, by reason.", with(queueLabels, reasonSuffix))
	c.qMarked = d("queue_ce_marked_total", "Packets that left the queue CE-marked.", queueLabels)
	c.qHeadSojourn = d("queue_head_sojourn_seconds", "Time the packet at the head has waited.", queueLabels)
	c.qSojourn = d("queue_sojourn_seconds", "Enqueue-to-dequeue time of delivered packets, from the dataplane's "+
		"log-linear histogram (1/64 buckets) onto 1-2-5 bounds from 1 us to 500 s; _sum from bucket middles (within 0.8%).", queueLabels)

	c.aqmProb = d("aqm_drop_probability", "PIE or RED drop/mark probability.", aqmLabels)
	// CoDel's "count" (RFC 8289): drops since it entered the dropping state. Named
	// without a _count suffix, which Prometheus reserves for histograms and summaries.
	c.aqmCount = d("aqm_codel_state_drops", "CoDel's count: drops in the current dropping state, which set its drop rate.", aqmLabels)
	c.aqmDropping = d("aqm_codel_dropping", "1 while CoDel is in its dropping state.", aqmLabels)
	c.aqmQDelay = d("aqm_queue_delay_seconds", "PIE's queue-delay estimate.", aqmLabels)
	c.aqmAvgQueue = d("aqm_average_queue", "RED's averaged queue length (its threshold unit).", aqmLabels)
	c.aqmDrops = d("aqm_drops_total", "Packets the AQM dropped.", aqmLabels)
	c.aqmMarks = d("aqm_marks_total", "Packets the AQM CE-marked instead of dropping.", aqmLabels)

	c.poolSize = d("pool_size_bytes", "Shared buffer pool capacity.", poolLabels)
	c.poolUsed = d("pool_used_bytes", "Cell bytes in use in the pool.", poolLabels)
	c.poolStored = d("pool_stored_bytes", "Packet bytes stored in the pool.", poolLabels)
	c.poolPeak = d("pool_peak_bytes", "Largest use of the pool since start.", poolLabels)
	c.poolCells = d("pool_cells", "Cells in use in the pool.", poolLabels)
	c.poolDesc = d("pool_descriptors", "Packet descriptors in use in the pool.", poolLabels)
	c.poolEff = d("pool_efficiency_ratio", "Stored bytes over cell bytes in use.", poolLabels)
	c.poolDrops = d("pool_drops_total", "Packets the pool refused, by reason.", with(poolLabels, reasonSuffix))
	c.poolQUsed = d("pool_queue_used_bytes", "A queue's use of the pool.", poolQLabels)
	c.poolQPeak = d("pool_queue_peak_bytes", "A queue's largest use of the pool.", poolQLabels)
	c.poolQThreshold = d("pool_threshold_bytes", "A queue's effective threshold now (alpha x free, or static).", poolQLabels)

	c.tierBytes = d("tier_bytes", "Bytes held in the tier.", tierLabels)
	c.tierPeak = d("tier_peak_bytes", "Largest occupancy of the tier.", tierLabels)
	c.tierPktFrac = d("tier_offchip_packet_fraction", "Fraction of packets that went through the off-chip tier.", nil)
	c.tierByteFrac = d("tier_offchip_byte_fraction", "Fraction of bytes that went through the off-chip tier.", nil)
	c.tierEvict = d("tier_evictions_total", "Queues evicted to the off-chip tier.", nil)
	c.tierReadmit = d("tier_readmissions_total", "Queues readmitted to the on-chip tier.", nil)
	c.tierBWDrops = d("tier_bandwidth_drops_total", "Packets dropped because off-chip bandwidth was exhausted.", nil)
	c.tierEvicted = d("tier_evicted_queues", "Queues currently evicted.", nil)
	return c
}

// Describe sends every descriptor, so the registry checks names and labels once.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.all {
		ch <- d
	}
}

// Collect reads one snapshot of each view and emits it.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	byReason := func(d *prometheus.Desc, m map[string]uint64, l ...string) {
		for reason, n := range m {
			counter(d, n, append(l[:len(l):len(l)], reason)...)
		}
	}

	st := c.src.Status()
	version := c.version
	if version == "" {
		version = st.Version
	}
	gauge(c.uptime, st.Uptime.Seconds())
	gauge(c.buildInfo, 1, version, st.DPDKVersion)
	gauge(c.mempoolInUse, float64(st.Mempool.InUse))
	gauge(c.mempoolSize, float64(st.Mempool.Size))
	for _, l := range st.Workers {
		id := strconv.FormatUint(uint64(l.ID), 10)
		counter(c.lcoreStalls, l.Stalls, id)
		ch <- prometheus.MustNewConstMetric(c.lcoreStalled, prometheus.CounterValue, l.Stalled.Seconds(), id)
		gauge(c.lcoreWorst, l.WorstStall.Seconds(), id)
	}

	for _, p := range c.src.Ports() {
		counter(c.portRxPkts, p.RxPackets, p.Name)
		counter(c.portRxBytes, p.RxBytes, p.Name)
		counter(c.portTxPkts, p.TxPackets, p.Name)
		counter(c.portTxBytes, p.TxBytes, p.Name)
		counter(c.portFwd, p.Forwarded, p.Name)
		byReason(c.portDrops, p.Drops, p.Name)
		counter(c.portMarked, p.Marked, p.Name)
		gauge(c.portRate, p.RateBps/8, p.Name) // Prometheus's base unit is the byte
		gauge(c.portDelay, p.Delay.Seconds(), p.Name)
		gauge(c.portEgressPkts, float64(p.Egress.Packets), p.Name)
		gauge(c.portTxHeld, float64(p.TxHeld), p.Name)
		gauge(c.portEgressBytes, float64(p.Egress.Bytes), p.Name)
	}

	for _, q := range c.src.Queues() {
		l := []string{strconv.Itoa(q.Index), q.Port, q.Input, strconv.Itoa(q.Class)}
		gauge(c.qDepthPkts, float64(q.Packets), l...)
		gauge(c.qDepthBytes, float64(q.Bytes), l...)
		gauge(c.qPeakPkts, float64(q.PeakPackets), l...)
		gauge(c.qPeakBytes, float64(q.PeakBytes), l...)
		counter(c.qEnq, q.Enqueued, l...)
		counter(c.qDeq, q.Dequeued, l...)
		counter(c.qDeqBytes, q.DequeuedBytes, l...)
		byReason(c.qDrops, q.Drops, l...)
		counter(c.qMarked, q.Marks, l...)
		gauge(c.qHeadSojourn, q.HeadSojourn.Seconds(), l...)
		count, sum, buckets := sojournHistogram(q.SojournBuckets)
		ch <- prometheus.MustNewConstHistogram(c.qSojourn, count, sum, buckets, l...)
		c.collectAQM(ch, q.AQM, l)
	}

	b := c.src.Buffer()
	for _, p := range b.Pools {
		gauge(c.poolSize, float64(p.Size), p.Name)
		gauge(c.poolUsed, float64(p.Used), p.Name)
		gauge(c.poolStored, float64(p.Stored), p.Name)
		gauge(c.poolPeak, float64(p.Peak), p.Name)
		gauge(c.poolCells, float64(p.Cells), p.Name)
		gauge(c.poolDesc, float64(p.Descriptors), p.Name)
		gauge(c.poolEff, p.Efficiency, p.Name)
		byReason(c.poolDrops, p.Drops, p.Name)
		for _, pq := range p.Queues {
			l := []string{p.Name, strconv.Itoa(pq.Queue), pq.Port, strconv.Itoa(pq.Class), pq.Profile}
			gauge(c.poolQUsed, float64(pq.Used), l...)
			gauge(c.poolQPeak, float64(pq.Peak), l...)
			gauge(c.poolQThreshold, float64(pq.Threshold), l...)
		}
	}
	if t := b.Tiers; t != nil {
		gauge(c.tierBytes, float64(t.OnchipBytes), "onchip")
		gauge(c.tierBytes, float64(t.OffchipBytes), "offchip")
		gauge(c.tierPeak, float64(t.OnchipPeak), "onchip")
		gauge(c.tierPeak, float64(t.OffchipPeak), "offchip")
		gauge(c.tierPktFrac, t.OffchipPacketShare)
		gauge(c.tierByteFrac, t.OffchipByteShare)
		counter(c.tierEvict, t.Evictions)
		counter(c.tierReadmit, t.Readmissions)
		counter(c.tierBWDrops, t.BandwidthDrops)
		gauge(c.tierEvicted, float64(t.EvictedQueues))
	}
}

// collectAQM emits the figures that make sense for the queue's AQM kind; a queue with
// no AQM ("" or "none") emits none.
func (c *collector) collectAQM(ch chan<- prometheus.Metric, a AQMState, ql []string) {
	if a.Kind == "" || a.Kind == "none" {
		return
	}
	l := append(ql[:len(ql):len(ql)], a.Kind)
	g := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	switch a.Kind {
	case "codel", "fq_codel":
		g(c.aqmCount, float64(a.Count))
		dropping := 0.0
		if a.Dropping {
			dropping = 1
		}
		g(c.aqmDropping, dropping)
	case "pie":
		g(c.aqmProb, a.DropProb)
		g(c.aqmQDelay, a.QDelay.Seconds())
	case "red":
		g(c.aqmProb, a.DropProb)
		g(c.aqmAvgQueue, a.AvgQueue)
	}
	ch <- prometheus.MustNewConstMetric(c.aqmDrops, prometheus.CounterValue, float64(a.Drops), l...)
	ch <- prometheus.MustNewConstMetric(c.aqmMarks, prometheus.CounterValue, float64(a.Marks), l...)
}

// sojournHistogram turns a queue's sojourn buckets into Prometheus's form: cumulative
// counts keyed by the SojournPromBounds in seconds; the overflow bucket and anything
// above 500 s count only in the implicit +Inf. _sum takes each sojourn as its bucket's
// middle (the Lo of the open bucket), so a mean from _sum/_count is within 1/128 of the
// exact mean below 18.3 min.
func sojournHistogram(in []SojournBucket) (count uint64, sum float64, buckets map[float64]uint64) {
	var s hist.Sparse
	SojournSparse(in, &s)
	count, sum = s.Count(), s.Sum()/1e9
	buckets = make(map[float64]uint64, len(SojournPromBounds))
	var cum uint64
	j := 0
	for _, bound := range SojournPromBounds {
		for j < len(s.Buckets) && s.Buckets[j].Hi-1 <= int64(bound) {
			cum += s.Buckets[j].Count
			j++
		}
		buckets[bound.Seconds()] = cum
	}
	return count, sum, buckets
}

// metricsHandler serves a private registry: dpdkq's collector plus the Go runtime and
// process collectors, and nothing any imported library registers globally.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newCollector(s.src, s.opts.Version),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      zap.NewStdLog(s.log.Named("metrics")),
		ErrorHandling: promhttp.ContinueOnError,
	})
}
