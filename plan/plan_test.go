package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/aqm"
	"github.com/dpdkq/dpdkq/config"
	"github.com/dpdkq/dpdkq/dataplane"
	"github.com/dpdkq/dpdkq/voq"
)

// base is a valid two-port configuration on pcap vdevs reading and writing dir.
func base(dir string) string {
	return `
eal: {lcores: "0-1"}
ports:
  - {name: in0, device: "net_pcap0,rx_pcap=` + dir + `/in.pcap", ipv4: 10.0.0.1/24}
  - {name: out0, device: "net_pcap1,tx_pcap=` + dir + `/out.pcap", ipv4: 10.1.0.1/24, rate: 62.5Mbps}
routes:
  - {prefix: 10.2.0.0/16, port: out0, via: 10.1.0.2}
`
}

func tempBase(t *testing.T) (dir, yaml string) {
	dir = t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.pcap"), []byte("x"), 0o644))
	return dir, base(dir)
}

// machine is a 64 GB machine.
var machine = Options{MemTotal: func() (int64, error) { return 64 << 30, nil }}

func build(t *testing.T, yaml string, sets []string, o Options) (*Plan, error) {
	t.Helper()
	c, err := config.LoadBytes([]byte(yaml), sets)
	require.NoError(t, err, "the file itself is valid: only the plan refuses it")
	return BuildWith(c, o)
}

