// Package voq is the queueing core of the router: the buffer architectures between
// the receive and transmit bursts, in pure Go.
//
// The dataplane turns each received mbuf into a pkt.Desc and calls an Arch, built by New
// from a Config, owned by ONE lcore. Three architectures are offered:
//
//   - egress: per output port one queue per class, shared by all inputs (output
//     queueing); the port's class scheduler (sp, drr, wdrr) picks the class.
//   - voq: one queue per (input, output, class), each with its own limit and AQM
//     policy; per output an arbiter picks the input (rr, drr, islip), then the class
//     scheduler picks the class inside that (input, output) pair.
//   - input-fifo: one FIFO per input (the head-of-line blocking baseline).
//
// Any class queue can instead be an FQ-CoDel instance (FQConfig). Classes can carry
// token-bucket rate limits, which shape (skip) rather than drop.
//
// # Ownership and accounting
//
// Enqueue takes ownership of each Desc: it is either queued, or handed to the DropSink
// with exactly one pkt.DropReason. Dequeue hands ownership to the caller, Drain hands
// everything left to the sink. Every queue and every output port therefore keeps
// Arrivals == Dequeued + drops (by reason) + queued, exactly, at all times.
//
// # Slots for iSLIP and input FIFOs
//
// A crossbar works in time slots; the dataplane instead calls Dequeue per port with a
// byte budget. The two are joined by treating each Dequeue call of a port (with room
// and budget > 0) as that port's turn in the current slot: when a port calls again
// after its turn, a new slot begins, its participants being the ports that had a turn
// in the slot just ended (the ports ready to send; one that stops calling drops out
// after a slot instead of holding inputs it will not serve). For voq/islip the first
// caller of a new slot computes the whole iSLIP matching (request, grant, accept;
// pointers advance only on grants accepted in the first iteration), and every
// participant then consumes its own match in its turn, transferring a burst of up to
// its budget from the matched input. A port left unmatched (it lost, or joined late)
// may still take an input that is free in this slot, as one extra iteration of its
// own. In every slot an input is matched to at most one output, or up to S with
// speedup S. Input-fifo uses the same slots: in its turn an output takes the next
// input (round robin) whose head packet is for it and that is still free. Run
// time-slotted (every port dequeues one packet per slot, in a fixed order) voq/islip
// is textbook iSLIP and carries uniform saturated traffic almost fully, while
// input-fifo reproduces Karol's 2-sqrt(2) saturation throughput.
//
// # Buffer memory
//
// Config.Memory plugs in a model of the packet memory behind the queues (shared-pool
// carving, a two-tier on-chip/off-chip buffer; package buffer adapts both). It is
// asked last at enqueue, once the queue's own limit and enqueue-time AQM have let the
// packet through, and may refuse it with its own reason (pkt.DropNoBuffer,
// DropNoDescriptor, DropOffchipBW), counted in the queue like any drop; it may also
// set Desc.Tier, which the queue stores with the packet. Every admitted packet is
// released exactly once, before it is delivered or handed to the sink, whichever way
// it leaves. Head drops and FQ-CoDel overflow batches run before the arrival is
// offered to the buffer, so the memory they free counts for it. The queues stay one
// FIFO each whatever the tier, so per-queue order is kept across tiers. Queue
// indices are fixed by the Config alone (Layout), so the model can be built, sized and
// bound to (port, class) before New; Arch.QueueInfo gives the same mapping afterwards.
// Without a Memory the hot path pays one nil check at enqueue and one at dequeue.
//
// # Statistics
//
// The owner mutates plain counters. Publish copies the queues and ports changed since
// the last Publish into a block of atomic words guarded by a sequence counter (a
// seqlock: odd while writing), storing only the words whose value changed; Snapshot
// from any goroutine copies that block and retries if the counter moved, so it never
// sees a torn mix of two publishes. A reader that keeps losing the race asks the owner
// to hold off (Publish then returns at once, losing nothing). An atomic store costs
// about 20 cycles on amd64 and a touched queue changes roughly ten words, so a Publish
// after a burst that touched 20 queues costs on the order of a microsecond: publish
// every few bursts, or on a ~100 µs timer, rather than after every burst when
// packets per burst are few. The sojourn histograms are log2 buckets from 1 µs to
// about a minute, with quantiles computed on the reader's side.
//
// Nothing on the hot path (Enqueue, Dequeue, Backlog, Publish) allocates.
package voq
