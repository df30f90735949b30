package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/api/apitest"
)

func TestSetSendsChanges(t *testing.T) {
	f := apitest.New(apitest.Sample())
	url := fakeRouter(t, f, "tok")
	cases := []struct {
		cmd  string
		want string // the Change as JSON
	}{
		{"set queue-limit --port p1 1000p", `{"kind":"queue_limit","port":"p1","limit":"1000p"}`},
		{"set queue-limit --port p1 --class 0 10ms", `{"kind":"queue_limit","port":"p1","class":0,"limit":"10ms"}`},
		{"set aqm --port p1 --kind codel --param target=5ms --param interval=100ms --param ecn=true --param mtu=1514",
			`{"kind":"aqm","port":"p1","aqm":{"kind":"codel","codel":{"target":"5ms","interval":"100ms","ecn":true,"mtu":1514}}}`},
		{"set aqm --port p1 --class 1 --kind pie --param alpha=0.125",
			`{"kind":"aqm","port":"p1","class":1,"aqm":{"kind":"pie","pie":{"alpha":0.125}}}`},
		{"set aqm --port p1 --kind none", `{"kind":"aqm","port":"p1","aqm":{"kind":"none"}}`},
		{"set rate --port p1 62.5Mbps", `{"kind":"port_rate","port":"p1","rate":"62.5Mbps"}`},
		{"set delay --port p1 40ms", `{"kind":"port_delay","port":"p1","delay":"40ms"}`},
		{"set catch-up --port p1 20ms", `{"kind":"port_catch_up","port":"p1","catch_up":"20ms"}`},
		{"set pool-size --pool shared 4MB", `{"kind":"pool_size","pool":"shared","size":"4MB"}`},
		{"set alpha --profile lossy 1", `{"kind":"profile_alpha","profile":"lossy","dynamic_th":1}`},
		{"set alpha --profile lossy -- -2", `{"kind":"profile_alpha","profile":"lossy","dynamic_th":-2}`},
		{"route add 10.3.0.0/16 --port p1 --via 10.2.0.2 --mac 02:00:00:00:01:02",
			`{"kind":"route_add","port":"p1","prefix":"10.3.0.0/16","via":"10.2.0.2","mac":"02:00:00:00:01:02"}`},
		{"route del 10.3.0.0/16", `{"kind":"route_del","prefix":"10.3.0.0/16"}`},
	}
	for i, c := range cases {
		t.Run(c.cmd, func(t *testing.T) {
			args := strings.Fields(c.cmd)
			root := newSetCmd()
			if args[0] == "route" {
				root = newRouteCmd()
			}
			// Flags before the arguments, so "--" (before a negative N) stays last.
			out, err := runCmd(t, root, append([]string{args[1], "--api", url, "--token", "tok"}, args[2:]...)...)
			require.NoError(t, err, out)
			applied := f.Applied()
			require.Len(t, applied, i+1)
			got, err := json.Marshal(applied[i])
			require.NoError(t, err)
			assert.JSONEq(t, c.want, string(got))
			assert.True(t, strings.HasPrefix(out, "applied {"), out)
			assert.JSONEq(t, c.want, strings.TrimPrefix(strings.TrimSpace(out), "applied "))
		})
	}
}

func TestSetPrintsServerErrors(t *testing.T) {
	f := apitest.New(apitest.Sample())
	f.ApplyFunc = func(_ context.Context, c api.Change) error {
		return apitest.ChangeError("ports[1].rate", c.Rate, "want a rate with a unit such as 10Mbps")
	}
	url := fakeRouter(t, f, "")
	_, err := runCmd(t, newSetCmd(), "rate", "--port", "p1", "fast", "--api", url)
	require.Error(t, err)
	assert.Equal(t, `ports[1].rate = "fast": want a rate with a unit such as 10Mbps`, err.Error(), "the 400 message verbatim")
	assert.Empty(t, f.Applied())
}

func TestSetLocalErrors(t *testing.T) {
	f := apitest.New(apitest.Sample())
	url := fakeRouter(t, f, "")
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"set", "queue-limit", "1000p"}, `"port" not set`},
		{[]string{"set", "aqm", "--port", "p1"}, `"kind" not set`},
		{[]string{"set", "aqm", "--port", "p1", "--kind", "codel", "--param", "target"}, `--param "target"`},
		{[]string{"set", "aqm", "--port", "p1", "--kind", "codel", "--param", "=5ms"}, `--param "=5ms"`},
		{[]string{"set", "aqm", "--port", "p1", "--kind", "codel", "--param", "target=5ms", "--param", "target=6ms"}, "twice"},
		{[]string{"set", "aqm", "--port", "p1", "--kind", "none", "--param", "target=5ms"}, "none takes no parameters"},
		{[]string{"set", "alpha", "--profile", "lossy", "half"}, `N = "half"`},
		{[]string{"set", "rate", "--port", "p1"}, "accepts 1 arg"},
		{[]string{"route", "add", "10.3.0.0", "--port", "p1"}, `PREFIX "10.3.0.0"`},
		{[]string{"route", "add", "10.3.0.0/16", "--port", "p1", "--via", "gw"}, `--via "gw"`},
		{[]string{"route", "add", "10.3.0.0/16", "--port", "p1", "--mac", "zz"}, `--mac "zz"`},
		{[]string{"route", "del", "x"}, `PREFIX "x"`},
	}
	for _, c := range cases {
		root := newSetCmd()
		if c.args[0] == "route" {
			root = newRouteCmd()
		}
		_, err := runCmd(t, root, append(c.args[1:], "--api", url)...)
		require.Error(t, err, c.args)
		assert.Contains(t, err.Error(), c.msg, c.args)
	}
	assert.Empty(t, f.Applied(), "nothing reaches the router")
}

func TestRouteList(t *testing.T) {
	url := fakeRouter(t, apitest.New(apitest.Sample()), "")
	out, err := runCmd(t, newRouteCmd(), "list", "--api", url)
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^10\.1\.0\.0/24\s+p0\s+connected\s+-$`, out)
	assert.Regexp(t, `(?m)^192\.168\.0\.0/16\s+p1\s+10\.2\.0\.2\s+-$`, out)
}

func TestAQMParamTypes(t *testing.T) {
	m, err := aqmParams("red", []string{"min_th=20", "max_th=60p", "ecn=false", "maxp_inv=10", "wq_log2= 9 "})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"kind": "red", "red": map[string]any{
		"min_th": int64(20), "max_th": "60p", "ecn": false, "maxp_inv": int64(10), "wq_log2": int64(9)}}, m)
}
