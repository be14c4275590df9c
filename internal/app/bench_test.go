package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/marketplace"
)

// BenchmarkUsersMe measures the whole request path of GET /api/users/me/
// (auth lookup, handler, JSON) through a real HTTP server on SQLite.
func BenchmarkUsersMe(b *testing.B) {
	h := apptest.Start(b, dbtest.NewURL(b, db.SQLite), apptest.Options{NoWork: true})
	// Keep connections alive across the parallel clients; dialing would
	// otherwise dominate the profile.
	h.Client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/api/users/me/", nil)
	req.Header.Set("Authorization", "Token "+apptest.Alice)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := h.Client.Do(req.Clone(req.Context()))
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}

// BenchmarkHotPaths measures the requests bench/side_by_side.sh loads,
// each through a real HTTP server on each database, one client at a time
// (so ns/op is the latency of a request and allocs/op counts the server's
// allocations with the client's): the history of a demo resource given 100
// versions through the real change path (a page of 20, history/at, a range
// of 20), alice's user actions (the default page) and their summary,
// users/me, and a PATCH of the resource that writes a version. Run with
// -benchmem; profile with -cpuprofile:
//
//	go test -run '^$' -bench HotPaths -benchmem ./internal/app
//	go test -run '^$' -bench 'HotPaths/sqlite/history_list' -cpuprofile cpu.out ./internal/app && go tool pprof -top app.test cpu.out
func BenchmarkHotPaths(b *testing.B) {
	dialects := []db.Dialect{db.SQLite}
	if os.Getenv(dbtest.PostgresEnv) != "" {
		dialects = append(dialects, db.Postgres)
	}
	for _, dialect := range dialects {
		b.Run(string(dialect), func(b *testing.B) {
			h := apptest.Start(b, dbtest.NewURL(b, dialect), apptest.Options{NoWork: true})
			ctx := context.Background()
			staff, err := h.App.Users.Authenticate(ctx, apptest.Staff)
			if err != nil {
				b.Fatal(err)
			}
			list, _, err := h.App.Market.ListResources(ctx, staff, marketplace.ConsumerView,
				marketplace.ResourceFilter{Name: "hpc-sequencing"}, db.Page{Limit: 1})
			if err != nil || len(list) == 0 {
				b.Fatalf("demo resource: %v", err)
			}
			res := list[0].UUID
			first := time.Now()
			for i := range 100 {
				desc := fmt.Sprintf("bench version %d", i)
				if _, err := h.App.Market.UpdateResource(ctx, staff, marketplace.ConsumerView, res, marketplace.ResourceUpdate{Description: &desc}); err != nil {
					b.Fatal(err)
				}
			}
			last := time.Now()
			hex := strings.ReplaceAll(res.String(), "-", "")
			mid := first.Add(last.Sub(first) / 2).UTC().Format(time.RFC3339Nano)
			paths := []struct{ name, method, path, token string }{
				{"history_list", http.MethodGet, "/api/marketplace-resources/" + hex + "/history/?page_size=20", apptest.Staff},
				{"history_at", http.MethodGet, "/api/marketplace-resources/" + hex + "/history/at/?timestamp=" + url.QueryEscape(mid), apptest.Staff},
				{"history_range", http.MethodGet, "/api/marketplace-resources/" + hex + "/history/?page_size=20&created_after=" +
					url.QueryEscape(first.UTC().Format(time.RFC3339Nano)) + "&created_before=" + url.QueryEscape(mid), apptest.Staff},
				{"user_actions_list", http.MethodGet, "/api/user-actions/", apptest.Alice},
				{"user_actions_summary", http.MethodGet, "/api/user-actions/summary/", apptest.Alice},
				{"users_me", http.MethodGet, "/api/users/me/", apptest.Alice},
				{"resource_patch", http.MethodPatch, "/api/marketplace-resources/" + hex + "/", apptest.Staff},
			}
			client := h.Client
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 4
			for _, p := range paths {
				b.Run(p.name, func(b *testing.B) {
					n := 0
					for b.Loop() {
						n++
						var body io.Reader
						if p.method == http.MethodPatch {
							// A new value every time: every PATCH writes a version.
							body = bytes.NewReader(fmt.Appendf(nil, `{"description":"bench patch %d"}`, n))
						}
						req, _ := http.NewRequest(p.method, h.URL+p.path, body)
						req.Header.Set("Authorization", "Token "+p.token)
						if body != nil {
							req.Header.Set("Content-Type", "application/json")
						}
						resp, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Fatalf("%s %s: status %d", p.method, p.path, resp.StatusCode)
						}
					}
				})
			}
		})
	}
}
