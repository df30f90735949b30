package dataplane_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/control"
	"github.com/dpdkq/dpdkq/dataplane"
)

// TestStallDetected pauses the running worker for 30 ms through its control mailbox
// (a live change that sleeps on the lcore) and finds that stall in the published
// counters and in the API's lcore view. The threshold is 20 ms so that the ordinary
// scheduling noise of a shared machine is not counted beside it.
func TestStallDetected(t *testing.T) {
	cfg := baseConfig(t, "net_null0,no-rx=1", "net_null1,no-rx=1")
	cfg.StallThreshold = 20 * time.Millisecond
	r, err := dataplane.Start(cfg, nil)
	require.NoError(t, err)
	defer r.Stop()
	require.Equal(t, 20*time.Millisecond, r.StallThreshold())
	time.Sleep(50 * time.Millisecond)
	before := r.Stalls()
	require.Len(t, before, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.DoEgress(ctx, 1, func(dataplane.Egress) error {
		time.Sleep(30 * time.Millisecond)
		return nil
	}))
	var after []dataplane.LcoreStalls
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if after = r.Stalls(); after[0].Count > before[0].Count {
			break
		}
	}
	require.Greater(t, after[0].Count, before[0].Count, "the pause is counted")
	var long []dataplane.Stall
	for _, x := range after[0].Recent[len(after[0].Recent)-int(min(after[0].Count-before[0].Count, dataplane.StallRing)):] {
		if x.Duration >= 25*time.Millisecond {
			long = append(long, x)
		}
	}
	require.Len(t, long, 1, "exactly one stall of the pause's length: %+v", after[0])
	assert.Less(t, long[0].Duration, time.Second)
	assert.GreaterOrEqual(t, after[0].Worst, long[0].Duration)
	assert.GreaterOrEqual(t, after[0].Total-before[0].Total, long[0].Duration)

	st := control.New(r, nil, "test", "test").Status()
	require.Len(t, st.Workers, 1)
	assert.Equal(t, after[0].Count, st.Workers[0].Stalls)
	assert.Equal(t, after[0].Worst, st.Workers[0].WorstStall)
	assert.Contains(t, st.Workers[0].RecentStalls, api.Stall{Start: long[0].Start, Duration: long[0].Duration})
	assert.Equal(t, 20*time.Millisecond, st.StallThreshold)
}

// TestCatchUpWiring: a port's CatchUp reaches its shaper at start, a live change
// replaces it on the owner lcore, and a later rate change keeps it.
func TestCatchUpWiring(t *testing.T) {
	cfg := baseConfig(t, "net_null0,no-rx=1", "net_null1,no-rx=1")
	cfg.Ports[1].RateBps = 10e6
	cfg.Ports[1].Overhead = 24
	cfg.Ports[1].CatchUp = 5 * time.Millisecond
	r, err := dataplane.Start(cfg, nil)
	require.NoError(t, err)
	defer r.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shaperCatchUp := func() int64 {
		var ns int64
		require.NoError(t, r.DoEgress(ctx, 1, func(e dataplane.Egress) error {
			ns = e.Shaper.CatchUp()
			return nil
		}))
		return ns
	}
	assert.Equal(t, int64(5e6), shaperCatchUp())
	assert.Equal(t, 5*time.Millisecond, r.PortCatchUp(1))
	assert.Zero(t, r.PortCatchUp(0))

	require.NoError(t, r.SetPortCatchUp(ctx, 1, 20*time.Millisecond))
	assert.Equal(t, int64(20e6), shaperCatchUp())
	assert.Equal(t, 20*time.Millisecond, r.PortCatchUp(1))
	require.NoError(t, r.SetPortRate(ctx, 1, 40e6, 0))
	assert.Equal(t, int64(20e6), shaperCatchUp(), "a rate change keeps the window")
	assert.Equal(t, 20*time.Millisecond, r.PortCatchUp(1))
	rate, _ := r.PortRate(1)
	assert.Equal(t, 40e6, rate)
	require.NoError(t, r.SetPortCatchUp(ctx, 1, 0))
	assert.Zero(t, shaperCatchUp())
	assert.Zero(t, r.PortCatchUp(1))
}
