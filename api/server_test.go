package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/dpdkq/dpdkq/api"
	"github.com/dpdkq/dpdkq/api/apitest"
)

// serve starts a Server for f behind httptest and returns its base URL.
func serve(t *testing.T, f api.Source, opts api.Options) string {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	s, err := api.NewServer(f, opts)
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// do sends a request and returns the status and body.
func do(t *testing.T, method, url, token, body string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// errorText decodes an error body, failing the test when it is not the API's JSON.
func errorText(t *testing.T, body string) string {
	t.Helper()
	var eb api.ErrorBody
	require.NoError(t, json.Unmarshal([]byte(body), &eb), "error body is not JSON: %s", body)
	require.NotEmpty(t, eb.Error, body)
	return eb.Error
}

func TestGetEndpoints(t *testing.T) {
	st := apitest.Sample()
	base := serve(t, apitest.New(st), api.Options{Version: "9.9.9"})
	cases := []struct {
		path string
		want any
	}{
		{"/api/v1/status", st.Status},
		{"/api/v1/ports", st.Ports},
		{"/api/v1/ports/p1", st.Ports[1]},
		{"/api/v1/queues", st.Queues},
		{"/api/v1/queues?port=p1", st.Queues[:2]},
		{"/api/v1/queues?port=p1&class=1", st.Queues[1:2]},
		{"/api/v1/queues?input=p0", st.Queues[2:]},
		{"/api/v1/queues?class=-1", st.Queues[2:]},
		{"/api/v1/queues?port=p0", []api.Queue{}},
		{"/api/v1/buffer", st.Buffer},
		{"/api/v1/routes", st.Routes},
		{"/api/v1/neighbors", st.Neighbors},
		{"/api/v1/config", st.Config},
		{"/api/v1/buffer/destination?ip=10.2.0.7", api.DestinationReply{IP: "10.2.0.7", Count: 42}},
		{"/api/v1/buffer/destination?ip=10.9.9.9", api.DestinationReply{IP: "10.9.9.9", Count: 17, Other: true}},
		{"/api/v1/buffer/queued", st.Queued},
		{"/api/v1/buffer/queued?from=10ms&to=2s", st.Queued[1:2]},
		{"/api/v1/buffer/queued?to=2s&max=1", st.Queued[:1]},
		{"/api/v1/buffer/queued?from=10s", []api.QueuedPacket{}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			code, body, h := do(t, "GET", base+c.path, "", "")
			require.Equal(t, http.StatusOK, code, body)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			assert.JSONEq(t, mustJSON(t, c.want), body)
		})
	}

	t.Run("version", func(t *testing.T) {
		code, body, _ := do(t, "GET", base+"/api/v1/version", "", "")
		require.Equal(t, http.StatusOK, code)
		var v api.Version
		require.NoError(t, json.Unmarshal([]byte(body), &v))
		assert.Equal(t, "9.9.9", v.Version, "Options.Version wins over Status().Version")
		assert.Equal(t, "DPDK 22.11.4", v.DPDKVersion)
		assert.Equal(t, "v1", v.API)
		assert.True(t, strings.HasPrefix(v.Go, "go"), v.Go)
	})
}

func TestConfigRedactsSecrets(t *testing.T) {
	type apiSection struct{ Listen, Token string } // no JSON tags, like a viper-decoded struct
	cfg := struct {
		API   apiSection
		Pools []map[string]any `json:"pools"`
		Big   uint64           `json:"big"`
	}{API: apiSection{"0.0.0.0:9180", "s3cret"}, Pools: []map[string]any{{"name": "a", "password": "pw"}}, Big: 1<<63 + 1}
	st := apitest.Sample()
	st.Config = cfg
	base := serve(t, apitest.New(st), api.Options{Token: "s3cret"})
	code, body, _ := do(t, "GET", base+"/api/v1/config", "s3cret", "")
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, body, "s3cret")
	assert.NotContains(t, body, `"pw"`)
	assert.JSONEq(t, `{"API":{"Listen":"0.0.0.0:9180","Token":"<redacted>"},"pools":[{"name":"a","password":"<redacted>"}],"big":9223372036854775809}`, body)
	assert.Contains(t, body, "9223372036854775809", "integers survive exactly")
}

