package dataplane

import (
	"github.com/dpdkq/dpdkq/link"
	"github.com/dpdkq/dpdkq/mempool"
	"github.com/dpdkq/dpdkq/pkt"
	"github.com/dpdkq/dpdkq/wire"
)

// egressPort is one output port as its owner lcore serves it: the shaper, the delay
// line and the transmit edge.
type egressPort struct {
	pidx   int
	shaper *link.Shaper
	delay  *link.DelayLine
	descs  []pkt.Desc // dequeued burst
	due    []pkt.Desc // released by the delay line
	tx     txEdge
	sink   *sinkPort // a traffic sink port: transmit records and frees (traffic.go)
}

// txEdge is a port's transmit side: the frames handed to the device and not yet taken
// by it, in the port's order, with what counting them needs (their bytes, and their
// input ports as runs). Nothing else refers to a frame once it is here: the descriptor
// arrays it came from are free for the next burst.
//
// A frame is counted (the port's tx packets and bytes, its input port's forwarded)
// exactly once, when the device takes it. The edge is in one of three states:
//   - empty (n == 0);
//   - pending: the running loop sends it in the next iteration's poll call, with the
//     rx bursts (worker.pending; at most one edge at a time);
//   - waiting: the device refused some frames (its tx ring was full). They go first at
//     the port's next service, which dequeues nothing more for the port until they are
//     gone, so the port's queue (limits, AQM) takes the excess instead of the frames
//     being dropped; a burst that skips the queue needs an edge that is not waiting.
//
// The array holds two bursts: the refused part of one and one transmitted behind it
// (transmit sends a pending burst before it adds another). Beyond that (never
// expected) frames are dropped as tx_full rather than overflowing it.
type txEdge struct {
	pidx  int
	id    uint16
	txq   uint16
	arr   *mempool.Burst // arr[:n], oldest first
	n     int
	bytes int      // total length of arr[:n]
	runs  []fwdRun // input ports of arr[:n], in order
	nruns int
}

// fwdRun is a run of consecutive frames of a tx edge received on the same port.
type fwdRun struct {
	in uint16
	n  uint16
}

func newTxEdge(pidx int, id, txq uint16, capacity int) txEdge {
	return txEdge{pidx: pidx, id: id, txq: txq, arr: mempool.NewBurst(capacity), runs: make([]fwdRun, capacity)}
}

// serveEgress moves packets from the queues through the shaper and delay line to tx.
// A port whose device still refuses the frames waiting at its edge gets nothing more.
func (w *worker) serveEgress(e *egressPort, now int64) {
	if t := &e.tx; w.waiting(t) && !w.sendNow(t) {
		return
	}
	if budget := e.shaper.Budget(now); budget > 0 {
		if k := w.arch.Dequeue(now, e.pidx, e.descs, budget, w); k > 0 {
			if e.delay == nil {
				e.shaper.Charge(w.transmit(e, e.descs[:k]), k)
			} else {
				bytes := 0
				for i := range e.descs[:k] {
					bytes += int(e.descs[i].Len)
				}
				e.shaper.Charge(bytes, k)
				for i := range e.descs[:k] {
					if !e.delay.Push(now, &e.descs[i]) {
						w.Drop(&e.descs[i], pkt.DropDelayLine)
					}
				}
			}
		}
	}
	if !e.shaper.Unshaped() {
		n, _ := w.arch.Backlog(e.pidx)
		e.shaper.SetBusy(n > 0) // a port still backlogged may bank missed link time
	}
	if e.delay != nil {
		if k := e.delay.Pop(now, e.due); k > 0 {
			w.transmit(e, e.due[:k])
		}
	}
}

