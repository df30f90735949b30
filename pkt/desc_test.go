package pkt

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestDescSizeAndNames(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(Desc{}), uintptr(40), "Desc must stay small: it is copied on every enqueue")
	seen := map[string]bool{}
	for r := DropReason(0); r < NumDropReasons; r++ {
		n := r.String()
		require.NotEmpty(t, n)
		require.False(t, seen[n], "duplicate name %q", n)
		seen[n] = true
	}
	require.Equal(t, "unknown", NumDropReasons.String())
}

// TestDescWordCopies: the word copies equal a struct assignment (and set Queue), which
// also pins the layout they assume.
func TestDescWordCopies(t *testing.T) {
	require.Equal(t, uintptr(40), unsafe.Sizeof(Desc{}))
	require.Equal(t, uintptr(32), unsafe.Offsetof(Desc{}.Queue))
	src := Desc{Mbuf: 0x1122334455667788, Enq: -5, Hash: 0xdeadbeef, Len: 1514, InPort: 3, OutPort: 0xfffe,
		Class: 7, ECN: 2, Flags: FlagMarkCE, Tier: 1, Queue: 0xa5a5a5a5, L3: 18}
	var a, b Desc
	src.CopyTo(&a)
	require.Equal(t, src, a)
	src.CopyToQueue(&b, 0x01020304)
	want := src
	want.Queue = 0x01020304
	require.Equal(t, want, b)
}

// TestDescSet: Set writes what field-by-field assignment writes (Flags, Tier and Queue
// zero), whatever the descriptor held before.
func TestDescSet(t *testing.T) {
	d := Desc{Mbuf: 1, Enq: 2, Hash: 3, Len: 4, InPort: 5, OutPort: 6, Class: 1, ECN: 1, Flags: FlagMarkCE,
		Tier: 1, Queue: 0xa5a5a5a5, L3: 99}
	d.Set(0x1122334455667788, -5, 0xdeadbeef, 1514, 0xfffe, 3, 7, 2, 18)
	require.Equal(t, Desc{Mbuf: 0x1122334455667788, Enq: -5, Hash: 0xdeadbeef, Len: 1514, InPort: 0xfffe,
		OutPort: 3, Class: 7, ECN: 2, L3: 18}, d)
}
