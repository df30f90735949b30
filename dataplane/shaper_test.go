package dataplane

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/pkt"
)

func TestShaperRateWithManualClock(t *testing.T) {
	// 62.5 Mb/s = 7.8125 bytes/µs. Keep a 1500-byte queue backlogged for one simulated
	// second, polling every 1 µs like the loop does, and count what leaves.
	const rate = 62.5e6
	s := NewShaper(rate, 3076, 24)
	var now int64
	sentBytes := 0
	for now = 0; now <= 1e9; now += 1000 {
		b := s.Budget(now)
		for b > 0 {
			s.Charge(1500, 1)
			sentBytes += 1524
			b -= 1500
		}
	}
	want := rate / 8 // bytes in one second, plus at most the initial bucket and one frame
	require.InDelta(t, want, float64(sentBytes), 3076+1524)
}

func TestShaperBucketAndDebt(t *testing.T) {
	s := NewShaper(8e9, 1000, 0) // 1 byte per ns
	require.Equal(t, 1001, s.Budget(0), "starts full")
	s.Charge(1500, 1) // overshoot: 500 bytes of debt
	require.Equal(t, 0, s.Budget(0))
	require.Equal(t, int64(501), s.NextReady(0))
	require.Equal(t, 0, s.Budget(500), "debt repaid exactly at 500 ns")
	require.Greater(t, s.Budget(600), 0)
	require.Equal(t, 1001, s.Budget(1e9), "refill is capped at the depth")

	u := NewShaper(0, 0, 24)
	require.True(t, u.Unshaped())
	u.Charge(1e9, 1000)
	require.Equal(t, unlimited, u.Budget(0))

	// A live rate change keeps the balance (clamped to the new depth).
	s.Set(8e8, 100, 0)
	require.Equal(t, 101, s.Budget(1e9))
}

type countSink struct{ n [pkt.NumDropReasons]int }

func (c *countSink) Drop(_ *pkt.Desc, r pkt.DropReason) { c.n[r]++ }

func TestDelayLine(t *testing.T) {
	l := NewDelayLine(10e6, 3) // 10 ms
	out := make([]pkt.Desc, 8)
	for i := 0; i < 3; i++ {
		require.True(t, l.Push(int64(i)*1e6, &pkt.Desc{Len: uint32(100 + i)}))
	}
	require.False(t, l.Push(5e6, &pkt.Desc{}), "full")
	require.Equal(t, 0, l.Pop(10e6-1, out), "nothing due before 10 ms")
	require.Equal(t, 1, l.Pop(10e6, out))
	require.Equal(t, uint32(100), out[0].Len)
	due, ok := l.NextDue()
	require.True(t, ok)
	require.Equal(t, int64(11e6), due)
	require.Equal(t, 2, l.Pop(20e6, out))
	require.Equal(t, []uint32{101, 102}, []uint32{out[0].Len, out[1].Len}, "FIFO order")
	// Wrap-around and drain.
	for i := 0; i < 3; i++ {
		require.True(t, l.Push(30e6, &pkt.Desc{}))
	}
	var sink countSink
	require.Equal(t, 3, l.Drain(&sink, pkt.DropShutdown))
	require.Equal(t, 3, sink.n[pkt.DropShutdown])
	require.Equal(t, 0, l.Len())
	// A shorter delay never lets a later packet overtake an earlier one.
	l.SetDelay(1e6)
	require.True(t, l.Push(0, &pkt.Desc{Len: 1}))
	l.SetDelay(0)
	require.True(t, l.Push(0, &pkt.Desc{Len: 2}))
	require.Equal(t, 0, l.Pop(0, out), "head is not due, so the second waits too")
	require.Equal(t, 2, l.Pop(1e6, out))
}

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

func TestShaperCatchUpAfterStall(t *testing.T) {
	// 8 Gb/s = 1 byte/ns, depth 1000 B. A backlogged port that was not served for
	// 5000 ns recovers the missed link time; an idle one only refills its depth.
	s := NewShaper(8e9, 1000, 0)
	s.Budget(0)
	s.Charge(1000, 1)
	s.SetBusy(true)
	require.Equal(t, 5001, s.Budget(5000), "backlogged: 5000 ns of link time banked")
	s.Charge(5000, 5)
	s.SetBusy(true)
	require.Equal(t, int(DefaultCatchUp)+1, s.Budget(1e9), "bank bounded by the catch-up window")
	s.Charge(int(DefaultCatchUp), 1)
	s.SetBusy(false)
	require.Equal(t, 1001, s.Budget(2e9), "idle: only the depth")
}
