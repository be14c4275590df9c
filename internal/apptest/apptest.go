// Package apptest starts a real heed (real database, real HTTP server, real
// job workers) for end-to-end tests, on SQLite and, when configured, on
// PostgreSQL.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// Demo tokens, as the demo data set defines them.
const (
	Staff   = "demo-staff-token"
	Support = "demo-support-token"
	Alice   = "demo-alice-token"
	Bob     = "demo-bob-token"
)

// Options tune the app under test.
type Options struct {
	// NoDemo starts from an empty database.
	NoDemo bool
	// NoWork leaves job workers stopped.
	NoWork bool
	// Schedules overrides periodic job schedules.
	Schedules map[string]string
	Clock     func() time.Time
	// Logs, when set, receives the app's log output (default: discarded
	// unless HEED_TEST_LOG=1).
	Logs io.Writer
	// Configure, when set, adjusts the app's configuration before it
	// starts, for what the options above do not cover (such as webhooks
	// to private addresses).
	Configure func(*app.Config)
}

// Harness is a running heed with a client for it.
type Harness struct {
	T      testing.TB
	App    *app.App
	URL    string
	Client *http.Client
}

// Each runs fn against a fresh heed on each available database.
func Each(t *testing.T, opts Options, fn func(t *testing.T, h *Harness)) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, url string) {
		fn(t, Start(t, url, opts))
	})
}

// Start runs heed on the database at url until the test ends.
func Start(t testing.TB, url string, opts Options) *Harness {
	t.Helper()
	var w io.Writer = io.Discard
	if opts.Logs != nil {
		w = opts.Logs
	} else if os.Getenv("HEED_TEST_LOG") == "1" {
		w = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	if !opts.NoDemo && opts.Clock == nil {
		seedDemo(t, url)
	}
	cfg := app.Config{
		DatabaseURL: url, Demo: !opts.NoDemo, Work: !opts.NoWork, Migrate: true, Schedules: opts.Schedules,
		Logger: log, Clock: opts.Clock, DB: db.Config{PostgresMaxConns: 10},
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		t.Fatalf("start heed: %v", err)
	}
	srv := httptest.NewServer(a.Server)
	runCtx, cancel := context.WithCancel(ctx)
	if err := a.Jobs.Start(runCtx); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	t.Cleanup(func() {
		srv.Close()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := a.Jobs.Stop(stopCtx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
		cancel()
		_ = a.Close()
	})
	return &Harness{T: t, App: a, URL: srv.URL, Client: srv.Client()}
}

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request. body may be nil, a string or []byte (sent as is), or
// any other value (sent as JSON).
func (h *Harness) Do(method, path, token string, body any) *Response {
	h.T.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			h.T.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, h.URL+path, r)
	if err != nil {
		h.T.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	return h.Send(req)
}

// Send sends a prepared request.
func (h *Harness) Send(req *http.Request) *Response {
	h.T.Helper()
	resp, err := h.Client.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.T.Fatalf("read body: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Want fails the test unless the status matches; it returns r for chaining.
func (r *Response) Want(t testing.TB, status int) *Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// Object decodes a JSON object body.
func (r *Response) Object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("decode object %q: %v", r.Body, err)
	}
	return m
}

// List decodes a JSON array body.
func (r *Response) List(t testing.TB) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.Body, &l); err != nil {
		t.Fatalf("decode list %q: %v", r.Body, err)
	}
	return l
}

// Eventually polls cond until it holds or the deadline passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
