package console

import (
	"net/http"
	"strings"

	"github.com/heed-dev/heed/internal/errs"
)

// jobsPrefix is where River's dashboard (jobs.Runner.Dashboard) is served;
// the dashboard is built with the same prefix.
const jobsPrefix = Prefix + "jobs"

// dashboardCSP allows what riverui's embedded single-page app needs and
// nothing from elsewhere: its scripts, styles and API calls all come from
// this origin (it inserts style elements, hence 'unsafe-inline' for styles).
const dashboardCSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// jobRoutes mounts River's dashboard for staff at /console/jobs/ and
// everything under it (its pages, assets and JSON API).
func (c *Console) jobRoutes() {
	m := c.mux
	if c.Jobs == nil {
		m.Handle("GET "+jobsPrefix+"/", c.page(c.jobsUnavailable))
		return
	}
	h := c.staffDashboard(c.Jobs)
	m.Handle(jobsPrefix+"/", h)
	// riverui redirects its bare prefix to the prefix with a slash.
	m.Handle(jobsPrefix, h)
}

// staffDashboard lets signed-in staff through to ui and shows everyone
// else what any other staff page shows them: the sign-in page, or 404.
//
// It does not use c.page for requests that change something: riverui's
// pages post JSON to its own API under the prefix (retry, cancel, delete
// jobs; pause and resume queues) from its JavaScript, which cannot carry
// the console's form token. Those requests are checked instead with
// http.CrossOriginProtection (Sec-Fetch-Site / Origin against Host), which
// is what stops a cross-site page from making a signed-in operator's
// browser send them; the session cookie is SameSite=Lax as well, so
// browsers do not attach it to cross-site posts in the first place.
func (c *Console) staffDashboard(ui http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			c.signedOut(w, r, err)
			return
		}
		if !s.User.IsStaff {
			c.fail(w, r, s, errNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !c.crossOriginOK(r) {
			c.fail(w, r, s, errs.E(errs.Forbidden, "The request did not come from this site."))
			return
		}
		w.Header().Set("Content-Security-Policy", dashboardCSP)
		if !strings.HasPrefix(r.URL.Path, jobsPrefix+"/assets/") {
			// Job arguments and errors can hold people's data.
			w.Header().Set("Cache-Control", "no-store")
		}
		ui.ServeHTTP(w, r)
	})
}

// jobsUnavailable tells staff why there is no dashboard (it could not be
// built; the log says why).
func (c *Console) jobsUnavailable(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.User.IsStaff {
		return errNotFound
	}
	c.render(w, r, http.StatusOK, "jobs_unavailable", s, "Jobs", nil)
	return nil
}
