package dataplane

import "github.com/dpdkq/dpdkq/pkt"

// Arch is what the poll loop needs of a queueing architecture: voq.Arch satisfies it.
// One instance is owned by one lcore; nothing here is safe for concurrent use.
type Arch interface {
	// Enqueue takes ownership of d; refused or pushed-out packets go to sink.
	Enqueue(now int64, d *pkt.Desc, sink pkt.DropSink)
	// Dequeue fills out with packets for port while budget > 0 bytes.
	Dequeue(now int64, port int, out []pkt.Desc, budget int, sink pkt.DropSink) int
	// Backlog is what is queued for port.
	Backlog(port int) (pkts, bytes int)
	// Drain hands everything queued to sink (shutdown).
	Drain(sink pkt.DropSink) int
	// Publish makes the owner's counters readable by other goroutines.
	Publish()
}

// fifoArch is the plain bounded FIFO per output port with tail drop: the baseline
// egress queue, and the default when no queueing architecture is configured.
type fifoArch struct {
	q map[int]*fifo // built once at start-up; looked up per burst, not per packet
	// direct index by port for the hot path
	byPort []*fifo
}

type fifo struct {
	ring       []pkt.Desc
	head, n    int
	bytes      int
	limitBytes int
}

// NewFIFOArch builds plain FIFOs for ports, limit(port) packets each.
func NewFIFOArch(ports []int, limit func(port int) int) Arch {
	return newFIFOArch(ports, limit, 0)
}

func newFIFOArch(ports []int, limit func(port int) int, limitBytes int) *fifoArch {
	a := &fifoArch{q: map[int]*fifo{}}
	max := 0
	for _, p := range ports {
		if p > max {
			max = p
		}
	}
	a.byPort = make([]*fifo, max+1)
	for _, p := range ports {
		n := limit(p)
		if n < 1 {
			n = 1
		}
		f := &fifo{ring: make([]pkt.Desc, n), limitBytes: limitBytes}
		a.q[p], a.byPort[p] = f, f
	}
	return a
}

func (a *fifoArch) Enqueue(now int64, d *pkt.Desc, sink pkt.DropSink) {
	f := a.byPort[d.OutPort]
	if f.n == len(f.ring) || (f.limitBytes > 0 && f.bytes+int(d.Len) > f.limitBytes) {
		sink.Drop(d, pkt.DropTail)
		return
	}
	i := f.head + f.n
	if i >= len(f.ring) {
		i -= len(f.ring)
	}
	f.ring[i] = *d
	f.n++
	f.bytes += int(d.Len)
}

func (a *fifoArch) Dequeue(now int64, port int, out []pkt.Desc, budget int, sink pkt.DropSink) int {
	f := a.byPort[port]
	k := 0
	for k < len(out) && f.n > 0 && budget > 0 {
		d := &f.ring[f.head]
		out[k] = *d
		budget -= int(d.Len)
		f.bytes -= int(d.Len)
		k++
		f.head++
		if f.head == len(f.ring) {
			f.head = 0
		}
		f.n--
	}
	return k
}

func (a *fifoArch) Backlog(port int) (int, int) {
	f := a.byPort[port]
	return f.n, f.bytes
}

func (a *fifoArch) Drain(sink pkt.DropSink) int {
	total := 0
	for _, f := range a.q {
		for f.n > 0 {
			sink.Drop(&f.ring[f.head], pkt.DropShutdown)
			f.head = (f.head + 1) % len(f.ring)
			f.n--
			total++
		}
		f.bytes = 0
	}
	return total
}

func (a *fifoArch) Publish() {}
