package app_test

import (
	"net/http"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
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
