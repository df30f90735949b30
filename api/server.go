package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultApplyTimeout bounds how long POST /api/v1/changes waits for the owning lcore
// to apply a change. An lcore picks changes up between bursts, so a healthy router
// answers in microseconds; two seconds only expires when a loop is stuck.
const DefaultApplyTimeout = 2 * time.Second

// Options configure a Server.
type Options struct {
	// Listen is host:port ("127.0.0.1:9180"; port 0 picks a free port).
	Listen string
	// Token is the bearer token every request must carry. Required when Listen's host
	// is not a loopback address; enforced on loopback too when set.
	Token string
	// Logger receives applied changes and serving errors; nil discards them.
	Logger *zap.Logger
	// Version is dpdkq's version for /api/v1/version and dpdkq_build_info; "" uses
	// Status().Version.
	Version string
	// ApplyTimeout bounds Source.Apply per change; 0 means DefaultApplyTimeout.
	ApplyTimeout time.Duration
}

// readTimeout bounds reading a whole request (headers and body): a change is a few
// hundred bytes.
const readTimeout = 10 * time.Second

// changeLogBurst is how many change log lines (applied, refused, timed out) are written
// per second; beyond it lines are dropped and counted, so a storm of changes cannot
// flood the log. The count is logged with the next line that gets through.
const changeLogBurst = 20

// logLimiter lets changeLogBurst lines through per one-second window.
type logLimiter struct {
	mu      sync.Mutex
	window  time.Time // start of the current window
	n       int       // lines written in it
	dropped uint64    // lines dropped since the last one written
}

// allow reports whether a line may be written now, and if so how many were dropped
// since the previous one written.
func (l *logLimiter) allow(now time.Time) (ok bool, dropped uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= changeLogBurst {
		l.dropped++
		return false, 0
	}
	l.n++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// Server serves the JSON API and /metrics for one Source.
type Server struct {
	src       Source
	opts      Options
	log       *zap.Logger
	changeLog logLimiter // bounds the log of applied/refused changes (changeLogBurst)
	handler   http.Handler

	mu   sync.Mutex
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve returns
}

// NewServer checks the options and builds the handler. It refuses a listen address off
// loopback without a token (error naming api.token) and a malformed one (api.listen).
func NewServer(src Source, opts Options) (*Server, error) {
	if src == nil {
		return nil, errors.New("api: nil Source")
	}
	loopback, err := loopbackListen(opts.Listen)
	if err != nil {
		return nil, err
	}
	if !loopback && opts.Token == "" {
		return nil, fmt.Errorf("api.token: required because api.listen %q is not a loopback address", opts.Listen)
	}
	if opts.ApplyTimeout < 0 {
		return nil, fmt.Errorf("api.apply_timeout = %v: want >= 0 (0 means %v)", opts.ApplyTimeout, DefaultApplyTimeout)
	}
	if opts.ApplyTimeout == 0 {
		opts.ApplyTimeout = DefaultApplyTimeout
	}
	s := &Server{src: src, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.handler = s.routes()
	return s, nil
}

// loopbackListen parses host:port and reports whether the host is a loopback address.
// An empty host listens on every interface, and a name other than localhost could
// resolve anywhere, so both count as not loopback.
func loopbackListen(listen string) (bool, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return false, fmt.Errorf("api.listen = %q: want host:port such as 127.0.0.1:9180", listen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return false, fmt.Errorf("api.listen = %q: want a port number 0..65535", listen)
	}
	if host == "localhost" {
		return true, nil
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback(), nil
}

// Handler returns the server's handler (authentication included), for tests and for
// mounting under another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on Options.Listen and serves in the background until Shutdown.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("api: server already started")
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("api.listen = %q: %w", s.opts.Listen, err)
	}
	// Header, body and idle timeouts keep a slow or idle client from holding a
	// connection forever (a request body trickled byte by byte is cut after
	// readTimeout); no write timeout, because a large /metrics scrape may be slow to read.
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: readTimeout,
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    zap.NewStdLog(s.log.Named("http"))}
	s.ln = ln
	s.done = make(chan struct{})
	go func(hs *http.Server, done chan struct{}) {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("api server stopped", zap.Error(err))
		}
	}(s.srv, s.done)
	s.log.Info("api listening", zap.String("addr", ln.Addr().String()), zap.Bool("token", s.opts.Token != ""))
	return nil
}

// Addr returns the address the server listens on (the chosen port when Listen asked
// for port 0), or Options.Listen before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return s.opts.Listen
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for requests in flight until ctx
// ends. It is a no-op on a server that was never started.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	hs, done := s.srv, s.done
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	err := hs.Shutdown(ctx)
	select {
	case <-done:
	case <-ctx.Done():
	}
	return err
}

// authorized checks "Authorization: Bearer <token>" in constant time.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) == 1
}

// withAuth wraps every route, /metrics included: a scraper sends the token with
// Prometheus's `authorization: {credentials: ...}`.
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dpdkq"`)
			msg := "missing bearer token: send Authorization: Bearer <api.token>"
			if r.Header.Get("Authorization") != "" {
				msg = "invalid bearer token"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}
