package console

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/marketplace"
)

// userRoutes registers the staff pages about people: the users list, a
// user's page (roles, tokens, actions taken on them) with actioning, and
// the webhook event log (events.go).
//
// Who sees what: the list and users' pages are for staff and support (the
// auth service's ListUsers and GetUser decide what they show); tokens are
// shown to whom the auth service shows them (staff, or the user); actions
// and everything that changes something other than one's own tokens are
// for staff, checked here because the actioning service is
// FusionAuth-compatible and takes no viewer.
func (c *Console) userRoutes() {
	m := c.mux
	m.Handle("GET "+Prefix+"users/{$}", c.page(c.userList))
	m.Handle("GET "+Prefix+"users/{uuid}/{$}", c.page(c.userPage))
	m.Handle("POST "+Prefix+"users/{uuid}/tokens/{id}/revoke", c.page(c.tokenRevoke))
	if c.Actioning != nil {
		m.Handle("POST "+Prefix+"users/{uuid}/actions", c.page(c.userActionTake))
		m.Handle("GET "+Prefix+"users/{uuid}/actions/{id}/{$}", c.page(c.userActionPage))
		m.Handle("POST "+Prefix+"users/{uuid}/actions/{id}/modify", c.page(c.userActionModify))
		m.Handle("POST "+Prefix+"users/{uuid}/actions/{id}/cancel", c.page(c.userActionCancel))
	}
	c.eventRoutes()
}

// usersVisible: the users pages exist for staff and support only.
func usersVisible(s *session) error {
	if !s.User.SeesEverything() {
		return errNotFound
	}
	return nil
}

// userStaffOnly: actioning, other people's tokens, the event log and jobs.
func userStaffOnly(s *session) error {
	if !s.User.IsStaff {
		return errNotFound
	}
	return nil
}

type usersData struct {
	Q, Active string
	Rows      []*auth.User
	Pager     pager
}

// userList lists users; ?q= finds any part of a username, name or email.
func (c *Console) userList(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := usersVisible(s); err != nil {
		return err
	}
	q := r.URL.Query()
	d := usersData{Q: strings.TrimSpace(q.Get("q")), Active: q.Get("active")}
	f := auth.UserFilter{Query: d.Q}
	switch d.Active {
	case "yes", "no":
		b := d.Active == "yes"
		f.IsActive = &b
	default:
		d.Active = ""
	}
	page, n := listPage(r)
	users, total, err := c.Users.ListUsers(r.Context(), s.User, f, page)
	if err != nil {
		return err
	}
	d.Rows, d.Pager = users, pagerFor(r, n, total)
	c.render(w, r, http.StatusOK, "users", s, "Users", d)
	return nil
}

// tokenRow is a token as the user's page lists it.
type tokenRow struct {
	auth.Token
	Session bool
}

// instanceRow is an action taken on the user.
type instanceRow struct {
	*actioning.Instance
	Name, Option, Reason string
	// State is active, expired, cancelled or done (instantaneous).
	State    string
	Expiry   *time.Time
	Forever  bool
	Actioner string
	Prevents bool
}

// userDefinitionChoice is one entry of the "Action this user" select: a
// definition, with one of its options when it has some.
type userDefinitionChoice struct {
	Value, Label string
	Temporal     bool
}

type userData struct {
	User  *auth.User
	Roles []marketplace.UserPermission
	// Tokens is nil when the viewer may not see them.
	Tokens     []tokenRow
	ShowTokens bool
	CanRevoke  bool
	// Actioning is false without the actioning service or for support.
	Actioning bool
	Current   []instanceRow
	Past      []instanceRow
	Choices   []userDefinitionChoice
	Reasons   []*actioning.Reason
	Form      userActionForm
	// Errors are the action form's validation messages, by label.
	Errors map[string][]string
	Now    time.Time
}

// userActionForm is what the "Action this user" and modify forms post.
type userActionForm struct {
	Choice, Reason, Comment    string
	Amount, Unit, At, AtLocal  string
	Forever, Notify, EmailUser bool
}