func TestEmptyListsAreArrays(t *testing.T) {
	base := serve(t, apitest.New(apitest.State{}), api.Options{})
	for _, p := range []string{"/api/v1/ports", "/api/v1/queues", "/api/v1/routes", "/api/v1/neighbors", "/api/v1/buffer/queued"} {
		code, body, _ := do(t, "GET", base+p, "", "")
		require.Equal(t, http.StatusOK, code, p)
		assert.Equal(t, "[]", strings.TrimSpace(body), p)
	}
}

func TestQueuedMaxIsCapped(t *testing.T) {
	f := apitest.New(apitest.Sample())
	base := serve(t, f, api.Options{})
	code, _, _ := do(t, "GET", base+"/api/v1/buffer/queued?max=20000&from=1ms&to=1m", "", "")
	require.Equal(t, http.StatusOK, code)
	from, to, max := f.LastQueuedCall()
	assert.Equal(t, time.Millisecond, from)
	assert.Equal(t, time.Minute, to)
	assert.Equal(t, api.MaxQueuedMax, max)

	code, _, _ = do(t, "GET", base+"/api/v1/buffer/queued", "", "")
	require.Equal(t, http.StatusOK, code)
	_, _, max = f.LastQueuedCall()
	assert.Equal(t, api.DefaultQueuedMax, max)
}

