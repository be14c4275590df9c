package useractions

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// Action is a stored user action.
type Action struct {
	ID                int64
	UUID              uuid.UUID
	UserID            int64
	ActionType        string
	Object            provider.ObjectRef
	RelatedObjectName string
	Title             string
	Description       string
	Urgency           provider.Urgency
	DueDate           *time.Time
	RouteName         string
	// RouteParams and CorrectiveActions pass through as stored.
	RouteParams       json.RawMessage
	CorrectiveActions json.RawMessage
	ProjectName       string
	ProjectUUID       *uuid.UUID
	OrganizationName  string
	OrganizationUUID  *uuid.UUID
	OfferingName      string
	OfferingUUID      *uuid.UUID
	OfferingType      string
	ResourceName      string
	ResourceUUID      *uuid.UUID
	OrderType         string
	IsSilenced        bool
	SilencedAt        *time.Time
	SilencedUntil     *time.Time
	Created           time.Time
	Modified          time.Time
}

// IsTemporarilySilenced: silenced until a moment still to come.
func (a *Action) IsTemporarilySilenced(now time.Time) bool {
	return a.SilencedUntil != nil && a.SilencedUntil.After(now)
}

// IsEffectivelySilenced: silenced for good or for now.
func (a *Action) IsEffectivelySilenced(now time.Time) bool {
	return a.IsSilenced || a.IsTemporarilySilenced(now)
}

// DaysUntilDue is the due date's distance from today in whole days
// (negative when overdue), nil without a due date.
func (a *Action) DaysUntilDue(now time.Time) *int {
	if a.DueDate == nil {
		return nil
	}
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	d := int(day(a.DueDate.UTC()).Sub(day(now.UTC())).Hours() / 24)
	return &d
}

// Corrective decodes the corrective actions snapshot.
func (a *Action) Corrective() ([]provider.CorrectiveAction, error) {
	var out []provider.CorrectiveAction
	if err := json.Unmarshal(a.CorrectiveActions, &out); err != nil {
		return nil, fmt.Errorf("action %s corrective actions: %w", a.UUID, err)
	}
	return out, nil
}

// actionCols, per dialect: times go through db.Time (see TimeColumn).
var actionCols = map[db.Dialect]string{db.SQLite: actionColsOf(db.SQLite), db.Postgres: actionColsOf(db.Postgres)}

func actionColsOf(d db.Dialect) string {
	t := d.TimeColumn
	return `ua.id, ua.uuid, ua.user_id, ua.action_type, ua.object_type, ua.object_id, ua.related_object_name, ua.title,
	ua.description, ua.urgency, ` + t("ua.due_date") + `, ua.route_name, ua.route_params, ua.corrective_actions, ua.project_name,
	ua.project_uuid, ua.organization_name, ua.organization_uuid, ua.offering_name, ua.offering_uuid, ua.offering_type,
	ua.resource_name, ua.resource_uuid, ua.order_type, ua.is_silenced, ` + t("ua.silenced_at") + `, ` + t("ua.silenced_until") + `, ` +
		t("ua.created") + `, ` + t("ua.modified")
}

func scanAction(r db.Scanner) (*Action, error) {
	var (
		a                    Action
		id, urgency          string
		params, cas          string
		due, silAt, silUntil db.Time
		created, modified    db.Time
		proj, org, off, res  sql.NullString
	)
	if err := r.Scan(&a.ID, &id, &a.UserID, &a.ActionType, &a.Object.Type, &a.Object.ID, &a.RelatedObjectName, &a.Title,
		&a.Description, &urgency, &due, &a.RouteName, &params, &cas, &a.ProjectName, &proj, &a.OrganizationName, &org,
		&a.OfferingName, &off, &a.OfferingType, &a.ResourceName, &res, &a.OrderType, &a.IsSilenced, &silAt, &silUntil,
		&created, &modified); err != nil {
		return nil, err
	}
	var err error
	if a.UUID, err = uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("action %d uuid: %w", a.ID, err)
	}
	a.Urgency = provider.Urgency(urgency)
	a.RouteParams, a.CorrectiveActions = json.RawMessage(params), json.RawMessage(cas)
	a.DueDate, a.SilencedAt, a.SilencedUntil = due.Ptr(), silAt.Ptr(), silUntil.Ptr()
	a.Created, a.Modified = created.Time, modified.Time
	a.ProjectUUID, a.OrganizationUUID, a.OfferingUUID, a.ResourceUUID = uuidPtr(proj), uuidPtr(org), uuidPtr(off), uuidPtr(res)
	return &a, nil
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

