package dataplane

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dpdkq/dpdkq/link"
)

// Live changes are applied by the lcore that owns the state, between bursts: the
// control plane posts a command to that lcore's mailbox (one atomic pointer), the loop
// checks it once per iteration (an atomic load: a plain move on amd64) and runs it, and
// the poster waits for the result. No lock is ever taken on the hot path, and a change
// is acknowledged only once it is in effect.

type command struct {
	fn   func(w *worker) error
	err  error
	done chan struct{}
}

// mailbox is a worker's single command slot. Posters serialize on mu (control path).
type mailbox struct {
	mu   sync.Mutex
	slot atomic.Pointer[command]
}

// runCommand runs a pending command (called by the owner lcore once per iteration).
func (w *worker) runCommand() {
	if c := w.mbox.slot.Load(); c != nil {
		w.flushTx() // a command may take a while (a quiesce): send what is ready first
		c.err = c.fn(w)
		w.mbox.slot.Store(nil)
		close(c.done)
	}
}

var errStopped = errors.New("dataplane: router is stopped")

// do runs fn on worker w's lcore and waits for it.
func (r *Router) do(ctx context.Context, w *worker, fn func(w *worker) error) error {
	switch {
	case r.stop.Load():
		return errStopped
	case !r.launched:
		return fn(w) // loops not running (tests drive a worker by hand): apply directly
	}
	w.mbox.mu.Lock()
	defer w.mbox.mu.Unlock()
	c := &command{fn: fn, done: make(chan struct{})}
	w.mbox.slot.Store(c)
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		// The lcore may still run it; wait briefly so the slot is not reused under it.
		select {
		case <-c.done:
			return c.err
		case <-time.After(time.Second):
			return fmt.Errorf("dataplane: change not acknowledged: %w", ctx.Err())
		}
	}
}

// Egress is what a live change may touch of one output port, on its owner lcore.
type Egress struct {
	Port   int
	Arch   Arch
	Shaper *link.Shaper
	// Delay is nil when the port was started without a delay line.
	Delay *link.DelayLine
}

// DoEgress runs fn on the lcore that owns port's egress, between bursts.
func (r *Router) DoEgress(ctx context.Context, port int, fn func(e Egress) error) error {
	if port < 0 || port >= len(r.ports) {
		return fmt.Errorf("dataplane: no port %d", port)
	}
	w := r.workers[r.owner[port]]
	return r.do(ctx, w, func(w *worker) error {
		for _, e := range w.egress {
			if e.pidx == port {
				return fn(Egress{Port: port, Arch: w.arch, Shaper: e.shaper, Delay: e.delay})
			}
		}
		return fmt.Errorf("dataplane: lcore %d does not own port %d", w.lcore, port)
	})
}

// DoArch runs fn on every lcore that owns a queueing architecture, between bursts.
func (r *Router) DoArch(ctx context.Context, fn func(a Arch) error) error {
	for _, w := range r.workers {
		if w.arch == nil {
			continue
		}
		if err := r.do(ctx, w, func(w *worker) error { return fn(w.arch) }); err != nil {
			return err
		}
	}
	return nil
}

// quiesce parks every lcore between bursts, runs fn, and releases them: used for the
// route table, which all lcores read. The lcores spin for the duration of fn (an
// rte_lpm update: microseconds).
func (r *Router) quiesce(ctx context.Context, fn func() error) error {
	if !r.launched {
		return fn()
	}
	var release atomic.Bool
	var parked sync.WaitGroup
	errs := make(chan error, len(r.workers))
	for _, w := range r.workers {
		parked.Add(1)
		w := w
		go func() {
			errs <- r.do(ctx, w, func(*worker) error {
				parked.Done()
				for !release.Load() {
					runtime.Gosched()
				}
				return nil
			})
		}()
	}
	parked.Wait()
	err := fn()
	release.Store(true)
	for range r.workers {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// RouteEntry is one installed route, for the API.
type RouteEntry struct {
	Prefix    netip.Prefix
	Port      int
	Via       netip.Addr
	MAC       [6]byte
	Static    bool // MAC configured
	Connected bool // a port's own subnet
	Local     bool // a router address (/32)
}

// Routes lists the route table.
func (r *Router) Routes() []RouteEntry {
	r.routeMu.Lock()
	defer r.routeMu.Unlock()
	out := make([]RouteEntry, len(r.routes))
	copy(out, r.routes)
	return out
}

// AddRouteLive installs or replaces a static route while running.
func (r *Router) AddRouteLive(ctx context.Context, rt Route) error {
	r.routeMu.Lock()
	defer r.routeMu.Unlock()
	return r.quiesce(ctx, func() error { return r.addRouteLocked(rt) })
}

// DeleteRouteLive removes a static route while running (connected and local routes
// cannot be removed).
func (r *Router) DeleteRouteLive(ctx context.Context, pfx netip.Prefix) error {
	r.routeMu.Lock()
	defer r.routeMu.Unlock()
	pfx = pfx.Masked()
	for i, e := range r.routes {
		if e.Prefix == pfx {
			if e.Connected || e.Local {
				return fmt.Errorf("route %s is a port's own subnet or address; it cannot be removed", pfx)
			}
			err := r.quiesce(ctx, func() error {
				return lpmDelete(r.lpm, ip4(pfx.Addr()), uint8(pfx.Bits()))
			})
			if err == nil {
				r.routes = append(r.routes[:i], r.routes[i+1:]...)
			}
			return err
		}
	}
	return fmt.Errorf("no route %s", pfx)
}

// Neighbors lists the ARP cache.
func (r *Router) Neighbors() []Neighbor { return r.neigh.snapshot() }
