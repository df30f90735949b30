package wire

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// chiSquare returns the chi-square statistic of counts against a uniform spread.
func chiSquare(counts []int, total int) float64 {
	exp := float64(total) / float64(len(counts))
	var x float64
	for _, c := range counts {
		d := float64(c) - exp
		x += d * d / exp
	}
	return x
}

// TestFlowHashSpread hashes structured 5-tuple sets (the hard case: tuples that
// differ in a few low bits, as real traffic does) into 1024 buckets, the FQ-CoDel
// default, and requires a chi-square statistic consistent with a uniform spread:
// for 1023 degrees of freedom the mean is 1023 and the standard deviation ~45, so
// 1023 + 6 sigma (~1300) fails only a broken hash.
func TestFlowHashSpread(t *testing.T) {
	const buckets = 1024
	const limit = 1023 + 6*45.2
	sets := map[string]func(i int) (uint32, uint32, uint16, uint16, uint8){
		"sequential_sport": func(i int) (uint32, uint32, uint16, uint16, uint8) {
			return 0x0A000002, 0x0A02000A, uint16(i), 5001, ProtoUDP
		},
		"sequential_src": func(i int) (uint32, uint32, uint16, uint16, uint8) {
			return 0x0A000000 + uint32(i), 0x0A02000A, 40000, 443, ProtoTCP
		},
		"src_dst_grid": func(i int) (uint32, uint32, uint16, uint16, uint8) {
			return 0x0A000000 + uint32(i%256), 0x0A020000 + uint32(i/256), 1234, 80, ProtoTCP
		},
		"dport_and_proto": func(i int) (uint32, uint32, uint16, uint16, uint8) {
			return 0x0A000002, 0x0A02000A, 1000, uint16(i / 2), uint8(6 + 11*(i%2))
		},
	}
	const n = 65536
	for name, gen := range sets {
		counts := make([]int, buckets)
		for i := range n {
			counts[FlowHash(gen(i))%buckets]++
		}
		x := chiSquare(counts, n)
		assert.Less(t, x, limit, "%s: chi-square %.0f over %d buckets", name, x, buckets)
	}
	// A constant hash (the failure the test exists to catch) is far above the limit.
	counts := make([]int, buckets)
	counts[0] = n
	assert.Greater(t, chiSquare(counts, n), limit)
}

// TestFlowHashAvalanche flips each input bit of random 5-tuples and requires about
// half of the 32 output bits to change on average.
func TestFlowHashAvalanche(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const trials = 2000
	for bit := range 104 { // 32+32+16+16+8 input bits
		total := 0
		for range trials {
			s, d, sp, dp, pr := rng.Uint32(), rng.Uint32(), uint16(rng.Uint32()), uint16(rng.Uint32()), uint8(rng.Uint32())
			h := FlowHash(s, d, sp, dp, pr)
			switch {
			case bit < 32:
				s ^= 1 << bit
			case bit < 64:
				d ^= 1 << (bit - 32)
			case bit < 80:
				sp ^= 1 << (bit - 64)
			case bit < 96:
				dp ^= 1 << (bit - 80)
			default:
				pr ^= 1 << (bit - 96)
			}
			total += bits.OnesCount32(h ^ FlowHash(s, d, sp, dp, pr))
		}
		mean := float64(total) / trials
		assert.InDelta(t, 16, mean, 1, "input bit %d flips %.2f output bits on average", bit, mean)
	}
}

func TestFlowHashDistinguishes(t *testing.T) {
	base := FlowHash(0x0A000002, 0x0A02000A, 1234, 80, ProtoTCP)
	assert.Equal(t, base, FlowHash(0x0A000002, 0x0A02000A, 1234, 80, ProtoTCP), "deterministic")
	assert.NotEqual(t, base, FlowHash(0x0A000002, 0x0A02000A, 1234, 80, ProtoUDP))
	assert.NotEqual(t, base, FlowHash(0x0A000002, 0x0A02000A, 1235, 80, ProtoTCP))
	assert.NotEqual(t, base, FlowHash(0x0A02000A, 0x0A000002, 80, 1234, ProtoTCP), "not symmetric")
}

// TestHash32Spreads: the 4096 hosts of a /20 fill at least 90% of a 4096-slot table's
// top-12-bit indexes, and no slot gets more than 3 of them.
func TestHash32Spreads(t *testing.T) {
	var slots [4096]int
	for ip := uint32(0x0a020000); ip < 0x0a021000; ip++ {
		slots[Hash32(ip)>>20]++
	}
	used, most := 0, 0
	for _, n := range slots {
		if n > 0 {
			used++
		}
		most = max(most, n)
	}
	if used < 4096*9/10 || most > 3 {
		t.Fatalf("used %d of 4096 slots, most %d in one", used, most)
	}
}
