package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Limits of GET /api/v1/buffer/queued: how many samples by default and at most. A
// sample is ~200 bytes of JSON, so the cap keeps a reply near 2 MB.
const (
	DefaultQueuedMax = 100
	MaxQueuedMax     = 10000
)

// maxChangeBody bounds a POSTed change; a real one is a few hundred bytes.
const maxChangeBody = 64 << 10

// ChangeKinds are the values Change.Kind accepts.
var ChangeKinds = []string{"queue_limit", "aqm", "port_rate", "port_delay", "port_catch_up", "route_add", "route_del", "pool_size", "profile_alpha", "profile_reserved"}

// ErrorBody is the JSON body of every error reply.
type ErrorBody struct {
	Error string `json:"error"`
}

// Version is the body of GET /api/v1/version.
type Version struct {
	Version     string `json:"version"`
	DPDKVersion string `json:"dpdk_version"`
	Go          string `json:"go"`
	API         string `json:"api"`
}

// DestinationReply is the body of GET /api/v1/buffer/destination.
type DestinationReply struct {
	IP    string `json:"ip"`
	Count uint64 `json:"count"`
	Other bool   `json:"other"` // the count walk was cut by its budget: Count covers only the packets visited
}

// AppliedReply is the body of a successful POST /api/v1/changes.
type AppliedReply struct {
	Applied Change `json:"applied"`
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	get := func(path string, f func(*http.Request) (any, error)) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			v, err := f(r)
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	get("/api/v1/status", func(*http.Request) (any, error) { return s.src.Status(), nil })
	get("/api/v1/lcores", func(*http.Request) (any, error) { return nonNil(s.src.Status().Workers), nil })
	get("/api/v1/ports", func(*http.Request) (any, error) { return nonNil(s.src.Ports()), nil })
	get("/api/v1/ports/{name}", s.port)
	get("/api/v1/queues", s.queues)
	get("/api/v1/buffer", func(*http.Request) (any, error) { return s.src.Buffer(), nil })
	get("/api/v1/buffer/destination", s.destination)
	get("/api/v1/buffer/queued", s.queued)
	get("/api/v1/routes", func(*http.Request) (any, error) { return nonNil(s.src.Routes()), nil })
	get("/api/v1/neighbors", func(*http.Request) (any, error) { return nonNil(s.src.Neighbors()), nil })
	get("/api/v1/config", func(*http.Request) (any, error) { return redacted(s.src.Config()) })
	get("/api/v1/version", func(*http.Request) (any, error) { return s.version(), nil })
	if ts, ok := s.src.(TrafficSource); ok {
		get("/api/v1/traffic", func(*http.Request) (any, error) { return ts.Traffic(), nil })
	}
	mux.HandleFunc("POST /api/v1/changes", s.change)
	mux.Handle("GET /metrics", s.metricsHandler())
	return s.withAuth(jsonMuxErrors(mux))
}

// jsonMuxErrors turns the mux's own plain-text 404 and 405 replies into JSON errors, so
// every error a client sees has the same shape.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&statusOnly{ResponseWriter: w, r: r}, r)
	})
}

// statusOnly passes everything through except a 404/405 body, which it replaces.
type statusOnly struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (s *statusOnly) WriteHeader(code int) {
	if code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		s.ResponseWriter.WriteHeader(code)
		return
	}
	s.replaced = true
	msg := "no such endpoint: " + s.r.URL.Path
	if code == http.StatusMethodNotAllowed {
		msg = fmt.Sprintf("method %s not allowed on %s (allowed: %s)", s.r.Method, s.r.URL.Path, s.Header().Get("Allow"))
	}
	s.Header().Del("X-Content-Type-Options")
	writeError(s.ResponseWriter, code, msg)
}

func (s *statusOnly) Write(b []byte) (int, error) {
	if s.replaced {
		return len(b), nil
	}
	return s.ResponseWriter.Write(b)
}

// httpError carries a status code to writeErr.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

func writeErr(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.code, he.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, ErrorBody{Error: msg})
}

// writeJSON encodes before writing the header, so an encoding failure is still a clean
// 500 rather than a truncated 200.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		code = http.StatusInternalServerError
		_ = json.NewEncoder(&buf).Encode(ErrorBody{Error: "encoding the reply: " + err.Error()})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// secretKeys are configuration keys whose values /api/v1/config never shows, matched
// case-insensitively at any depth (the config may be encoded with or without JSON tags).
var secretKeys = []string{"token", "password", "secret"}

func isSecret(key string) bool {
	return slices.ContainsFunc(secretKeys, func(s string) bool { return strings.EqualFold(key, s) })
}

