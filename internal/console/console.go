// Package console serves heed's web pages under /console/: server-rendered
// html/template pages with embedded assets, signed in with a session
// cookie. Pages call the domain services with the signed-in user, so they
// show and allow exactly what the API would; the console runs no SQL.
package console

import (
	"embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/history"
	"github.com/heed-dev/heed/internal/marketplace"
	"github.com/heed-dev/heed/internal/useractions"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

// maxFormBytes bounds a posted form (and riverui's JSON posts).
const maxFormBytes = 1 << 20

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Deps are the services the pages call. Actions, History, Actioning,
// Events and Jobs may be nil: their pages are then absent.
type Deps struct {
	Users     *auth.Service
	Market    *marketplace.Service
	History   *history.Store
	Actions   *useractions.Service
	Actioning *actioning.Service
	Events    *events.Service
	// Jobs is River's dashboard, served to staff under /console/jobs/.
	Jobs http.Handler
	// SessionLifetime bounds a session; zero means 7 days.
	SessionLifetime time.Duration
	// TrustProxy honours X-Forwarded-Proto for the Secure cookie flag and
	// X-Forwarded-For for sign-in throttling.
	TrustProxy bool
	Logger     *slog.Logger
	// Clock is injected by tests; nil means the wall clock.
	Clock func() time.Time
}

// Console is the console's http.Handler.
type Console struct {
	Deps
	mux   *http.ServeMux
	pages map[string]*pageTemplate
}

// New builds the console. It fails only if a template does not parse,
// which a test catches.
func New(d Deps) (*Console, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.SessionLifetime <= 0 {
		d.SessionLifetime = 7 * 24 * time.Hour
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	c := &Console{Deps: d, mux: http.NewServeMux()}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = pages
	c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler. Cross-origin form posts are refused
// before any handler runs (browsers say where a request comes from), and
// every form also carries a token tied to the session (checkCSRF).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Forms are small; the API's bound holds here too.
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := c.mux
	m.Handle("GET "+Prefix+"assets/", http.StripPrefix(Prefix, http.FileServerFS(assetFS)))
	m.HandleFunc("GET "+Prefix+"signin", c.signInPage)
	m.HandleFunc("POST "+Prefix+"signin", c.signIn)
	m.Handle("POST "+Prefix+"signout", c.page(c.signOut))
	m.Handle("GET "+Prefix+"{$}", c.page(c.home))
	m.Handle(Prefix, c.page(func(w http.ResponseWriter, r *http.Request, s *session) error {
		return errNotFound
	}))
	c.actionRoutes()
	c.marketRoutes()
	c.historyRoutes()
	c.userRoutes()
	c.jobRoutes()
}

// home is "my actions" for everyone: the page that says what needs the
// user's attention.
func (c *Console) home(w http.ResponseWriter, r *http.Request, s *session) error {
	if c.Actions == nil {
		http.Redirect(w, r, Prefix+"resources/", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, Prefix+"actions/", http.StatusSeeOther)
	return nil
}
