package console_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

var usDashboardAsset = regexp.MustCompile(`src="(/console/jobs/assets/[^"]+\.js)"`)

// TestJobsDashboard: River's dashboard answers staff under /console/jobs/
// on both databases, with its assets from heed itself and its JSON API
// working; everyone else gets the sign-in page or 404. Its API's posts are
// refused when a browser says they come from another site.
func TestJobsDashboard(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		anon := newClient(t, h, stopAtRedirects)
		if p := anon.get("/console/jobs/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/signin") {
			t.Fatalf("signed out: %d to %q", p.Status, p.Location)
		}
		signIn(t, h, "bob", stopAtRedirects).get("/console/jobs/api/jobs?state=completed").want(t, http.StatusNotFound)

		staff := signIn(t, h, "admin", stopAtRedirects)
		index := staff.get("/console/jobs/").want(t, http.StatusOK)
		if ct := index.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("dashboard content type %q", ct)
		}
		if csp := index.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("dashboard CSP %q", csp)
		}
		m := usDashboardAsset.FindStringSubmatch(index.Body)
		if m == nil {
			t.Fatalf("dashboard page names no script under /console/jobs/assets/: %s", index.Body)
		}
		if strings.Contains(index.Body, `src="http`) || strings.Contains(index.Body, `href="http`) {
			t.Errorf("dashboard loads something from elsewhere: %s", index.Body)
		}
		if js := staff.get(m[1]).want(t, http.StatusOK); len(js.Body) < 1000 {
			t.Errorf("dashboard script is %d bytes", len(js.Body))
		}
		if p := staff.get("/console/jobs"); p.Status != http.StatusMovedPermanently || p.Location != "/console/jobs/" {
			t.Errorf("bare prefix: %d to %q", p.Status, p.Location)
		}

		// Its API lists the queue heed works and the jobs the demo ran.
		var queues struct {
			Data []struct {
				Name string `json:"name"`
			} `json:"data"`
		}
		body := staff.get("/console/jobs/api/queues").want(t, http.StatusOK).Body
		if err := json.Unmarshal([]byte(body), &queues); err != nil {
			t.Fatalf("queues: %v: %s", err, body)
		}
		var states map[string]any
		body = staff.get("/console/jobs/api/states").want(t, http.StatusOK).Body
		if err := json.Unmarshal([]byte(body), &states); err != nil || states["completed"] == nil {
			t.Fatalf("states: %v: %s", err, body)
		}

		// A post from another site is refused before riverui sees it; the
		// same post from the dashboard's own page reaches it.
		send := func(site string) *consolePage {
			req, err := http.NewRequest(http.MethodPost, h.URL+"/console/jobs/api/jobs/retry", strings.NewReader(`{"ids":["999999"]}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Sec-Fetch-Site", site)
			return staff.do(req)
		}
		if p := send("cross-site"); p.Status != http.StatusForbidden {
			t.Errorf("cross-site post: %d, want 403", p.Status)
		}
		if p := send("same-origin"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Job not found") {
			t.Errorf("same-origin post: %d, want riverui's 404 for an unknown job: %s", p.Status, p.Body)
		}
	})
}

// TestJobsDashboardNoWork: a replica that works no jobs serves the
// dashboard too (on PostgreSQL through the insert-only client).
func TestJobsDashboardNoWork(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{NoWork: true}, func(t *testing.T, h *apptest.Harness) {
		staff := signIn(t, h, "admin", stopAtRedirects)
		staff.get("/console/jobs/").want(t, http.StatusOK)
		var states map[string]any
		body := staff.get("/console/jobs/api/states").want(t, http.StatusOK).Body
		if err := json.Unmarshal([]byte(body), &states); err != nil || states["available"] == nil {
			t.Fatalf("states: %v: %s", err, body)
		}
		staff.get("/console/jobs/api/jobs?state=available").want(t, http.StatusOK)
	})
}
