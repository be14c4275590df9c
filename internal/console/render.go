package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/heed-dev/heed/internal/errs"
)

// pageTemplate is one page: the layout and the shared partials plus the
// page's own file, parsed together so each page defines "title" and
// "content" without clashing.
type pageTemplate struct{ t *template.Template }

// sharedTemplates are parsed with every page; they are not pages.
var sharedTemplates = []string{"templates/layout.html", "templates/partials.html"}

func parsePages() (map[string]*pageTemplate, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, f := range files {
		if slices.Contains(sharedTemplates, f) {
			continue
		}
		name := strings.TrimSuffix(path.Base(f), ".html")
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, append(slices.Clone(sharedTemplates), f)...)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		out[name] = &pageTemplate{t}
	}
	return out, nil
}

// view is what every template gets: the session (nil on sign-in and on
// errors before one exists), the page's title, a flash message, and the
// page's own data in Data.
type view struct {
	Session *session
	Title   string
	Flash   string
	// FlashError says the flash reports a failure.
	FlashError bool
	Path       string
	Data       any
}

// CSRF is the token forms carry; templates write {{template "csrf" $}}.
func (v *view) CSRF() string {
	if v.Session == nil {
		return ""
	}
	return v.Session.CSRF
}

// render writes page name with status. Templates are executed into a
// buffer first, so a template error is a clean 500, not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, title string, data any) {
	p, ok := c.pages[name]
	if !ok {
		c.Logger.Error("console: no such page template", "page", name)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	v := &view{Session: s, Title: title, Data: data, Path: r.URL.Path, Flash: c.takeFlash(w, r)}
	if msg, ok := strings.CutPrefix(v.Flash, flashErrorMark); ok {
		v.Flash, v.FlashError = msg, true
	}
	var buf bytes.Buffer
	if err := p.t.Execute(&buf, v); err != nil {
		c.Logger.Error("console: render", "page", name, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Everything the pages need comes from here: nothing may load from
	// elsewhere, so they work offline and injected markup cannot call out.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

const flashCookie = "heed_flash"

// flash shows msg on the next page rendered (after a redirect).
func (c *Console) flash(w http.ResponseWriter, r *http.Request, msg string) {
	c.setCookie(w, r, flashCookie, encodeFlash(msg), 60)
}

// flashError is flash for a failure: shown as an error.
func (c *Console) flashError(w http.ResponseWriter, r *http.Request, msg string) {
	c.setCookie(w, r, flashCookie, encodeFlash(flashErrorMark+msg), 60)
}

const flashErrorMark = "!"

// redirectWith is the end of every successful form post: the browser
// fetches the next page with GET, showing msg once.
func (c *Console) redirectWith(w http.ResponseWriter, r *http.Request, to, msg string) error {
	if msg != "" {
		c.flash(w, r, msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	c.setCookie(w, r, flashCookie, "", -1)
	return decodeFlash(ck.Value)
}

// Cookie values may not hold every character; flashes are short.
func encodeFlash(s string) string { return url.QueryEscape(s) }

func decodeFlash(s string) string {
	out, err := url.QueryUnescape(s)
	if err != nil {
		return ""
	}
	return out
}

type errorData struct {
	Status  int
	Heading string
	Message string
	Fields  map[string][]string
}

// fail renders err as an error page in the console's look: the domain's
// message for what the user can act on, a generic one for the rest.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	d := errorData{Status: http.StatusInternalServerError, Heading: "Something went wrong",
		Message: "heed could not complete this request. It has been logged; try again in a moment."}
	e, ok := errs.As(err)
	switch kind := errs.KindOf(err); {
	case kind == errs.Unauthenticated:
		c.signedOut(w, r, err)
		return
	case !ok || kind == errs.Internal:
		c.Logger.Error("console: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	default:
		d.Message, d.Fields = e.Message, e.Fields
		switch kind {
		case errs.NotFound:
			d.Status, d.Heading = http.StatusNotFound, "Not found"
			d.Message = "There is nothing here, or you may not see it."
		case errs.Forbidden:
			d.Status, d.Heading = http.StatusForbidden, "Not allowed"
		case errs.Invalid:
			d.Status, d.Heading = http.StatusBadRequest, "That did not work"
		case errs.Conflict:
			d.Status, d.Heading = http.StatusConflict, "Not possible now"
		case errs.Throttled:
			d.Status, d.Heading = http.StatusTooManyRequests, "Too many attempts"
		case errs.Upstream:
			d.Status, d.Heading = http.StatusGatewayTimeout, "Refused by a webhook"
		}
	}
	c.render(w, r, d.Status, "error", s, d.Heading, d)
}

var funcs = template.FuncMap{
	"hex":       hexUUID,
	"when":      when,
	"whenp":     func(t *time.Time) template.HTML { return whenPtr(t) },
	"due":       due,
	"default":   func(def, s string) string { return orDefault(s, def) },
	"title":     titleCase,
	"add":       func(a, b int) int { return a + b },
	"deref":     func(p *int) int { return derefInt(p) },
	"hasPrefix": strings.HasPrefix,
	"list":      func(s ...string) []string { return s },
	"table":     newTable,
	"dict":      dict,
}

// table is what a table partial of partials.html gets: its rows and the
// optional columns (and attributes) to show, as {{template "resourceTable"
// (table .Data.Resources "project" "created")}}.
type table struct {
	Rows any
	Has  map[string]bool
}

// tableColumns are the optional columns the table partials know.
var tableColumns = []string{"project", "customer", "offering", "resource", "created", "createdBy", "dataState"}

func newTable(rows any, cols ...string) (table, error) {
	t := table{Rows: rows, Has: map[string]bool{}}
	for _, c := range cols {
		if !slices.Contains(tableColumns, c) {
			return t, fmt.Errorf("table: no optional column %q", c)
		}
		t.Has[c] = true
	}
	return t, nil
}

// dict gathers named values for a partial: (dict "Form" .Form "ID" "x").
func dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, fmt.Errorf("dict: %d arguments, want pairs", len(pairs))
	}
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		k, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", pairs[i])
		}
		m[k] = pairs[i+1]
	}
	return m, nil
}

// when shows an instant: UTC in the markup (and on hover), turned into
// the browser's time zone by console.js.
func when(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	u := t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		u.Format(time.RFC3339), u.Format("2006-01-02 15:04:05 UTC"), u.Format("2006-01-02 15:04 UTC")))
}

func whenPtr(t *time.Time) template.HTML {
	if t == nil {
		return "—"
	}
	return when(*t)
}

// due turns "days until due" into words: "in 3 days", "due today",
// "2 days overdue".
func due(days *int) string {
	if days == nil {
		return ""
	}
	switch d := *days; {
	case d == 0:
		return "due today"
	case d > 0:
		return "in " + plural(d, "day")
	default:
		return plural(int(math.Abs(float64(d))), "day") + " overdue"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func titleCase(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