// redacted re-encodes the configuration generically and blanks secrets, so a config
// dump pasted into a bug report does not carry the API token.
func redacted(cfg any) (any, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding the configuration: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep large integers exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if s, ok := x.(string); ok && s != "" && isSecret(k) {
					t[k] = "<redacted>"
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return v, nil
}

func (s *Server) version() Version {
	st := s.src.Status()
	v := s.opts.Version
	if v == "" {
		v = st.Version
	}
	return Version{Version: v, DPDKVersion: st.DPDKVersion, Go: runtime.Version(), API: "v1"}
}

func (s *Server) port(r *http.Request) (any, error) {
	name := r.PathValue("name")
	ports := s.src.Ports()
	for _, p := range ports {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, &httpError{http.StatusNotFound, fmt.Sprintf("port %q not found (ports: %s)", name, portNames(ports))}
}

func portNames(ports []Port) string {
	names := make([]string, len(ports))
	for i, p := range ports {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// queues filters by output port (?port=), input port (?input=) and class (?class=,
// -1 selects input FIFOs). A port name the router does not have is a 400, so a typo is
// not mistaken for an idle port.
func (s *Server) queues(r *http.Request) (any, error) {
	q := r.URL.Query()
	var ports []Port
	for _, key := range []string{"port", "input"} {
		if !q.Has(key) || q.Get(key) == "" {
			continue
		}
		if ports == nil {
			ports = s.src.Ports()
		}
		name := q.Get(key)
		if !slices.ContainsFunc(ports, func(p Port) bool { return p.Name == name }) {
			return nil, badRequest("%s = %q: no such port (ports: %s)", key, name, portNames(ports))
		}
	}
	class, hasClass := 0, q.Has("class")
	if hasClass {
		c, err := strconv.Atoi(q.Get("class"))
		if err != nil || c < -1 {
			return nil, badRequest("class = %q: want a class number 0..7, or -1 for input FIFOs", q.Get("class"))
		}
		class = c
	}
	out := []Queue{}
	for _, qu := range s.src.Queues() {
		if p := q.Get("port"); p != "" && qu.Port != p {
			continue
		}
		if in := q.Get("input"); in != "" && qu.Input != in {
			continue
		}
		if hasClass && qu.Class != class {
			continue
		}
		out = append(out, qu)
	}
	return out, nil
}

func (s *Server) destination(r *http.Request) (any, error) {
	raw := r.URL.Query().Get("ip")
	ip, err := netip.ParseAddr(raw)
	if err != nil {
		return nil, badRequest("ip = %q: want an IP address such as 10.2.0.7", raw)
	}
	n, other := s.src.DestinationCount(ip)
	return DestinationReply{IP: ip.String(), Count: n, Other: other}, nil
}

// queued answers samples of queued packets enqueued in [from, to], both durations
// since the router started; from defaults to 0 and to to "now" (no bound).
func (s *Server) queued(r *http.Request) (any, error) {
	q := r.URL.Query()
	from, to := time.Duration(0), time.Duration(math.MaxInt64)
	for _, f := range []struct {
		key string
		dst *time.Duration
	}{{"from", &from}, {"to", &to}} {
		if raw := q.Get(f.key); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d < 0 {
				return nil, badRequest("%s = %q: want a duration since router start such as 10ms or 2s", f.key, raw)
			}
			*f.dst = d
		}
	}
	if from > to {
		return nil, badRequest("from = %q: must not be after to = %q", q.Get("from"), q.Get("to"))
	}
	max := DefaultQueuedMax
	if raw := q.Get("max"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return nil, badRequest("max = %q: want a sample count 1..%d", raw, MaxQueuedMax)
		}
		max = min(n, MaxQueuedMax)
	}
	return nonNil(s.src.QueuedBetween(from, to, max)), nil
}

// change decodes a Change strictly (unknown fields are refused, so a misspelt key is
// not silently ignored), applies it with a deadline and reports the outcome.
func (s *Server) change(w http.ResponseWriter, r *http.Request) {
	c, err := decodeChange(http.MaxBytesReader(w, r.Body, maxChangeBody))
	if err != nil {
		writeErr(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.ApplyTimeout)
	defer cancel()
	// Apply should honour ctx, but the API must answer even if a Source does not:
	// the call runs aside and a late result is dropped (the buffered channel lets the
	// goroutine finish without a reader).
	res := make(chan error, 1)
	go func() { res <- s.src.Apply(ctx, c) }()
	select {
	case err = <-res:
	case <-ctx.Done():
		err = ctx.Err()
	}
	log := zap.NewNop()
	if ok, dropped := s.changeLog.allow(time.Now()); ok {
		log = s.log.With(zap.String("kind", c.Kind), zap.Any("change", c), zap.String("remote", r.RemoteAddr))
		if dropped > 0 {
			log = log.With(zap.Uint64("change_log_lines_dropped", dropped))
		}
	}
	var ce *ChangeError
	switch {
	case err == nil:
		log.Info("change applied")
		writeJSON(w, http.StatusOK, AppliedReply{Applied: c})
	case errors.As(err, &ce):
		log.Info("change refused", zap.Error(err))
		writeError(w, http.StatusBadRequest, ce.Error())
	case errors.Is(err, context.DeadlineExceeded):
		log.Warn("change timed out", zap.Duration("timeout", s.opts.ApplyTimeout))
		writeError(w, http.StatusGatewayTimeout, fmt.Sprintf(
			"change not confirmed within %v: the owning lcore did not pick it up; it may still apply", s.opts.ApplyTimeout))
	default:
		log.Error("change failed", zap.Error(err))
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

func decodeChange(body io.Reader) (Change, error) {
	var c Change
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, badRequest("change body: %s", jsonProblem(err))
	}
	if dec.More() {
		return c, badRequest("change body: want exactly one JSON object")
	}
	if c.Kind == "" {
		return c, badRequest("kind: required, one of %s", strings.Join(ChangeKinds, ", "))
	}
	if !slices.Contains(ChangeKinds, c.Kind) {
		return c, badRequest("kind = %q: want one of %s", c.Kind, strings.Join(ChangeKinds, ", "))
	}
	return c, nil
}

// jsonProblem rewords encoding/json's errors so they name the offending field.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q: want %s, got JSON %s", te.Field, te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &mbe):
		return fmt.Sprintf("larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: truncated"
	case errors.Is(err, io.EOF):
		return "empty; want a JSON object with at least \"kind\""
	}
	// Unknown fields come as `json: unknown field "x"`, which already names the field.
	return strings.TrimPrefix(err.Error(), "json: ")
}
