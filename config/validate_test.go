package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// findProblem returns the problem reported at key, or nil.
func findProblem(ps []*FieldError, key string) *FieldError {
	for _, p := range ps {
		if p.Key == key {
			return p
		}
	}
	return nil
}

func TestValidationErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string   // appended to base
		set   []string // --set overrides
		key   string   // the key the error must name
		value string   // the offending value it must show ("" for none)
		msg   string   // a fragment of the explanation
	}{
		{name: "bad rate", set: []string{"ports.1.rate=10Gbsp"}, key: "ports[1].rate", value: "10Gbsp", msg: "unknown unit"},
		{name: "rate in bytes", set: []string{"ports.1.rate=10MB/s"}, key: "ports[1].rate", value: "10MB/s", msg: "bits"},
		{name: "rate too low", set: []string{"ports.1.rate=62.5bps"}, key: "ports[1].rate", value: "62.5bps", msg: "1kbps"},
		{name: "bad size", set: []string{"queueing.queue.limit=10 parsecs"}, key: "queueing.queue.limit", value: "10 parsecs", msg: "unknown unit"},
		{name: "bad burst", set: []string{"ports.1.burst=12kb"}, key: "ports[1].burst", value: "12kb", msg: "bits"},
		{name: "burst below a frame", set: []string{"ports.1.burst=1000B"}, key: "ports[1].burst", value: "1000B", msg: "full frame"},
		{name: "bad CIDR", set: []string{"routes.0.prefix=10.2.0.0/33"}, key: "routes[0].prefix", value: "10.2.0.0/33", msg: "CIDR"},
		{name: "host bits", set: []string{"routes.0.prefix=10.2.0.1/16"}, key: "routes[0].prefix", value: "10.2.0.1/16", msg: "10.2.0.0/16"},
		{name: "port ipv4 without prefix", set: []string{"ports.0.ipv4=10.0.0.1"}, key: "ports[0].ipv4", value: "10.0.0.1", msg: "prefix length"},
		{name: "port ipv4 network address", set: []string{"ports.0.ipv4=10.0.0.0/24"}, key: "ports[0].ipv4", value: "10.0.0.0/24", msg: "network"},
		{name: "overlapping subnets", set: []string{"ports.1.ipv4=10.0.0.2/16"}, key: "ports[1].ipv4", value: "10.0.0.2/16", msg: "overlaps"},
		{name: "unknown top-level key", yaml: "lgo:\n  level: debug\n", key: "lgo", msg: `did you mean "log"`},
		{name: "unknown key in list element", yaml: "neighbors:\n  - {ip: 10.1.0.9, mac: \"02:00:00:00:00:09\", prot: out0}\n",
			key: "neighbors[0].prot", msg: `did you mean "port"`},
		{name: "unknown key in port", set: []string{"ports.1.rat=1Mbps"}, key: "ports[1].rat", msg: `did you mean "rate"`},
		{name: "unknown nested key via --set", set: []string{"eal.no_hgue=true"}, key: "eal.no_hgue", msg: `did you mean "no_huge"`},
		{name: "wrong type", set: []string{"ports.0.mtu=big"}, key: "ports[0].mtu", value: "big", msg: "whole number"},
		{name: "fractional int", yaml: "burst_size: 3.5\n", key: "burst_size", value: "3.5", msg: "whole number"},
		{name: "bare duration", set: []string{"ports.0.delay=10"}, key: "ports[0].delay", value: "10", msg: "unit"},
		{name: "delay too long", set: []string{"ports.0.delay=11s"}, key: "ports[0].delay", value: "11s", msg: "0..10s"},
		{name: "duplicate port name", set: []string{"ports.1.name=in0"}, key: "ports[1].name", value: "in0", msg: "duplicate"},
		{name: "bad port name", set: []string{"ports.1.name=Out_Port_Number_1"}, key: "ports[1].name", value: "Out_Port_Number_1", msg: "[a-z0-9_-]"},
		{name: "route to missing port", set: []string{"routes.0.port=out9"}, key: "routes[0].port", value: "out9", msg: `did you mean "out0"`},
		{name: "route to xconnect port", set: []string{"ports.0.mode=xconnect", "ports.0.xconnect=out0", "routes.0.port=in0", "routes.0.via="},
			key: "routes[0].port", value: "in0", msg: "xconnect mode"},
		{name: "via outside subnet", set: []string{"routes.0.via=10.9.0.2"}, key: "routes[0].via", value: "10.9.0.2", msg: "outside"},
		{name: "via not an address", set: []string{"routes.0.via=gateway"}, key: "routes[0].via", value: "gateway", msg: "IPv4"},
		{name: "duplicate route", set: []string{"routes.1.prefix=10.2.0.0/16", "routes.1.port=out0"}, key: "routes[1].prefix", value: "10.2.0.0/16", msg: "routes[0]"},
		{name: "route shadows connected", set: []string{"routes.0.prefix=10.1.0.0/24"}, key: "routes[0].prefix", value: "10.1.0.0/24", msg: "connected"},
		{name: "bad route mac", set: []string{"routes.0.mac=02:00:00:00:00"}, key: "routes[0].mac", value: "02:00:00:00:00", msg: "MAC"},
		{name: "multicast port mac", set: []string{"ports.0.mac=01:00:5e:00:00:01"}, key: "ports[0].mac", value: "01:00:5e:00:00:01", msg: "unicast"},
		{name: "xconnect without peer", set: []string{"ports.0.mode=xconnect"}, key: "ports[0].xconnect", msg: "required"},
		{name: "xconnect to missing peer", set: []string{"ports.0.mode=xconnect", "ports.0.xconnect=ou0"}, key: "ports[0].xconnect", value: "ou0", msg: "no such port"},
		{name: "xconnect in route mode", set: []string{"ports.0.xconnect=out0"}, key: "ports[0].xconnect", value: "out0", msg: "only allowed"},
		{name: "bad mode", set: []string{"ports.0.mode=bridge"}, key: "ports[0].mode", value: "bridge", msg: "route, xconnect"},
		{name: "missing ipv4", set: []string{"ports.0.ipv4="}, key: "ports[0].ipv4", msg: "required in route mode"},
		{name: "bad device", set: []string{"ports.0.device=eth0"}, key: "ports[0].device", value: "eth0", msg: "PCI address"},
		{name: "bad device arg", set: []string{"ports.0.device=net_pcap0,rx_pcap"}, key: "ports[0].device", value: "net_pcap0,rx_pcap", msg: "key=value"},
		{name: "device env unset", set: []string{"ports.0.device=net_pcap0,rx_pcap=${DPDKQ_TEST_UNSET_VAR}/a.pcap"},
			key: "ports[0].device", value: "net_pcap0,rx_pcap=${DPDKQ_TEST_UNSET_VAR}/a.pcap", msg: "DPDKQ_TEST_UNSET_VAR is not set"},
		{name: "duplicate device", set: []string{"ports.1.device=net_null0,size=64"}, key: "ports[1].device", value: "net_null0,size=64", msg: "ports[0]"},
		{name: "worker not in lcores", set: []string{"workers=5"}, key: "workers[0]", value: "5", msg: `not in eal.lcores "0-1"`},
		{name: "worker is main lcore", set: []string{"workers=0"}, key: "workers[0]", value: "0", msg: "main lcore"},
		{name: "no worker", set: []string{"eal.lcores=0"}, key: "workers", msg: "no worker"},
		{name: "bad lcore list", set: []string{"eal.lcores=3-1"}, key: "eal.lcores", value: "3-1", msg: "N-M"},
		{name: "main lcore outside", set: []string{"eal.main_lcore=4"}, key: "eal.main_lcore", value: "4", msg: "not in eal.lcores"},
		{name: "reserved extra arg", set: []string{"eal.extra_args.0=--no-huge"}, key: "eal.extra_args[0]", value: "--no-huge", msg: "eal.no_huge"},
		{name: "egress lcore not a worker", set: []string{"ports.1.egress_lcore=0"}, key: "ports[1].egress_lcore", value: "0", msg: "not a worker"},
		{name: "listen off loopback without token", set: []string{"api.listen=0.0.0.0:9180"}, key: "api.token", msg: "not a loopback"},
		{name: "listen all interfaces without token", set: []string{"api.listen=:9180"}, key: "api.token", msg: "not a loopback"},
		{name: "bad listen", set: []string{"api.listen=localhost"}, key: "api.listen", value: "localhost", msg: "host:port"},
		{name: "bad log level", set: []string{"log.level=verbose"}, key: "log.level", value: "verbose", msg: "debug, info, warn, error"},
		{name: "burst size", set: []string{"burst_size=0"}, key: "burst_size", value: "0", msg: "1..512"},
		{name: "stall threshold too small", set: []string{"stall_threshold=1us"}, key: "stall_threshold", value: "1µs", msg: "10µs..10s"},
		{name: "stall threshold too large", set: []string{"stall_threshold=1m"}, key: "stall_threshold", value: "1m0s", msg: "10µs..10s"},
		{name: "catch-up negative", set: []string{"ports.1.catch_up=-1ms"}, key: "ports[1].catch_up", value: "-1ms", msg: "0..1s"},
		{name: "catch-up too long", set: []string{"ports.1.catch_up=2s"}, key: "ports[1].catch_up", value: "2s", msg: "0..1s"},
		{name: "mempool cache", set: []string{"mempool.cache=1000"}, key: "mempool.cache", value: "1000", msg: "0..512"},
		{name: "mtu exceeds data room", set: []string{"ports.0.mtu=9000"}, key: "ports[0].mtu", value: "9000", msg: "data_room"},
		{name: "rx desc not power of two", set: []string{"ports.0.rx_desc=1000"}, key: "ports[0].rx_desc", value: "1000", msg: "power of two"},
		{name: "rx lcore not a worker", set: []string{"rx.0.port=in0", "rx.0.queue=0", "rx.0.lcore=0", "rx.1.port=out0", "rx.1.queue=0", "rx.1.lcore=1"},
			key: "rx[0].lcore", value: "0", msg: "not a worker"},
		{name: "rx queue out of range", set: []string{"rx.0.port=in0", "rx.0.queue=1", "rx.0.lcore=1"}, key: "rx[0].queue", value: "1", msg: "0..0"},
		{name: "rx queue unassigned", set: []string{"rx.0.port=in0", "rx.0.queue=0", "rx.0.lcore=1"}, key: "rx", msg: "queue 0 of port out0"},
		{name: "rx queue twice", set: []string{"rx.0.port=in0", "rx.0.queue=0", "rx.0.lcore=1", "rx.1.port=in0", "rx.1.queue=0", "rx.1.lcore=1"},
			key: "rx[1]", value: "in0/0", msg: "rx[0]"},
		{name: "neighbor outside subnet", yaml: "neighbors:\n  - {ip: 10.9.0.9, mac: \"02:00:00:00:00:09\", port: out0}\n",
			key: "neighbors[0].ip", value: "10.9.0.9", msg: "outside"},
		{name: "neighbor without mac", yaml: "neighbors:\n  - {ip: 10.1.0.9, port: out0}\n", key: "neighbors[0].mac", msg: "required"},
		{name: "architecture", set: []string{"queueing.architecture=crossbar"}, key: "queueing.architecture", value: "crossbar", msg: "voq"},
		{name: "classes", set: []string{"queueing.classes=9"}, key: "queueing.classes", value: "9", msg: "1..8"},
		{name: "unknown dscp", yaml: "queueing:\n  dscp_map: {XY1: 1}\n", key: "queueing.dscp_map[xy1]", msg: "unknown DSCP"},
		{name: "dscp class out of range", yaml: "queueing:\n  classes: 4\n  dscp_map: {EF: 6}\n", key: "queueing.dscp_map[ef]", value: "6", msg: "0..3"},
		{name: "quantum in packets", set: []string{"queueing.quantum=2p"}, key: "queueing.quantum", value: "2p", msg: "bytes"},
		{name: "weights count", set: []string{"queueing.weights=1,2,3"}, key: "queueing.weights", value: "[1 2 3]", msg: "3 entries"},
		{name: "class rate class", set: []string{"queueing.class_rates.8=1Mbps"}, key: "queueing.class_rates[8]", msg: "not a class"},
		{name: "class rate value", set: []string{"queueing.class_rates.2=lots"}, key: "queueing.class_rates[2]", value: "lots", msg: "number"},
		{name: "speedup", set: []string{"queueing.speedup=0.5"}, key: "queueing.speedup", value: "0.5", msg: "1..64"},
		{name: "aqm kind", set: []string{"queueing.queue.aqm.kind=blue"}, key: "queueing.queue.aqm.kind", value: "blue", msg: "codel"},
		{name: "class queue class", yaml: "queueing:\n  class_queues: {9: {limit: 10p}}\n", key: "queueing.class_queues[9]", msg: "not a class"},
		{name: "class queue overflow", yaml: "queueing:\n  class_queues: {3: {overflow: middle}}\n", key: "queueing.class_queues[3].overflow", value: "middle", msg: "tail, head"},
		{name: "class queue unknown key", yaml: "queueing:\n  class_queues: {3: {limt: 5p}}\n", key: "queueing.class_queues[3].limt", msg: `did you mean "limit"`},
		{name: "cell size unit", set: []string{"buffer.cell_size=256p"}, key: "buffer.cell_size", value: "256p", msg: "bytes"},
		{name: "rtt", set: []string{"buffer.rtt=0s"}, key: "buffer.rtt", value: "0s", msg: "positive"},
		{name: "pool size in time", yaml: "buffer:\n  pools: [{name: p, size: 10ms}]\n", key: "buffer.pools[0].size", value: "10ms", msg: "bytes or packets"},
		{name: "profile pool missing", yaml: "buffer:\n  pools: [{name: egress, size: 1MB}]\n  profiles: [{name: x, pool: egres, dynamic_th: 0}]\n",
			key: "buffer.profiles[0].pool", value: "egres", msg: `did you mean "egress"`},
		{name: "profile two thresholds", yaml: "buffer:\n  pools: [{name: p, size: 1MB}]\n  profiles: [{name: x, pool: p, dynamic_th: 1, static_th: 10KB}]\n",
			key: "buffer.profiles[0]", msg: "only one"},
		{name: "profile no threshold", yaml: "buffer:\n  pools: [{name: p, size: 1MB}]\n  profiles: [{name: x, pool: p}]\n",
			key: "buffer.profiles[0]", msg: "set one of"},
		{name: "binding missing profile", yaml: "buffer:\n  bindings: [{profile: lossy, port: out0}]\n", key: "buffer.bindings[0].profile", value: "lossy", msg: "no such profile"},
		{name: "binding time size on unshaped port",
			yaml: "buffer:\n  pools: [{name: p, size: 1MB}]\n  profiles: [{name: x, pool: p, reserved: 2ms, dynamic_th: 0}]\n  bindings: [{profile: x, port: in0}]\n",
			key:  "buffer.bindings[0]", msg: "in0 is unshaped"},
		{name: "duplicate pool", yaml: "buffer:\n  pools: [{name: p, size: 1MB}, {name: p, size: 2MB}]\n", key: "buffer.pools[1].name", value: "p", msg: "buffer.pools[0]"},
		{name: "duplicate binding",
			yaml: "buffer:\n  pools: [{name: p, size: 1MB}]\n  profiles: [{name: x, pool: p, dynamic_th: 0}]\n  bindings: [{profile: x, port: in0}, {profile: x, port: in0}]\n",
			key:  "buffer.bindings[1]", msg: "port in0 class (all) is already bound"},
		{name: "bare float duration", yaml: "buffer: {rtt: 0.5}\n", key: "buffer.rtt", value: "0.5", msg: "bare number"},
		{name: "list where a value belongs", yaml: "log: {level: [a, b]}\n", key: "log.level", msg: "want a string, got a list"},
		{name: "pinned class", set: []string{"buffer.hybrid.pinned_classes=8"}, key: "buffer.hybrid.pinned_classes[0]", value: "8", msg: "0..7"},
		{name: "offchip bandwidth", set: []string{"buffer.hybrid.offchip_bandwidth=fast"}, key: "buffer.hybrid.offchip_bandwidth", value: "fast", msg: "number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadBytes([]byte(base+tc.yaml), tc.set)
			require.Error(t, err)
			ps := Problems(err)
			require.NotEmpty(t, ps, "every reported error is a FieldError: %v", err)
			p := findProblem(ps, tc.key)
			require.NotNil(t, p, "no problem at %s in:\n%v", tc.key, err)
			assert.Equal(t, tc.value, p.Value)
			assert.Contains(t, p.Msg, tc.msg)
			assert.Contains(t, err.Error(), tc.key)
		})
	}
}

