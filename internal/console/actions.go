package console

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// actionRoutes registers "my actions": the list as the API ranks it,
// silencing, bulk silencing, corrective actions and the execution history.
func (c *Console) actionRoutes() {
	if c.Actions == nil {
		return
	}
	m := c.mux
	m.Handle("GET "+Prefix+"actions/{$}", c.page(c.actionList))
	m.Handle("POST "+Prefix+"actions/{uuid}/silence", c.page(c.actionSilence))
	m.Handle("POST "+Prefix+"actions/{uuid}/unsilence", c.page(c.actionUnsilence))
	m.Handle("POST "+Prefix+"actions/bulk-silence", c.page(c.actionBulkSilence))
	m.Handle("POST "+Prefix+"actions/{uuid}/run", c.page(c.actionRun))
	m.Handle("GET "+Prefix+"actions/executions/{$}", c.page(c.executionList))
}

// actionFilter is the list's filter, read from the query (GET) or the
// bulk-silence form (POST), so both select exactly the same actions.
type actionFilter struct {
	Urgency, Type   string
	IncludeSilenced bool
}

func readActionFilter(v url.Values) actionFilter {
	f := actionFilter{Urgency: v.Get("urgency"), Type: v.Get("type")}
	switch f.Urgency {
	case "high", "medium", "low":
	default:
		f.Urgency = ""
	}
	f.IncludeSilenced = v.Get("include_silenced") == "1"
	return f
}

func (f actionFilter) domain() useractions.Filter {
	return useractions.Filter{Urgency: f.Urgency, ActionType: f.Type, IncludeSilenced: f.IncludeSilenced}
}

// query is the filter as a query string, to come back to after a post.
func (f actionFilter) query() string {
	q := url.Values{}
	if f.Urgency != "" {
		q.Set("urgency", f.Urgency)
	}
	if f.Type != "" {
		q.Set("type", f.Type)
	}
	if f.IncludeSilenced {
		q.Set("include_silenced", "1")
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// actionRow is one action as the page shows it.
type actionRow struct {
	*useractions.Action
	Hex        string
	DaysDue    *int
	Silenced   bool
	Corrective []correctiveButton
}

// correctiveButton is a corrective action: a form button for API actions,
// a link for navigate actions (Href empty when heed has no such page).
type correctiveButton struct {
	provider.CorrectiveAction
	Href string
}

type actionsData struct {
	Filter  actionFilter
	Query   string
	Rows    []actionRow
	Summary useractions.Summary
	Types   []string
	Pager   pager
}

func (c *Console) actionList(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	f := readActionFilter(r.URL.Query())
	page, n := listPage(r)
	list, total, err := c.Actions.List(ctx, s.User, f.domain(), page)
	if err != nil {
		return err
	}
	sum, err := c.Actions.Summarize(ctx, s.User, f.domain())
	if err != nil {
		return err
	}
	// The type filter offers the types the user has, whatever else the
	// filter says.
	all, err := c.Actions.Summarize(ctx, s.User, useractions.Filter{IncludeSilenced: true})
	if err != nil {
		return err
	}
	d := actionsData{Filter: f, Query: f.query(), Summary: sum, Pager: pagerFor(r, n, total)}
	for t := range all.ByType {
		d.Types = append(d.Types, t)
	}
	sort.Strings(d.Types)
	now := c.Clock()
	for _, a := range list {
		row := actionRow{Action: a, Hex: hexUUID(a.UUID), DaysDue: a.DaysUntilDue(now), Silenced: a.IsEffectivelySilenced(now)}
		cas, err := a.Corrective()
		if err != nil {
			return err
		}
		for _, ca := range cas {
			b := correctiveButton{CorrectiveAction: ca}
			if !ca.APIEndpoint && ca.RouteName != nil {
				b.Href = routeURL(*ca.RouteName, ca.RouteParams)
			}
			row.Corrective = append(row.Corrective, b)
		}
		d.Rows = append(d.Rows, row)
	}
	c.render(w, r, http.StatusOK, "actions", s, "My actions", d)
	return nil
}

// routeURL maps the route names providers give (Waldur HomePort's) to the
// console's pages; "" when the console has no such page.
func routeURL(name string, params map[string]any) string {
	str := func(k string) string { v, _ := params[k].(string); return v }
	id := func(k string) string {
		u, err := uuid.Parse(str(k))
		if err != nil {
			return ""
		}
		return hexUUID(u)
	}
	switch name {
	case "marketplace-orders.details":
		if o := id("order_uuid"); o != "" {
			return Prefix + "orders/" + o + "/"
		}
	case "marketplace-resource-details":
		if res := id("resource_uuid"); res != "" {
			u := Prefix + "resources/" + res + "/"
			if tab := str("tab"); tab != "" {
				u += "?tab=" + url.QueryEscape(tab)
			}
			return u
		}
	}
	return ""
}

// silenceDays reads the silence buttons: 7 or 30 days, or "forever".
func silenceDays(v string) (*int, error) {
	if v == "forever" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, errs.Field("days", "Choose 7 days, 30 days or for good.")
	}
	return &n, nil
}

func silencedFor(days *int) string {
	if days == nil {
		return "for good"
	}
	return "for " + plural(*days, "day")
}

func (c *Console) actionSilence(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathUUID(r, "uuid")
	if err != nil {
		return err
	}
	days, err := silenceDays(r.PostFormValue("days"))
	if err != nil {
		return err
	}
	if err := c.Actions.Silence(r.Context(), s.User, id, days); err != nil {
		return err
	}
	return c.redirectWith(w, r, Prefix+"actions/"+readActionFilter(r.PostForm).query(), "Silenced "+silencedFor(days)+".")
}

func (c *Console) actionUnsilence(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := pathUUID(r, "uuid")
	if err != nil {
		return err
	}
	if err := c.Actions.Unsilence(r.Context(), s.User, id); err != nil {
		return err
	}
	return c.redirectWith(w, r, Prefix+"actions/"+readActionFilter(r.PostForm).query(), "Unsilenced.")
}

func (c *Console) actionBulkSilence(w http.ResponseWriter, r *http.Request, s *session) error {
	days, err := silenceDays(r.PostFormValue("days"))
	if err != nil {
		return err
	}
	f := readActionFilter(r.PostForm)
	n, err := c.Actions.BulkSilence(r.Context(), s.User, f.domain(), days)
	if err != nil {
		return err
	}
	return c.redirectWith(w, r, Prefix+"actions/"+f.query(), "Silenced "+plural(n, "action")+" "+silencedFor(days)+".")
}

type confirmData struct {
	Action *actionRow
	Button provider.CorrectiveAction
	Query  string
}

// actionRun executes a corrective action through the same service call as
// the API's execute_action. One that asks for confirmation first shows
// what it will do; the confirmed form posts again with confirmed=1.
func (c *Console) actionRun(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	id, err := pathUUID(r, "uuid")
	if err != nil {
		return err
	}
	label := r.PostFormValue("label")
	back := Prefix + "actions/" + readActionFilter(r.PostForm).query()
	a, err := c.Actions.Get(ctx, s.User, id, true)
	if err != nil {
		return err
	}
	cas, err := a.Corrective()
	if err != nil {
		return err
	}
	var ca *provider.CorrectiveAction
	for i := range cas {
		if cas[i].Label == label {
			ca = &cas[i]
		}
	}
	if ca == nil {
		return errs.NotFoundf("This action has no %q.", label)
	}
	if ca.ConfirmationRequired && r.PostFormValue("confirmed") != "1" {
		row := &actionRow{Action: a, Hex: hexUUID(a.UUID), DaysDue: a.DaysUntilDue(c.Clock())}
		c.render(w, r, http.StatusOK, "action_confirm", s, label, confirmData{Action: row, Button: *ca, Query: readActionFilter(r.PostForm).query()})
		return nil
	}
	out, err := c.Actions.Execute(ctx, s.User, id, label, nil)
	var failed *useractions.ExecutionError
	if errors.As(err, &failed) {
		var msg string
		if e, ok := errs.As(failed.Err); ok && e.Kind != errs.Internal {
			msg = e.Error()
		} else {
			c.Logger.Error("console: corrective action failed", "action", id, "label", label, "error", failed.Err)
			msg = "heed could not complete it; the failure is logged."
		}
		c.flashError(w, r, label+" failed: "+msg)
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if out.Action == "navigate" && out.RouteName != nil {
		if href := routeURL(*out.RouteName, out.RouteParams); href != "" {
			http.Redirect(w, r, href, http.StatusSeeOther)
			return nil
		}
	}
	return c.redirectWith(w, r, back, label+": "+orDefault(out.Message, "done."))
}

type executionsData struct {
	Rows  []*useractions.Execution
	Pager pager
}

func (c *Console) executionList(w http.ResponseWriter, r *http.Request, s *session) error {
	page, n := listPage(r)
	list, total, err := c.Actions.Executions(r.Context(), s.User, "", page)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "executions", s, "My executions", executionsData{Rows: list, Pager: pagerFor(r, n, total)})
	return nil
}
