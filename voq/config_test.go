package voq

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigErrorsNameFieldValueRange(t *testing.T) {
	ok := Config{Kind: KindEgress, Ports: ports(2), Classes: 2, LimitPkts: 8}
	for _, tc := range []struct {
		mut  func(c *Config)
		want []string // substrings: the field, the value, the range
	}{
		{func(c *Config) { c.Kind = 9 }, []string{"Kind = 9", "egress, voq or input-fifo"}},
		{func(c *Config) { c.Ports = nil }, []string{"len(Ports) = 0", "1..64"}},
		{func(c *Config) { c.Ports = ports(65) }, []string{"len(Ports) = 65", "1..64"}},
		{func(c *Config) { c.Ports = []int{1, 70000} }, []string{"Ports[1] = 70000", "0..65535"}},
		{func(c *Config) { c.Ports = []int{1, 1} }, []string{"Ports[1] = 1", "distinct"}},
		{func(c *Config) { c.Kind = KindVOQ; c.Inputs = []int{-1} }, []string{"Inputs[0] = -1", "0..65535"}},
		{func(c *Config) { c.Classes = 9 }, []string{"Classes = 9", "1..8"}},
		{func(c *Config) { c.LimitPkts = 0 }, []string{"LimitPkts and LimitBytes", "at least one"}},
		{func(c *Config) { c.LimitPkts = -3 }, []string{"LimitPkts = -3", "0..1048576"}},
		{func(c *Config) { c.LimitBytes = 1 << 40 }, []string{"LimitBytes = 1099511627776", "0..4294967296"}},
		{func(c *Config) { c.Overflow = 4 }, []string{"Overflow = 4", "tail or head"}},
		{func(c *Config) { c.Sched.Kind = 7 }, []string{"Sched.Kind = 7", "sp, drr or wdrr"}},
		{func(c *Config) { c.Sched = SchedConfig{Kind: SchedDRR, Quantum: []int{1514}} }, []string{"Sched.Quantum has 1 entries", "want 2"}},
		{func(c *Config) { c.Sched = SchedConfig{Kind: SchedDRR, Quantum: []int{1514, 10}} }, []string{"Sched.Quantum[1] = 10", "64..1048576"}},
		{func(c *Config) { c.Sched = SchedConfig{Kind: SchedWDRR, Weights: []int{1, 0}} }, []string{"Sched.Weights[1] = 0", "1..1000"}},
		{func(c *Config) { c.Sched = SchedConfig{Kind: SchedWDRR, BaseQuantum: 1 << 20} }, []string{"Sched.BaseQuantum = 1048576", "64..65536"}},
		{func(c *Config) { c.Sched.Rates = []Rate{{}, {BitsPerSec: 5}} }, []string{"Sched.Rates[1].BitsPerSec = 5", "1000..1e12"}},
		{func(c *Config) { c.Sched.Rates = []Rate{{BitsPerSec: 1e9}, {}} }, []string{"Sched.Rates[0].BurstBytes = 0", "1..1073741824"}},
		{func(c *Config) { c.PortSched = map[int]SchedConfig{1: {Kind: 5}} }, []string{"PortSched[1].Kind = 5"}},
		{func(c *Config) { c.PortSched = map[int]SchedConfig{3: {}} }, []string{"PortSched has port 3", "not in Ports"}},
		{func(c *Config) { c.FQ = &FQConfig{Flows: 1000} }, []string{"FQ.Flows = 1000", "power of two"}},
		{func(c *Config) { c.FQ = &FQConfig{Quantum: 10} }, []string{"FQ.Quantum = 10", "64..65536"}},
		{func(c *Config) { c.FQ = &FQConfig{DropBatch: 5000} }, []string{"FQ.DropBatch = 5000", "1..1024"}},
		{func(c *Config) { c.Kind = KindInputFIFO; c.FQ = &FQConfig{} }, []string{"FQ is set with Kind = input-fifo"}},
		{func(c *Config) { c.FQ = &FQConfig{Classes: []int{0, 2}} }, []string{"FQ.Classes[1] = 2", "0..1"}},
		{func(c *Config) { c.FQ = &FQConfig{Classes: []int{}} }, []string{"FQ.Classes is empty"}},
		{func(c *Config) { c.LimitPkts = 0; c.FQ = &FQConfig{Classes: []int{0}} }, []string{"LimitPkts and LimitBytes are both 0"}},
		{func(c *Config) { c.Kind = KindVOQ; c.Arbiter = 5 }, []string{"Arbiter = 5", "rr, drr or islip"}},
		{func(c *Config) { c.Kind = KindVOQ; c.ArbiterQuantum = 1 }, []string{"ArbiterQuantum = 1", "64..1048576"}},
		{func(c *Config) { c.Kind = KindVOQ; c.Arbiter = ArbiterISLIP; c.ISLIPIterations = 100 }, []string{"ISLIPIterations = 100", "1..64"}},
		{func(c *Config) { c.Kind = KindVOQ; c.Arbiter = ArbiterISLIP; c.Speedup = 0.5 }, []string{"Speedup = 0.5", "1..64"}},
		{func(c *Config) { c.Kind = KindVOQ; c.Arbiter = ArbiterRR; c.Speedup = 2 }, []string{"Speedup = 2", "only applies"}},
		{func(c *Config) { c.Kind = KindVOQ; c.Ports = ports(64); c.Classes = 8; c.LimitPkts = 1 << 20 }, []string{"preallocated descriptors", "16777216"}},
	} {
		c := ok
		c.Ports = append([]int(nil), ok.Ports...)
		tc.mut(&c)
		_, err := New(c)
		require.Error(t, err, "want an error containing %q", tc.want)
		for _, w := range tc.want {
			require.Contains(t, err.Error(), w)
		}
	}
	_, err := New(ok)
	require.NoError(t, err)
}