// actionRequest is what every actioning form asks of the service: the
// signed-in staff member acts, with the form's comment and notifications.
func (c *Console) actionRequest(r *http.Request, s *session, f userActionForm) actioning.Request {
	return actioning.Request{Broadcast: true, ClientAddr: c.clientAddr(r), ActionerID: s.User.UUID, Comment: f.Comment,
		NotifyUser: f.Notify, EmailUser: f.EmailUser}
}

func readUserActionForm(r *http.Request) userActionForm {
	f := userActionForm{
		Choice: r.PostFormValue("action"), Reason: r.PostFormValue("reason"),
		Comment: strings.TrimSpace(r.PostFormValue("comment")),
		Amount:  strings.TrimSpace(r.PostFormValue("amount")), Unit: r.PostFormValue("unit"),
		At: strings.TrimSpace(r.PostFormValue("expiry")), AtLocal: strings.TrimSpace(r.PostFormValue("expiry_local")),
		Forever: r.PostFormValue("forever") == "1", Notify: r.PostFormValue("notify") == "1",
		EmailUser: r.PostFormValue("email") == "1",
	}
	return f
}

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.loadUser(r.Context(), r, s)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "user", s, userTitle(d.User), d)
	return nil
}

func userTitle(u *auth.User) string {
	if u.FullName != "" {
		return u.FullName + " (" + u.Username + ")"
	}
	return u.Username
}

// loadUser gathers the user's page for the user in the path.
func (c *Console) loadUser(ctx context.Context, r *http.Request, s *session) (*userData, error) {
	if err := usersVisible(s); err != nil {
		return nil, err
	}
	_, u, err := loadFromPath(r, s, "uuid", c.Users.GetUser)
	if err != nil {
		return nil, err
	}
	d := &userData{User: u, Now: c.Clock().UTC(), Form: userActionForm{Unit: "days", Amount: "1"}}
	perms, err := c.Market.UserPermissions(ctx, []int64{u.ID})
	if err != nil {
		return nil, err
	}
	d.Roles = perms[u.ID]
	tokens, err := c.Users.Tokens(ctx, s.User, u.UUID)
	switch {
	case err == nil:
		d.ShowTokens, d.CanRevoke = true, true
		for _, t := range tokens {
			d.Tokens = append(d.Tokens, tokenRow{Token: t, Session: t.Description == auth.SessionDescription})
		}
	case errs.KindOf(err) == errs.NotFound:
		// Support sees a user, not their tokens.
	default:
		return nil, err
	}
	if c.Actioning == nil || !s.User.IsStaff {
		return d, nil
	}
	d.Actioning = true
	if err := c.loadActions(ctx, s, d); err != nil {
		return nil, err
	}
	return d, nil
}

func (c *Console) loadActions(ctx context.Context, s *session, d *userData) error {
	list, err := c.Actioning.ListInstances(ctx, actioning.InstanceFilter{UserID: d.User.UUID})
	if err != nil {
		return err
	}
	now := d.Now
	names := map[uuid.UUID]string{}
	for i := len(list) - 1; i >= 0; i-- { // newest first
		row := c.instanceRow(ctx, s, list[i], now, names)
		if row.State == "active" {
			d.Current = append(d.Current, row)
		} else {
			d.Past = append(d.Past, row)
		}
	}
	defs, err := c.Actioning.ListDefinitions(ctx, false)
	if err != nil {
		return err
	}
	for _, def := range defs {
		if !def.Active {
			continue
		}
		if len(def.Options) == 0 || def.Temporal {
			d.Choices = append(d.Choices, userDefinitionChoice{Value: def.ID.String() + "|", Label: userDefinitionLabel(def), Temporal: def.Temporal})
			continue
		}
		for _, o := range def.Options {
			d.Choices = append(d.Choices, userDefinitionChoice{Value: def.ID.String() + "|" + o.Name, Label: def.Name + ": " + o.Name})
		}
	}
	sort.SliceStable(d.Choices, func(i, j int) bool { return d.Choices[i].Label < d.Choices[j].Label })
	d.Reasons, err = c.Actioning.ListReasons(ctx)
	return err
}