func TestBadRequests(t *testing.T) {
	base := serve(t, apitest.New(apitest.Sample()), api.Options{})
	cases := []struct {
		method, path string
		code         int
		msg          []string
	}{
		{"GET", "/api/v1/ports/nope", 404, []string{`port "nope" not found`, "p0, p1"}},
		{"GET", "/api/v1/queues?class=x", 400, []string{"class", `"x"`}},
		{"GET", "/api/v1/queues?class=-2", 400, []string{"class", "-1"}},
		{"GET", "/api/v1/queues?port=p9", 400, []string{"port", `"p9"`, "no such port"}},
		{"GET", "/api/v1/queues?input=p9", 400, []string{"input", `"p9"`}},
		{"GET", "/api/v1/buffer/destination", 400, []string{"ip"}},
		{"GET", "/api/v1/buffer/destination?ip=10.2.0", 400, []string{"ip", `"10.2.0"`}},
		{"GET", "/api/v1/buffer/queued?from=soon", 400, []string{"from", `"soon"`}},
		{"GET", "/api/v1/buffer/queued?to=-1s", 400, []string{"to", `"-1s"`}},
		{"GET", "/api/v1/buffer/queued?from=2s&to=1s", 400, []string{"from", "after", "to"}},
		{"GET", "/api/v1/buffer/queued?max=0", 400, []string{"max", "1..10000"}},
		{"GET", "/api/v1/buffer/queued?max=many", 400, []string{"max"}},
		{"GET", "/api/v1/nothing", 404, []string{"no such endpoint", "/api/v1/nothing"}},
		{"POST", "/api/v1/status", 405, []string{"POST", "not allowed", "GET"}},
		{"GET", "/api/v1/changes", 405, []string{"GET", "POST"}},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			code, body, h := do(t, c.method, base+c.path, "", "")
			require.Equal(t, c.code, code, body)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
			msg := errorText(t, body)
			for _, m := range c.msg {
				assert.Contains(t, msg, m)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	base := serve(t, apitest.New(apitest.Sample()), api.Options{Token: "s3cret"})
	for _, p := range []string{"/api/v1/status", "/metrics", "/api/v1/nothing"} {
		code, body, h := do(t, "GET", base+p, "", "")
		require.Equal(t, http.StatusUnauthorized, code, p)
		assert.Contains(t, errorText(t, body), "missing bearer token")
		assert.Contains(t, h.Get("WWW-Authenticate"), "Bearer")

		code, body, _ = do(t, "GET", base+p, "s3cre", "")
		require.Equal(t, http.StatusUnauthorized, code, p)
		assert.Contains(t, errorText(t, body), "invalid bearer token")
	}
	code, _, _ := do(t, "GET", base+"/api/v1/status", "s3cret", "")
	assert.Equal(t, http.StatusOK, code)
	code, _, _ = do(t, "GET", base+"/metrics", "s3cret", "")
	assert.Equal(t, http.StatusOK, code)
	code, _, _ = do(t, "POST", base+"/api/v1/changes", "", `{"kind":"port_rate","port":"p1","rate":"1Mbps"}`)
	assert.Equal(t, http.StatusUnauthorized, code)

	// Basic auth or a token without the scheme is refused too.
	req, _ := http.NewRequest("GET", base+"/api/v1/status", nil)
	req.Header.Set("Authorization", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestNewServerListenRules(t *testing.T) {
	f := apitest.New(apitest.Sample())
	cases := []struct {
		listen, token, err string
	}{
		{"127.0.0.1:9180", "", ""},
		{"localhost:9180", "", ""},
		{"[::1]:0", "", ""},
		{"0.0.0.0:9180", "", "api.token"},
		{":9180", "", "api.token"},
		{"10.0.0.1:9180", "", "api.token"},
		{"router.example:9180", "", "api.token"},
		{"0.0.0.0:9180", "t", ""},
		{"127.0.0.1", "", "api.listen"},
		{"127.0.0.1:http", "", "api.listen"},
		{"127.0.0.1:70000", "", "api.listen"},
	}
	for _, c := range cases {
		_, err := api.NewServer(f, api.Options{Listen: c.listen, Token: c.token})
		if c.err == "" {
			assert.NoError(t, err, c.listen)
			continue
		}
		if assert.Error(t, err, c.listen) {
			assert.Contains(t, err.Error(), c.err, c.listen)
			assert.Contains(t, err.Error(), c.listen)
		}
	}
	_, err := api.NewServer(nil, api.Options{Listen: "127.0.0.1:0"})
	assert.Error(t, err)
}

func TestStartAddrShutdown(t *testing.T) {
	s, err := api.NewServer(apitest.New(apitest.Sample()), api.Options{Listen: "127.0.0.1:0", Token: "tok"})
	require.NoError(t, err)
	require.NoError(t, s.Start())
	require.Error(t, s.Start(), "a second Start must fail")
	addr := s.Addr()
	require.NotEqual(t, "127.0.0.1:0", addr)

	c, err := api.NewClient(addr, "tok", nil) // bare host:port gets http://
	require.NoError(t, err)
	st, err := c.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "1.2.3", st.Version)

	bad, err := api.NewClient("http://"+addr, "wrong", nil)
	require.NoError(t, err)
	_, err = bad.Status(context.Background())
	var he *api.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusUnauthorized, he.Status)
	assert.Contains(t, err.Error(), "401")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Shutdown(ctx))
	_, err = c.Status(context.Background())
	assert.Error(t, err, "the listener is closed after Shutdown")
}

func TestChanges(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	f := apitest.New(apitest.Sample())
	base := serve(t, f, api.Options{Logger: zap.New(core)})
	url := base + "/api/v1/changes"

	code, body, _ := do(t, "POST", url, "", `{"kind":"queue_limit","port":"p1","class":2,"limit":"1000p"}`)
	require.Equal(t, http.StatusOK, code, body)
	two := 2
	want := api.Change{Kind: "queue_limit", Port: "p1", Class: &two, Limit: "1000p"}
	assert.JSONEq(t, mustJSON(t, api.AppliedReply{Applied: want}), body)
	require.Equal(t, []api.Change{want}, f.Applied())

	entries := logs.FilterMessage("change applied").All()
	require.Len(t, entries, 1)
	assert.Equal(t, zapcore.InfoLevel, entries[0].Level)
	assert.Equal(t, "queue_limit", entries[0].ContextMap()["kind"])

	aqm := `{"kind":"aqm","port":"p1","aqm":{"kind":"codel","codel":{"target":"5ms"}}}`
	code, body, _ = do(t, "POST", url, "", aqm)
	require.Equal(t, http.StatusOK, code, body)
	got := f.Applied()[1]
	assert.Equal(t, map[string]any{"kind": "codel", "codel": map[string]any{"target": "5ms"}}, got.AQM)
	assert.Nil(t, got.Class, "no class means every class")

	malformed := []struct{ body, msg string }{
		{`{"kind":"port_rate","port":"p1","rat":"1Mbps"}`, `unknown field "rat"`},
		{`{"kind":"queue_limit","port":"p1","class":"two"}`, `field "class"`},
		{`{"kind":"profile_alpha","profile":"lossy","dynamic_th":1.5}`, `field "dynamic_th"`},
		{`{"port":"p1","rate":"1Mbps"}`, `kind: required`},
		{`{"kind":"reboot"}`, `kind = "reboot"`},
		{`{"kind":"port_rate"`, `malformed JSON`},
		{``, `empty`},
		{`{"kind":"port_rate"} {"kind":"port_rate"}`, `exactly one`},
		{`{"kind":"route_add","prefix":"` + strings.Repeat("1", 70000) + `"}`, `larger than`},
	}
	for _, m := range malformed {
		code, body, _ := do(t, "POST", url, "", m.body)
		require.Equal(t, http.StatusBadRequest, code, m.body)
		assert.Contains(t, errorText(t, body), m.msg)
	}
	assert.Len(t, f.Applied(), 2, "refused bodies must not reach Apply")
}

func TestChangeOutcomes(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	f := apitest.New(apitest.Sample())
	stuck := make(chan struct{})
	defer close(stuck)
	f.ApplyFunc = func(ctx context.Context, c api.Change) error {
		switch c.Port {
		case "refuse":
			return apitest.ChangeError("ports[1].rate", c.Rate, "want a rate such as 10Mbps")
		case "slow": // honours ctx like a real Source
			<-ctx.Done()
			return ctx.Err()
		case "stuck": // ignores ctx: the server must still answer
			<-stuck
			return nil
		case "broken":
			return errors.New("lcore 3 is gone")
		}
		return nil
	}
	base := serve(t, f, api.Options{Logger: zap.New(core), ApplyTimeout: 30 * time.Millisecond})
	post := func(port string) (int, string) {
		code, body, _ := do(t, "POST", base+"/api/v1/changes", "", `{"kind":"port_rate","port":"`+port+`","rate":"fast"}`)
		return code, errorText(t, body)
	}

	code, msg := post("refuse")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, `ports[1].rate = "fast": want a rate such as 10Mbps`, msg)

	for _, p := range []string{"slow", "stuck"} {
		code, msg = post(p)
		assert.Equal(t, http.StatusGatewayTimeout, code, p)
		assert.Contains(t, msg, "30ms", p)
	}

	code, msg = post("broken")
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "lcore 3 is gone", msg)

	assert.Empty(t, f.Applied())
	assert.Empty(t, logs.FilterMessage("change applied").All())
	assert.Len(t, logs.FilterMessage("change refused").All(), 1)
	assert.Len(t, logs.FilterMessage("change timed out").All(), 2)
}

