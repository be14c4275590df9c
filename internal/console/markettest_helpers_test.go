package console_test

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

// mkUser is a signed-in console user: a cookie-keeping client that does
// not follow redirects, so tests see each 303 and its flash.
type mkUser struct {
	t      testing.TB
	h      *apptest.Harness
	client *http.Client
	csrf   string
}

// mkPage is one response, read.
type mkPage struct {
	Status   int
	Location string
	Body     string
}

var mkCSRF = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// mkSignIn signs in through the real form and keeps the session's form
// token.
func mkSignIn(t testing.TB, h *apptest.Harness, username, password string) *mkUser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &mkUser{t: t, h: h, client: &http.Client{Jar: jar, Transport: h.Client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p := u.get("/console/signin")
	m := mkCSRF.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("sign-in page: %d, no csrf field: %s", p.Status, p.Body)
	}
	p = u.post("/console/signin", url.Values{"username": {username}, "password": {password}, "csrf": {m[1]}, "next": {"/console/resources/"}})
	if p.Status != http.StatusSeeOther || p.Location != "/console/resources/" {
		t.Fatalf("sign in as %s: %d to %q: %s", username, p.Status, p.Location, p.Body)
	}
	p = u.get("/console/resources/")
	m = mkCSRF.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("resources page after sign-in: %d: %s", p.Status, p.Body)
	}
	u.csrf = m[1]
	return u
}

func (u *mkUser) do(req *http.Request) *mkPage {
	u.t.Helper()
	resp, err := u.client.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		u.t.Fatal(err)
	}
	return &mkPage{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(b)}
}

func (u *mkUser) get(path string) *mkPage {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u.h.URL+path, nil)
	if err != nil {
		u.t.Fatal(err)
	}
	return u.do(req)
}

// post sends a form as is (add the token with submit).
func (u *mkUser) post(path string, form url.Values) *mkPage {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u.h.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return u.do(req)
}

// submit posts a form with the session's token, as the page's form would.
func (u *mkUser) submit(path string, form url.Values) *mkPage {
	u.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", u.csrf)
	return u.post(path, form)
}

// want fails unless the page has the status; it returns p for chaining.
func (p *mkPage) want(t testing.TB, status int) *mkPage {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", p.Status, status, p.Body)
	}
	return p
}

// has reports whether the body holds s (HTML-escaped as templates write
// text).
func (p *mkPage) has(s string) bool { return strings.Contains(p.Body, s) }

// mkNeed fails unless the body holds every one of ss.
func (p *mkPage) need(t testing.TB, ss ...string) *mkPage {
	t.Helper()
	for _, s := range ss {
		if !p.has(s) {
			t.Fatalf("page lacks %q; body:\n%s", s, p.Body)
		}
	}
	return p
}

// lack fails if the body holds any of ss.
func (p *mkPage) lack(t testing.TB, ss ...string) *mkPage {
	t.Helper()
	for _, s := range ss {
		if p.has(s) {
			t.Fatalf("page has %q; body:\n%s", s, p.Body)
		}
	}
	return p
}

// mkAll returns group 1 of every match of re in s, unescaped.
func mkAll(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// mkHex is a dashed or hex uuid as the console's URLs carry it.
func mkHex(s string) string { return strings.ReplaceAll(s, "-", "") }

// mkAPI reads a JSON object from the API with a demo token.
func mkAPI(t testing.TB, h *apptest.Harness, token, path string) map[string]any {
	t.Helper()
	return h.Do(http.MethodGet, path, token, nil).Want(t, http.StatusOK).Object(t)
}

// mkAPIList reads a JSON list from the API with a demo token.
func mkAPIList(t testing.TB, h *apptest.Harness, token, path string) []map[string]any {
	t.Helper()
	return h.Do(http.MethodGet, path, token, nil).Want(t, http.StatusOK).List(t)
}

// mkFind returns the first item whose key equals value.
func mkFind(t testing.TB, items []map[string]any, key, value string) map[string]any {
	t.Helper()
	for _, it := range items {
		if it[key] == value {
			return it
		}
	}
	t.Fatalf("no item with %s=%q among %d", key, value, len(items))
	return nil
}
