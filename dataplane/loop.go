package dataplane

import (
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/wire"
)

// The poll loop, by concern:
//   - loop.go: the worker's state, the loop itself, drops and bulk frees;
//   - rx.go: classification and routing of an rx burst, the queue bypass, the hand-off
//     to other lcores;
//   - egress.go: serving an output port (queues, shaper, delay line) and its tx edge;
//   - ctrl.go: control frames (ARP, ICMP echo) and their direct transmission;
//   - arphold.go: packets waiting for ARP.

// Packet kinds carried in the mbuf metadata across the hand-off ring.
const (
	kindData uint8 = iota // to be queued on the output port
	kindCtrl              // router-originated or reply: send on the port directly
)

// rte_lpm marks a successful lookup with this bit in the returned next hop.
const lpmHit = 0x01000000

// ARP requests for one neighbor: at most one per 100 ms over all lcores.
const arpInterval = int64(100e6)

// worker is one lcore's poll loop state. Everything in it is touched only by its lcore
// while running (except pub, read through its seqlock, and the mailbox).
type worker struct {
	r     *Router
	lcore uint
	idx   int // index among workers (its tx queue number where the port has enough)

	rxqs    []rxq
	poller  *poller       // the pending tx edge and every rx queue in one call per iteration
	sources []*sourcePort // traffic sources this lcore polls (see traffic.go)
	now     int64         // the current iteration's clock, ns

	descs []pkt.Desc // an rx burst's descriptors, built in place for EnqueueBurst

	info wire.IPv4Info
	macs [12]byte // Ethernet rewrite for a next hop resolved by ARP
	arp  arpHold  // packets waiting for ARP (see arphold.go)

	free  *mempool.Burst // drops to free in bulk
	nfree int

	handoff []*outBuf // per destination worker (nil for self)
	inRing  uintptr   // this worker's own MPSC ring (0 with one worker)
	ringBuf *mempool.Burst

	ctrl []*outBuf // per port: control frames to send directly (replies, ARP)

	arch     Arch
	egress   []*egressPort // ports whose egress this lcore owns
	egressOf []*egressPort // by port index: the egress this lcore owns, nil for others

	// fuse: the loop is running, so a tx burst is left pending (pending) and goes out in
	// the cgo call that polls the rx queues next (one call per iteration). Without it
	// (tests driving a worker by hand, the stop) a burst is sent at once.
	fuse    bool
	pending *txEdge

	mbox mailbox // live changes for this lcore

	cnt      []PortCounters // per port, plain (owner only)
	pub      *published
	iter     int
	pubEvery int

	stall stallState // loop stall detector (stall.go), published with cnt
}

type rxq struct {
	pidx  int
	id    uint16
	queue uint16
	buf   *mempool.Burst // its rx burst array (C memory)
}

type outBuf struct {
	b   *mempool.Burst
	n   int
	in  []int32  // ctrl buffers: input port of each frame, -1 for router-originated
	len []uint32 // ctrl buffers: frame lengths (read before the tx call gives them away)
}

// clock converts the TSC read by the burst calls into ns since the router started.
func (w *worker) clock(tsc uint64) int64 {
	return int64(float64(tsc-w.r.tsc0) * w.r.nsPerTick)
}

// run is the poll loop. It returns when the router's stop flag is set, after handing
// every buffered packet back (queued packets stay queued for the shutdown drain).
func (w *worker) run() int {
	r := w.r
	w.fuse = true
	for !r.stop.Load() {
		t := w.pending
		if t != nil {
			w.poller.setTx(t.id, t.txq, t.arr.Addr(), t.n)
		}
		tsc, sent := w.poller.poll()
		if t != nil {
			w.pending = nil
			w.txDone(t, sent)
		}
		now := w.clock(tsc)
		if d := w.stall.gap(now); d > 0 {
			w.stall.record(now-d, d) // a loop stall (stall.go)
		}
		w.now = now
		if len(w.sources) > 0 {
			w.pollSources(now)
		}
		for i := range w.rxqs {
			if n := w.poller.got(i); n > 0 {
				q := &w.rxqs[i]
				w.processRx(q.pidx, q.buf.S()[:n], now)
			}
		}
		if w.inRing != 0 {
			var rtsc uint64
			if n := ringGet(w.inRing, w.ringBuf.Addr(), r.burst, &rtsc); n > 0 {
				now = w.clock(rtsc)
				w.processRing(w.ringBuf.S()[:n], now)
			}
		}
		if len(w.arp.pkts) > 0 && w.iter%arpHoldPoll == 0 {
			w.serviceARPHold(now)
		}
		w.flushHandoff()
		w.flushCtrl()
		for _, e := range w.egress {
			w.serveEgress(e, now)
		}
		w.flushFree()
		w.runCommand()
		w.iter++
		if w.iter >= w.pubEvery {
			w.iter = 0
			w.publish()
		}
	}
	w.flushTx()
	w.fuse = false
	w.flushHandoff()
	w.flushCtrl()
	w.flushFree()
	w.publish()
	return 0
}

func (w *worker) publish() {
	w.pub.store(w.cnt)
	w.pub.stall.Write(0, w.stall.words[:])
	if w.arch != nil {
		w.arch.Publish()
	}
}

// Drop implements pkt.DropSink: count under the input port and free in bulk.
func (w *worker) Drop(d *pkt.Desc, reason pkt.DropReason) {
	w.cnt[d.InPort].Drops[reason]++
	w.freeMbuf(d.Mbuf)
}

func (w *worker) dropMbuf(m uintptr, inPort int, reason pkt.DropReason) {
	w.cnt[inPort].Drops[reason]++
	w.freeMbuf(m)
}

func (w *worker) freeMbuf(m uintptr) {
	w.free.S()[w.nfree] = m
	w.nfree++
	if w.nfree == len(w.free.S()) {
		w.flushFree()
	}
}

func (w *worker) flushFree() {
	if w.nfree > 0 {
		w.free.FreeBulk(w.nfree)
		w.nfree = 0
	}
}
