package dataplane

import (
	"github.com/dpdkq/dpdkq/hist"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/traffic"
	"github.com/dpdkq/dpdkq/wire"
)

// Traffic source and sink ports: ports dpdkq implements itself, so one process holds a
// whole N x N experiment without NICs, vdevs or a second DPDK process.
//
// A source is polled by the worker its rx queue is assigned to, once per loop
// iteration: the frames due by now (traffic.Source.Due, paced by the loop's clock) get
// mbufs from the router's pool in one bulk allocation, are written in place
// (traffic.WriteFrame: Ethernet/IPv4/UDP with flow id, sequence and the creation time
// in the payload) and go through processRx as if the port had received them. Frames
// due while the pool is exhausted are not sent and count as SourceNoMbuf on the port
// (the sink sees them as loss).
//
// A sink is an egress port whose transmit parses each frame (traffic.ParseFrame),
// records it (traffic.Sink: per flow and per input/output/class cell: packets, bytes,
// loss and reordering from sequence numbers, one-way latency from the timestamp into
// an HDR histogram) and frees the mbufs; frames count as transmitted there.

// noDevice is the DPDK port id of a port without a device.
const noDevice = ^uint16(0)

// sourcePort is a source polled by one worker.
type sourcePort struct {
	pidx   int
	src    *traffic.Source
	addr   traffic.Addressing
	frames []traffic.Frame
	arr    *mempool.Burst
}

// sinkPort is the measuring end of an egress port.
type sinkPort struct {
	sink    *traffic.Sink
	lat     *hist.Shared // one-way latency of every recorded frame, ns
	foreign uint64       // frames without a source's payload (not measured, still counted as sent)
}

// pollSources generates every due frame of the worker's sources and processes them
// as received on their ports.
func (w *worker) pollSources(now int64) {
	for _, s := range w.sources {
		n := s.src.Due(now, s.frames)
		if n == 0 {
			continue
		}
		if !w.r.pool.AllocBulk(s.arr, n) {
			w.cnt[s.pidx].SourceNoMbuf += uint64(n)
			continue
		}
		ms := s.arr.S()[:n]
		for i, m := range ms {
			d := mempool.Data(m)
			l := traffic.WriteFrame(d[:cap(d)], &s.frames[i], &s.addr, uint64(now))
			mempool.SetLen(m, l)
		}
		w.processRx(s.pidx, ms, now)
	}
}

// sinkTransmit records a burst routed to a sink port and frees it; it returns the
// burst's bytes. CE marks asked for by the queue are applied first, so the sink counts
// them as a receiver would.
func (w *worker) sinkTransmit(e *egressPort, ds []pkt.Desc) int {
	c := &w.cnt[e.pidx]
	bytes := 0
	for i := range ds {
		d := &ds[i]
		f := mempool.Frame(d.Mbuf)
		if d.Flags&pkt.FlagMarkCE != 0 && wire.SetCE(f, int(d.L3)) {
			w.cnt[d.InPort].Marks++
		}
		if p, ok := traffic.ParseFrame(f); ok {
			e.sink.sink.Record(&p, e.pidx, int(d.Class), w.now)
		} else {
			e.sink.foreign++
		}
		bytes += int(d.Len)
		w.cnt[d.InPort].Fwd++
		w.freeMbuf(d.Mbuf)
	}
	c.TxPackets += uint64(len(ds))
	c.TxBytes += uint64(bytes)
	return bytes
}

// TrafficPort is what a source or sink port measured.
type TrafficPort struct {
	Port   string
	Source *traffic.SourceStats `json:",omitempty"`
	Sink   *traffic.SinkReport  `json:",omitempty"`
	// Latency is the sink's one-way latency histogram (ns; HDR buckets, see hist).
	Latency *hist.Sparse `json:"-"`
	// Foreign counts frames a sink received without a source's payload.
	Foreign uint64 `json:",omitempty"`
}

// Traffic reports every source and sink port: live figures while the router runs
// (sinks as of their last publication), final ones after Stop. Any goroutine.
func (r *Router) Traffic() []TrafficPort {
	var out []TrafficPort
	for _, w := range r.workers {
		for _, s := range w.sources {
			st := s.src.Stats()
			out = append(out, TrafficPort{Port: r.ports[s.pidx].cfg.Name, Source: &st})
		}
		for _, e := range w.egress {
			if e.sink == nil {
				continue
			}
			rep := e.sink.sink.Snapshot()
			var lat hist.Sparse
			e.sink.lat.Load(&lat)
			out = append(out, TrafficPort{Port: r.ports[e.pidx].cfg.Name, Sink: &rep, Latency: &lat, Foreign: e.sink.foreign})
		}
	}
	return out
}

