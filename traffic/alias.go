package traffic

import "math/bits"

// alias is a Walker/Vose alias table: O(1) draws from a discrete distribution with
// one 64-bit random word per draw.
type alias struct {
	thresh []uint64 // keep column i when the low word is below thresh[i]
	alt    []int32  // otherwise take alt[i]
}

// newAlias builds the table for weights w (>= 0, sum > 0).
func newAlias(w []float64) alias {
	n := len(w)
	a := alias{thresh: make([]uint64, n), alt: make([]int32, n)}
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	prob := make([]float64, n)
	var small, large []int
	for i, x := range w {
		prob[i] = x * float64(n) / sum
		if prob[i] < 1 {
			small = append(small, i)
		} else {
			large = append(large, i)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.setThresh(s, prob[s])
		a.alt[s] = int32(l)
		prob[l] -= 1 - prob[s]
		if prob[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What is left has probability 1 up to rounding.
	for _, i := range append(small, large...) {
		a.thresh[i] = ^uint64(0)
		a.alt[i] = int32(i)
	}
	return a
}

func (a *alias) setThresh(i int, p float64) {
	if p >= 1 {
		a.thresh[i] = ^uint64(0)
		return
	}
	a.thresh[i] = uint64(p * (1 << 63) * 2)
}

// pick maps one uniform 64-bit word to an index: the high word of u × n selects the
// column, the low word decides between the column and its alias.
func (a *alias) pick(u uint64) int {
	hi, lo := bits.Mul64(u, uint64(len(a.thresh)))
	if lo < a.thresh[hi] {
		return int(hi)
	}
	return int(a.alt[hi])
}
