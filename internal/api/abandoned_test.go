package api_test

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heed-dev/heed/internal/api"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
)

// TestAbandonedRequestsAre499: a client that goes away before its response
// is complete is logged and counted as 499 "client closed request", at info
// level, not as a 500 error; and net/http logs no "superfluous
// WriteHeader". Two ways to leave: while the handler's query runs (the
// query is interrupted and fails), and while the body is being written
// (the write fails). Real server, real client, real database.
func TestAbandonedRequestsAre499(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		logs := &syncBuffer{}
		reg := prometheus.NewRegistry()
		started := make(chan struct{}, 1)
		slow := "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT COUNT(*) FROM (SELECT i FROM c LIMIT 2000000000) x"
		if h.App.DB.Dialect() == db.Postgres {
			slow = "SELECT COUNT(*) FROM (SELECT pg_sleep(60)) x"
		}
		type bigOutput struct{ Body []string }
		srv := api.New(api.Deps{
			DB: h.App.DB, Users: h.App.Users, Metrics: reg,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
			Mount: []func(huma.API){func(a huma.API) {
				huma.Register(a, huma.Operation{
					OperationID: "test_slow_query", Method: http.MethodGet, Path: "/api/test-slow-query/",
				}, func(ctx context.Context, _ *struct{}) (*struct{ Body int }, error) {
					started <- struct{}{}
					var n int
					err := h.App.DB.Reader().QueryRow(ctx, slow).Scan(&n)
					if err == nil {
						err = errors.New("the slow query finished: the client did not leave")
					}
					return nil, err
				})
				huma.Register(a, huma.Operation{
					OperationID: "test_big_body", Method: http.MethodGet, Path: "/api/test-big-body/",
				}, func(context.Context, *struct{}) (*bigOutput, error) {
					// 64 MiB of JSON: more than the socket buffers hold, so
					// writing it blocks until the client reads or leaves.
					return &bigOutput{Body: make([]string, 64<<20/4)}, nil
				})
			}},
		})
		ts := httptest.NewUnstartedServer(srv)
		ts.Config.ErrorLog = log.New(logs, "http.Server: ", 0)
		ts.Start()
		t.Cleanup(ts.Close)

		// Leave while the query runs.
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/test-slow-query/", nil)
		done := make(chan error, 1)
		go func() {
			resp, err := ts.Client().Do(req)
			if err == nil {
				resp.Body.Close()
				err = errors.New("got a response " + resp.Status)
			}
			done <- err
		}()
		<-started
		time.Sleep(50 * time.Millisecond) // let the query start
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("client: %v, want context.Canceled", err)
		}
		line := waitLogLine(t, logs, "path=/api/test-slow-query/")
		if !strings.Contains(line, "status=499") || !strings.Contains(line, "level=INFO") ||
			!strings.Contains(line, `outcome="client closed request"`) {
			t.Errorf("log line %q, want status=499 at INFO with outcome \"client closed request\"", line)
		}

		// Leave while the body is written: read the headers, then hang up.
		resp, err := ts.Client().Get(ts.URL + "/api/test-big-body/")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		_, _ = io.CopyN(io.Discard, resp.Body, 1024)
		ts.Client().Transport.(*http.Transport).CloseIdleConnections()
		resp.Body.Close() // unread body: the connection is closed
		line = waitLogLine(t, logs, "path=/api/test-big-body/")
		if !strings.Contains(line, "status=499") || !strings.Contains(line, "level=INFO") {
			t.Errorf("log line %q, want status=499 at INFO", line)
		}

		all := logs.String()
		for _, bad := range []string{"status=500", "level=ERROR", "superfluous", "request failed", "panic"} {
			if strings.Contains(all, bad) {
				t.Errorf("logs hold %q:\n%s", bad, all)
			}
		}
		for _, route := range []string{"GET /api/test-slow-query/{$}", "GET /api/test-big-body/{$}"} {
			if n := requestsCounted(t, reg, route, "499"); n != 1 {
				t.Errorf("heed_http_requests_total{route=%q,status=\"499\"} = %v, want 1", route, n)
			}
			if n := requestsCounted(t, reg, route, "500"); n != 0 {
				t.Errorf("heed_http_requests_total{route=%q,status=\"500\"} = %v, want 0", route, n)
			}
		}
	})
}

// waitLogLine waits for the request log line holding part and returns it.
func waitLogLine(t *testing.T, logs *syncBuffer, part string) string {
	t.Helper()
	var found string
	apptest.Eventually(t, 30*time.Second, "a log line with "+part, func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "msg=request ") && strings.Contains(l, part) {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// requestsCounted reads heed_http_requests_total for a route and status.
func requestsCounted(t *testing.T, reg *prometheus.Registry, route, status string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "heed_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["status"] == status {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
