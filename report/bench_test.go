package report

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/dpdkq/dpdkq/api"
)

// staticSource serves the same prebuilt snapshot every time, so a benchmark measures
// the recorder and not the fake's deep copies.
type staticSource struct {
	ports  []api.Port
	queues []api.Queue
}

func (s *staticSource) Status() api.Status                                         { return api.Status{} }
func (s *staticSource) Ports() []api.Port                                          { return s.ports }
func (s *staticSource) Queues() []api.Queue                                        { return s.queues }
func (s *staticSource) Buffer() api.Buffer                                         { return api.Buffer{} }
func (s *staticSource) Routes() []api.Route                                        { return nil }
func (s *staticSource) Neighbors() []api.Neighbor                                  { return nil }
func (s *staticSource) Config() any                                                { return nil }
func (s *staticSource) Apply(context.Context, api.Change) error                    { return nil }
func (s *staticSource) DestinationCount(netip.Addr) (uint64, bool)                 { return 0, true }
func (s *staticSource) QueuedBetween(_, _ time.Duration, _ int) []api.QueuedPacket { return nil }

// BenchmarkSample is one snapshot of 4 ports and 32 queues: the recorder's own cost
// per tick (a real Source adds its snapshot copies).
func BenchmarkSample(b *testing.B) {
	src := &staticSource{}
	hist := []api.SojournBucket{{Lo: 794_624, Le: 802_815, Count: 5}, {Lo: 3_178_496, Le: 3_211_263, Count: 2}}
	for i := range 4 {
		src.ports = append(src.ports, api.Port{Name: "p" + strconv.Itoa(i),
			Egress: api.QueueFigures{SojournBuckets: hist}})
	}
	for i := range 32 {
		src.queues = append(src.queues, api.Queue{Index: i, Port: "p" + strconv.Itoa(i%4), Class: i / 4,
			QueueFigures: api.QueueFigures{SojournBuckets: hist}})
	}
	r, err := NewRecorder(src, time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	r.maxRows = 36 * 1024 // downsampling (amortized over 512 ticks) is part of the cost
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.sampleAt(time.Duration(i) * time.Millisecond)
		r.stride = 1 // keep every tick, so each iteration takes a snapshot
	}
}

func TestRowSizesMatchTheMemoryBound(t *testing.T) {
	t.Parallel()
	// defaultMaxRows' comment promises at most 88 bytes a row.
	assert.Equal(t, uintptr(88), unsafe.Sizeof(portRow{}))
	assert.Equal(t, uintptr(64), unsafe.Sizeof(queueRow{}))
}
