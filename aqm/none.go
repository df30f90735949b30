package aqm

// None is the pass-everything policy: the queue's own limit (tail drop) is the only
// thing that drops. It exists so that every queue always has a Policy and the queueing
// code needs no nil checks. It holds no state.
type None struct{}

var _ Policy = (*None)(nil)

// NewNone returns the pass-everything policy.
func NewNone() *None { return &None{} }

// Enqueue always passes.
func (*None) Enqueue(now int64, p Packet, q Backlog) Verdict { return Pass }

// DequeueOnly implements DequeueOnly.
func (*None) DequeueOnly() bool { return true }

// Dequeue always passes.
func (*None) Dequeue(now int64, p Packet, q Backlog) Verdict { return Pass }

// Snapshot reports KindNone and nothing else.
func (*None) Snapshot() State { return State{Kind: KindNone} }
