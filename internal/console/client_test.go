package console_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/apptest"
)

// The Go-side tests drive the console as a browser would, over HTTP: a
// cookie jar, the real sign-in form, and forms posted with the page's
// token. (The browser tests drive a real Chromium instead; see
// browser_helpers_test.go.)

// redirects says whether a client follows redirects, as a browser does
// after the console's post-then-redirect forms, or stops at each one so a
// test sees the 303, its Location and, on the next page, its flash.
type redirects bool

const (
	followRedirects redirects = true
	stopAtRedirects redirects = false
)

// signedInPage is where sign-in sends the clients.
const signedInPage = "/console/resources/"

// consoleClient is one person at a browser: a cookie-keeping HTTP client
// for one heed.
type consoleClient struct {
	t      testing.TB
	h      *apptest.Harness
	client *http.Client
	follow redirects
	// token is the session's form token, which submit adds; set by signIn.
	token string
}

// consolePage is one response, read.
type consolePage struct {
	// What is the request, as "GET /path", for messages.
	What   string
	Status int
	// URL is where the request ended: after redirects when the client
	// follows them.
	URL      *url.URL
	Location string
	Header   http.Header
	Body     string
}

// newClient is a client with no session yet.
func newClient(t testing.TB, h *apptest.Harness, follow redirects) *consoleClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &consoleClient{t: t, h: h, follow: follow, client: &http.Client{Jar: jar, Transport: h.Client.Transport}}
	if follow == stopAtRedirects {
		c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// signIn is a client signed in through the real form as a demo user
// (password demo-NAME-password), holding the session's form token.
func signIn(t testing.TB, h *apptest.Harness, username string, follow redirects) *consoleClient {
	t.Helper()
	c := newClient(t, h, follow)
	p := c.trySignIn(username, "demo-"+username+"-password")
	if follow == stopAtRedirects {
		if p.Status != http.StatusSeeOther || p.Location != signedInPage {
			t.Fatalf("sign in as %s: %d to %q: %s", username, p.Status, p.Location, pageText(p.Body))
		}
		p = c.get(signedInPage)
	}
	if p.Status != http.StatusOK || p.URL.Path != signedInPage {
		t.Fatalf("sign in as %s: status %d at %s: %s", username, p.Status, p.URL, pageText(p.Body))
	}
	c.token = p.csrf(t)
	return c
}

// trySignIn posts the real sign-in form and returns the answer.
func (c *consoleClient) trySignIn(username, password string) *consolePage {
	c.t.Helper()
	return c.post("/console/signin", url.Values{"csrf": {c.csrf("/console/signin")},
		"username": {username}, "password": {password}, "next": {signedInPage}})
}

// form is a form post to path, as a script outside a browser would send
// it (post adds what a browser adds).
func (c *consoleClient) form(path string, form url.Values) *http.Request {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.h.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

// do sends req with the client's cookies and reads the answer.
func (c *consoleClient) do(req *http.Request) *consolePage {
	c.t.Helper()
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read %s: %v", req.URL, err)
	}
	return &consolePage{What: req.Method + " " + req.URL.RequestURI(), Status: resp.StatusCode, URL: resp.Request.URL,
		Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(body)}
}

func (c *consoleClient) get(path string) *consolePage {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.h.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form as is (submit adds the token), as the browser would
// from a page of this site.
func (c *consoleClient) post(path string, form url.Values) *consolePage {
	c.t.Helper()
	req := c.form(path, form)
	req.Header.Set("Origin", c.h.URL)
	return c.do(req)
}

// submit posts a form with the session's token, as the page's form would.
func (c *consoleClient) submit(path string, form url.Values) *consolePage {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.token)
	return c.post(path, form)
}

// submitOK submits a form that must succeed (303 to next), then loads the
// page it leads to and returns it with the flash.
func (c *consoleClient) submitOK(path string, form url.Values, next string) *consolePage {
	c.t.Helper()
	p := c.submit(path, form)
	if p.Status != http.StatusSeeOther || p.Location != next {
		c.t.Fatalf("POST %s: %d to %q, want 303 to %q: %s", path, p.Status, p.Location, next, pageText(p.Body))
	}
	return c.get(next).want(c.t, http.StatusOK)
}

// csrf is the form token of the page at path.
func (c *consoleClient) csrf(path string) string {
	c.t.Helper()
	return c.get(path).csrf(c.t)
}

// cookie is the value of the client's cookie name for the console, "" if
// it has none.
func (c *consoleClient) cookie(name string) string {
	for _, ck := range c.client.Jar.Cookies(c.consoleURL()) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie gives the client a console cookie, as if the console had set it.
func (c *consoleClient) setCookie(name, value string) {
	c.client.Jar.SetCookies(c.consoleURL(), []*http.Cookie{{Name: name, Value: value, Path: "/console/"}})
}

func (c *consoleClient) consoleURL() *url.URL {
	u, err := url.Parse(c.h.URL + "/console/")
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the page's form token.
func (p *consolePage) csrf(t testing.TB) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("%s: no csrf token (status %d, at %s): %s", p.What, p.Status, p.URL, pageText(p.Body))
	}
	return m[1]
}

// want fails unless the page has the status; it returns p for chaining.
func (p *consolePage) want(t testing.TB, status int) *consolePage {
	t.Helper()
	if p.Status != status {
		t.Fatalf("%s: status %d, want %d (location %q): %s", p.What, p.Status, status, p.Location, pageText(p.Body))
	}
	return p
}

// has reports whether the body holds s (HTML-escaped as templates write
// text).
func (p *consolePage) has(s string) bool { return strings.Contains(p.Body, s) }

// need fails unless the body holds every one of ss.
func (p *consolePage) need(t testing.TB, ss ...string) *consolePage {
	t.Helper()
	for _, s := range ss {
		if !p.has(s) {
			t.Fatalf("%s: page lacks %q; body:\n%s", p.What, s, p.Body)
		}
	}
	return p
}

// lack fails if the body holds any of ss.
func (p *consolePage) lack(t testing.TB, ss ...string) *consolePage {
	t.Helper()
	for _, s := range ss {
		if p.has(s) {
			t.Fatalf("%s: page has %q; body:\n%s", p.What, s, p.Body)
		}
	}
	return p
}

var tags = regexp.MustCompile(`<[^>]*>`)

// pageText is a page's text, for messages and plain-text checks.
func pageText(body string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(body, " "))), " ")
}

