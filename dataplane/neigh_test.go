package dataplane

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNeighborTable(t *testing.T) {
	var n neighTable
	_, ok := n.lookup(0x0a000002)
	require.False(t, ok)
	require.True(t, n.shouldRequest(0x0a000002, 1000, arpInterval))
	require.False(t, n.shouldRequest(0x0a000002, 2000, arpInterval), "rate limited")
	_, ok = n.lookup(0x0a000002)
	require.False(t, ok, "a pending entry is not resolved")
	require.True(t, n.shouldRequest(0x0a000002, 1000+arpInterval, arpInterval))
	mac := [6]byte{2, 0, 0, 0, 0, 9}
	require.True(t, n.learn(0x0a000002, mac, false))
	got, ok := n.lookup(0x0a000002)
	require.True(t, ok)
	require.Equal(t, mac, got)
	// Static entries are not overwritten by learning.
	st := [6]byte{2, 0, 0, 0, 0, 7}
	n.learn(0x0a000003, st, true)
	n.learn(0x0a000003, mac, false)
	got, _ = n.lookup(0x0a000003)
	require.Equal(t, st, got)
	// Many colliding inserts stay retrievable; a full table refuses.
	var full neighTable
	for i := uint32(1); i <= neighSlots; i++ {
		require.True(t, full.learn(i, u64ToMAC(uint64(i)), false))
	}
	require.False(t, full.learn(neighSlots+1, mac, false))
	for i := uint32(1); i <= neighSlots; i += 97 {
		got, ok := full.lookup(i)
		require.True(t, ok)
		require.Equal(t, u64ToMAC(uint64(i)), got)
	}
	require.Len(t, full.snapshot(), neighSlots)
}