func userDefinitionLabel(d *actioning.Definition) string {
	l := d.Name
	switch {
	case d.PreventLogin:
		l += " (prevents sign-in; needs a duration)"
	case d.Temporal:
		l += " (needs a duration)"
	}
	return l
}

func (c *Console) instanceRow(ctx context.Context, s *session, in *actioning.Instance, now time.Time, names map[uuid.UUID]string) instanceRow {
	row := instanceRow{Instance: in, Option: in.Option, Reason: in.Reason}
	if d := in.Definition(); d != nil {
		row.Name, row.Prevents = d.Name, d.PreventLogin
	}
	switch {
	case in.Active(now):
		row.State = "active"
	case in.Cancelled:
		row.State = "cancelled"
	case in.Temporal:
		row.State = "expired"
	default:
		row.State = "done"
	}
	row.Expiry, row.Forever = actionEnd(in.Expiry)
	row.Actioner = c.userName(ctx, s, in.ActionerID, names)
	return row
}

// actionEnd reads an action's expiry (Unix milliseconds): the instant it
// ends, or forever (until cancelled); neither without an expiry.
func actionEnd(expiry *int64) (at *time.Time, forever bool) {
	switch {
	case expiry == nil:
		return nil, false
	case *expiry >= actioning.ForeverThreshold:
		return nil, true
	}
	t := time.UnixMilli(*expiry).UTC()
	return &t, false
}

// userName names an actioner for the page ("heed" for actions heed took).
func (c *Console) userName(ctx context.Context, s *session, id uuid.UUID, names map[uuid.UUID]string) string {
	if id == uuid.Nil {
		return "heed"
	}
	if n, ok := names[id]; ok {
		return n
	}
	n := id.String()
	if u, err := c.Users.GetUser(ctx, s.User, id); err == nil {
		n = u.Username
	}
	names[id] = n
	return n
}

func userURL(id uuid.UUID) string {
	return Prefix + "users/" + hexUUID(id) + "/"
}

func (c *Console) tokenRevoke(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := usersVisible(s); err != nil {
		return err
	}
	id, err := pathUUID(r, "uuid")
	if err != nil {
		return err
	}
	tokenID, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errNotFound
	}
	// The auth service lets staff revoke anyone's tokens and others only
	// their own.
	if err := c.Users.RevokeToken(r.Context(), s.User, id, tokenID); err != nil {
		return err
	}
	return c.redirectWith(w, r, userURL(id), "Token revoked: whoever used it is signed out.")
}

// actionExpiryFrom reads the form's expiry: until cancelled, an instant (the
// browser's local time sent as UTC by console.js in "expiry", or without
// JavaScript the datetime-local value read as UTC), or a duration from now.
// Nothing given is nil, which the service reports when it needs one.
func actionExpiryFrom(f userActionForm, now time.Time) (*int64, error) {
	field := func(msg string) error { return errs.Field("action.expiry", "%s", msg) }
	var at time.Time
	switch {
	case f.Forever:
		v := actioning.Forever
		return &v, nil
	case f.At != "":
		t, err := time.Parse(time.RFC3339, f.At)
		if err != nil {
			return nil, field("The expiry is not a date and time.")
		}
		at = t
	case f.AtLocal != "":
		t, err := time.Parse("2006-01-02T15:04", f.AtLocal)
		if err != nil {
			if t, err = time.Parse("2006-01-02T15:04:05", f.AtLocal); err != nil {
				return nil, field("The expiry is not a date and time.")
			}
		}
		at = t
	case f.Amount != "":
		n, err := strconv.Atoi(f.Amount)
		if err != nil || n < 1 || n > 100000 {
			return nil, field("The duration must be a whole number from 1.")
		}
		unit := map[string]time.Duration{"minutes": time.Minute, "hours": time.Hour, "days": 24 * time.Hour, "weeks": 7 * 24 * time.Hour}[f.Unit]
		if unit == 0 {
			return nil, field("Choose minutes, hours, days or weeks.")
		}
		at = now.Add(time.Duration(n) * unit)
	default:
		return nil, nil
	}
	ms := at.UnixMilli()
	return &ms, nil
}

