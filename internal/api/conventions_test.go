package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/heed-dev/heed/internal/api"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/demo"
)

// ---- helpers shared by the files of this package ----

// eachApp runs fn against a fresh heed on each database, holding the demo
// users: the same usernames, names, e-mails, roles and tokens as the demo
// data set (package demo), created the way demo.Load creates them. The demo
// marketplace and its history are left out: loading them takes 10-20 s per
// app under -race, which pushed this suite past go test's 10-minute limit,
// and nothing here reads them. Only the users named in passwords get their
// demo password (bcrypt is slow under -race too). Job workers stay off.
func eachApp(t *testing.T, fn func(t *testing.T, h *apptest.Harness), passwords ...string) {
	t.Helper()
	apptest.Each(t, apptest.Options{NoDemo: true, NoWork: true}, func(t *testing.T, h *apptest.Harness) {
		seedDemoUsers(t, h, passwords...)
		fn(t, h)
	})
}

func seedDemoUsers(t testing.TB, h *apptest.Harness, passwords ...string) {
	t.Helper()
	ctx := context.Background()
	for _, du := range demo.Users {
		langs := []string{"en"}
		in := auth.UserInput{
			Username: &du.Username, FullName: &du.FullName, Email: &du.Email, IsStaff: &du.Staff,
			IsSupport: &du.Support, PreferredLanguages: &langs,
		}
		if slices.Contains(passwords, du.Username) {
			in.Password = &du.Password
		}
		u, err := h.App.Users.CreateUser(ctx, nil, in)
		if err != nil {
			t.Fatalf("create %s: %v", du.Username, err)
		}
		if err := h.App.DB.InTx(ctx, func(tx *db.Tx) error {
			return auth.StoreToken(ctx, tx, u.ID, du.Token, "test", time.Time{})
		}); err != nil {
			t.Fatalf("token for %s: %v", du.Username, err)
		}
	}
}

// doHeader sends a request with a raw Authorization header value (none when
// authz is empty). body follows apptest.Harness.Do: nil, a string or []byte
// as is, anything else as JSON. Failures are reported on t, not on the
// harness's test, so helpers are safe inside subtests.
func doHeader(t testing.TB, h *apptest.Harness, method, path, authz string, body any) *apptest.Response {
	t.Helper()
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
			t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, h.URL+path, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return send(t, h.Client, req)
}

// do sends a request authenticated as "Token <token>" (anonymous when token
// is empty).
func do(t testing.TB, h *apptest.Harness, method, path, token string, body any) *apptest.Response {
	t.Helper()
	authz := ""
	if token != "" {
		authz = "Token " + token
	}
	return doHeader(t, h, method, path, authz, body)
}

func send(t testing.TB, c *http.Client, req *http.Request) *apptest.Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return &apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// wantJSON fails unless r has the status and a JSON body equal to want (a
// JSON document, compared structurally).
func wantJSON(t testing.TB, r *apptest.Response, status int, want string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var got, exp any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.Body, err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("body mismatch (-want +got):\n%s", diff)
	}
}

// wantFieldError fails unless r is a 400 whose only key is field, holding a
// non-empty list of messages; it returns the messages.
func wantFieldError(t testing.TB, r *apptest.Response, field string) []string {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; body: %s", r.Status, r.Body)
	}
	var got map[string][]string
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatalf("body %q is not a DRF field error: %v", r.Body, err)
	}
	if len(got) != 1 || len(got[field]) == 0 {
		t.Fatalf("body %s, want only %q with messages", r.Body, field)
	}
	for _, m := range got[field] {
		if m == "" || !strings.HasSuffix(m, ".") {
			t.Errorf("message %q is not a DRF sentence", m)
		}
	}
	return got[field]
}

// usersSnapshot is every user as staff sees them: the state that rejected
// writes must leave alone.
func usersSnapshot(t testing.TB, h *apptest.Harness) []map[string]any {
	t.Helper()
	r := do(t, h, http.MethodGet, "/api/users/?page_size=300", apptest.Staff, nil).Want(t, http.StatusOK)
	return r.List(t)
}

func wantUnchanged(t testing.TB, h *apptest.Harness, before []map[string]any) {
	t.Helper()
	if diff := cmp.Diff(before, usersSnapshot(t, h)); diff != "" {
		t.Errorf("users changed (-before +after):\n%s", diff)
	}
}

// userByName returns the user as staff sees it.
func userByName(t testing.TB, h *apptest.Harness, username string) map[string]any {
	t.Helper()
	l := do(t, h, http.MethodGet, "/api/users/?username="+url.QueryEscape(username), apptest.Staff, nil).
		Want(t, http.StatusOK).List(t)
	if len(l) != 1 {
		t.Fatalf("users named %q: %v", username, l)
	}
	return l[0]
}

func uuidOf(t testing.TB, h *apptest.Harness, username string) string {
	t.Helper()
	return userByName(t, h, username)["uuid"].(string)
}

func usernames(l []map[string]any) []string {
	out := make([]string, len(l))
	for i, u := range l {
		out[i], _ = u["username"].(string)
	}
	return out
}

var linkPart = regexp.MustCompile(`^<([^>]*)>; rel="([a-z]+)"$`)

// parseLinks parses a Link header into rel → URL, failing on anything
// malformed or repeated.
func parseLinks(t testing.TB, header string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if header == "" {
		return out
	}
	for _, p := range strings.Split(header, ", ") {
		m := linkPart.FindStringSubmatch(p)
		if m == nil {
			t.Fatalf("malformed link %q in %q", p, header)
		}
		if _, dup := out[m[2]]; dup {
			t.Fatalf("rel %q twice in %q", m[2], header)
		}
		out[m[2]] = m[1]
	}
	return out
}

// ---- tests ----

// TestUnknownPathsAndMethods: the mux wrapper registers Waldur paths with
// {$}, so sub-paths are 404 and wrong methods 405, both as DRF JSON.
func TestUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		alice := uuidOf(t, h, "alice")
		notFound := []struct{ method, path string }{
			{http.MethodGet, "/api/users/me/extra/"},
			{http.MethodGet, "/api/users/me/extra"},
			{http.MethodPost, "/api/users/me/extra/"},
			{http.MethodGet, "/api/users/" + alice + "/extra/"},
			{http.MethodPatch, "/api/users/" + alice + "/extra/"},
			{http.MethodGet, "/api/users/" + alice + "/extra/more/"},
			{http.MethodGet, "/api-auth/password/extra/"},
			{http.MethodGet, "/api/schema/extra/"},
			{http.MethodGet, "/api/no-such-thing/"},
			{http.MethodGet, "/api/"},
			{http.MethodGet, "/nothing-here"},
			{http.MethodGet, "/healthz/extra"},
		}
		for _, c := range notFound {
			t.Run("404 "+c.method+" "+c.path, func(t *testing.T) {
				before := usersSnapshot(t, h)
				wantJSON(t, do(t, h, c.method, c.path, apptest.Staff, nil), http.StatusNotFound, `{"detail":"Not found."}`)
				wantUnchanged(t, h, before)
			})
		}

		notAllowed := []struct{ method, path, allow string }{
			{http.MethodDelete, "/api/users/", "GET, HEAD, POST"},
			{http.MethodPut, "/api/users/", "GET, HEAD, POST"},
			{http.MethodDelete, "/api/users/" + alice + "/", "GET, HEAD, PATCH"},
			{http.MethodPut, "/api/users/" + alice + "/", "GET, HEAD, PATCH"},
			{http.MethodPost, "/api/users/" + alice + "/", "GET, HEAD, PATCH"},
			{http.MethodGet, "/api-auth/password/", "POST"},
			{http.MethodPost, "/healthz", "GET, HEAD"},
			{http.MethodPost, "/api/schema/", "GET, HEAD"},
		}
		for _, c := range notAllowed {
			t.Run("405 "+c.method+" "+c.path, func(t *testing.T) {
				before := usersSnapshot(t, h)
				r := do(t, h, c.method, c.path, apptest.Staff, `{"username":"x"}`)
				wantJSON(t, r, http.StatusMethodNotAllowed, `{"detail":"Method \"`+c.method+`\" not allowed."}`)
				if got := r.Header.Get("Allow"); got != c.allow {
					t.Errorf("Allow %q, want %q", got, c.allow)
				}
				wantUnchanged(t, h, before)
			})
		}

		// The root is the console's door.
		t.Run("root redirects to the console", func(t *testing.T) {
			c := *h.Client
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			req, err := http.NewRequest(http.MethodGet, h.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := send(t, &c, req); r.Status != http.StatusFound || r.Header.Get("Location") != "/console/" {
				t.Fatalf("GET /: %d to %q, want 302 to /console/", r.Status, r.Header.Get("Location"))
			}
		})

		// A Waldur path without its trailing slash is redirected to it with
		// the method kept (307), never served under two names.
		t.Run("missing trailing slash", func(t *testing.T) {
			c := *h.Client
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			for _, p := range []string{"/api/users", "/api/users/me", "/api/users/" + alice} {
				req, err := http.NewRequest(http.MethodGet, h.URL+p, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Token "+apptest.Alice)
				r := send(t, &c, req)
				if r.Status != http.StatusTemporaryRedirect || r.Header.Get("Location") != p+"/" {
					t.Errorf("GET %s: %d Location %q, want 307 to %s/", p, r.Status, r.Header.Get("Location"), p)
				}
			}
		})
	})
}