// TrafficSummary is one source or sink port in the exit summary (summary.json).
type TrafficSummary struct {
	Port string `json:"port"`
	Kind string `json:"kind"` // source or sink
	// Source: frames sent, late (> late_after), not sent for want of an mbuf, and the
	// schedule skipped because the loop fell behind by more than catch_up.
	Sent      uint64  `json:"sent_packets,omitempty"`
	SentBytes uint64  `json:"sent_bytes,omitempty"`
	Late      uint64  `json:"late_packets,omitempty"`
	MaxLateUs float64 `json:"max_late_us,omitempty"`
	NoMbuf    uint64  `json:"no_mbuf_packets,omitempty"`
	Skipped   uint64  `json:"skipped_packets,omitempty"`
	// Sink: frames received, with loss and reordering from sequence numbers, CE marks,
	// throughput over the receive span, Jain's index over flows, one-way latency.
	Received      uint64             `json:"received_packets,omitempty"`
	Bytes         uint64             `json:"received_bytes,omitempty"`
	Lost          uint64             `json:"lost_packets,omitempty"`
	Reordered     uint64             `json:"reordered_packets,omitempty"`
	Duplicates    uint64             `json:"duplicate_packets,omitempty"`
	CE            uint64             `json:"ce_packets,omitempty"`
	Foreign       uint64             `json:"foreign_packets,omitempty"`
	ThroughputBps float64            `json:"throughput_bps,omitempty"`
	Jain          float64            `json:"jain_index,omitempty"`
	LatencyUs     map[string]float64 `json:"latency_us,omitempty"` // min, p50, p99, p999, max, mean
	Flows         []FlowSummary      `json:"flows,omitempty"`
}

// FlowSummary is one flow as a sink saw it.
type FlowSummary struct {
	Input         int     `json:"input"` // source port index
	Flow          int     `json:"flow"`
	Output        int     `json:"output"`
	Class         int     `json:"class"`
	Packets       uint64  `json:"packets"`
	Lost          uint64  `json:"lost"`
	Reordered     uint64  `json:"reordered"`
	ThroughputBps float64 `json:"throughput_bps"`
}

// TrafficSummary condenses Traffic: for the exit summary, and live for the API (sinks as
// of their last publication). Any goroutine.
func (r *Router) TrafficSummary() []TrafficSummary {
	var out []TrafficSummary
	cnt := r.collect()
	for _, t := range r.Traffic() {
		s := TrafficSummary{Port: t.Port}
		if t.Source != nil {
			s.Kind, s.Sent, s.SentBytes, s.Late = "source", t.Source.Sent, t.Source.SentBytes, t.Source.Late
			s.MaxLateUs, s.Skipped = float64(t.Source.MaxLateNs)/1e3, t.Source.Skipped
			for i := range r.ports {
				if r.ports[i].cfg.Name == t.Port {
					s.NoMbuf = cnt[i].SourceNoMbuf
				}
			}
		}
		if k := t.Sink; k != nil {
			s.Kind, s.Received, s.Bytes, s.Lost, s.Reordered = "sink", k.Packets, k.Bytes, k.Lost, k.Reordered
			s.Duplicates, s.CE, s.Foreign, s.Jain = k.Dup, k.CE, t.Foreign, k.Jain
			s.ThroughputBps = traffic.Bps(k.Bytes, k.Duration())
			if l := t.Latency; l.Count() > 0 {
				s.LatencyUs = map[string]float64{"min": float64(l.Min()) / 1e3, "p50": float64(l.Quantile(0.5)) / 1e3,
					"p99": float64(l.Quantile(0.99)) / 1e3, "p999": float64(l.Quantile(0.999)) / 1e3,
					"max": float64(l.Max()) / 1e3, "mean": l.Mean() / 1e3}
			}
			for _, f := range k.Flows {
				s.Flows = append(s.Flows, FlowSummary{Input: int(f.Input), Flow: int(f.Flow), Output: int(f.Output),
					Class: int(f.Class), Packets: f.Packets, Lost: f.Lost, Reordered: f.Reordered,
					ThroughputBps: traffic.Bps(f.Bytes, f.Last-f.First)})
			}
		}
		out = append(out, s)
	}
	return out
}
