package lab

import (
	"math"
	"slices"
)

// Median is the middle of xs (the mean of the two middle values for an even count);
// NaN for no values. xs is not modified.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// Quantile is the exact q-quantile (0 <= q <= 1) of the raw values xs, interpolated
// linearly between order statistics (Hyndman and Fan's type 7, the default of R and
// NumPy): no histogram, no bucket error. NaN for no values. xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return sortedQuantile(s, q)
}

func sortedQuantile(s []float64, q float64) float64 {
	q = min(max(q, 0), 1)
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (h-float64(lo))*(s[hi]-s[lo])
}

// IQR is the interquartile range Q3 - Q1 of xs (type-7 quartiles); NaN for no values.
func IQR(xs []float64) float64 { return Quantile(xs, 0.75) - Quantile(xs, 0.25) }

// Jain is Jain's fairness index (Σx)² / (n·Σx²) of the per-flow throughputs xs: 1 when
// all are equal, 1/n when one flow has everything. NaN for no values or all zero.
func Jain(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	if len(xs) == 0 || sq == 0 {
		return math.NaN()
	}
	return sum * sum / (float64(len(xs)) * sq)
}

// Mean is the arithmetic mean of xs; NaN for no values.
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Summary is the median and IQR of repeated measurements of one figure, with every
// value kept.
type Summary struct {
	Median float64   `json:"median"`
	IQR    float64   `json:"iqr"`
	Values []float64 `json:"values"`
}

// Summarize returns the median and IQR of xs (NaN values are left out).
func Summarize(xs []float64) Summary {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	return Summary{Median: Median(v), IQR: IQR(v), Values: v}
}