func TestCollectsAllErrors(t *testing.T) {
	y := base + "lgo: {level: debug}\n"
	_, err := LoadBytes([]byte(y), []string{
		"ports.1.rate=10Gbsp",
		"routes.0.port=out9",
		"ports.1.name=in0",
		"api.listen=0.0.0.0:80",
		"queueing.queue.limit=lots",
		"ports.0.delay=10",
	})
	require.Error(t, err)
	ps := Problems(err)
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = p.Key
	}
	for _, k := range []string{"lgo", "ports[1].rate", "routes[0].port", "ports[1].name", "api.token", "queueing.queue.limit", "ports[0].delay"} {
		assert.Contains(t, keys, k)
	}
	// The joined message has one line per problem.
	assert.Len(t, strings.Split(err.Error(), "\n"), len(ps))
}

func TestNoDuplicateReports(t *testing.T) {
	// A bad limit in queueing.queue is inherited by class 7's override; it is reported
	// once, at the key where it was written.
	y := base + "queueing:\n  queue: {limit: lots}\n  class_queues: {7: {overflow: head}}\n"
	_, err := LoadBytes([]byte(y), nil)
	require.Error(t, err)
	ps := Problems(err)
	require.Len(t, ps, 1, err.Error())
	assert.Equal(t, "queueing.queue.limit", ps[0].Key)

	// A value the decoder rejected is not reported again by validation as a zero.
	_, err = LoadBytes([]byte(base), []string{"ports.0.mtu=big"})
	require.Error(t, err)
	require.Len(t, Problems(err), 1, err.Error())

	// Nor are the keys of a list element the decoder could not read at all (a route
	// to the lost port is still reported: its name is unknown now).
	_, err = LoadBytes([]byte(base), []string{"ports.1=x"})
	require.Error(t, err)
	ps = Problems(err)
	assert.Equal(t, "ports[1]", ps[0].Key)
	assert.Contains(t, ps[0].Msg, "mapping")
	for _, p := range ps[1:] {
		assert.NotContains(t, p.Key, "ports[1]", err.Error())
	}
}