func uuidPtr(s sql.NullString) *uuid.UUID {
	if !s.Valid {
		return nil
	}
	u, err := uuid.Parse(s.String)
	if err != nil {
		return nil
	}
	return &u
}

// Filter narrows the list, the summary and bulk silence.
type Filter struct {
	ActionType string
	Urgency    string
	// IncludeSilenced shows silenced actions too (hidden by default).
	IncludeSilenced bool
	IsSilenced      *bool
	Overdue         *bool
	DueWithinDays   *float64
	CreatedAfter    *time.Time
	CreatedBefore   *time.Time
	// UserUUID lists another user's actions: staff only; ignored otherwise.
	UserUUID *uuid.UUID
	Ordering string
}

// where builds the visibility and filter conditions for viewer: their own
// actions, or (staff) those of Filter.UserUUID. Instants are compared
// through d.TimeColumn: on SQLite a TIMESTAMP column has numeric affinity,
// and comparing it with a bound text made SQLite try to read that text as
// a number once per row (5 % of a summary's CPU).
func (f Filter) where(d db.Dialect, viewer *auth.User, now time.Time) (string, []any, error) {
	var conds []string
	var args []any
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	if f.UserUUID != nil && viewer.IsStaff {
		add("ua.user_id = (SELECT id FROM users WHERE uuid = ?)", f.UserUUID.String())
	} else {
		add("ua.user_id = ?", viewer.ID)
	}
	if !f.IncludeSilenced {
		add("ua.is_silenced = ? AND (ua.silenced_until IS NULL OR "+d.TimeColumn("ua.silenced_until")+" <= ?)", false, now)
	}
	if f.ActionType != "" {
		add("ua.action_type = ?", f.ActionType)
	}
	if f.Urgency != "" {
		if !provider.Urgency(f.Urgency).Valid() {
			return "", nil, errs.Field("urgency", "Select a valid choice. %s is not one of the available choices.", f.Urgency)
		}
		add("ua.urgency = ?", f.Urgency)
	}
	if f.IsSilenced != nil {
		add("ua.is_silenced = ?", *f.IsSilenced)
	}
	if f.Overdue != nil {
		if *f.Overdue {
			add("ua.due_date IS NOT NULL AND "+d.TimeColumn("ua.due_date")+" < ?", now)
		} else {
			add("(ua.due_date IS NULL OR "+d.TimeColumn("ua.due_date")+" >= ?)", now)
		}
	}
	if f.DueWithinDays != nil {
		days := *f.DueWithinDays
		if days < 0 || days > 36500 {
			return "", nil, errs.Field("due_within_days", "Ensure this value is between 0 and 36500.")
		}
		add("ua.due_date IS NOT NULL AND "+d.TimeColumn("ua.due_date")+" <= ?", now.Add(time.Duration(days*24*float64(time.Hour))))
	}
	if f.CreatedAfter != nil {
		add(d.TimeColumn("ua.created")+" >= ?", *f.CreatedAfter)
	}
	if f.CreatedBefore != nil {
		add(d.TimeColumn("ua.created")+" <= ?", *f.CreatedBefore)
	}
	return strings.Join(conds, " AND "), args, nil
}

