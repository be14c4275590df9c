package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/heed-dev/heed/internal/api"
	"github.com/heed-dev/heed/internal/apptest"
)

// TestBodyDeadlineBoundsOnlyTheBody: the body must arrive within
// BodyReadTimeout, but the handler may then take longer with its context
// intact. Huma's own deadline stayed on the connection, and net/http's
// background read failing at it cancelled the request's context: a slow
// transactional webhook or bcrypt on a busy machine made a 499 of a request
// whose client was still waiting.
func TestBodyDeadlineBoundsOnlyTheBody(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		const timeout = 100 * time.Millisecond
		type in struct {
			Body struct {
				Name string `json:"name"`
			}
		}
		type out struct {
			Body struct {
				Name      string `json:"name"`
				Cancelled bool   `json:"cancelled"`
			}
		}
		srv := api.New(api.Deps{
			DB: h.App.DB, Users: h.App.Users, BodyReadTimeout: timeout, Logger: slog.New(slog.DiscardHandler),
			Mount: []func(huma.API){func(a huma.API) {
				huma.Register(a, huma.Operation{
					OperationID: "test_slow_handler", Method: http.MethodPost, Path: "/api/test-slow-handler/",
				}, func(ctx context.Context, i *in) (*out, error) {
					// Longer than the body's deadline, then see whether the
					// request was given up on.
					select {
					case <-ctx.Done():
					case <-time.After(5 * timeout):
					}
					o := &out{}
					o.Body.Name, o.Body.Cancelled = i.Body.Name, ctx.Err() != nil
					return o, nil
				})
			}},
		})
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)

		resp, err := ts.Client().Post(ts.URL+"/api/test-slow-handler/", "application/json", strings.NewReader(`{"name":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != `{"name":"x","cancelled":false}` {
			t.Fatalf("slow handler: %d %s; want 200 and its context intact", resp.StatusCode, b)
		}

		// A body that never ends is cut off at the deadline, not waited for.
		pr, pw := io.Pipe()
		defer pw.Close()
		go func() { _, _ = pw.Write([]byte(`{"name":`)) }()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/test-slow-handler/", pr)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err = ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("an unfinished body was answered 200")
			}
		}
		if waited := time.Since(start); waited > 30*timeout {
			t.Fatalf("an unfinished body held the request for %s", waited)
		}
	})
}