func TestConcurrentLoads(t *testing.T) {
	// LoadBytes shares only read-only tables between calls; -race checks it.
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := LoadBytes([]byte(base), []string{"ports.1.rate=1Gbps"})
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}

func TestValidateAfterEdit(t *testing.T) {
	c, err := LoadBytes([]byte(base), nil)
	require.NoError(t, err)
	c.Ports[1].Rate = "bogus"
	c.Routes[0].Via = "10.1.0.99"
	err = c.Validate()
	require.Error(t, err)
	require.NotNil(t, findProblem(Problems(err), "ports[1].rate"))
	c.Ports[1].Rate = "1Gbps"
	require.NoError(t, c.Validate())
	assert.Equal(t, 1e9, c.Ports[1].RateBps)
	assert.Equal(t, "10.1.0.99", c.Routes[0].NextHop.String())
}

func TestFieldErrorFormat(t *testing.T) {
	assert.Equal(t, `ports[1].rate = "10Gbsp": unknown unit`, (&FieldError{"ports[1].rate", "10Gbsp", "unknown unit"}).Error())
	assert.Equal(t, `api.token: required`, (&FieldError{"api.token", "", "required"}).Error())
	assert.Nil(t, Problems(nil))
}

func TestSuggest(t *testing.T) {
	assert.Equal(t, ` (did you mean "rate"?)`, suggest("rat", []string{"name", "rate", "mtu"}))
	assert.Equal(t, "", suggest("zzzzzz", []string{"name", "rate", "mtu"}))
	assert.Equal(t, 3, editDistance("kitten", "sitting"))
}

func BenchmarkLoadDefault(b *testing.B) {
	b.Setenv("DPDKQ_SAMPLE_DIR", "/tmp")
	b.Setenv("DPDKQ_OUT_DIR", "/tmp")
	y := Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBytes(y, nil); err != nil {
			b.Fatal(err)
		}
	}
}
