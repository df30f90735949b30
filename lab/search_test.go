package lab

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSearchSmallestFindsThreshold: for every threshold in the range, the search
// returns it, never tries hi (already known to pass) and needs at most ⌈log2(range)⌉
// trials, each a pass exactly when at or above the threshold.
func TestSearchSmallestFindsThreshold(t *testing.T) {
	for _, hi := range []int{1, 2, 17, 453} {
		for th := 1; th <= hi; th++ {
			got, trials, err := SearchSmallest(1, hi, func(v int) (float64, bool, error) {
				require.NotEqual(t, hi, v, "hi is known to pass")
				require.GreaterOrEqual(t, v, 1)
				return float64(v), v >= th, nil
			})
			require.NoError(t, err)
			require.Equal(t, th, got, "hi %d threshold %d", hi, th)
			require.LessOrEqual(t, len(trials), int(math.Ceil(math.Log2(float64(hi)))), "hi %d", hi)
			for _, tr := range trials {
				require.Equal(t, tr.Value >= th, tr.Pass)
				require.Equal(t, float64(tr.Value), tr.Measured)
			}
		}
	}
}

func TestSearchSmallestStopsOnError(t *testing.T) {
	boom := errors.New("interrupted")
	n := 0
	got, trials, err := SearchSmallest(1, 100, func(v int) (float64, bool, error) {
		n++
		if n == 3 {
			return 0, false, boom
		}
		return 1, true, nil
	})
	require.ErrorIs(t, err, boom)
	require.Len(t, trials, 2)
	require.Equal(t, trials[1].Value, got, "the smallest value known to pass")
	_, _, err = SearchSmallest(5, 4, nil)
	require.Error(t, err)
}
