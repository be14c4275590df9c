package console_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/events"
)

// usBrowser is a console user: a cookie-keeping client that does not
// follow redirects, so tests see each 303, its target and its flash.
type usBrowser struct {
	t      testing.TB
	h      *apptest.Harness
	client *http.Client
	csrf   string
}

// usPage is one response, read.
type usPage struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

var usCSRFField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// usNewBrowser is a browser with no session yet.
func usNewBrowser(t testing.TB, h *apptest.Harness) *usBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &usBrowser{t: t, h: h, client: &http.Client{Jar: jar, Transport: h.Client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// usTrySignIn posts the real sign-in form and returns the answer.
func (b *usBrowser) usTrySignIn(username, password string) *usPage {
	b.t.Helper()
	p := b.get("/console/signin")
	m := usCSRFField.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		b.t.Fatalf("sign-in page: %d, no csrf field: %s", p.Status, p.Body)
	}
	return b.post("/console/signin", url.Values{"username": {username}, "password": {password}, "csrf": {m[1]}, "next": {"/console/resources/"}})
}

// usSignIn signs in through the real form and keeps the session's form
// token.
func usSignIn(t testing.TB, h *apptest.Harness, username string) *usBrowser {
	t.Helper()
	b := usNewBrowser(t, h)
	p := b.usTrySignIn(username, "demo-"+username+"-password")
	if p.Status != http.StatusSeeOther || p.Location != "/console/resources/" {
		t.Fatalf("sign in as %s: %d to %q: %s", username, p.Status, p.Location, p.Body)
	}
	b.refreshCSRF()
	return b
}

func (b *usBrowser) refreshCSRF() {
	b.t.Helper()
	p := b.get("/console/resources/")
	m := usCSRFField.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		b.t.Fatalf("page after sign-in: %d: %s", p.Status, p.Body)
	}
	b.csrf = m[1]
}

func (b *usBrowser) do(req *http.Request) *usPage {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &usPage{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(body)}
}

func (b *usBrowser) get(path string) *usPage {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form as is (no csrf added).
func (b *usBrowser) post(path string, form url.Values) *usPage {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submit posts a form with the session's csrf token.
func (b *usBrowser) submit(path string, form url.Values) *usPage {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf)
	return b.post(path, form)
}

// submitOK submits a form that must succeed (303 to next), then loads the
// page it leads to and returns it with the flash.
func (b *usBrowser) submitOK(path string, form url.Values, next string) *usPage {
	b.t.Helper()
	p := b.submit(path, form)
	if p.Status != http.StatusSeeOther || p.Location != next {
		b.t.Fatalf("POST %s: %d to %q, want 303 to %q: %s", path, p.Status, p.Location, next, usText(p.Body))
	}
	return b.want(next, http.StatusOK)
}

// want GETs path and fails unless the status is status.
func (b *usBrowser) want(path string, status int) *usPage {
	b.t.Helper()
	p := b.get(path)
	if p.Status != status {
		b.t.Fatalf("GET %s: %d, want %d (location %q): %s", path, p.Status, status, p.Location, usText(p.Body))
	}
	return p
}

var usTags = regexp.MustCompile(`<[^>]*>`)

// usText is a page's text, for messages and plain-text checks.
func usText(body string) string {
	return strings.Join(strings.Fields(html.UnescapeString(usTags.ReplaceAllString(body, " "))), " ")
}

func usHex(id uuid.UUID) string { return strings.ReplaceAll(id.String(), "-", "") }

// usUser finds a demo user's uuid.
func usUser(t testing.TB, h *apptest.Harness, username string) uuid.UUID {
	t.Helper()
	u, err := h.App.Users.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	return u.UUID
}

// usWait polls cond until it holds or the deadline passes.
func usWait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// usEachWithWebhooks runs fn against a fresh heed with demo data on each
// database, as apptest.Each does, but with webhooks allowed to reach the
// test's loopback receiver (HEED_WEBHOOK_ALLOW_PRIVATE), which apptest
// cannot ask for.
func usEachWithWebhooks(t *testing.T, fn func(t *testing.T, h *apptest.Harness)) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, dbURL string) {
		apptest.SeedDemo(t, dbURL)
		var out io.Writer = io.Discard
		if os.Getenv("HEED_TEST_LOG") == "1" {
			out = os.Stderr
		}
		ctx := context.Background()
		a, err := app.New(ctx, app.Config{
			DatabaseURL: dbURL, Demo: true, Work: true, Migrate: true, DB: db.Config{PostgresMaxConns: 10},
			Logger:   slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Webhooks: events.Config{AllowPrivate: true},
		})
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
		fn(t, &apptest.Harness{T: t, App: a, URL: srv.URL, Client: srv.Client()})
	})
}
