package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/apptest"
)

func TestSignIn(t *testing.T) {
	apptest.Each(t, apptest.Options{}, func(t *testing.T, h *apptest.Harness) {
		t.Run("root and console redirect to sign-in", func(t *testing.T) {
			b := newClient(t, h, followRedirects)
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
			b := newClient(t, h, followRedirects)
			p := b.trySignIn("alice", "not-her-password")
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Unable to sign in") {
				t.Fatalf("status %d, body lacks the refusal:\n%s", p.Status, p.Body)
			}
			if b.cookie("heed_session") != "" {
				t.Fatal("a failed sign-in set a session cookie")
			}
		})
		t.Run("no token on the sign-in form", func(t *testing.T) {
			b := newClient(t, h, followRedirects)
			b.get("/console/signin")
			p := b.post("/console/signin", url.Values{"username": {"alice"}, "password": {"demo-alice-password"}})
			if p.Status != http.StatusForbidden || b.cookie("heed_session") != "" {
				t.Fatalf("status %d, session %q: want 403 and none", p.Status, b.cookie("heed_session"))
			}
		})
		t.Run("next stays inside the console", func(t *testing.T) {
			b := newClient(t, h, followRedirects)
			token := b.csrf("/console/signin")
			p := b.post("/console/signin", url.Values{"csrf": {token}, "username": {"alice"}, "password": {"demo-alice-password"}, "next": {"//evil.example/"}})
			if p.URL.Host != strings.TrimPrefix(h.URL, "http://") || !strings.HasPrefix(p.URL.Path, "/console/") {
				t.Fatalf("sign-in went to %s", p.URL)
			}
		})
		t.Run("session cookie flags", func(t *testing.T) {
			b := newClient(t, h, stopAtRedirects)
			p := b.post("/console/signin", url.Values{"csrf": {b.csrf("/console/signin")}, "username": {"carol"}, "password": {"demo-carol-password"}})
			var session *http.Cookie
			for _, line := range p.Header.Values("Set-Cookie") {
				if c, err := http.ParseSetCookie(line); err == nil && c.Name == "heed_session" {
					session = c
				}
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/console/" {
				t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/console/", session)
			}
		})
		t.Run("sign out ends the session everywhere", func(t *testing.T) {
			b := signIn(t, h, "carol", followRedirects)
			secret := b.cookie("heed_session")
			// The session is a token: the API knows it until sign-out.
			h.Do(http.MethodGet, "/api/users/me/", secret, nil).Want(t, http.StatusOK)
			p := b.submit("/console/signout", nil)
			if p.URL.Path != "/console/signin" {
				t.Fatalf("sign-out ended at %s", p.URL)
			}
			h.Do(http.MethodGet, "/api/users/me/", secret, nil).Want(t, http.StatusUnauthorized)
			// A copy of the old cookie is worth nothing.
			c := newClient(t, h, followRedirects)
			c.setCookie("heed_session", secret)
			if p := c.get("/console/actions/"); p.URL.Path != "/console/signin" {
				t.Fatalf("the signed-out session still opened %s", p.URL)
			}
		})
		t.Run("cross-site post refused", func(t *testing.T) {
			b := signIn(t, h, "carol", followRedirects)
			req := b.form("/console/signout", url.Values{"csrf": {b.token}})
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if p := b.do(req); p.Status != http.StatusForbidden {
				t.Fatalf("cross-site sign-out: status %d, want 403", p.Status)
			}
			if p := b.get("/console/actions/"); p.URL.Path != "/console/actions/" {
				t.Fatalf("the refused sign-out signed out anyway: at %s", p.URL)
			}
		})
		t.Run("unknown console page is a 404 page", func(t *testing.T) {
			b := signIn(t, h, "carol", followRedirects)
			if p := b.get("/console/no-such-page"); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Not found") {
				t.Fatalf("status %d", p.Status)
			}
		})
	})
}
