package dataplane

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/pkt"
)

// TestPortCountersAreWords pins what counterWords relies on: PortCounters is exactly
// countersPerPort uint64 words, so a publication round-trips every field.
func TestPortCountersAreWords(t *testing.T) {
	require.Equal(t, uintptr(countersPerPort*8), unsafe.Sizeof(PortCounters{}))
	src := make([]PortCounters, 3)
	for i := range src {
		c := &src[i]
		c.RxPackets, c.RxBytes, c.TxPackets, c.TxBytes, c.Fwd = 1, 2, 3, 4, uint64(5+i)
		c.Generated, c.GenFailed, c.Marks, c.Local, c.TxHeld = 6, 7, 8, 9, 10
		c.Drops[pkt.DropHandoff] = uint64(100 + i)
	}
	p := newPublished(3)
	p.store(src)
	got := make([]PortCounters, 3)
	p.load(got)
	require.Equal(t, src, got)
	p.load(got) // load adds
	require.Equal(t, 2*src[2].Fwd, got[2].Fwd)
}
