package main

import (
	"fmt"
	"io"
	"time"

	"github.com/dpdkq/dpdkq/api"
)

// printLcores writes one line per worker lcore with its poll-loop stalls (iteration
// gaps longer than stall_threshold): while a loop stalls its ports are neither polled
// nor served, so counters freeze and queues grow for reasons outside the model. With
// prev (top), the stalls since the previous reading are shown too.
func printLcores(w io.Writer, st api.Status, prev *api.Status) {
	before := map[uint]uint64{}
	if prev != nil {
		for _, l := range prev.Workers {
			before[l.ID] = l.Stalls
		}
	}
	for _, l := range st.Workers {
		line := fmt.Sprintf("lcore %d: stalls %d", l.ID, l.Stalls)
		if prev != nil {
			line += fmt.Sprintf(" (+%d)", delta(l.Stalls, before[l.ID]))
		}
		if l.Stalls > 0 {
			line += fmt.Sprintf(", stalled %s, worst %s", fmtStall(l.Stalled), fmtStall(l.WorstStall))
			if n := len(l.RecentStalls); n > 0 {
				last := l.RecentStalls[n-1]
				line += fmt.Sprintf(", last %s at %s", fmtStall(last.Duration), last.Start.Truncate(time.Millisecond))
			}
		}
		fmt.Fprintf(w, "%s (over %s)\n", line, fmtStall(st.StallThreshold))
	}
}

func fmtStall(d time.Duration) string {
	if d >= time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
