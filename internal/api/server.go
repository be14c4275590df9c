// Package api is heed's HTTP skin: routes for each API family, the auth
// middleware, DRF pagination and errors, the OpenAPI document and docs page.
// It decodes, checks identity and calls domain services; rules live there.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/clientaddr"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/history"
	"github.com/heed-dev/heed/internal/marketplace"
	"github.com/heed-dev/heed/internal/useractions"
)

// Version is reported in the OpenAPI document; cmd/heed sets it at build.
var Version = "dev"

// Deps are the services the API needs.
type Deps struct {
	DB    *db.DB
	Users *auth.Service
	// Marketplace, when set, mounts the marketplace endpoints.
	Marketplace *marketplace.Service
	// History, with Marketplace, mounts the history endpoints.
	History *history.Store
	// Actions mounts the user-actions endpoints.
	Actions *useractions.Service
	// Events mounts the FusionAuth-family webhook, tenant, key and event
	// log endpoints.
	Events *events.Service
	// Actioning mounts FusionAuth's user actions, reasons, actioning,
	// applications, email templates and users (needs Events).
	Actioning *actioning.Service
	Logger    *slog.Logger
	Metrics   *prometheus.Registry
	// TrustProxy honours X-Forwarded-Proto/Host when building page links.
	TrustProxy bool
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// BodyReadTimeout bounds reading a request's body (default 5 s), and
	// only that: a handler may take longer (see bodyDeadline).
	BodyReadTimeout time.Duration
	// Mount lets domain packages add their routes to the same API.
	Mount []func(api huma.API)
	// Pages, when set, serves /console/ (and "/" redirects there): the
	// web pages share the server's logging, metrics and limits.
	Pages http.Handler
	// Draining, when it reports true, makes /readyz answer 503: the process
	// is shutting down and the load balancer should route elsewhere.
	Draining func() bool
}

