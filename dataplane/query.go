package dataplane

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"

	"github.com/dpdkq/dpdkq/lcore"
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/wire"
)

// LcoreInfo says what one worker lcore does.
type LcoreInfo struct {
	ID       uint
	RxQueues []string // "port/queue"
	Egress   []string // ports whose egress it owns
	Stalls   StallStats
}

// Lcores describes the workers.
func (r *Router) Lcores() []LcoreInfo {
	var out []LcoreInfo
	stalls := r.Stalls()
	for i, w := range r.workers {
		li := LcoreInfo{ID: w.lcore, Stalls: stalls[i].StallStats}
		for _, q := range w.rxqs {
			li.RxQueues = append(li.RxQueues, r.ports[q.pidx].cfg.Name+"/"+strconv.Itoa(int(q.queue)))
		}
		for _, e := range w.egress {
			li.Egress = append(li.Egress, r.ports[e.pidx].cfg.Name)
		}
		out = append(out, li)
	}
	return out
}

// PortConfigs returns the ports' configurations as started.
func (r *Router) PortConfigs() []PortConfig {
	out := make([]PortConfig, len(r.ports))
	for i := range r.ports {
		out[i] = r.ports[i].cfg
	}
	return out
}

// PortMAC is the MAC the router uses on port i.
func (r *Router) PortMAC(i int) [6]byte { return r.ports[i].mac }

// PortRate returns port i's current egress rate (bits/s, 0 unshaped) and delay.
func (r *Router) PortRate(i int) (float64, time.Duration) {
	e := r.ports[i].live.Load()
	return e.rate, e.delay
}

// portLive is a port's egress settings as last applied (read by the control plane).
type portLive struct {
	rate  float64
	delay time.Duration
	// catchUp is the shaper's catch-up window once changed live (catchUpSet);
	// until then the port's configured CatchUp.
	catchUp    time.Duration
	catchUpSet bool
}

// SetPortRate changes port i's egress rate (0 = unshaped) and bucket depth (0 =
// default for the rate), applied by the owner lcore between bursts.
func (r *Router) SetPortRate(ctx context.Context, i int, rateBps float64, depth int) error {
	if depth <= 0 {
		depth = link.DefaultBurstBytes(rateBps, maxFrame+r.ports[i].cfg.Overhead)
	}
	err := r.DoEgress(ctx, i, func(e Egress) error {
		e.Shaper.Set(rateBps, depth, r.ports[i].cfg.Overhead)
		return nil
	})
	if err == nil {
		nl := *r.ports[i].live.Load()
		nl.rate = rateBps
		r.ports[i].live.Store(&nl)
	}
	return err
}

// SetPortCatchUp changes port i's shaper catch-up window (ports[].catch_up; 0: none,
// as a link), applied by the owner lcore between bursts.
func (r *Router) SetPortCatchUp(ctx context.Context, i int, d time.Duration) error {
	err := r.DoEgress(ctx, i, func(e Egress) error {
		e.Shaper.SetCatchUp(int64(d))
		return nil
	})
	if err == nil {
		nl := *r.ports[i].live.Load()
		nl.catchUp, nl.catchUpSet = d, true
		r.ports[i].live.Store(&nl)
	}
	return err
}

// PortCatchUp is port i's shaper catch-up window now.
func (r *Router) PortCatchUp(i int) time.Duration {
	if l := r.ports[i].live.Load(); l.catchUpSet {
		return l.catchUp
	}
	return r.ports[i].cfg.CatchUp
}

// SetPortDelay changes port i's egress delay. A port started without a delay line
// gets one (sized for the current rate), installed by the owner lcore.
func (r *Router) SetPortDelay(ctx context.Context, i int, d time.Duration) error {
	rate, _ := r.PortRate(i)
	pc := r.ports[i].cfg
	pc.RateBps, pc.Delay = rate, d
	fresh := link.NewDelayLine(int64(d), delayCapacity(pc, r.cfg.DelayCapacity))
	err := r.do(ctx, r.workers[r.owner[i]], func(w *worker) error {
		for _, e := range w.egress {
			if e.pidx != i {
				continue
			}
			if e.delay == nil {
				e.delay = fresh
			} else {
				e.delay.SetDelay(int64(d))
			}
			return nil
		}
		return errStopped
	})
	if err == nil {
		nl := *r.ports[i].live.Load()
		nl.delay = d
		r.ports[i].live.Store(&nl)
	}
	return err
}