func TestConfigDefaultsAndParse(t *testing.T) {
	callerFQ := &FQConfig{}
	c := Config{Kind: KindVOQ, Ports: []int{2, 4}, LimitBytes: 100000, Arbiter: ArbiterISLIP, FQ: callerFQ}
	_, err := c.normalize()
	require.NoError(t, err)
	require.Equal(t, FQConfig{}, *callerFQ, "the caller's struct is not modified")
	require.Equal(t, 1, c.Classes)
	require.Equal(t, []int{2, 4}, c.Inputs)
	require.Equal(t, 1.0, c.Speedup)
	require.Equal(t, DefaultISLIPIter, c.ISLIPIterations)
	require.Equal(t, FQConfig{Flows: 1024, Quantum: 1514, LimitPkts: 10240, DropBatch: 64}, *c.FQ)

	for s, want := range map[string]Kind{"egress": KindEgress, "VOQ": KindVOQ, " input-fifo ": KindInputFIFO} {
		k, err := ParseKind(s)
		require.NoError(t, err)
		require.Equal(t, want, k)
		require.Equal(t, want, must(ParseKind(want.String())))
	}
	_, err = ParseKind("crossbar")
	require.ErrorContains(t, err, `kind = "crossbar", want one of egress, voq, input-fifo`)
	require.Equal(t, SchedWDRR, must(ParseSched("wdrr")))
	require.Equal(t, ArbiterISLIP, must(ParseArbiter("islip")))
	require.Equal(t, OverflowHead, must(ParseOverflow("head")))
	_, err = ParseSched("wfq")
	require.Error(t, err)
	require.Equal(t, "unknown", Kind(9).String())
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRingCap(t *testing.T) {
	require.Equal(t, 8, ringCap(5, 0))
	require.Equal(t, 1024, ringCap(1000, 1<<30), "a packet limit sizes the ring")
	require.Equal(t, 16, ringCap(0, 100), "at least 16")
	require.Equal(t, 256, ringCap(0, 15000), "bytes/64 rounded up to a power of two")
	require.Equal(t, 1<<16, ringCap(0, 1<<30), "capped for byte-only limits")
}