func TestNewServerRejectsNegativeTimeout(t *testing.T) {
	_, err := api.NewServer(apitest.New(apitest.State{}), api.Options{Listen: "127.0.0.1:0", ApplyTimeout: -time.Second})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apply_timeout")
}

func TestChangeStormLogIsBounded(t *testing.T) {
	// 200 changes within a second: at most changeLogBurst (20) "change applied" lines,
	// and the first line after the sampler dropped some says how many it dropped.
	core, logs := observer.New(zapcore.InfoLevel)
	f := apitest.New(apitest.Sample())
	base := serve(t, f, api.Options{Logger: zap.New(core)})
	url := base + "/api/v1/changes"
	start := time.Now()
	for range 200 {
		code, body, _ := do(t, "POST", url, "", `{"kind":"port_rate","port":"p1","rate":"1Mbps"}`)
		require.Equal(t, http.StatusOK, code, body)
	}
	require.Len(t, f.Applied(), 200, "every change is applied")
	if time.Since(start) > 900*time.Millisecond {
		t.Skip("the storm took longer than a second: the sampler's window rolled over")
	}
	assert.Len(t, logs.FilterMessage("change applied").All(), 20)
	// A second later the sampler lets lines through again, with the dropped count.
	time.Sleep(time.Until(start.Add(1100 * time.Millisecond)))
	code, body, _ := do(t, "POST", url, "", `{"kind":"port_rate","port":"p1","rate":"1Mbps"}`)
	require.Equal(t, http.StatusOK, code, body)
	all := logs.FilterMessage("change applied").All()
	require.Len(t, all, 21)
	assert.EqualValues(t, 180, all[20].ContextMap()["change_log_lines_dropped"])
}

func TestTrickledBodyIsCut(t *testing.T) {
	// A client that sends headers and then trickles its body must not hold the
	// connection forever: the server's read timeout closes it.
	if testing.Short() {
		t.Skip("waits for the read timeout")
	}
	s, err := api.NewServer(apitest.New(apitest.Sample()), api.Options{Listen: "127.0.0.1:0"})
	require.NoError(t, err)
	require.NoError(t, s.Start())
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /api/v1/changes HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
	require.NoError(t, err)
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := conn.Write([]byte(" ")); err != nil {
				closed <- time.Since(start)
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := conn.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				closed <- time.Since(start)
				return
			}
		}
	}()
	select {
	case d := <-closed:
		assert.Less(t, d, 15*time.Second)
	case <-time.After(20 * time.Second):
		t.Fatal("a trickling client held the connection for 20 s")
	}
}
