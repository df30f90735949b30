package dataplane

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/dpdkq/dpdkq/lcore"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/voq"
)

// PortSummary is one port's figures at exit (or live, from Stats).
type PortSummary struct {
	Name      string            `json:"name"`
	RxPackets uint64            `json:"rx_packets"`
	RxBytes   uint64            `json:"rx_bytes"`
	TxPackets uint64            `json:"tx_packets"`
	TxBytes   uint64            `json:"tx_bytes"`
	Forwarded uint64            `json:"forwarded"` // received here and transmitted (any port)
	Local     uint64            `json:"local"`     // received here and consumed by the router
	Generated uint64            `json:"generated"` // originated by the router on this port (ARP)
	Marked    uint64            `json:"ce_marked"`
	Drops     map[string]uint64 `json:"drops"`      // by reason, received here
	DropTotal uint64            `json:"drop_total"` // sum of Drops
	Queued    uint64            `json:"queued_at_stop"`
	Balanced  bool              `json:"balanced"` // rx = forwarded + local + drops + queued
	// RxLost are frames that reached the device but never dpdkq (its rx ring full:
	// imissed; bad frames: ierrors; no mbuf for them: rx_nombuf), outside the balance
	// above: what arrived at the port is RxPackets + RxLost.
	RxLost uint64        `json:"rx_lost"`
	Device *DevStats     `json:"device,omitempty"`
	Queue  *QueueSummary `json:"egress_queue,omitempty"` // everything queued for this port
	// Settings are the port's resolved settings as the operator wrote them and as used
	// (e.g. "limit": "10ms = 78125 B at 62.5Mbps"); filled by the CLI.
	Settings map[string]string `json:"settings,omitempty"`
}

// QueueSummary aggregates the queues feeding one output port over the run.
type QueueSummary struct {
	PeakPackets  int               `json:"peak_packets"`
	PeakBytes    int               `json:"peak_bytes"`
	Enqueued     uint64            `json:"enqueued"`
	Dequeued     uint64            `json:"dequeued"`
	Marked       uint64            `json:"ce_marked"`
	Drops        map[string]uint64 `json:"drops"` // by reason, at this port's queues
	SojournP50us float64           `json:"sojourn_p50_us"`
	SojournP99us float64           `json:"sojourn_p99_us"`
}

func queueSummary(qs *voq.QueueStats) *QueueSummary {
	s := &QueueSummary{PeakPackets: qs.PeakPkts, PeakBytes: qs.PeakBytes, Enqueued: qs.Enqueued,
		Dequeued: qs.Dequeued, Marked: qs.Marks, Drops: map[string]uint64{}}
	for r, v := range qs.Drops {
		if v != 0 && pkt.DropReason(r) != pkt.DropShutdown {
			s.Drops[pkt.DropReason(r).String()] = v
		}
	}
	if qs.Sojourn.Count() > 0 {
		s.SojournP50us = float64(qs.Sojourn.Quantile(0.5)) / 1e3
		s.SojournP99us = float64(qs.Sojourn.Quantile(0.99)) / 1e3
	}
	return s
}

// Summary is the run's exit report.
type Summary struct {
	Duration      float64       `json:"duration_s"`
	Ports         []PortSummary `json:"ports"`
	MempoolSize   int           `json:"mempool_size"`
	MempoolStart  int           `json:"mempool_in_use_start"`
	MempoolEnd    int           `json:"mempool_in_use_end"`
	MempoolLeaked int           `json:"mempool_leaked"`
	OffchipInUse  *int          `json:"offchip_mempool_in_use_end,omitempty"` // copy_offchip pool`
	Balanced      bool          `json:"balanced"`
	// Traffic: what the source and sink ports sent and measured (none without them).
	Traffic []TrafficSummary `json:"traffic,omitempty"`
	// Stalls are each worker lcore's poll-loop stalls (iteration gaps longer than
	// StallThreshold): while stalled its ports were neither polled nor served.
	StallThreshold time.Duration `json:"stall_threshold_ns"`
	Stalls         []LcoreStalls `json:"lcore_stalls"`
}

func (r *Router) collect() []PortCounters {
	c := make([]PortCounters, len(r.ports))
	for _, w := range r.workers {
		w.pub.load(c)
	}
	return c
}

// Counters returns the per-port counters summed over lcores, as last published
// (every PublishEvery loop iterations). Safe while the router runs.
func (r *Router) Counters() []PortCounters { return r.collect() }

// PortNames lists the configured port names in index order.
func (r *Router) PortNames() []string {
	n := make([]string, len(r.ports))
	for i := range r.ports {
		n[i] = r.ports[i].cfg.Name
	}
	return n
}

// Pool is the router's mbuf pool.
func (r *Router) Pool() *mempool.Pool { return r.pool }