// Server is the assembled HTTP handler and its OpenAPI description.
type Server struct {
	handler http.Handler
	api     huma.API
	mux     *http.ServeMux
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// OpenAPI returns the generated document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// muxAdapter is humago's adapter with one change: a path ending in "/" is
// registered with {$}, so /api/users/ does not also answer /api/users/xyz/.
// Every request passes the input boundary (checkInput) before Huma decodes it.
type muxAdapter struct {
	mux *http.ServeMux
	// reg resolves schema references for the boundary; set once the API
	// exists, before any request is served.
	reg huma.Registry
}

func (a *muxAdapter) Handle(op *huma.Operation, handler func(huma.Context)) {
	path := op.Path
	if strings.HasSuffix(path, "/") {
		path += "{$}"
	}
	fa := isFusionAuthOp(op)
	a.mux.HandleFunc(strings.ToUpper(op.Method)+" "+path, func(w http.ResponseWriter, r *http.Request) {
		if fa {
			w = &faBodyless{ResponseWriter: w}
		}
		if e := checkInput(op, a.reg, r); e != nil {
			if fa {
				writeFA(w, faFromDRF(e))
			} else {
				writeDRF(w, e)
			}
			return
		}
		handler(humago.NewContext(op, r, w))
	})
}

func (a *muxAdapter) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// huma.NewErrorWithContext is a package variable; every server built in one
// process shares one mapping, installed once.
var installErrors sync.Once

// Security scheme names used in the OpenAPI document.
const (
	schemeToken  = "tokenAuth"
	schemeBearer = "bearerAuth"
)

// authRequired marks an operation as needing an authenticated user.
var authRequired = []map[string][]string{{schemeToken: {}}, {schemeBearer: {}}}

// New assembles the handler.
func New(deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.MaxBodyBytes <= 0 {
		deps.MaxBodyBytes = 1 << 20
	}
	if deps.BodyReadTimeout <= 0 {
		deps.BodyReadTimeout = 5 * time.Second
	}
	installErrors.Do(func() {
		huma.NewErrorWithContext = newError(deps.Logger)
		huma.NewError = func(status int, msg string, errList ...error) huma.StatusError {
			return newError(deps.Logger)(nil, status, msg, errList...)
		}
	})

	mux := http.NewServeMux()
	// Start from a bare config: DefaultConfig's create hook adds a $schema
	// property and a describedBy Link header that break both wire formats.
	def := huma.DefaultConfig("heed", Version)
	cfg := huma.Config{
		OpenAPI:       def.OpenAPI,
		Formats:       map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat},
		DefaultFormat: "application/json",
	}
	cfg.Info.Description = "heed tells people what needs their attention and keeps the record of what happened. " +
		"Waldur-family endpoints (/api/users/, /api/marketplace-*, ...) speak Waldur's REST dialect: trailing slashes, " +
		"32-hex uuids, page/page_size pagination with X-Result-Count and Link headers, DRF-shaped errors."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		schemeToken: {Type: "apiKey", In: "header", Name: "Authorization",
			Description: "`Token <token>` (Waldur clients); a bare `<token>` is accepted too (FusionAuth clients)."},
		schemeBearer: {Type: "http", Scheme: "bearer"},
	}
	adapter := &muxAdapter{mux: mux}
	api := huma.NewAPI(cfg, adapter)
	adapter.reg = api.OpenAPI().Components.Schemas
	api.UseMiddleware(requireAuth(api))

	s := &Server{api: api, mux: mux}
	registerUsers(api, deps)
	if deps.Marketplace != nil {
		registerMarketplace(api, deps.Marketplace)
		if deps.History != nil {
			registerHistory(api, deps.History, deps.Marketplace)
		}
	}
	if deps.Actions != nil {
		registerUserActions(api, deps.Actions)
	}
	if deps.Events != nil {
		registerFAWebhooks(api, deps.Events)
		registerFATenants(api, deps.Events)
		registerFAKeys(api, deps.Events)
		registerFAEventLog(api, deps.Events)
	}
	if deps.Actioning != nil {
		registerFAUserActions(api, deps.Actioning)
		registerFAReasons(api, deps.Actioning)
		registerFAActioning(api, deps.Actioning, &faUsers{lookup: func(ctx context.Context, id uuid.UUID) []string {
			if u, err := auth.UserByUUID(ctx, deps.DB.Reader(), id); err == nil {
				return u.PreferredLanguages
			}
			return nil
		}})
		registerFAApplications(api, deps.Actioning)
		registerFAEmailTemplates(api, deps.Actioning)
		registerFAUsers(api, deps.DB, deps.Users)
	}
	for _, m := range deps.Mount {
		m(api)
	}
	setMaxBody(api, deps.MaxBodyBytes)
	ignoreUnknownBodyFields(api)
	validationIs400(api)
	headHasNoBody(api)
	queryListsNotNull(api)
	loginMayBePrevented(api)
	if deps.Events != nil {
		webhooksMayVeto(api)
	}
	faResponses(api)
	if deps.Events != nil {
		documentEvents(api)
	}
	registerOps(mux, api, deps)
	if deps.Pages != nil {
		mux.Handle("/console/", deps.Pages)
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/console/", http.StatusFound)
		})
	}
	metrics := newHTTPMetrics(deps.Metrics)

	var h http.Handler = notFoundJSON(mux)
	h = authenticate(deps.Users, h)
	h = withRequestURL(deps.TrustProxy, h)
	h = recoverJSON(deps.Logger, h)
	h = bodyDeadline(deps.BodyReadTimeout, h)
	h = logRequests(deps.Logger, metrics, h)
	s.handler = h
	return s
}

func setMaxBody(api huma.API, n int64) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Post, item.Put, item.Patch, item.Delete} {
			if op != nil {
				op.MaxBodyBytes = n
				// bodyDeadline bounds the body's reading instead: Huma's
				// deadline outlives the reading and cancels slow handlers.
				op.BodyReadTimeout = -1
			}
		}
	}
}

// validationIs400 makes the document match the wire: Huma declares 422 for
// every operation with inputs, but newError sends validation failures as 400.
func validationIs400(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Head, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil || op.Responses["422"] == nil {
				continue
			}
			if op.Responses["400"] == nil {
				r := *op.Responses["422"]
				r.Description = http.StatusText(http.StatusBadRequest)
				op.Responses["400"] = &r
			}
			if op.RequestBody != nil && op.Responses["415"] == nil {
				// Bodies are JSON; Huma refuses other content types.
				r := *op.Responses["422"]
				r.Description = http.StatusText(http.StatusUnsupportedMediaType)
				op.Responses["415"] = &r
			}
			delete(op.Responses, "422")
		}
	}
}

// loginMayBePrevented declares 403 wherever credentials are checked: a
// valid token of a user whose login an action prevents is refused with it.
func loginMayBePrevented(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Head, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil || op.Responses["401"] == nil || op.Responses["403"] != nil || isFusionAuthOp(op) {
				continue
			}
			r := *op.Responses["401"]
			r.Description = http.StatusText(http.StatusForbidden)
			op.Responses["403"] = &r
		}
	}
}

