package apitest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
)

func TestFakeReturnsCopies(t *testing.T) {
	f := New(Sample())
	p := f.Ports()
	p[0].Drops["no_route"] = 999
	p[0].Name = "changed"
	q := f.Queues()
	q[0].SojournBuckets[0].Count = 999
	again := f.Ports()
	assert.Equal(t, "p0", again[0].Name)
	assert.Equal(t, uint64(4), again[0].Drops["no_route"])
	assert.Equal(t, uint64(5), f.Queues()[0].SojournBuckets[0].Count)
}

func TestFakeUpdateOnStatusApply(t *testing.T) {
	f := New(Sample())
	f.Update(func(s *State) { s.Ports[0].RxPackets = 7 })
	assert.Equal(t, uint64(7), f.Ports()[0].RxPackets)

	f.OnStatus = func(s *State) { s.Status.Uptime += time.Second }
	assert.Equal(t, 91*time.Second, f.Status().Uptime)
	assert.Equal(t, 92*time.Second, f.Status().Uptime)

	require.NoError(t, f.Apply(context.Background(), api.Change{Kind: "port_rate", Port: "p1", Rate: "1Mbps"}))
	f.ApplyFunc = func(context.Context, api.Change) error { return ChangeError("k", "v", "no") }
	err := f.Apply(context.Background(), api.Change{Kind: "port_rate"})
	assert.EqualError(t, err, `k = "v": no`)
	require.Len(t, f.Applied(), 1, "refused changes are not recorded")
	assert.Equal(t, "1Mbps", f.Applied()[0].Rate)
}

func TestFakeDestinationsAndQueued(t *testing.T) {
	f := New(Sample())
	n, other := f.DestinationCount(netip.MustParseAddr("10.2.0.7"))
	assert.Equal(t, uint64(42), n)
	assert.False(t, other)
	n, other = f.DestinationCount(netip.MustParseAddr("10.2.0.8"))
	assert.Equal(t, uint64(17), n)
	assert.True(t, other)

	got := f.QueuedBetween(10*time.Millisecond, 2*time.Second, 10)
	require.Len(t, got, 1)
	assert.Equal(t, "offchip", got[0].Tier)
	assert.Len(t, f.QueuedBetween(0, time.Hour, 2), 2, "max bounds the sample")
	from, to, max := f.LastQueuedCall()
	assert.Equal(t, []any{time.Duration(0), time.Hour, 2}, []any{from, to, max})
}