// Stop ends the poll loops, frees every packet still queued (counted as queued at
// stop), closes the ports (flushing pcap outputs), and returns the summary. It must be
// called from the main lcore's thread. Calling it again returns the same summary.
func (r *Router) Stop() *Summary {
	r.stopOnce.Do(func() {
		r.stop.Store(true)
		for _, w := range r.workers {
			lcore.Wait(w.lcore)
		}
		dur := time.Since(r.started).Seconds()
		// Drain what is still queued: rings first (packets handed to an owner), then
		// each owner's queues and delay lines.
		for _, w := range r.workers {
			if w.inRing != 0 {
				for {
					var tsc uint64
					n := ringGet(w.inRing, w.ringBuf.Addr(), r.burst, &tsc)
					if n == 0 {
						break
					}
					for _, m := range w.ringBuf.S()[:n] {
						meta := mempool.MetaOf(m)
						if meta.InPort == genPort {
							w.cnt[meta.OutPort].GenFailed++
							w.freeMbuf(m)
							continue
						}
						w.dropMbuf(m, int(meta.InPort), pkt.DropShutdown)
					}
				}
			}
			w.dropARPHold()
			if w.arch != nil {
				w.arch.Drain(w)
			}
			for _, e := range w.egress {
				w.dropWaiting(&e.tx)
				if e.delay != nil {
					e.delay.Drain(w, pkt.DropShutdown)
				}
			}
			w.flushFree()
			w.publish()
		}
		cnt := r.collect()
		stalls := r.Stalls()
		queues := map[int]*voq.QueueStats{}
		for _, as := range r.QueueSnapshots() {
			for i := range as.Ports {
				queues[as.Ports[i].Port] = &as.Ports[i].QueueStats
			}
		}
		s := &Summary{Duration: dur, MempoolSize: r.pool.Size(), MempoolStart: r.inUse0, Balanced: true,
			StallThreshold: r.StallThreshold(), Stalls: stalls}
		for i := range r.ports {
			c := &cnt[i]
			ps := PortSummary{Name: r.ports[i].cfg.Name, RxPackets: c.RxPackets, RxBytes: c.RxBytes,
				TxPackets: c.TxPackets, TxBytes: c.TxBytes, Forwarded: c.Fwd, Local: c.Local,
				Generated: c.Generated, Marked: c.Marks, Drops: map[string]uint64{},
				Queued: c.Drops[pkt.DropShutdown], DropTotal: c.DropTotal()}
			for reason, v := range c.Drops {
				if v != 0 && pkt.DropReason(reason) != pkt.DropShutdown {
					ps.Drops[pkt.DropReason(reason).String()] = v
				}
			}
			ps.Balanced = c.RxPackets == c.Fwd+c.Local+ps.DropTotal+ps.Queued
			if !ps.Balanced {
				s.Balanced = false
			}
			if qs := queues[i]; qs != nil {
				ps.Queue = queueSummary(qs)
			}
			if r.ports[i].id == noDevice {
				// a source or sink: no device counters
			} else if ds, err := portStats(r.ports[i].id); err == nil {
				ps.Device = &ds
				ps.RxLost = ds.IMissed + ds.IErrors + ds.RxNoMbuf
			}
			s.Ports = append(s.Ports, ps)
		}
		for _, w := range r.workers { // the loops have ended: the sinks' final counts
			for _, e := range w.egress {
				if e.sink != nil {
					e.sink.sink.Publish()
				}
			}
		}
		s.Traffic = r.TrafficSummary()
		r.teardown()
		s.MempoolEnd = r.inUseEnd
		s.MempoolLeaked = s.MempoolEnd - s.MempoolStart
		if r.hadOff {
			s.OffchipInUse = &r.offEnd
			s.MempoolLeaked += r.offEnd
		}
		if s.MempoolLeaked != 0 {
			r.log.Error("mbufs leaked", zap.Int("in_use_start", s.MempoolStart), zap.Int("in_use_end", s.MempoolEnd))
		}
		r.final = s
	})
	return r.final
}

// teardown releases ports, tables, rings, arrays and (when every mbuf came back) the pool.
func (r *Router) teardown() {
	var errs []error
	for i := range r.ports {
		if r.ports[i].open {
			if err := closePort(r.ports[i].id); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.ports[i].cfg.Name, err))
			}
			r.ports[i].open = false
		}
	}
	for _, w := range r.workers {
		for _, src := range w.sources {
			src.arr.Close()
		}
		for _, b := range []*mempool.Burst{w.ringBuf, w.free} {
			if b != nil {
				b.Close()
			}
		}
		for _, b := range w.handoff {
			if b != nil {
				b.b.Close()
			}
		}
		for _, b := range w.ctrl {
			b.b.Close()
		}
		for _, e := range w.egress {
			e.tx.arr.Close()
		}
		for _, q := range w.rxqs {
			q.buf.Close()
		}
		if w.poller != nil {
			w.poller.close()
		}
		if w.inRing != 0 {
			ringFree(w.inRing)
			w.inRing = 0
		}
	}
	if r.lpm != 0 {
		lpmFree(r.lpm)
		r.lpm = 0
	}
	if r.offPool != nil {
		r.hadOff = true
		r.offEnd = r.offPool.InUse()
		if r.offEnd == 0 {
			r.offPool.Free()
		}
		r.offPool = nil
	}
	if r.pool != nil {
		r.inUseEnd = r.pool.InUse()
		if r.inUseEnd == 0 {
			r.pool.Free()
		}
		r.pool = nil
	}
	if err := errors.Join(errs...); err != nil {
		r.log.Warn("teardown", zap.Error(err))
	}
}
