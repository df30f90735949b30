package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dpdkq/dpdkq/dataplane"
)

// TestSummaryStalls: the exit summary has a line per worker lcore, saying whether its
// poll loop stalled and by how much.
func TestSummaryStalls(t *testing.T) {
	s := &dataplane.Summary{StallThreshold: time.Millisecond, Stalls: []dataplane.LcoreStalls{
		{Lcore: 1},
		{Lcore: 2, StallStats: dataplane.StallStats{Count: 3, Total: 45 * time.Millisecond, Worst: 30 * time.Millisecond}},
	}}
	var b bytes.Buffer
	printStalls(&b, s)
	assert.Equal(t, "lcore 1: no poll-loop stall over 1ms\n"+
		"lcore 2: 3 poll-loop stalls over 1ms, 45ms in total, worst 30ms: its ports were not served meanwhile\n", b.String())
}
