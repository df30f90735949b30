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