// allMatches returns group 1 of every match of re in s, unescaped.
func allMatches(re *regexp.Regexp, s string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// hexID is a dashed uuid (a string or a uuid.UUID) as the console's URLs
// carry it: 32 hex digits.
func hexID(id any) string { return strings.ReplaceAll(fmt.Sprint(id), "-", "") }

// hexIDs are the "uuid" fields of items from the API, as hexID gives them.
func hexIDs(items []map[string]any) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, _ := it["uuid"].(string)
		out = append(out, hexID(s))
	}
	return out
}

// demoUser finds a demo user's uuid.
func demoUser(t testing.TB, h *apptest.Harness, username string) uuid.UUID {
	t.Helper()
	u, err := h.App.Users.UserByUsername(context.Background(), username)
	if err != nil {
		t.Fatalf("user %s: %v", username, err)
	}
	return u.UUID
}

// apiObject reads a JSON object from the API with a demo token.
func apiObject(t testing.TB, h *apptest.Harness, token, path string) map[string]any {
	t.Helper()
	return h.Do(http.MethodGet, path, token, nil).Want(t, http.StatusOK).Object(t)
}

// apiList reads a JSON list from the API with a demo token.
func apiList(t testing.TB, h *apptest.Harness, token, path string) []map[string]any {
	t.Helper()
	return h.Do(http.MethodGet, path, token, nil).Want(t, http.StatusOK).List(t)
}