// userActionTake is "Action this user": the request the API's POST
// /api/user/action builds, with the signed-in staff member as actioner,
// validated by the same service.
func (c *Console) userActionTake(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := userStaffOnly(s); err != nil {
		return err
	}
	ctx := r.Context()
	_, u, err := loadFromPath(r, s, "uuid", c.Users.GetUser)
	if err != nil {
		return err
	}
	f := readUserActionForm(r)
	req := c.actionRequest(r, s, f)
	req.ActioneeID = u.UUID
	bad := &errs.Error{Kind: errs.Invalid}
	def, opt, _ := strings.Cut(f.Choice, "|")
	var temporal bool
	if def != "" {
		if req.DefinitionID, err = uuid.Parse(def); err != nil {
			bad.Add("invalid", "action.userActionId", "Choose an action.")
		} else if d, err := c.Actioning.GetDefinition(ctx, req.DefinitionID); err == nil {
			temporal = d.Temporal
		} else if errs.KindOf(err) != errs.NotFound {
			return err
		}
	}
	if opt != "" {
		req.Option = &opt
	}
	if f.Reason != "" {
		if req.ReasonID, err = uuid.Parse(f.Reason); err != nil {
			bad.Add("invalid", "action.reasonId", "Choose a reason.")
		}
	}
	// The form has one set of duration fields for every action; an
	// instantaneous one has no expiry, so they are ignored for it.
	if temporal {
		if req.Expiry, err = actionExpiryFrom(f, c.Clock()); err != nil {
			bad.Add("invalid", "action.expiry", "%s", userFieldMessage(err))
		}
	}
	if err := bad.OrNil(); err != nil {
		return c.userActionFailed(w, r, s, f, uuid.Nil, err)
	}
	in, err := c.Actioning.Take(ctx, req)
	if err != nil {
		return c.userActionFailed(w, r, s, f, uuid.Nil, err)
	}
	return c.redirectWith(w, r, userURL(u.UUID), userActionFlash(u, in, "taken"))
}

func userFieldMessage(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Message
	}
	return err.Error()
}

func userActionFlash(u *auth.User, in *actioning.Instance, verb string) string {
	name := in.DefinitionID.String()
	if d := in.Definition(); d != nil {
		name = d.Name
	}
	msg := name + " " + verb + " on " + u.Username
	if in.Option != "" {
		msg += " (" + in.Option + ")"
	}
	if verb != "cancelled" {
		switch at, forever := actionEnd(in.Expiry); {
		case forever:
			msg += ", until cancelled"
		case at != nil:
			msg += ", until " + at.Format("2006-01-02 15:04 UTC")
		}
	}
	return msg + "."
}

// actionFormLabels name the service's fields as the form shows them.
var actionFormLabels = map[string]string{
	"action.userActionId": "Action", "action.option": "Action", "action.expiry": "Duration or expiry",
	"action.reasonId": "Reason", "action.notifyUser": "Notify the user", "action.emailUser": "Email the user",
	"action.comment": "Comment", "action.actionerUserId": "You", "action.actioneeUserId": "User",
}

// userActionFailed shows the form again as posted, with the service's
// messages beside it (status 400): the user's page for taking an action,
// the action's page for changing one. Other errors become the error page.
func (c *Console) userActionFailed(w http.ResponseWriter, r *http.Request, s *session, f userActionForm, change uuid.UUID, err error) error {
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Invalid {
		return err
	}
	msgs := map[string][]string{}
	for field, list := range e.Fields {
		label := actionFormLabels[field]
		if label == "" {
			label = field
		}
		msgs[label] = append(msgs[label], list...)
	}
	if len(msgs) == 0 {
		msgs["Action"] = []string{e.Message}
	}
	if change != uuid.Nil {
		d, lerr := c.loadUserAction(r, s)
		if lerr != nil {
			return lerr
		}
		d.Form, d.Errors = f, msgs
		c.render(w, r, http.StatusBadRequest, "user_action", s, d.Row.Name+" on "+d.User.Username, d)
		return nil
	}
	d, lerr := c.loadUser(r.Context(), r, s)
	if lerr != nil {
		return lerr
	}
	d.Form, d.Errors = f, msgs
	c.render(w, r, http.StatusBadRequest, "user", s, userTitle(d.User), d)
	return nil
}

// actionHistoryRow is a state an action had before a change.
type actionHistoryRow struct {
	Actioner, Comment string
	Created           time.Time
	Expiry            *time.Time
	Forever           bool
}

type userActionData struct {
	User    *auth.User
	Row     instanceRow
	History []actionHistoryRow
	Form    userActionForm
	Errors  map[string][]string
}

// loadUserAction gathers an action's page: the action on the user in the
// path, with its history.
func (c *Console) loadUserAction(r *http.Request, s *session) (*userActionData, error) {
	u, in, err := c.userInstance(r, s)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if in, err = c.Actioning.GetInstance(ctx, in.ID, true); err != nil {
		return nil, err
	}
	names := map[uuid.UUID]string{}
	d := &userActionData{User: u, Row: c.instanceRow(ctx, s, in, c.Clock(), names),
		Form: userActionForm{Comment: in.Comment, Unit: "days"}}
	for i := len(in.History) - 1; i >= 0; i-- {
		h := in.History[i]
		row := actionHistoryRow{Actioner: c.userName(ctx, s, h.ActionerID, names), Comment: h.Comment, Created: h.Created}
		row.Expiry, row.Forever = actionEnd(h.Expiry)
		d.History = append(d.History, row)
	}
	return d, nil
}

func (c *Console) userActionPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := c.loadUserAction(r, s)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "user_action", s, d.Row.Name+" on "+d.User.Username, d)
	return nil
}

// userInstance loads an action taken on the user in the path; another
// user's action is not found here.
func (c *Console) userInstance(r *http.Request, s *session) (*auth.User, *actioning.Instance, error) {
	if err := userStaffOnly(s); err != nil {
		return nil, nil, err
	}
	uid, err := pathUUID(r, "uuid")
	if err != nil {
		return nil, nil, err
	}
	iid, err := pathUUID(r, "id")
	if err != nil {
		return nil, nil, err
	}
	u, err := c.Users.GetUser(r.Context(), s.User, uid)
	if err != nil {
		return nil, nil, err
	}
	in, err := c.Actioning.GetInstance(r.Context(), iid, false)
	if err != nil {
		return nil, nil, err
	}
	if in.ActioneeID != u.UUID {
		return nil, nil, errNotFound
	}
	return u, in, nil
}

func (c *Console) userActionModify(w http.ResponseWriter, r *http.Request, s *session) error {
	u, in, err := c.userInstance(r, s)
	if err != nil {
		return err
	}
	f := readUserActionForm(r)
	req := c.actionRequest(r, s, f)
	if req.Expiry, err = actionExpiryFrom(f, c.Clock()); err != nil {
		return c.userActionFailed(w, r, s, f, in.ID, errs.Coded("invalid", "action.expiry", "%s", userFieldMessage(err)))
	}
	out, err := c.Actioning.Modify(r.Context(), in.ID, req)
	if err != nil {
		return c.userActionFailed(w, r, s, f, in.ID, err)
	}
	return c.redirectWith(w, r, userURL(u.UUID), userActionFlash(u, out, "changed"))
}

func (c *Console) userActionCancel(w http.ResponseWriter, r *http.Request, s *session) error {
	u, in, err := c.userInstance(r, s)
	if err != nil {
		return err
	}
	f := readUserActionForm(r)
	req := c.actionRequest(r, s, f)
	out, err := c.Actioning.Cancel(r.Context(), in.ID, req)
	if err != nil {
		return c.userActionFailed(w, r, s, f, in.ID, err)
	}
	return c.redirectWith(w, r, userURL(u.UUID), userActionFlash(u, out, "cancelled"))
}
