// Package aqm holds the drop/mark policies (tail-drop limits, RED/WRED, CoDel, PIE)
// as small state machines that do not own the queue they govern. A queue (a class
// queue, a VOQ, an FQ-CoDel flow queue) calls Enqueue for an arriving packet and
// Dequeue for the packet it just removed from its head, passing the backlog; the
// policy answers with a Verdict. Time is always a parameter (ns on a monotonic clock),
// so tests drive a manual clock. Nothing here allocates after construction.
//
// Each algorithm follows the same three-step shape: Params (human units, as in the
// config file) -> Config (validated, converted once to ns and bytes) -> per-queue State.
package aqm

// Verdict is a policy's decision about one packet.
type Verdict uint8

const (
	// Pass: keep (at enqueue) or deliver (at dequeue) the packet unchanged.
	Pass Verdict = iota
	// Drop: the queue must drop the packet. At dequeue the queue then removes the next
	// head and asks again.
	Drop
	// Mark: keep/deliver the packet but set ECN CE on it (only for ECT packets).
	Mark
)

// Packet is what a policy sees of one packet.
type Packet struct {
	Len     int   // frame length in bytes
	EnqTime int64 // time the packet entered the queue, ns
	ECT     bool  // ECN-capable transport (ECT(0), ECT(1) or CE)
	Class   uint8 // traffic class 0..7, for per-class profiles (WRED)
}

// Backlog is the state of the governed queue at the moment of the call: before the
// arriving packet is added (Enqueue) or after the head packet was removed (Dequeue).
type Backlog struct {
	Packets int
	Bytes   int
}

// Policy is one queue's AQM state machine.
type Policy interface {
	// Enqueue decides for an arriving packet.
	Enqueue(now int64, p Packet, q Backlog) Verdict
	// Dequeue decides for the packet just removed from the head.
	Dequeue(now int64, p Packet, q Backlog) Verdict
	// Snapshot returns the policy's state for observability (no allocation).
	Snapshot() State
}

// DequeueOnly is implemented by policies whose Enqueue always returns Pass and keeps
// no state (CoDel): a queue may then skip the enqueue call. DequeueOnly reports
// whether that holds for this instance.
type DequeueOnly interface {
	DequeueOnly() bool
}

// State is a read-only view of a policy's internals, for the control plane.
type State struct {
	Kind     Kind
	Dropping bool    // CoDel: in the dropping state
	Count    uint32  // CoDel: drops in this dropping episode
	DropProb float64 // PIE: current drop probability; RED: last computed probability
	QDelay   int64   // PIE: current queue delay estimate, ns
	AvgQueue float64 // RED: EWMA of the queue length (bytes or packets per its config)
	Drops    uint64  // decisions that returned Drop
	Marks    uint64  // decisions that returned Mark
}

// Kind names an algorithm.
type Kind uint8

const (
	KindNone Kind = iota // tail-drop only: the queue's own limit decides
	KindRED
	KindCoDel
	KindPIE
)

func (k Kind) String() string {
	switch k {
	case KindRED:
		return "red"
	case KindCoDel:
		return "codel"
	case KindPIE:
		return "pie"
	}
	return "none"
}
