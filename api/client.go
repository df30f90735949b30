package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to a Server; the CLI's stats, top, set and route commands use it.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// NewClient returns a client for the API at base ("http://127.0.0.1:9180"; a bare
// host:port gets http://). token may be empty; hc nil uses a client with a 10 s
// timeout.
func NewClient(base, token string, hc *http.Client) (*Client, error) {
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--api %q: want a URL such as http://127.0.0.1:9180", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: strings.TrimRight(u.String(), "/"), token: token, hc: hc}, nil
}

// HTTPError is a non-2xx reply. Msg is the server's "error" text verbatim (or the start
// of the body when it is not the API's JSON).
type HTTPError struct {
	Status int
	Msg    string
}

// Error is the server's message alone for a 400 (it already names the field and the
// allowed values), and carries the status otherwise.
func (e *HTTPError) Error() string {
	if e.Status == http.StatusBadRequest {
		return e.Msg
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Msg)
}

// Raw sends a request and returns the body of a 2xx reply; other replies become
// *HTTPError. path includes the query string.
func (c *Client) Raw(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the reply: %w", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	var eb ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
		return nil, &HTTPError{Status: resp.StatusCode, Msg: eb.Error}
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return nil, &HTTPError{Status: resp.StatusCode, Msg: msg}
}

// Get decodes the JSON reply of GET path into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	data, err := c.Raw(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("GET %s: decoding the reply: %w", path, err)
	}
	return nil
}

// Status fetches /api/v1/status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var v Status
	return v, c.Get(ctx, "/api/v1/status", &v)
}

// Ports fetches /api/v1/ports.
func (c *Client) Ports(ctx context.Context) ([]Port, error) {
	var v []Port
	return v, c.Get(ctx, "/api/v1/ports", &v)
}

// Queues fetches /api/v1/queues (every queue).
func (c *Client) Queues(ctx context.Context) ([]Queue, error) {
	var v []Queue
	return v, c.Get(ctx, "/api/v1/queues", &v)
}

// Buffer fetches /api/v1/buffer.
func (c *Client) Buffer(ctx context.Context) (Buffer, error) {
	var v Buffer
	return v, c.Get(ctx, "/api/v1/buffer", &v)
}

// Routes fetches /api/v1/routes.
func (c *Client) Routes(ctx context.Context) ([]Route, error) {
	var v []Route
	return v, c.Get(ctx, "/api/v1/routes", &v)
}

// Apply posts a change and returns it as the server applied it.
func (c *Client) Apply(ctx context.Context, ch Change) (Change, error) {
	data, err := c.Raw(ctx, http.MethodPost, "/api/v1/changes", ch)
	if err != nil {
		return Change{}, err
	}
	var r AppliedReply
	if err := json.Unmarshal(data, &r); err != nil {
		return Change{}, fmt.Errorf("POST /api/v1/changes: decoding the reply: %w", err)
	}
	return r.Applied, nil
}
