// Package apitest provides a configurable in-memory api.Source for tests of the API,
// the CLI and anything else built on the Source contract.
package apitest

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/dpdkq/dpdkq/api"
)

// State is everything a Fake serves. Tests build one (Sample is a realistic start),
// hand it to New and change it later with Update.
type State struct {
	Status    api.Status
	Ports     []api.Port
	Queues    []api.Queue
	Buffer    api.Buffer
	Routes    []api.Route
	Neighbors []api.Neighbor
	Config    any
	// Destinations answers DestinationCount; an address not in the map answers
	// (Other, true), like the dataplane's shared bucket for untracked destinations.
	Destinations map[netip.Addr]uint64
	Other        uint64
	// Queued is what QueuedBetween samples from, filtered by Age as the enqueue time.
	Queued []api.QueuedPacket
}

// Fake is an api.Source over a State, safe for concurrent use. Reads return deep
// copies, so a test may Update while a server encodes an earlier snapshot.
type Fake struct {
	mu      sync.Mutex
	st      State
	applied []api.Change
	calls   struct {
		from, to time.Duration
		max      int
	}

	// ApplyFunc decides Apply's result; nil accepts every change. It runs without the
	// lock held, so it may block on ctx or call Update.
	ApplyFunc func(ctx context.Context, c api.Change) error
	// OnStatus, when set, runs (under the lock) at the start of every Status call, so a
	// test can advance counters and uptime between the snapshots a poller takes.
	OnStatus func(s *State)
}

var _ api.Source = (*Fake)(nil)

// New returns a Fake serving st.
func New(st State) *Fake { return &Fake{st: st} }

// Update changes the state under the lock.
func (f *Fake) Update(fn func(s *State)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
}

// Applied returns the changes Apply accepted, in order.
func (f *Fake) Applied() []api.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

// LastQueuedCall returns the arguments of the latest QueuedBetween call.
func (f *Fake) LastQueuedCall() (from, to time.Duration, max int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls.from, f.calls.to, f.calls.max
}

// clone deep-copies through JSON: every view type is JSON by contract, and the
// fake's speed does not matter.
func clone[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic("apitest: state is not JSON-marshalable: " + err.Error())
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic("apitest: " + err.Error())
	}
	return out
}

// Status implements api.Source.
func (f *Fake) Status() api.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.OnStatus != nil {
		f.OnStatus(&f.st)
	}
	return clone(f.st.Status)
}

// Ports implements api.Source.
func (f *Fake) Ports() []api.Port {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.st.Ports)
}

// Queues implements api.Source.
func (f *Fake) Queues() []api.Queue {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.st.Queues)
}

// Buffer implements api.Source.
func (f *Fake) Buffer() api.Buffer {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.st.Buffer)
}

// Routes implements api.Source.
func (f *Fake) Routes() []api.Route {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.st.Routes)
}

// Neighbors implements api.Source.
func (f *Fake) Neighbors() []api.Neighbor {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.st.Neighbors)
}

// Config implements api.Source; the value is returned as set (not copied).
func (f *Fake) Config() any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Config
}

// Apply implements api.Source: ApplyFunc decides, and accepted changes are recorded.
func (f *Fake) Apply(ctx context.Context, c api.Change) error {
	if f.ApplyFunc != nil {
		if err := f.ApplyFunc(ctx, c); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, clone(c))
	return nil
}

// DestinationCount implements api.Source.
func (f *Fake) DestinationCount(dst netip.Addr) (uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n, ok := f.st.Destinations[dst]; ok {
		return n, false
	}
	return f.st.Other, true
}

// QueuedBetween implements api.Source, treating each sample's Age as its enqueue time
// since start.
func (f *Fake) QueuedBetween(from, to time.Duration, max int) []api.QueuedPacket {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls.from, f.calls.to, f.calls.max = from, to, max
	var out []api.QueuedPacket
	for _, p := range f.st.Queued {
		if len(out) == max {
			break
		}
		if p.Age >= from && p.Age <= to {
			out = append(out, p)
		}
	}
	return out
}

// ChangeError is a convenience ApplyFunc result.
func ChangeError(field, value, msg string) error {
	return &api.ChangeError{Field: field, Value: value, Msg: msg}
}
