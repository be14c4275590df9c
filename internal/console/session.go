package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/clientaddr"
	"github.com/heed-dev/heed/internal/errs"
)

const (
	sessionCookie = "heed_session"
	// signInCookie carries the sign-in form's CSRF token before there is
	// a session (login CSRF would sign a victim into the attacker's account).
	signInCookie = "heed_signin"
	csrfField    = "csrf"
)

// session is a signed-in request: who, and the token its forms carry.
type session struct {
	User   *auth.User
	secret string
	CSRF   string
}

// csrfFor derives the session's form token from its secret: forgers never
// see the secret (HttpOnly cookie), and nothing more needs storing.
func csrfFor(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("heed console csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// secure says whether cookies may be sent over this connection only.
func (c *Console) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return c.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: c.secure(r),
	})
}

// handler is a page that needs a signed-in user. Errors it returns become
// error pages (see fail).
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// page authenticates the session cookie and, on anything but GET and HEAD,
// checks the form's CSRF token before fn runs.
func (c *Console) page(fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.signedOut(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !c.crossOriginOK(r) || !validCSRF(r, s.CSRF) {
				c.fail(w, r, s, errs.E(errs.Forbidden, "The form has expired or did not come from this site. Go back, reload the page and try again."))
				return
			}
		}
		if err := fn(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	})
}

// session resolves the cookie through the same check as API tokens: an
// expired, revoked, deactivated or login-prevented session is refused.
func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, errs.E(errs.Unauthenticated, "")
	}
	u, err := c.Users.Authenticate(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	return &session{User: u, secret: ck.Value, CSRF: csrfFor(ck.Value)}, nil
}

// signedOut sends a request without a valid session to the sign-in page,
// telling why when there is something to tell (login prevented, expired).
func (c *Console) signedOut(w http.ResponseWriter, r *http.Request, err error) {
	kind := errs.KindOf(err)
	if kind != errs.Unauthenticated && kind != errs.Forbidden {
		c.fail(w, r, nil, err)
		return
	}
	if ck, cerr := r.Cookie(sessionCookie); cerr == nil && ck.Value != "" {
		if kind == errs.Forbidden {
			// Login is prevented: the session is over, not just paused.
			if err := c.Users.EndSession(r.Context(), ck.Value); err != nil {
				c.Logger.Warn("console: end refused session", "error", err)
			}
		}
		c.setCookie(w, r, sessionCookie, "", -1)
	}
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != Prefix {
		q.Set("next", r.URL.RequestURI())
	}
	if e, ok := errs.As(err); ok && e.Message != "" && kind == errs.Forbidden {
		q.Set("why", e.Message)
	}
	target := Prefix + "signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue(csrfField)
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// crossOriginOK refuses requests a browser marks as cross-site; the CSRF
// token is the second, independent check.
func (c *Console) crossOriginOK(r *http.Request) bool {
	return sameOrigin.Check(r) == nil
}

var sameOrigin = http.NewCrossOriginProtection()

// safeNext keeps post-sign-in redirects inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

type signInData struct {
	Username, Next, Why, Error string
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if s, err := c.session(r); err == nil && s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	c.renderSignIn(w, r, http.StatusOK, signInData{Next: safeNext(q.Get("next")), Why: q.Get("why")})
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData) {
	token := randomToken()
	c.setCookie(w, r, signInCookie, token, 3600)
	c.render(w, r, status, "signin", &session{CSRF: token}, "Sign in", d)
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signInCookie)
	if err != nil || !c.crossOriginOK(r) || !validCSRF(r, ck.Value) {
		c.fail(w, r, nil, errs.E(errs.Forbidden, "The sign-in form has expired or did not come from this site. Reload the page and try again."))
		return
	}
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	secret, err := c.Users.StartSession(r.Context(), username, password, c.clientAddr(r), c.SessionLifetime)
	if err != nil {
		status, msg := http.StatusBadRequest, "Unable to sign in with that username and password."
		switch e, _ := errs.As(err); errs.KindOf(err) {
		case errs.Throttled:
			status, msg = http.StatusTooManyRequests, "Too many failed attempts. "+e.Message
		case errs.Forbidden:
			status, msg = http.StatusForbidden, e.Message
		case errs.Invalid:
		default:
			c.fail(w, r, nil, err)
			return
		}
		c.renderSignIn(w, r, status, signInData{Username: username, Next: next, Error: msg})
		return
	}
	c.setCookie(w, r, signInCookie, "", -1)
	c.setCookie(w, r, sessionCookie, secret, int(c.SessionLifetime.Seconds()))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.Users.EndSession(r.Context(), s.secret); err != nil {
		return err
	}
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
	return nil
}

// clientAddr is the throttling key's address, as the API's login takes it.
func (c *Console) clientAddr(r *http.Request) string { return clientaddr.Of(r, c.TrustProxy) }

func randomToken() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var errNotFound = errs.NotFoundf("Not found.")