// TestRefusedBeforeDPDK: every configuration that the run would refuse is refused by
// the plan, with the config key, the value and the allowed range.
func TestRefusedBeforeDPDK(t *testing.T) {
	for _, tc := range []struct {
		name  string
		yaml  string
		set   []string
		o     *Options
		key   string
		value string
		msg   string
	}{
		{name: "fq flows not a power of two", set: []string{"queueing.queue.fq.enabled=true", "queueing.queue.fq.flows=1000"},
			key: "queueing.queue.fq.flows", value: "1000", msg: "power of two 1..65536"},
		{name: "wdrr weight beyond the scheduler's range", set: []string{"queueing.classes=2", "queueing.scheduler=wdrr", "queueing.weights=1,2000"},
			key: "queueing.weights[1]", value: "2000", msg: "1..1000"},
		{name: "zero weight", set: []string{"queueing.scheduler=wdrr", "queueing.weights=1,0,1,1,1,1,1,1"},
			key: "queueing.weights[1]", value: "0", msg: "1..1000"},
		{name: "pie alpha", yaml: "queueing: {queue: {aqm: {kind: pie, pie: {alpha: 5000}}}}\n",
			key: "queueing.queue.aqm.pie.alpha", value: "5000", msg: "(0, 32]"},
		{name: "pie ecn prob", set: []string{"queueing.queue.aqm.kind=pie", "queueing.queue.aqm.pie.ecn_prob=1.5"},
			key: "queueing.queue.aqm.pie.ecn_prob", value: "1.5", msg: "(0, 1]"},
		{name: "codel target above interval", set: []string{"queueing.queue.aqm.kind=codel", "queueing.queue.aqm.codel.target=200ms"},
			key: "queueing.queue.aqm.codel.target", value: "200ms", msg: "1µs..100ms"},
		{name: "red thresholds", set: []string{"queueing.queue.aqm.kind=red", "queueing.queue.aqm.red.max_th=100p"},
			key: "queueing.queue.aqm.red.max_th", value: "100", msg: "above min_th"},
		{name: "red wq", set: []string{"queueing.queue.aqm.kind=red", "queueing.queue.aqm.red.wq_log2=30"},
			key: "queueing.queue.aqm.red.wq_log2", value: "30", msg: "1..20"},
		{name: "class queue aqm", yaml: "queueing: {class_queues: {3: {aqm: {kind: pie, pie: {beta: 40}}}}}\n",
			key: "queueing.class_queues[3].aqm.pie.beta", value: "40", msg: "(0, 32]"},
		{name: "1 GB buffer pool with 8191 mbufs",
			yaml: "buffer:\n  pools: [{name: p, size: 1GB}]\n  profiles: [{name: x, pool: p, dynamic_th: 0}]\n",
			key:  "mempool.mbufs", value: "8191", msg: "want at least"},
		{name: "dynamic_th range", yaml: "buffer:\n  pools: [{name: p, size: 1MB}]\n  profiles: [{name: x, pool: p, dynamic_th: 9}]\n",
			key: "buffer.profiles[0].dynamic_th", value: "9", msg: "-7..7"},
		{name: "hybrid tier below one cell", set: []string{"buffer.hybrid.enabled=true", "buffer.hybrid.onchip=100B"},
			key: "buffer.hybrid.onchip", msg: "at least one on-chip cell"},
		{name: "time limit on an unshaped port", set: []string{"queueing.queue.limit=10ms"},
			key: "queueing.queue.limit", value: "10ms", msg: "for port in0"},
		{name: "red thresholds in time", set: []string{"queueing.queue.aqm.kind=red", "queueing.queue.aqm.red.min_th=1ms", "queueing.queue.aqm.red.max_th=5ms"},
			key: "queueing.queue.aqm.red", value: "1ms/5ms", msg: "must both be packets"},
		{name: "mempool too small for the rx rings", set: []string{"mempool.mbufs=1000"},
			key: "mempool.mbufs", value: "1000", msg: "rx rings"},
		{name: "drr quantum", set: []string{"queueing.scheduler=drr", "queueing.quantum=10B"},
			key: "queueing.quantum", value: "10B", msg: "64..1048576 bytes"},
		{name: "class rate beyond the scheduler's range", set: []string{"queueing.class_rates.3=2Tbps"},
			key: "queueing.class_rates[3]", value: "2Tbps", msg: "1000..1e12"},
		{name: "queue limit beyond the mbuf pool", set: []string{"queueing.queue.limit=10000p"},
			key: "queueing.queue.limit", value: "10000p", msg: "more than the pool can spare"},
		{name: "class queue limit beyond the mbuf pool", yaml: "queueing: {class_queues: {5: {limit: 100000p}}}\n",
			key: "queueing.class_queues[5].limit", value: "100000p", msg: "more than the pool can spare"},
		{name: "byte limit beyond the mbuf pool", set: []string{"queueing.queue.limit=100MB"},
			key: "queueing.queue.limit", value: "100MB", msg: "full-size frames"},
		{name: "class queue limits beyond the descriptor guard",
			yaml: "queueing:\n  architecture: voq\n  class_queues: {1: {limit: 1000000p}, 2: {limit: 1000000p}, 3: {limit: 1000000p}, " +
				"4: {limit: 1000000p}, 5: {limit: 1000000p}, 6: {limit: 1000000p}, 7: {limit: 1000000p}}\n",
			set: []string{"mempool.mbufs=2097151", "eal.memory_mb=8192"},
			key: "queueing.class_queues[1].limit", value: "1000000p", msg: "want at most 16777216"},
		{name: "memory_mb beyond the machine", set: []string{"eal.memory_mb=4096"},
			o:   &Options{MemTotal: func() (int64, error) { return 2 << 30, nil }},
			key: "eal.memory_mb", value: "4096", msg: "2048 MB in /proc/meminfo MemTotal"},
		{name: "mbufs beyond memory_mb", set: []string{"mempool.mbufs=1048575"},
			key: "mempool.mbufs", value: "1048575", msg: "eal.memory_mb is 1024"},
		{name: "missing rx_pcap", set: []string{"ports.0.device=net_pcap0,rx_pcap=/nonexistent/in.pcap"},
			key: "ports[0].device", value: "net_pcap0,rx_pcap=/nonexistent/in.pcap", msg: "no such file or directory"},
		{name: "missing tx_pcap directory", set: []string{"ports.1.device=net_pcap1,tx_pcap=/nonexistent/out.pcap"},
			key: "ports[1].device", value: "net_pcap1,tx_pcap=/nonexistent/out.pcap", msg: "directory /nonexistent does not exist"},
		{name: "PCI device without the PCI bus", set: []string{"ports.0.device=0000:01:00.0"},
			key: "ports[0].device", value: "0000:01:00.0", msg: "eal.no_pci"},
		{name: "input-fifo with class rates", set: []string{"queueing.architecture=input-fifo", "queueing.class_rates.3=1Mbps"},
			key: "queueing.class_rates", msg: "no class queues"},
		{name: "fq classes disagree", yaml: "queueing: {class_queues: {2: {fq: {enabled: true, flows: 256}}, 3: {fq: {enabled: true}}}}\n",
			key: "queueing.class_queues[3].fq.flows", value: "1024", msg: "want 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, y := tempBase(t)
			o := machine
			if tc.o != nil {
				o = *tc.o
			}
			_, err := build(t, y+tc.yaml, tc.set, o)
			require.Error(t, err)
			var fe *config.FieldError
			for _, e := range config.Problems(err) {
				if e.Key == tc.key {
					fe = e
				}
			}
			require.NotNil(t, fe, "no problem at %s in:\n%v", tc.key, err)
			assert.Equal(t, tc.value, fe.Value)
			assert.Contains(t, fe.Msg, tc.msg)
			for _, goName := range []string{"FQ.", "Sched.", "LimitPkts", "Weights", "voq:", "aqm:"} {
				assert.NotContains(t, err.Error(), goName, "errors name config keys, not Go fields")
			}
		})
	}
}

