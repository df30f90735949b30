package report

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/api/apitest"
)

// TestStallsInReport: the Sample's lcore has 2 stalls before the first snapshot; the
// fake adds one of 12 ms at the 6th snapshot. ports.csv flags exactly those
// intervals, stalls.csv lists the three stalls, and the plots get a marker at each.
func TestStallsInReport(t *testing.T) {
	t.Parallel()
	f := newFake()
	snap := 0
	next := f.OnStatus
	f.OnStatus = func(s *apitest.State) {
		next(s)
		snap++
		if snap == 6 {
			l := &s.Status.Workers[0]
			l.Stalls++
			l.Stalled += 12 * time.Millisecond
			l.RecentStalls = append(append([]api.Stall(nil), l.RecentStalls...), api.Stall{Start: s.Status.Uptime - 12*time.Millisecond, Duration: 12 * time.Millisecond})
		}
	}
	r := newRecorder(t, f)
	for i := range 10 {
		r.sampleAt(time.Duration(i) * step)
	}
	dir := t.TempDir()
	require.NoError(t, r.Write(dir, nil))
	checkPNGs(t, dir)

	tb := readCSV(t, filepath.Join(dir, "ports.csv"))
	for _, port := range []string{"p0", "p1"} {
		rows := tb.rowsOf(t, "port", port)
		require.Len(t, rows, 10)
		for k, row := range rows {
			want := "0"
			switch k {
			case 0:
				want = "2" // the stalls before the first sample
			case 5:
				want = "1"
			}
			assert.Equal(t, want, tb.get(t, row, "loop_stalls"), "%s sample %d", port, k)
		}
	}

	st := readCSV(t, filepath.Join(dir, "stalls.csv"))
	assert.Equal(t, []string{"time_s", "lcore", "start_s", "duration_ms"}, st.header)
	require.Len(t, st.rows, 3, "two from the start, one added; none twice")
	assert.Equal(t, []string{"1", "10", "5"}, st.rows[0][1:])
	assert.Equal(t, "12", st.get(t, 2, "duration_ms"))
	// The fake's uptime is 90 s + 5 ms per snapshot while the recorder's time is 5 ms
	// per sample from 0: the 6th snapshot (sample 5, at 25 ms) has uptime 90.030 s, so
	// the 12 ms stall began at 90.018 s, 13 ms into the recorder's time.
	marks := r.stallMarks()
	require.Len(t, marks, 3)
	assert.InDelta(t, 0.013, marks[2], 1e-9)
	assert.InDelta(t, 0.013, st.float(t, 2, "time_s"), 1e-9)
}