// The default order: urgency rank (high first), due date (soonest, none
// last), newest.
var actionOrdering = map[string]string{
	"urgency": "ua.urgency_rank", "due_date": db.NullsLast("ua.due_date"), "created": "ua.created",
	"modified": "ua.modified", "action_type": "ua.action_type",
}

func orderActions(o string) string {
	// Waldur's "-urgency" means most urgent first: rank ascending.
	var parts []string
	for _, f := range strings.Split(o, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "urgency":
			f = "-urgency"
		case "-urgency":
			f = "urgency"
		}
		parts = append(parts, f)
	}
	if o == "" {
		parts = []string{"urgency", "due_date", "-created"}
	}
	return db.OrderBy(strings.Join(parts, ","), actionOrdering, []string{"urgency", "due_date", "-created"}, "ua.id")
}

// List returns viewer's actions (or, for staff, another user's).
func (s *Service) List(ctx context.Context, viewer *auth.User, f Filter, page db.Page) (out []*Action, total int, err error) {
	defer errs.Wrap(&err, "List")
	where, args, err := f.where(s.DB.Dialect(), viewer, s.DB.Now())
	if err != nil {
		return nil, 0, err
	}
	return db.ListPage(ctx, s.DB, listQuery(s.DB.Dialect(), where, args, f.Ordering, page), scanAction)
}

// listQuery is List's page: the migrations' user_actions_order index
// serves its default order.
func listQuery(d db.Dialect, where string, args []any, ordering string, page db.Page) db.PageQuery {
	return db.PageQuery{
		Columns: actionCols[d], From: " FROM user_actions ua", Where: where,
		OrderBy: orderActions(ordering), Args: args, Page: page,
	}
}

// Get returns one of viewer's actions; silenced ones only with
// includeSilenced. Anything else is not found.
func (s *Service) Get(ctx context.Context, viewer *auth.User, id uuid.UUID, includeSilenced bool) (*Action, error) {
	return s.get(ctx, s.DB.Reader(), viewer, id, includeSilenced)
}

func (s *Service) get(ctx context.Context, c db.Conn, viewer *auth.User, id uuid.UUID, includeSilenced bool) (*Action, error) {
	where, args, err := Filter{IncludeSilenced: includeSilenced}.where(s.DB.Dialect(), viewer, s.DB.Now())
	if err != nil {
		return nil, err
	}
	a, err := scanAction(c.QueryRow(ctx, "SELECT "+actionCols[s.DB.Dialect()]+" FROM user_actions ua WHERE ua.uuid = ? AND "+where,
		append([]any{id.String()}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get action %s: %w", id, err)
	}
	return a, nil
}

// Summary counts viewer's visible actions.
type Summary struct {
	Total     int
	Overdue   int
	ByUrgency map[string]int
	ByType    map[string]int
}

// Summarize counts the actions List would return, by urgency and type.
func (s *Service) Summarize(ctx context.Context, viewer *auth.User, f Filter) (out Summary, err error) {
	defer errs.Wrap(&err, "Summarize")
	now := s.DB.Now()
	where, args, err := f.where(s.DB.Dialect(), viewer, now)
	if err != nil {
		return out, err
	}
	out = Summary{ByUrgency: map[string]int{"high": 0, "medium": 0, "low": 0}, ByType: map[string]int{}}
	rows, err := s.DB.Reader().Query(ctx, `SELECT ua.action_type, ua.urgency, COUNT(*),
			SUM(CASE WHEN ua.due_date IS NOT NULL AND `+s.DB.Dialect().TimeColumn("ua.due_date")+` < ? THEN 1 ELSE 0 END)
		FROM user_actions ua WHERE `+where+` GROUP BY ua.action_type, ua.urgency`, append([]any{now}, args...)...)
	if err != nil {
		return out, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, u string
		var n, overdue int
		if err := rows.Scan(&t, &u, &n, &overdue); err != nil {
			return out, fmt.Errorf("scan: %w", err)
		}
		out.Total += n
		out.Overdue += overdue
		out.ByUrgency[u] += n
		out.ByType[t] += n
	}
	return out, rows.Err()
}

// validDuration checks a silence duration: 1–365 days, or nil (for good).
func validDuration(days *int) error {
	if days != nil && (*days < 1 || *days > 365) {
		return errs.Field("duration_days", "Duration must be between 1 and 365 days.")
	}
	return nil
}

// silenceSQL silences: for days (silenced_until moves, is_silenced stays)
// or for good (is_silenced). silenced_at is set either way.
func silenceSQL(days *int, now time.Time) (string, []any) {
	if days == nil {
		return "is_silenced = ?, silenced_at = ?", []any{true, now}
	}
	return "silenced_until = ?, silenced_at = ?", []any{now.AddDate(0, 0, *days), now}
}

// Silence silences one of viewer's visible actions.
func (s *Service) Silence(ctx context.Context, viewer *auth.User, id uuid.UUID, days *int) (err error) {
	defer errs.Wrap(&err, "Silence(%s)", id)
	if err := validDuration(days); err != nil {
		return err
	}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		a, err := s.get(ctx, tx, viewer, id, false)
		if err != nil {
			return err
		}
		now := tx.Now()
		set, args := silenceSQL(days, now)
		q, args := "UPDATE user_actions SET "+set+" WHERE id = ?", append(args, a.ID)
		return s.silence(ctx, tx, q, args, days, now, nil)
	})
}