func TestDefaultPlan(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, nil, machine)
	require.NoError(t, err)
	require.Len(t, p.Ports, 2)
	assert.Equal(t, 0, p.Ports[0].BucketBytes, "unshaped")
	assert.Equal(t, 7813, p.Ports[1].BucketBytes)
	assert.Equal(t, 7813, p.Dataplane.Ports[1].BurstBytes)
	assert.Equal(t, Limit{Pkts: 1000, Text: "1000p = 1514000 B at MTU 1514"}, p.Ports[1].Limits[0])
	assert.Empty(t, p.Warnings)
	a, err := p.NewArch([]int{0, 1}, dataplaneEnv())
	require.NoError(t, err)
	assert.Nil(t, a.Memory())
	assert.Equal(t, time.Millisecond, p.Dataplane.StallThreshold, "stall_threshold default")
	assert.Zero(t, p.Dataplane.Ports[1].CatchUp, "catch_up default: none, as a link")
}

// TestStallAndCatchUpKeys: stall_threshold and ports[].catch_up reach the dataplane.
func TestStallAndCatchUpKeys(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, []string{"stall_threshold=250us", "ports.1.catch_up=20ms"}, machine)
	require.NoError(t, err)
	assert.Equal(t, 250*time.Microsecond, p.Dataplane.StallThreshold)
	assert.Equal(t, 20*time.Millisecond, p.Dataplane.Ports[1].CatchUp)
	assert.Zero(t, p.Dataplane.Ports[0].CatchUp)
}

// TestInputFIFODefaultClasses: input FIFOs ignore classes, so the default 8 classes
// build (one FIFO per input) instead of failing at run time.
func TestInputFIFODefaultClasses(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, []string{"queueing.architecture=input-fifo"}, machine)
	require.NoError(t, err)
	assert.Equal(t, 1, p.Classes)
	a, err := p.NewArch([]int{0, 1}, dataplaneEnv())
	require.NoError(t, err)
	var s voq.ArchSnapshot
	a.Snapshot(&s)
	assert.Len(t, s.Queues, 2, "one FIFO per input")
}

// TestFQMeansCoDelPerFlow: fq.enabled with the default aqm kind none is FQ-CoDel:
// CoDel in every flow, RFC 8289's target and interval, ECN on unless set.
func TestFQMeansCoDelPerFlow(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, []string{"queueing.queue.fq.enabled=true", "mempool.mbufs=16383"}, machine)
	require.NoError(t, err)
	for cls, s := range p.Ports[1].AQM {
		require.Equal(t, aqm.KindCoDel, s.Kind, "class %d", cls)
		assert.Equal(t, 5*time.Millisecond, s.CoDel.Target)
		assert.Equal(t, 100*time.Millisecond, s.CoDel.Interval)
		assert.True(t, s.CoDel.ECN, "ECN on by default for FQ-CoDel, as Linux's fq_codel")
	}
	p, err = build(t, y, []string{"queueing.queue.fq.enabled=true", "queueing.queue.aqm.codel.ecn=false", "mempool.mbufs=16383"}, machine)
	require.NoError(t, err)
	assert.False(t, p.Ports[1].AQM[0].CoDel.ECN, "an explicit ecn: false is kept")
	// Without FQ, kind none stays none and plain CoDel keeps ECN off by default.
	p, err = build(t, y, []string{"queueing.class_queues.2.aqm.kind=codel"}, machine)
	require.NoError(t, err)
	assert.Equal(t, aqm.KindNone, p.Ports[1].AQM[0].Kind)
	assert.False(t, p.Ports[1].AQM[2].CoDel.ECN)
	// An FQ class only: the other classes keep their own AQM.
	p, err = build(t, y, []string{"queueing.class_queues.1.fq.enabled=true"}, machine)
	require.NoError(t, err)
	assert.Equal(t, aqm.KindNone, p.Ports[1].AQM[0].Kind)
	assert.Equal(t, aqm.KindCoDel, p.Ports[1].AQM[1].Kind)
}