// transmit applies CE marks and hands one burst to the port's tx edge, returning its
// bytes. One pass over the descriptors: CE marks, the tx array, the bytes and the
// input-port runs. In the running loop the edge is then pending (sent with the next
// poll); otherwise it is sent now. Behind frames the device refused, the burst waits
// with them for the port's next service (the port's order).
func (w *worker) transmit(e *egressPort, ds []pkt.Desc) int {
	if e.sink != nil {
		return w.sinkTransmit(e, ds)
	}
	t := &e.tx
	if w.pending != nil {
		w.flushTx() // the pending burst first: one edge pending at a time, each in order
	}
	behind := t.n > 0 // frames the device refused wait at the edge
	arr := t.arr.S()[t.n:]
	n := min(len(ds), len(arr))
	nr := t.nruns
	run := fwdRun{in: ds[0].InPort}
	if nr > 0 {
		nr--
		run = t.runs[nr] // continued if the burst starts with the same input port
	}
	bytes := 0
	for i := range ds[:n] {
		d := &ds[i]
		if d.Flags&pkt.FlagMarkCE != 0 {
			if wire.SetCE(mempool.Frame(d.Mbuf), int(d.L3)) {
				w.cnt[d.InPort].Marks++
			}
		}
		arr[i] = d.Mbuf
		bytes += int(d.Len)
		if d.InPort != run.in {
			t.runs[nr] = run
			nr++
			run = fwdRun{in: d.InPort}
		}
		run.n++
	}
	t.runs[nr] = run
	t.n, t.nruns, t.bytes = t.n+n, nr+1, t.bytes+bytes
	for i := range ds[n:] { // no room left (not expected: see txEdge)
		d := &ds[n+i]
		bytes += int(d.Len)
		w.dropMbuf(d.Mbuf, int(d.InPort), pkt.DropTxFull)
	}
	switch {
	case behind:
		// They go together at the port's next service.
	case w.fuse:
		w.pending = t
	default:
		w.sendNow(t)
	}
	return bytes
}

// waiting reports whether frames the device refused wait at t.
func (w *worker) waiting(t *txEdge) bool { return t.n > 0 && w.pending != t }

// flushTx sends the pending tx edge, if any, on its own.
func (w *worker) flushTx() {
	if t := w.pending; t != nil {
		w.pending = nil
		w.txDone(t, txBurst(t.id, t.txq, t.arr.Addr(), t.n))
	}
}

// sendNow offers the frames of t to the device and reports whether all went.
func (w *worker) sendNow(t *txEdge) bool {
	if w.pending == t {
		w.pending = nil
	}
	w.txDone(t, txBurst(t.id, t.txq, t.arr.Addr(), t.n))
	return t.n == 0
}

// txDone counts the frames of t the device took (arr[:sent]) and keeps the others
// waiting, in order.
func (w *worker) txDone(t *txEdge, sent int) {
	c := &w.cnt[t.pidx]
	c.TxPackets += uint64(sent)
	if sent == t.n {
		for _, r := range t.runs[:t.nruns] {
			w.cnt[r.in].Fwd += uint64(r.n)
		}
		c.TxBytes += uint64(t.bytes)
		t.n, t.nruns, t.bytes = 0, 0, 0
		if c.TxHeld != 0 {
			c.TxHeld = 0
		}
		return
	}
	w.txPartial(t, sent)
}

// txPartial is txDone when the device refused some frames (its tx ring is full).
func (w *worker) txPartial(t *txEdge, sent int) {
	arr := t.arr.S()
	left := 0
	for _, m := range arr[sent:t.n] {
		left += int(mempool.PktLen(m))
	}
	c := &w.cnt[t.pidx]
	c.TxBytes += uint64(t.bytes - left)
	t.bytes = left
	// Count the runs the device took, splitting the one it stopped in.
	todo, r := sent, 0
	for todo > 0 {
		run := &t.runs[r]
		if int(run.n) > todo {
			w.cnt[run.in].Fwd += uint64(todo)
			run.n -= uint16(todo)
			break
		}
		w.cnt[run.in].Fwd += uint64(run.n)
		todo -= int(run.n)
		r++
	}
	copy(t.runs, t.runs[r:t.nruns])
	t.nruns -= r
	copy(arr, arr[sent:t.n])
	t.n -= sent
	c.TxHeld = uint64(t.n)
}

// dropWaiting frees the frames still at the edge at stop, counted as queued at stop.
func (w *worker) dropWaiting(t *txEdge) {
	arr := t.arr.S()
	i := 0
	for _, r := range t.runs[:t.nruns] {
		for range r.n {
			w.dropMbuf(arr[i], int(r.in), pkt.DropShutdown)
			i++
		}
	}
	t.n, t.nruns, t.bytes = 0, 0, 0
	w.cnt[t.pidx].TxHeld = 0
}