// silence runs q, an UPDATE that silences, and announces each action it
// silenced; n, when set, receives how many it did.
func (s *Service) silence(ctx context.Context, tx *db.Tx, q string, args []any, days *int, now time.Time, n *int) error {
	announce, err := s.wants(ctx, tx, events.TypeUserActionSilenced)
	if err != nil {
		return err
	}
	if !announce {
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		if n != nil {
			c, err := res.RowsAffected()
			*n = int(c)
			return err
		}
		return nil
	}
	returning, err := s.changeReturning(ctx)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, q+returning, args...)
	if err != nil {
		return err
	}
	silenced, err := scanChanges(rows)
	if err != nil {
		return err
	}
	if n != nil {
		*n = len(silenced)
	}
	until := silencedUntil(days, now)
	for i := range silenced {
		silenced[i].fields.SilencedUntil = until
	}
	return s.publish(ctx, tx, events.TypeUserActionSilenced, silenced)
}

// Unsilence lifts any silence from one of viewer's own actions, silenced
// or not.
func (s *Service) Unsilence(ctx context.Context, viewer *auth.User, id uuid.UUID) (err error) {
	defer errs.Wrap(&err, "Unsilence(%s)", id)
	res, err := s.execWrite(ctx, "UPDATE user_actions SET is_silenced = ?, silenced_until = NULL WHERE uuid = ? AND user_id = ?",
		false, id.String(), viewer.ID)
	if err != nil {
		return err
	}
	if res == 0 {
		return errs.NotFoundf("Action not found")
	}
	return nil
}

// BulkSilence silences every action of viewer that List would return with
// f, and says how many.
func (s *Service) BulkSilence(ctx context.Context, viewer *auth.User, f Filter, days *int) (n int, err error) {
	defer errs.Wrap(&err, "BulkSilence")
	if err := validDuration(days); err != nil {
		return 0, err
	}
	f.UserUUID = nil // only the caller's own
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		where, args, err := f.where(s.DB.Dialect(), viewer, now)
		if err != nil {
			return err
		}
		set, setArgs := silenceSQL(days, now)
		return s.silence(ctx, tx, "UPDATE user_actions SET "+set+" WHERE id IN (SELECT ua.id FROM user_actions ua WHERE "+where+")",
			append(setArgs, args...), days, now, &n)
	})
	return n, err
}

func (s *Service) execWrite(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