// TestREDUsesItsPortRate: RED's idle-time decay is computed per queue from its own
// port's rate, not from the fastest port.
func TestREDUsesItsPortRate(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, []string{"queueing.queue.aqm.kind=red", "ports.0.rate=1Gbps"}, machine)
	require.NoError(t, err)
	assert.Equal(t, 1e9, p.Ports[0].AQM[0].RED.LinkRate)
	assert.Equal(t, 62.5e6, p.Ports[1].AQM[0].RED.LinkRate)
	p, err = build(t, y, []string{"queueing.queue.aqm.kind=red"}, machine)
	require.NoError(t, err)
	assert.Equal(t, unshapedLinkRate, p.Ports[0].AQM[0].RED.LinkRate, "unshaped port")
}

// limitRecorder records the limits an Arch is given.
type limitRecorder struct {
	voq.Arch
	got map[[2]int][2]int
}

func (r *limitRecorder) SetLimit(port, class, pkts, bytes int) error {
	r.got[[2]int{port, class}] = [2]int{pkts, bytes}
	return r.Arch.SetLimit(port, class, pkts, bytes)
}

// TestClassQueueLimitsReachTheArch: class_queues limits are applied per (port, class),
// time limits at each port's rate.
func TestClassQueueLimitsReachTheArch(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y+"queueing: {class_queues: {3: {limit: 200p}, 4: {limit: 10ms}}}\n", []string{"ports.0.rate=1Gbps"}, machine)
	require.NoError(t, err)
	vc, err := p.VOQConfig([]int{0, 1})
	require.NoError(t, err)
	a, err := voq.New(vc)
	require.NoError(t, err)
	rec := &limitRecorder{Arch: a, got: map[[2]int][2]int{}}
	require.NoError(t, p.SetLimits(rec, []int{0, 1}))
	for port := range 2 {
		for cls := range 8 {
			want := [2]int{1000, 0}
			switch cls {
			case 3:
				want = [2]int{200, 0}
			case 4:
				want = [2]int{0, []int{1250000, 78125}[port]}
			}
			assert.Equal(t, want, rec.got[[2]int{port, cls}], "port %d class %d", port, cls)
		}
	}
}

func TestWarnings(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, []string{"queueing.queue.limit=1MB"}, machine)
	require.NoError(t, err)
	require.Len(t, p.Warnings, 1)
	assert.Contains(t, p.Warnings[0], "minimum-size frames")
}

func TestLiveChanges(t *testing.T) {
	_, y := tempBase(t)
	p, err := build(t, y, nil, machine)
	require.NoError(t, err)
	pk, by, err := p.QueueLimit("limit", "10ms", 1, 62.5e6)
	require.NoError(t, err)
	assert.Equal(t, 0, pk)
	assert.Equal(t, 78125, by)
	_, _, err = p.QueueLimit("limit", "10000p", 1, 62.5e6)
	assertField(t, err, "limit", "10000p", "more than the pool can spare")
	_, _, err = p.QueueLimit("limit", "10ms", 0, 0)
	assertField(t, err, "limit", "10ms", "rate")
	_, _, err = p.QueueLimit("limit", "lots", 0, 0)
	assertField(t, err, "limit", "lots", "above zero")

	r, b, err := p.PortRate("rate", "10Mbps", 1)
	require.NoError(t, err)
	assert.Equal(t, 10e6, r)
	assert.Equal(t, 3076, b, "the start-up formula: two 1538 B frames on the wire")
	_, _, err = p.PortRate("rate", "10 parsecs", 1)
	assertField(t, err, "rate", "10 parsecs", "")
	_, err = p.PortDelay("delay", "11s")
	assertField(t, err, "delay", "11s", "0..10s")

	_, err = p.AQMSpec(config.AQMProfile{Kind: "pie", PIE: config.PIEParams{Alpha: 5000, Beta: 1}}, "aqm", 1, 0, 62.5e6)
	assertField(t, err, "aqm.pie.alpha", "5000", "(0, 32]")
}

func assertField(t *testing.T, err error, key, value, msg string) {
	t.Helper()
	var fe *config.FieldError
	require.True(t, errors.As(err, &fe), "%v", err)
	assert.Equal(t, key, fe.Key)
	assert.Equal(t, value, fe.Value)
	assert.True(t, strings.Contains(fe.Msg, msg), "%q does not contain %q", fe.Msg, msg)
}

func dataplaneEnv() dataplane.ArchEnv { return dataplane.ArchEnv{} }
