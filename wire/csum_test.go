package wire

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/internal/testpkt"
)

// TestChecksumMatchesReferences compares the fast 64-bit-word sum with the plain
// 16-bit reference in testpkt and with gopacket's RFC 1071 code, over every length
// 0..130 (all tail sizes and parities) and random long buffers, including all-0xFF
// data that maximizes carries.
func TestChecksumMatchesReferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(b []byte) {
		t.Helper()
		want := testpkt.InetChecksum(b)
		require.Equal(t, want, Checksum(b), "len %d data %x", len(b), b)
		require.Equal(t, gopacket.FoldChecksum(gopacket.ComputeChecksum(b, 0)), Checksum(b), "len %d", len(b))
	}
	for n := 0; n <= 130; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		check(b)
		for i := range b {
			b[i] = 0xff
		}
		check(b)
	}
	for range 200 {
		b := make([]byte, rng.IntN(9000))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		check(b)
	}
}

// TestOnesSumPieces checks that summing a buffer in two parts split at an even
// offset equals summing it whole (the property the ICMP builders rely on).
func TestOnesSumPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		cut := rng.IntN(len(b)/2+1) * 2
		assert.Equal(t, fold(onesSum(b, 0)), fold(onesSum(b[cut:], onesSum(b[:cut], 0))))
	}
	// An accumulator close to overflow keeps its carry.
	assert.Equal(t, fold(onesSum([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ^uint64(0)-1)),
		fold(onesSum([]byte{0xff, 0xff}, ^uint64(0)-1)))
}

// TestHeaderChecksumOK checks acceptance of correct headers, both encodings of a zero
// checksum, and rejection of any single-bit corruption.
func TestHeaderChecksumOK(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		h := randomHeader(rng, 5+rng.IntN(11))
		require.True(t, HeaderChecksumOK(h), "%x", h)
		bit := rng.IntN(len(h) * 8)
		h[bit/8] ^= 1 << (bit % 8)
		require.False(t, HeaderChecksumOK(h), "flipped bit %d of %x", bit, h)
	}

	// A header whose correct checksum is 0x0000 also verifies when it carries 0xFFFF.
	h := headerWithChecksum(rng, 0x0000)
	require.True(t, HeaderChecksumOK(h))
	binary.BigEndian.PutUint16(h[10:], 0xffff)
	require.True(t, HeaderChecksumOK(h))
	binary.BigEndian.PutUint16(h[10:], 0xfffe)
	require.False(t, HeaderChecksumOK(h))
}

func TestSetHeaderChecksum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	h := randomHeader(rng, 7)
	want := binary.BigEndian.Uint16(h[10:])
	h[10], h[11] = 0x12, 0x34
	SetHeaderChecksum(h)
	assert.Equal(t, want, binary.BigEndian.Uint16(h[10:]))
	assert.NotPanics(t, func() { SetHeaderChecksum(h[:19]) })
}

// TestCsumUpdate16 checks RFC 1624 eqn. 3 against full recomputation for random data
// and random word edits at random positions.
func TestCsumUpdate16(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 20000 {
		b := make([]byte, 2*(1+rng.IntN(30)))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		hc := testpkt.InetChecksum(b)
		pos := 2 * rng.IntN(len(b)/2)
		old := binary.BigEndian.Uint16(b[pos:])
		nw := uint16(rng.Uint32())
		if rng.IntN(8) == 0 {
			nw = 0 // words that become zero are the interesting case for -0
		}
		binary.BigEndian.PutUint16(b[pos:], nw)
		got := csumUpdate16(hc, old, nw)
		want := testpkt.InetChecksum(b)
		if allZero(b) {
			// The plain sum of all-zero data is +0, whose checksum is 0xFFFF; eqn. 3
			// gives 0x0000. Both encode zero; IPv4 headers are never all zero.
			require.Contains(t, []uint16{0, 0xffff}, got)
			continue
		}
		require.Equal(t, want, got, "data %x pos %d old %#x new %#x hc %#x", b, pos, old, nw, hc)
	}
}

// randomHeader returns an IPv4 header of ihl words with random fields, random option
// bytes and a correct checksum (computed by testpkt's reference).
func randomHeader(rng *rand.Rand, ihl int) []byte {
	h := make([]byte, ihl*4)
	for i := range h {
		h[i] = byte(rng.Uint32())
	}
	h[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(h[2:], uint16(ihl*4+rng.IntN(1400)))
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], testpkt.InetChecksum(h))
	return h
}

// headerWithChecksum returns a random 20-byte header whose correct checksum is want,
// by searching the identification field.
func headerWithChecksum(rng *rand.Rand, want uint16) []byte {
	h := randomHeader(rng, 5)
	for id := range 1 << 16 {
		binary.BigEndian.PutUint16(h[4:], uint16(id))
		h[10], h[11] = 0, 0
		if c := testpkt.InetChecksum(h); c == want {
			binary.BigEndian.PutUint16(h[10:], c)
			return h
		}
	}
	panic("no identification gives the wanted checksum")
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
