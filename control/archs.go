package control

import (
	"sync"

	"github.com/dpdkq/dpdkq/buffer"
	"github.com/dpdkq/dpdkq/voq"
)

// Archs records every queueing architecture the dataplane built, with its buffer
// model and queue layout, so the control plane can read the models' snapshots and
// route live buffer changes to the right owner.
type Archs struct {
	mu   sync.Mutex
	list []ArchEntry
}

// ArchEntry is one architecture instance.
type ArchEntry struct {
	Arch   voq.Arch
	Model  *buffer.Model // nil without a buffer model
	Layout []voq.QueueInfo
}

// Add records an instance (called while the dataplane starts).
func (a *Archs) Add(arch voq.Arch, m *buffer.Model, layout []voq.QueueInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, ArchEntry{Arch: arch, Model: m, Layout: layout})
}

// All lists the instances.
func (a *Archs) All() []ArchEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ArchEntry(nil), a.list...)
}

// Model returns the buffer model of arch, if any.
func (a *Archs) Model(arch voq.Arch) *buffer.Model {
	for _, e := range a.All() {
		if e.Arch == arch {
			return e.Model
		}
	}
	return nil
}