// webhooksMayVeto declares 504 on every change: a tenant that makes an
// event type transactional lets its webhooks veto the change that causes
// it (FusionAuth's [WebhookTransactionException]).
func webhooksMayVeto(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil || op.Responses["400"] == nil || op.Responses["504"] != nil {
				continue
			}
			r := *op.Responses["400"]
			r.Description = "A transactional webhook vetoed the change: nothing was committed."
			op.Responses["504"] = &r
		}
	}
}

// headHasNoBody makes HEAD operations declare headers only: a HEAD
// response never carries a body, errors included.
func headHasNoBody(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		if item.Head == nil {
			continue
		}
		for status, r := range item.Head.Responses {
			if len(r.Content) > 0 {
				c := *r
				c.Content = nil
				item.Head.Responses[status] = &c
			}
		}
	}
}

// queryListsNotNull: Huma declares a repeated query parameter (a Go slice)
// as ["array","null"], but a query string cannot carry null; the parameter
// is either absent or a list.
func queryListsNotNull(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Head, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			for _, p := range op.Parameters {
				if p.Schema != nil && p.Schema.Type == huma.TypeArray {
					p.Schema.Nullable = false
				}
			}
		}
	}
}

// requireAuth answers 401 for operations that declare security when the
// request carries no valid credentials.
func requireAuth(api huma.API) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		if isFusionAuthOp(ctx.Operation()) {
			if faAuthorized(auth.UserFrom(ctx.Context())) {
				next(ctx)
				return
			}
			ctx.SetStatus(http.StatusUnauthorized)
			return
		}
		if len(ctx.Operation().Security) == 0 {
			next(ctx)
			return
		}
		if auth.UserFrom(ctx.Context()) != nil {
			next(ctx)
			return
		}
		msg, status := msgNotProvided, http.StatusUnauthorized
		if e, ok := ctx.Context().Value(authErrorKey{}).(error); ok {
			msg = e.Error()
			if errs.KindOf(e) == errs.Forbidden {
				// Valid credentials, but an action prevents their use.
				status = http.StatusForbidden
			}
		}
		_ = huma.WriteErr(api, ctx, status, msg, detailError(status, msg))
	}
}

type authErrorKey struct{}

// tokenFromHeader accepts "Token <t>" (Waldur), "Bearer <t>" and a bare
// "<t>" (FusionAuth API keys).
func tokenFromHeader(h string) string {
	h = strings.TrimSpace(h)
	if h == "" {
		return ""
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		return h
	}
	switch strings.ToLower(scheme) {
	case "token", "bearer":
		return strings.TrimSpace(rest)
	}
	return h
}

// authenticate resolves the token into a user for the rest of the request.
// A bad token is remembered, not answered here: public endpoints ignore it,
// protected ones answer 401 with the reason.
func authenticate(users *auth.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := tokenFromHeader(r.Header.Get("Authorization"))
		if tok == "" || users == nil {
			next.ServeHTTP(w, r)
			return
		}
		u, err := users.Authenticate(r.Context(), tok)
		ctx := r.Context()
		if err != nil {
			ctx = context.WithValue(ctx, authErrorKey{}, err)
		} else {
			ctx = auth.WithUser(ctx, u)
			infoFrom(ctx).user = u.Username
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func withRequestURL(trustProxy bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), requestURLKey{}, absoluteURL(r, trustProxy))
		ctx = context.WithValue(ctx, clientAddrKey{}, clientaddr.Of(r, trustProxy))
		if t := r.Header.Get(faTenantHeader); t != "" {
			ctx = context.WithValue(ctx, faTenantKey{}, t)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// notFoundJSON turns the mux's plain-text 404 and 405 into DRF bodies.
func notFoundJSON(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			infoFrom(r.Context()).route = pattern
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerProbe{header: http.Header{}}
		mux.ServeHTTP(probe, r)
		if isFusionAuthPath(r.URL.Path) {
			if probe.status == http.StatusMethodNotAllowed {
				w.Header().Set("Allow", probe.header.Get("Allow"))
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeDRF(w, detailError(http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`))
			return
		}
		writeDRF(w, detailError(http.StatusNotFound, msgNotFound))
	})
}

// headerProbe records what the mux would answer, discarding the body.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }
