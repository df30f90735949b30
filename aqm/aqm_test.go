package aqm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{
		"none": KindNone, "taildrop": KindNone, "RED": KindRED, "wred": KindRED,
		"codel": KindCoDel, " CoDel ": KindCoDel, "pie": KindPIE,
	} {
		k, err := ParseKind(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, k, in)
	}
	_, err := ParseKind("fq_codel")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `kind = "fq_codel", want none, taildrop, red, wred, codel or pie`)

	var k Kind
	require.NoError(t, k.UnmarshalText([]byte("pie")))
	assert.Equal(t, KindPIE, k)
	b, err := KindCoDel.MarshalText()
	require.NoError(t, err)
	assert.Equal(t, "codel", string(b))
	assert.Error(t, k.UnmarshalText([]byte("blue")))
}

// redSpec is a valid RED spec used by several tests.
var redSpec = Spec{Kind: KindRED, RED: REDParams{TxTime: time.Microsecond,
	Profiles: []REDProfile{{MinTh: 10, MaxTh: 30}}}}

func TestSpecNew(t *testing.T) {
	for _, s := range []Spec{redSpec, {Kind: KindCoDel}, {Kind: KindPIE}} {
		require.NoError(t, s.Validate(), s.Kind)
		p, err := s.New(7)
		require.NoError(t, err, s.Kind)
		assert.Equal(t, s.Kind, p.Snapshot().Kind)
	}
	// Only the params of the chosen kind matter.
	s := Spec{Kind: KindCoDel, PIE: PIEParams{Alpha: -1}}
	assert.NoError(t, s.Validate())

	for _, tc := range []struct {
		s    Spec
		want string
	}{
		{Spec{Kind: KindRED}, "red.profiles has 0 entries"},
		{Spec{Kind: KindCoDel, CoDel: CoDelParams{MTU: 1}}, "codel.mtu = 1 bytes"},
		{Spec{Kind: KindPIE, PIE: PIEParams{Alpha: -1}}, "pie.alpha = -1"},
		{Spec{Kind: 9}, "kind = 9, want none, red, codel or pie"},
	} {
		err := tc.s.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
		_, err = tc.s.New(1)
		assert.Error(t, err)
	}
}

// Queues built from one spec with different seeds draw different random streams;
// the same seed repeats the stream.
func TestSpecSeeds(t *testing.T) {
	run := func(seed uint64) []Verdict {
		p, err := redSpec.New(seed)
		require.NoError(t, err)
		r := p.(*RED)
		var vs []Verdict
		for i := 0; i < 300; i++ {
			r.avg = 25
			vs = append(vs, r.Enqueue(1, Packet{Len: 1500}, Backlog{Packets: 25, Bytes: 1}))
		}
		return vs
	}
	assert.Equal(t, run(3), run(3))
	assert.NotEqual(t, run(3), run(4))
}

func TestNoneIsNil(t *testing.T) {
	p, err := Spec{Kind: KindNone}.New(1)
	require.NoError(t, err)
	assert.Nil(t, p, "no AQM is a nil Policy")
}

func TestRNG(t *testing.T) {
	r := newRNG(0)
	// The first SplitMix64 output for seed 0, as published with the algorithm.
	assert.Equal(t, uint64(0xe220a8397b1dcdaf), r.next())
	sum := 0.0
	for i := 0; i < 100000; i++ {
		f := r.float()
		require.True(t, f >= 0 && f < 1)
		sum += f
	}
	assert.InDelta(t, 0.5, sum/100000, 0.005)
}

// congested drives a policy through a queue at 1 Gb/s of 1500-byte frames, offered
// 5% more than it can send, so the AQM is in its steady dropping regime. One step is
// one arrival (plus an extra one every 20th step) and one departure, repeating the
// departure after a Drop as a queue does.
type congested struct {
	pol   Policy
	ring  [4096]Packet
	head  int
	n     int
	bytes int
	now   int64
	step  int
}

func newCongested(p Policy) *congested {
	c := &congested{pol: p, now: 1e9}
	for i := 0; i < 200000; i++ { // warm up into the regime
		c.do()
	}
	return c
}

func (c *congested) arrive() {
	p := Packet{Len: 1500, EnqTime: c.now, ECT: c.step&1 == 0, Class: uint8(c.step & 1)}
	if c.pol.Enqueue(c.now, p, Backlog{c.n, c.bytes}) != Drop && c.n < len(c.ring) {
		c.ring[(c.head+c.n)%len(c.ring)] = p
		c.n++
		c.bytes += p.Len
	}
}

func (c *congested) do() {
	c.step++
	c.now += 12000 // 1500 bytes at 1 Gb/s
	c.arrive()
	if c.step%20 == 0 {
		c.arrive()
	}
	for c.n > 0 {
		p := c.ring[c.head]
		c.head = (c.head + 1) % len(c.ring)
		c.n--
		c.bytes -= p.Len
		if c.pol.Dequeue(c.now, p, Backlog{c.n, c.bytes}) != Drop {
			break
		}
	}
}

// benchPolicies are the configurations TestNoAllocs and the benchmarks run.
func benchPolicies(tb testing.TB) map[string]Policy {
	mk := func(s Spec) Policy {
		p, err := s.New(1)
		require.NoError(tb, err)
		return p
	}
	return map[string]Policy{
		"red": mk(Spec{Kind: KindRED, RED: REDParams{LinkRate: 1e9, Profiles: []REDProfile{{MinTh: 200, MaxTh: 600}}}}),
		"wred-bytes-ecn": mk(Spec{Kind: KindRED, RED: REDParams{Unit: REDBytes, LinkRate: 1e9, ECN: true,
			Profiles: []REDProfile{{MinTh: 300000, MaxTh: 900000}, {MinTh: 200000, MaxTh: 600000}}}}),
		"codel":     mk(Spec{Kind: KindCoDel}),
		"codel-ecn": mk(Spec{Kind: KindCoDel, CoDel: CoDelParams{ECN: true, CEThreshold: time.Millisecond}}),
		"pie":       mk(Spec{Kind: KindPIE}),
		"pie-rate":  mk(Spec{Kind: KindPIE, PIE: PIEParams{RateEstimator: true, ECN: true}}),
		// The non-default variants and options.
		"codel-linux": mk(Spec{Kind: KindCoDel, CoDel: CoDelParams{ControlLaw: CoDelLawLinux}}),
		"pie-linux": mk(Spec{Kind: KindPIE, PIE: PIEParams{Variant: PIELinux, ByteMode: true, ActiveStates: true,
			ECN: true}}),
		"pie-plain": mk(Spec{Kind: KindPIE, PIE: PIEParams{NoDerandomize: true}}),
		"red-gentle-adaptive": mk(Spec{Kind: KindRED, RED: REDParams{LinkRate: 1e9, Gentle: true, Adaptive: true,
			ECN: true, Profiles: []REDProfile{{MinTh: 200, MaxTh: 600}}}}),
	}
}

var (
	sinkVerdict Verdict
	sinkState   State
)

// TestNoAllocs proves that the hot path never allocates, for every policy: single
// calls and the congested enqueue/dequeue pattern (which reaches the drop paths).
func TestNoAllocs(t *testing.T) {
	for name, pol := range benchPolicies(t) {
		c := newCongested(pol)
		p := Packet{Len: 1500, ECT: true}
		q := Backlog{Packets: 300, Bytes: 450000}
		tests := []struct {
			name string
			fn   func()
		}{
			{"Enqueue", func() { c.now += 1000; p.EnqTime = c.now; sinkVerdict = pol.Enqueue(c.now, p, q) }},
			{"Dequeue", func() { c.now += 1000; sinkVerdict = pol.Dequeue(c.now, Packet{Len: 1500, EnqTime: c.now - 20*ms}, q) }},
			{"Snapshot", func() { sinkState = pol.Snapshot() }},
			{"congested", c.do},
		}
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				assert.Zero(t, testing.AllocsPerRun(1000, tc.fn))
			})
		}
		// The congested pattern must have made the policy act.
		s := pol.Snapshot()
		assert.Positive(t, s.Drops+s.Marks, name)
	}
}

func benchPolicy(b *testing.B, name string) {
	c := newCongested(benchPolicies(b)[name])
	before := c.pol.Snapshot()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.do()
	}
	b.StopTimer()
	after := c.pol.Snapshot()
	b.ReportMetric(float64(after.Drops+after.Marks-before.Drops-before.Marks)/float64(b.N), "drops+marks/op")
}

// The benchmarks time one Enqueue+Dequeue pair per op (plus the 5% extra arrivals and
// the re-dequeues after drops) in the congested pattern, queue bookkeeping included.
func BenchmarkCoDel(b *testing.B)    { benchPolicy(b, "codel") }
func BenchmarkCoDelECN(b *testing.B) { benchPolicy(b, "codel-ecn") }
func BenchmarkPIE(b *testing.B)      { benchPolicy(b, "pie") }
func BenchmarkPIERate(b *testing.B)  { benchPolicy(b, "pie-rate") }
func BenchmarkRED(b *testing.B)      { benchPolicy(b, "red") }
func BenchmarkWRED(b *testing.B)     { benchPolicy(b, "wred-bytes-ecn") }

func BenchmarkCoDelLinux(b *testing.B)        { benchPolicy(b, "codel-linux") }
func BenchmarkPIELinux(b *testing.B)          { benchPolicy(b, "pie-linux") }
func BenchmarkPIENoDerandomize(b *testing.B)  { benchPolicy(b, "pie-plain") }
func BenchmarkREDGentleAdaptive(b *testing.B) { benchPolicy(b, "red-gentle-adaptive") }
