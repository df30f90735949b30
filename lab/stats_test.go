package lab

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQuantileExact(t *testing.T) {
	require.True(t, math.IsNaN(Quantile(nil, 0.5)))
	require.Equal(t, 7.0, Quantile([]float64{7}, 0.99))
	require.Equal(t, 2.5, Median([]float64{4, 1, 3, 2}))
	require.Equal(t, 3.0, Median([]float64{5, 1, 3}))
	var h []float64
	for i := 100; i >= 1; i-- {
		h = append(h, float64(i))
	}
	// Type 7: h = q·(n-1); 0.99·99 = 98.01 -> between the 99th and 100th values.
	require.InDelta(t, 99.01, Quantile(h, 0.99), 1e-9)
	require.Equal(t, 1.0, Quantile(h, 0))
	require.Equal(t, 100.0, Quantile(h, 1))
	require.Equal(t, 100.0, h[0], "the input is not reordered")
	// A value between two log2 buckets is reported exactly.
	require.InDelta(t, 3.3, Quantile([]float64{3.3, 3.3, 3.3, 1000}, 0.5), 1e-12)
}

func TestIQRAndSummary(t *testing.T) {
	require.Equal(t, 4.0, IQR([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9})) // Q1 3, Q3 7
	s := Summarize([]float64{3, math.NaN(), 1, 2})
	require.Equal(t, 2.0, s.Median)
	require.Equal(t, 1.0, s.IQR)
	require.Len(t, s.Values, 3, "NaN (not measured) is left out")
}

func TestJain(t *testing.T) {
	require.InDelta(t, 1, Jain([]float64{5, 5, 5, 5}), 1e-12)
	require.InDelta(t, 0.25, Jain([]float64{8, 0, 0, 0}), 1e-12)
	require.InDelta(t, 36.0/42, Jain([]float64{1, 2, 3}), 1e-12)
	require.True(t, math.IsNaN(Jain(nil)))
	require.True(t, math.IsNaN(Jain([]float64{0, 0})))
}
