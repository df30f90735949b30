package lab

import "fmt"

// Trial is one step of a search: the value tried, the figure measured there and
// whether it met the goal.
type Trial struct {
	Value    int     `json:"value"`
	Measured float64 `json:"measured"`
	Pass     bool    `json:"pass"`
}

// SearchSmallest finds the smallest v in [lo, hi] for which trial passes, assuming
// passing is monotone in v (every value above a passing one passes) and hi passes
// (the caller has checked it, e.g. by calibrating there). Each step tries the middle
// of the open range: a pass moves the upper bound down to it, a fail moves the lower
// bound up past it. It returns the answer and every trial in order; an error from
// trial ends the search with the trials so far (the answer is then the smallest value
// known to pass, hi at worst).
func SearchSmallest(lo, hi int, trial func(v int) (measured float64, pass bool, err error)) (int, []Trial, error) {
	if lo > hi {
		return 0, nil, fmt.Errorf("search range [%d, %d] is empty", lo, hi)
	}
	var trials []Trial
	for lo < hi {
		mid := lo + (hi-lo)/2
		m, pass, err := trial(mid)
		if err != nil {
			return hi, trials, err
		}
		trials = append(trials, Trial{Value: mid, Measured: m, Pass: pass})
		if pass {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi, trials, nil
}
