package dataplane

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLPMTableMatchesDPDK compares the Go lookup with rte_lpm_lookup on a table with
// routes of every depth (deeper than 24 bits go through tbl8 groups), before and after
// deletions, for random addresses and addresses at every route's edges.
func TestLPMTableMatchesDPDK(t *testing.T) {
	l, err := lpmCreate(fmt.Sprintf("lpmtest%d", rand.IntN(1<<30)), 4096, 256)
	require.NoError(t, err)
	defer lpmFree(l)
	var tab lpmTable
	tab.tbl24, tab.tbl8 = lpmTables(l)
	rng := rand.New(rand.NewPCG(3, 4))
	type route struct {
		ip    uint32
		depth uint8
	}
	var routes []route
	seen := map[route]bool{}
	for i := 0; len(routes) < 600; i++ {
		depth := uint8(1 + rng.IntN(32))
		ip := rng.Uint32() & ^uint32(0) << (32 - depth)
		if i%3 == 0 {
			ip = 0x0A000000 | rng.Uint32()&0xFFFF&(^uint32(0)<<(32-depth)) // nest some under 10/8
			depth = max(depth, 8)
		}
		if seen[route{ip, depth}] {
			continue
		}
		seen[route{ip, depth}] = true
		require.NoError(t, lpmAdd(l, ip, depth, uint32(i+1)))
		routes = append(routes, route{ip, depth})
	}
	check := func() {
		hits, ext := 0, 0
		probe := func(ip uint32) {
			want, got := lpmLookupC(l, ip), tab.lookup(ip)
			if want&lpmHit == 0 {
				require.Zero(t, got&lpmHit, "ip %#x: DPDK misses, Go hits %#x", ip, got)
				return
			}
			hits++
			require.Equal(t, want, got&(lpmHit|lpmHopMask), "ip %#x", ip)
		}
		for range 20000 {
			probe(rng.Uint32())
		}
		for _, r := range routes {
			span := uint32(1)<<(32-r.depth) - 1
			if r.depth == 0 {
				span = ^uint32(0)
			}
			probe(r.ip)
			probe(r.ip + span)
			probe(r.ip - 1)
			probe(r.ip + span + 1)
			if r.depth > 24 {
				ext++
			}
		}
		require.Greater(t, hits, 1000)
		require.Positive(t, ext)
	}
	check()
	for i, r := range routes {
		if i%2 == 0 {
			require.NoError(t, lpmDelete(l, r.ip, r.depth))
		}
	}
	check()
}