// DestinationCount is the number of packets queued for dst right now, summed over the
// lcores that own queues. Each owner lcore counts between bursts with the walk
// QueuedBetween uses, reading each routed packet's destination from its IPv4 header
// (xconnect packets, not parsed, have none), and visits at most destBudget packets;
// truncated is true when some lcore had more queued than that, and n then counts
// only the packets visited. The walk costs the lcore about 10-50 ns per queued packet.
func (r *Router) DestinationCount(dst netip.Addr) (n uint64, truncated bool) {
	if !dst.Is4() {
		return 0, false
	}
	ip := binary.BigEndian.Uint32(dst.AsSlice())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, w := range r.workers {
		if w.arch == nil {
			continue
		}
		_ = r.do(ctx, w, func(w *worker) error {
			c, cut := w.countDest(ip, destBudget)
			n += c
			truncated = truncated || cut
			return nil
		})
	}
	return n, truncated
}

// destBudget bounds the packets one lcore visits for DestinationCount: a header read
// each, so a few milliseconds at most.
const destBudget = 1 << 16

// countDest counts the queued packets whose IPv4 destination is ip, visiting at most
// budget packets (cut: it stopped there). Owner lcore, between bursts.
func (w *worker) countDest(ip uint32, budget int) (n uint64, cut bool) {
	visited := 0
	w.arch.Walk(func(_ int, d *pkt.Desc) bool {
		if visited == budget {
			cut = true
			return false
		}
		visited++
		if d.L3 != 0 && wire.IPv4Dst(mempool.Frame(d.Mbuf), int(d.L3)) == ip {
			n++
		}
		return true
	})
	return n, cut
}

// QueuedPacket is one sampled packet still in a queue.
type QueuedPacket struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Len              int
	Class            int
	Queue            int
	Port             int
	Tier             uint8
	Age              int64 // ns since it was enqueued
}

// queryBudget bounds how many queued packets one lcore visits per query, so a query
// holds the lcore for a few microseconds at most.
const queryBudget = 4096

// QueuedBetween samples up to max queued packets enqueued in [from, to] (ns since the
// router started). Each owner lcore walks its queues between bursts, visiting at most
// queryBudget packets; the sample is read-only.
func (r *Router) QueuedBetween(ctx context.Context, from, to int64, max int) []QueuedPacket {
	var out []QueuedPacket
	for _, w := range r.workers {
		if w.arch == nil || len(out) >= max {
			continue
		}
		var got []QueuedPacket
		_ = r.do(ctx, w, func(w *worker) error {
			now := w.clock(lcore.RDTSC())
			visited := 0
			w.arch.Walk(func(q int, d *pkt.Desc) bool {
				visited++
				if d.Enq >= from && d.Enq <= to {
					got = append(got, describe(d, q, now))
				}
				return visited < queryBudget && len(out)+len(got) < max
			})
			return nil
		})
		out = append(out, got...)
	}
	return out
}

func describe(d *pkt.Desc, q int, now int64) QueuedPacket {
	p := QueuedPacket{Len: int(d.Len), Class: int(d.Class), Queue: q, Port: int(d.OutPort), Tier: d.Tier, Age: now - d.Enq}
	// Routed packets were validated at rx; xconnect ones may be anything (then only
	// the queue figures are reported).
	var in wire.IPv4Info
	if wire.ParseIPv4(mempool.Data(d.Mbuf), &in) == pkt.DropNone {
		p.Src, p.Dst = in.SrcAddr(), in.DstAddr()
		p.Proto, p.SrcPort, p.DstPort = in.Proto, in.SrcPort, in.DstPort
	}
	return p
}
