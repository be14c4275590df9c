package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

// acBrowser is a cookie-keeping client that follows redirects, as a
// browser does with the console's post-then-redirect forms.
type acBrowser struct {
	t      testing.TB
	h      *apptest.Harness
	client *http.Client
}

// acPage is a fetched page after redirects.
type acPage struct {
	Status int
	URL    *url.URL
	Body   string
}

func acNew(t testing.TB, h *apptest.Harness) *acBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &acBrowser{t: t, h: h, client: &http.Client{Jar: jar}}
}

func (b *acBrowser) do(req *http.Request) *acPage {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("read %s: %v", req.URL, err)
	}
	return &acPage{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body)}
}

func (b *acBrowser) get(path string) *acPage {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form as the browser would from a page of this site.
func (b *acBrowser) post(path string, form url.Values) *acPage {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.h.URL)
	return b.do(req)
}

var acCSRF = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// csrf is the form token of the page at path.
func (b *acBrowser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := acCSRF.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("no csrf token on %s (status %d, at %s)", path, p.Status, p.URL)
	}
	return m[1]
}

func (b *acBrowser) signIn(username, password string) *acPage {
	b.t.Helper()
	token := b.csrf("/console/signin")
	return b.post("/console/signin", url.Values{"csrf": {token}, "username": {username}, "password": {password}, "next": {"/console/"}})
}

// acSignedIn is a browser signed in as a demo user (password
// demo-NAME-password; admin's is demo-admin-password).
func acSignedIn(t testing.TB, h *apptest.Harness, username string) *acBrowser {
	t.Helper()
	b := acNew(t, h)
	if p := b.signIn(username, "demo-"+username+"-password"); p.Status != http.StatusOK || !strings.HasPrefix(p.URL.Path, "/console/") || p.URL.Path == "/console/signin" {
		t.Fatalf("sign in as %s: status %d at %s\n%s", username, p.Status, p.URL, p.Body)
	}
	return b
}

func (b *acBrowser) cookie(name string) string {
	u, _ := url.Parse(b.h.URL + "/console/")
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestSignIn(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		t.Run("root and console redirect to sign-in", func(t *testing.T) {
			b := acNew(t, h)
			p := b.get("/")
			if p.URL.Path != "/console/signin" || p.Status != http.StatusOK {
				t.Fatalf("/ ended at %s (%d), want the sign-in page", p.URL, p.Status)
			}
			p = b.get("/console/orders/")
			if p.URL.Path != "/console/signin" || p.URL.Query().Get("next") != "/console/orders/" {
				t.Fatalf("a page without a session ended at %s, want sign-in with next", p.URL)
			}
		})
		t.Run("wrong password", func(t *testing.T) {
			b := acNew(t, h)
			p := b.signIn("alice", "not-her-password")
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Unable to sign in") {
				t.Fatalf("status %d, body lacks the refusal:\n%s", p.Status, p.Body)
			}
			if b.cookie("heed_session") != "" {
				t.Fatal("a failed sign-in set a session cookie")
			}
		})
		t.Run("no token on the sign-in form", func(t *testing.T) {
			b := acNew(t, h)
			b.get("/console/signin")
			p := b.post("/console/signin", url.Values{"username": {"alice"}, "password": {"demo-alice-password"}})
			if p.Status != http.StatusForbidden || b.cookie("heed_session") != "" {
				t.Fatalf("status %d, session %q: want 403 and none", p.Status, b.cookie("heed_session"))
			}
		})
		t.Run("next stays inside the console", func(t *testing.T) {
			b := acNew(t, h)
			token := b.csrf("/console/signin")
			p := b.post("/console/signin", url.Values{"csrf": {token}, "username": {"alice"}, "password": {"demo-alice-password"}, "next": {"//evil.example/"}})
			if p.URL.Host != strings.TrimPrefix(h.URL, "http://") || !strings.HasPrefix(p.URL.Path, "/console/") {
				t.Fatalf("sign-in went to %s", p.URL)
			}
		})
		t.Run("session cookie flags", func(t *testing.T) {
			b := acNew(t, h)
			token := b.csrf("/console/signin")
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/console/signin", strings.NewReader(url.Values{
				"csrf": {token}, "username": {"carol"}, "password": {"demo-carol-password"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := (&http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "heed_session" {
					session = c
				}
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/console/" {
				t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/console/", session)
			}
		})
		t.Run("sign out ends the session everywhere", func(t *testing.T) {
			b := acSignedIn(t, h, "carol")
			secret := b.cookie("heed_session")
			// The session is a token: the API knows it until sign-out.
			h.Do(http.MethodGet, "/api/users/me/", secret, nil).Want(t, http.StatusOK)
			p := b.post("/console/signout", url.Values{"csrf": {acCSRF.FindStringSubmatch(b.get("/console/actions/").Body)[1]}})
			if p.URL.Path != "/console/signin" {
				t.Fatalf("sign-out ended at %s", p.URL)
			}
			h.Do(http.MethodGet, "/api/users/me/", secret, nil).Want(t, http.StatusUnauthorized)
			// A copy of the old cookie is worth nothing.
			c := acNew(t, h)
			u, _ := url.Parse(h.URL + "/console/")
			c.client.Jar.SetCookies(u, []*http.Cookie{{Name: "heed_session", Value: secret, Path: "/console/"}})
			if p := c.get("/console/actions/"); p.URL.Path != "/console/signin" {
				t.Fatalf("the signed-out session still opened %s", p.URL)
			}
		})
		t.Run("cross-site post refused", func(t *testing.T) {
			b := acSignedIn(t, h, "carol")
			token := b.csrf("/console/actions/")
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/console/signout", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if p := b.do(req); p.Status != http.StatusForbidden {
				t.Fatalf("cross-site sign-out: status %d, want 403", p.Status)
			}
			if p := b.get("/console/actions/"); p.URL.Path != "/console/actions/" {
				t.Fatalf("the refused sign-out signed out anyway: at %s", p.URL)
			}
		})
		t.Run("unknown console page is a 404 page", func(t *testing.T) {
			b := acSignedIn(t, h, "carol")
			if p := b.get("/console/no-such-page"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Not found") {
				t.Fatalf("status %d", p.Status)
			}
		})
	})
}
