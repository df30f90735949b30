package buffer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/hybrid"
	"github.com/dpdkq/dpdkq/pkt"
)

// TestCopyOffchip: packets admitted off-chip are handed to the copier and carry the
// copy's handle; a failed copy refuses the packet and leaves no reservation behind.
func TestCopyOffchip(t *testing.T) {
	next := uintptr(1000)
	fail := false
	m, err := New(Config{Queues: 1, Hybrid: &hybrid.Params{Enabled: true, Mode: hybrid.ModeOffchipOnly,
		OnchipBytes: 1 << 20, OffchipBytes: 1 << 20, OffchipRate: 1e12},
		CopyOffchip: func(uintptr) uintptr {
			if fail {
				return 0
			}
			next++
			return next
		}})
	require.NoError(t, err)
	d := pkt.Desc{Mbuf: 7, Len: 100}
	require.Equal(t, pkt.DropNone, m.Admit(0, 0, &d))
	require.EqualValues(t, hybrid.Offchip, d.Tier)
	require.EqualValues(t, 1001, d.Mbuf, "the stored packet is the copy")
	fail = true
	e := pkt.Desc{Mbuf: 8, Len: 100}
	require.Equal(t, pkt.DropNoMbuf, m.Admit(0, 0, &e))
	require.EqualValues(t, 8, e.Mbuf, "a refused packet keeps its own mbuf")
	m.Release(0, 0, &d, true)
	m.Publish()
	var s hybrid.Snapshot
	m.Hybrid().Snapshot(&s)
	require.Zero(t, s.Packets[hybrid.Offchip], "nothing left reserved")
}