// TestOperationalEndpoints covers /healthz, /readyz and /metrics.
func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		wantJSON(t, do(t, h, http.MethodGet, "/healthz", "", nil), http.StatusOK, `{"status":"ok"}`)
		wantJSON(t, do(t, h, http.MethodGet, "/readyz", "", nil), http.StatusOK, `{"status":"ready"}`)

		// Requests whose counts this fresh app can predict exactly.
		do(t, h, http.MethodGet, "/api/users/me/", apptest.Alice, nil).Want(t, http.StatusOK)
		do(t, h, http.MethodGet, "/api/users/me/", apptest.Bob, nil).Want(t, http.StatusOK)
		do(t, h, http.MethodGet, "/api/users/me/", "", nil).Want(t, http.StatusUnauthorized)
		alice := do(t, h, http.MethodGet, "/api/users/me/", apptest.Alice, nil).Object(t)["uuid"].(string)
		do(t, h, http.MethodGet, "/api/users/"+alice+"/", apptest.Alice, nil).Want(t, http.StatusOK)
		do(t, h, http.MethodGet, "/api/nowhere/"+alice+"/", apptest.Alice, nil).Want(t, http.StatusNotFound)

		r := do(t, h, http.MethodGet, "/metrics", "", nil).Want(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("metrics Content-Type %q", ct)
		}
		body := string(r.Body)
		for _, line := range []string{
			`heed_http_requests_total{method="GET",route="GET /api/users/me/{$}",status="200"} 3`,
			`heed_http_requests_total{method="GET",route="GET /api/users/me/{$}",status="401"} 1`,
			`heed_http_requests_total{method="GET",route="GET /api/users/{uuid}/{$}",status="200"} 1`,
			`heed_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
			`heed_http_requests_total{method="GET",route="GET /healthz",status="200"} 1`,
		} {
			if !containsLine(body, line) {
				t.Errorf("metrics lack %s", line)
			}
		}
		if !strings.Contains(body, `heed_http_request_duration_seconds_bucket{route="GET /api/users/me/{$}",status="200",le="`) {
			t.Errorf("metrics lack the latency histogram for /api/users/me/")
		}
		// Route labels are patterns: a uuid never becomes a label value.
		if strings.Contains(body, alice) {
			t.Errorf("metrics contain the uuid %s; labels must stay bounded", alice)
		}
	})
}

func containsLine(body, line string) bool {
	for _, l := range strings.Split(body, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHandlerFailuresBecomeDRF500: the real app has no failing route, so the
// test builds the same api.New on the harness's database with extra routes
// mounted through Deps.Mount (the hook domain packages use), one panicking,
// one returning an unexpected error.
func TestHandlerFailuresBecomeDRF500(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, h *apptest.Harness) {
		logs := &syncBuffer{}
		srv := api.New(api.Deps{
			DB: h.App.DB, Users: h.App.Users, Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Mount: []func(huma.API){func(a huma.API) {
				huma.Register(a, huma.Operation{
					OperationID: "test_panic", Method: http.MethodGet, Path: "/api/test-panic/",
					Security: []map[string][]string{{"tokenAuth": {}}},
				}, func(context.Context, *struct{}) (*struct{ Body string }, error) {
					panic("kaboom in handler")
				})
				huma.Register(a, huma.Operation{
					OperationID: "test_error", Method: http.MethodGet, Path: "/api/test-error/",
				}, func(context.Context, *struct{}) (*struct{ Body string }, error) {
					return nil, errors.New("pq: secret connection detail")
				})
			}},
		})
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		local := &apptest.Harness{T: t, URL: ts.URL, Client: ts.Client()}

		r := do(t, local, http.MethodGet, "/api/test-panic/", apptest.Alice, nil)
		wantJSON(t, r, http.StatusInternalServerError, `{"detail":"Internal server error."}`)
		if l := logs.String(); !strings.Contains(l, "panic serving request") || !strings.Contains(l, "kaboom in handler") {
			t.Errorf("panic not logged; logs:\n%s", l)
		}
		// The server is still serving after the panic.
		wantJSON(t, do(t, local, http.MethodGet, "/healthz", "", nil), http.StatusOK, `{"status":"ok"}`)

		r = do(t, local, http.MethodGet, "/api/test-error/", "", nil)
		wantJSON(t, r, http.StatusInternalServerError, `{"detail":"Internal server error."}`)
		if bytes.Contains(r.Body, []byte("secret")) {
			t.Errorf("error detail leaked to the client: %s", r.Body)
		}
		// Mounted routes get the same auth as built-in ones.
		wantJSON(t, do(t, local, http.MethodGet, "/api/test-panic/", "", nil), http.StatusUnauthorized,
			`{"detail":"Authentication credentials were not provided."}`)
	})
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
