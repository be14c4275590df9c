package actioning

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Phases of a temporal action. Instantaneous actions have none.
const (
	PhaseStart  = "start"
	PhaseModify = "modify"
	PhaseCancel = "cancel"
	PhaseEnd    = "end"
)

// Instance is an action taken on a user (FusionAuth's UserActionLog).
type Instance struct {
	// Num is the instance's number: its object id for user actions.
	Num              int64
	ID               uuid.UUID
	DefinitionID     uuid.UUID
	ActioneeID       uuid.UUID
	ActionerID       uuid.UUID // uuid.Nil: heed took it
	ApplicationIDs   []uuid.UUID
	Comment          string
	Option           string
	Reason           string
	ReasonCode       string
	LocalizedReasons LocalizedStrings
	Temporal         bool
	// Expiry in epoch ms (Forever for "until cancelled"); nil for
	// instantaneous actions.
	Expiry          *int64
	EmailUserOnEnd  bool
	NotifyUserOnEnd bool
	// EndEventSent is nil unless the action is temporal with sendEndEvent.
	EndEventSent *bool
	Cancelled    bool
	Ended        bool
	Created      time.Time
	StateSet     time.Time
	History      []HistoryItem

	def *Definition
}

// HistoryItem is a state an instance had before a modify or cancel.
type HistoryItem struct {
	ActionerID uuid.UUID
	Comment    string
	Created    time.Time
	Expiry     *int64
}

// Definition is the instance's action definition, as loaded with it.
func (i *Instance) Definition() *Definition { return i.def }

// Active: temporal, not cancelled, not yet expired.
func (i *Instance) Active(now time.Time) bool {
	return i.Temporal && !i.Cancelled && i.Expiry != nil && *i.Expiry > now.UnixMilli()
}

// Request is what taking, modifying or cancelling an action carries.
type Request struct {
	// Broadcast sends the user.action event to webhooks.
	Broadcast bool
	// Info is the request's eventInfo; ClientAddr fills its ipAddress.
	Info       map[string]any
	ClientAddr string

	DefinitionID   uuid.UUID
	ActioneeID     uuid.UUID
	ActionerID     uuid.UUID
	ApplicationIDs []uuid.UUID
	Comment        string
	EmailUser      bool
	NotifyUser     bool
	// Expiry in epoch ms; nil when absent.
	Expiry   *int64
	Option   *string
	ReasonID uuid.UUID
}

func normaliseExpiry(e *int64) *int64 {
	if e != nil && *e >= ForeverThreshold {
		v := Forever
		return &v
	}
	return e
}

// Take acts on a user: the instance, the user's login prevention, the end
// job, the start email and (with Broadcast) the user.action event commit
// together, or nothing does.
func (s *Service) Take(ctx context.Context, req Request) (out *Instance, err error) {
	defer errs.Wrap(&err, "Take")
	req.Expiry = normaliseExpiry(req.Expiry)
	slices.SortFunc(req.ApplicationIDs, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	req.ApplicationIDs = slices.Compact(req.ApplicationIDs)
	var taken uuid.UUID
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		v, err := s.validateTake(ctx, tx, &req, now)
		if err != nil {
			return err
		}
		in := &Instance{
			ID: uuid.New(), DefinitionID: v.def.ID, ActioneeID: req.ActioneeID, ActionerID: req.ActionerID,
			ApplicationIDs: req.ApplicationIDs, Comment: req.Comment, Temporal: v.def.Temporal, Expiry: req.Expiry,
			EmailUserOnEnd: req.EmailUser, NotifyUserOnEnd: req.NotifyUser, Created: now, StateSet: now, def: v.def,
			LocalizedReasons: LocalizedStrings{}, History: []HistoryItem{},
		}
		if in.ApplicationIDs == nil {
			in.ApplicationIDs = []uuid.UUID{}
		}
		if req.Option != nil {
			in.Option = *req.Option
		}
		if v.reason != nil {
			in.Reason, in.ReasonCode, in.LocalizedReasons = v.reason.Text, v.reason.Code, v.reason.LocalizedTexts
		}
		if in.Temporal && v.def.SendEndEvent {
			f := false
			in.EndEventSent = &f
		}
		if err := insertInstance(ctx, tx, in); err != nil {
			return err
		}
		if in.Num, err = numOf(ctx, tx, in.ID.String()); err != nil {
			return err
		}
		taken = in.ID
		if err := s.afterChange(ctx, tx, in, v.actionee); err != nil {
			return err
		}
		phase := ""
		if in.Temporal {
			phase = PhaseStart
		}
		return s.announce(ctx, tx, in, phase, v.actionee, announcement{
			broadcast: req.Broadcast, emailUser: req.EmailUser, notifyUser: req.NotifyUser,
			actioner: req.ActionerID, comment: req.Comment, info: eventInfo(req), now: now,
		})
	})
	if err != nil {
		return nil, err
	}
	return s.GetInstance(ctx, taken, false)
}

type validated struct {
	def      *Definition
	actionee *auth.User
	reason   *Reason
}

func (s *Service) validateTake(ctx context.Context, tx *db.Tx, req *Request, now time.Time) (*validated, error) {
	e := &errs.Error{Kind: errs.Invalid}
	v := &validated{}
	var err error
	if req.DefinitionID == uuid.Nil {
		e.Add("missing", "action.userActionId", "You must specify the [action.userActionId] property.")
	} else if v.def, err = getDefinition(ctx, tx, req.DefinitionID, false); errs.KindOf(err) == errs.NotFound || (err == nil && !v.def.Active) {
		v.def = nil
		e.Add("invalid", "action.userActionId", "The user action [%s] does not exist or is not active.", req.DefinitionID)
	} else if err != nil {
		return nil, err
	}
	if req.ActioneeID == uuid.Nil {
		e.Add("missing", "action.actioneeUserId", "You must specify the [action.actioneeUserId] property.")
	} else if v.actionee, err = auth.UserByUUID(ctx, tx, req.ActioneeID); errs.KindOf(err) == errs.NotFound {
		e.Add("invalid", "action.actioneeUserId", "The user [%s] does not exist.", req.ActioneeID)
	} else if err != nil {
		return nil, err
	}
	if err := checkActioner(ctx, tx, req.ActionerID, e); err != nil {
		return nil, err
	}
	if req.ReasonID != uuid.Nil {
		if v.reason, err = getReason(ctx, tx, req.ReasonID); errs.KindOf(err) == errs.NotFound {
			e.Add("invalid", "action.reasonId", "The reason [%s] does not exist.", req.ReasonID)
		} else if err != nil {
			return nil, err
		}
	}
	for _, app := range req.ApplicationIDs {
		if _, err := getApplication(ctx, tx, app); errs.KindOf(err) == errs.NotFound {
			e.Add("invalid", "action.applicationIds", "The application [%s] does not exist.", app)
		} else if err != nil {
			return nil, err
		}
	}
	if d := v.def; d != nil {
		if d.Temporal {
			if req.Expiry == nil {
				e.Add("missing", "action.expiry", "A temporal action needs the [action.expiry] property, an instant in epoch milliseconds.")
			} else {
				checkExpiry(e, *req.Expiry, now)
			}
			if req.Option != nil && *req.Option != "" {
				e.Add("invalid", "action.option", "A temporal action has no options.")
			}
		} else {
			if req.Expiry != nil {
				e.Add("invalid", "action.expiry", "An instantaneous action has no expiry.")
			}
			if req.Option != nil {
				if _, ok := d.HasOption(*req.Option); !ok {
					e.Add("invalid", "action.option", "The option [%s] is not one of the action's options.", *req.Option)
				}
			}
		}
		if req.NotifyUser && !d.UserNotificationsEnabled {
			e.Add("invalid", "action.notifyUser", "The user action does not allow notifying the user.")
		}
		if req.EmailUser && (!d.UserEmailingEnabled || d.StartEmailTemplateID == uuid.Nil) {
			e.Add("invalid", "action.emailUser", "The user action does not allow emailing the user.")
		}
	}
	return v, e.OrNil()
}

func checkActioner(ctx context.Context, tx *db.Tx, id uuid.UUID, e *errs.Error) error {
	if id == uuid.Nil {
		e.Add("missing", "action.actionerUserId", "You must specify the [action.actionerUserId] property.")
		return nil
	}
	if _, err := auth.UserByUUID(ctx, tx, id); errs.KindOf(err) == errs.NotFound {
		e.Add("invalid", "action.actionerUserId", "The user [%s] does not exist.", id)
	} else if err != nil {
		return err
	}
	return nil
}

const instanceColumns = `i.num, i.id, i.definition_id, i.actionee_uuid, i.actioner_uuid, i.application_ids, i.comment, i.option_name,
	i.reason, i.reason_code, i.localized_reasons, i.temporal, i.expiry_ms, i.email_user_on_end, i.notify_user_on_end,
	i.end_event_sent, i.cancelled, i.ended, i.created, i.state_set`

func insertInstance(ctx context.Context, tx *db.Tx, in *Instance) error {
	var option, reason, code any
	if in.Option != "" {
		option = in.Option
	}
	if in.ReasonCode != "" {
		reason, code = in.Reason, in.ReasonCode
	}
	_, err := tx.Exec(ctx, `INSERT INTO user_action_instances (id, definition_id, actionee_uuid, actioner_uuid, application_ids,
		comment, option_name, reason, reason_code, localized_reasons, temporal, expiry_ms, email_user_on_end, notify_user_on_end,
		end_event_sent, cancelled, ended, created, state_set) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		in.ID.String(), in.DefinitionID.String(), in.ActioneeID.String(), nullUUID(in.ActionerID), jsonText(uuidStrings(in.ApplicationIDs)),
		in.Comment, option, reason, code, jsonText(in.LocalizedReasons), in.Temporal, in.Expiry, in.EmailUserOnEnd, in.NotifyUserOnEnd,
		in.EndEventSent, in.Cancelled, in.Ended, in.Created, in.StateSet)
	if err != nil {
		return fmt.Errorf("insert action %s: %w", in.ID, err)
	}
	return nil
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

func scanInstance(r interface{ Scan(...any) error }) (*Instance, error) {
	var (
		in                            Instance
		id, def, actionee, apps, locs string
		actioner, option, reason, rc  sql.NullString
		expiry                        sql.NullInt64
		endSent                       sql.NullBool
	)
	if err := r.Scan(&in.Num, &id, &def, &actionee, &actioner, &apps, &in.Comment, &option, &reason, &rc, &locs, &in.Temporal, &expiry,
		&in.EmailUserOnEnd, &in.NotifyUserOnEnd, &endSent, &in.Cancelled, &in.Ended, &in.Created, &in.StateSet); err != nil {
		return nil, err
	}
	in.ID, in.DefinitionID, in.ActioneeID = uuid.MustParse(id), uuid.MustParse(def), uuid.MustParse(actionee)
	in.ActionerID = parseUUIDPtr(nullString(actioner))
	in.Option, in.Reason, in.ReasonCode = option.String, reason.String, rc.String
	if expiry.Valid {
		v := expiry.Int64
		in.Expiry = &v
	}
	if endSent.Valid {
		v := endSent.Bool
		in.EndEventSent = &v
	}
	var appIDs []string
	if err := errors.Join(decodeJSON(apps, &appIDs, "application ids"), decodeJSON(locs, &in.LocalizedReasons, "localized reasons")); err != nil {
		return nil, err
	}
	in.ApplicationIDs = make([]uuid.UUID, 0, len(appIDs))
	for _, a := range appIDs {
		in.ApplicationIDs = append(in.ApplicationIDs, uuid.MustParse(a))
	}
	utc(&in.Created, &in.StateSet)
	return &in, nil
}

func nullString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func getInstance(ctx context.Context, c db.Conn, id uuid.UUID, lock bool) (*Instance, error) {
	q := `SELECT ` + instanceColumns + ` FROM user_action_instances i WHERE i.id = ?`
	if lock {
		q += c.DB().ForUpdate()
	}
	in, err := scanInstance(c.QueryRow(ctx, q, id.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("action not found")
	}
	if err != nil {
		return nil, fmt.Errorf("load action %s: %w", id, err)
	}
	if in.def, err = getDefinition(ctx, c, in.DefinitionID, false); err != nil {
		return nil, err
	}
	return in, nil
}

func loadHistory(ctx context.Context, c db.Conn, in *Instance) error {
	rows, err := c.Query(ctx, `SELECT actioner_uuid, comment, created, expiry_ms FROM user_action_history WHERE instance_id = ? ORDER BY seq`, in.ID.String())
	if err != nil {
		return err
	}
	defer rows.Close()
	in.History = []HistoryItem{}
	for rows.Next() {
		var (
			h        HistoryItem
			actioner sql.NullString
			expiry   sql.NullInt64
		)
		if err := rows.Scan(&actioner, &h.Comment, &h.Created, &expiry); err != nil {
			return err
		}
		h.ActionerID = parseUUIDPtr(nullString(actioner))
		h.Created = h.Created.UTC()
		if expiry.Valid {
			v := expiry.Int64
			h.Expiry = &v
		}
		in.History = append(in.History, h)
	}
	return rows.Err()
}

// GetInstance returns one action, with its history when asked.
func (s *Service) GetInstance(ctx context.Context, id uuid.UUID, withHistory bool) (out *Instance, err error) {
	defer errs.Wrap(&err, "GetInstance(%s)", id)
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		out, err = getInstance(ctx, c, id, false)
		if err != nil || !withHistory {
			return err
		}
		return loadHistory(ctx, c, out)
	})
	return out, err
}

// InstanceFilter selects a user's actions.
type InstanceFilter struct {
	UserID uuid.UUID
	// Active: nil all; true active (temporal, unexpired, not cancelled);
	// false the rest.
	Active *bool
	// PreventingLogin keeps active actions whose definition prevents login.
	PreventingLogin bool
}

// ListInstances returns a user's actions by insertion time, then id.
func (s *Service) ListInstances(ctx context.Context, f InstanceFilter) (out []*Instance, err error) {
	defer errs.Wrap(&err, "ListInstances(%s)", f.UserID)
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		if _, err := auth.UserByUUID(ctx, c, f.UserID); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT `+instanceColumns+` FROM user_action_instances i WHERE i.actionee_uuid = ? ORDER BY i.created, i.id`, f.UserID.String())
		if err != nil {
			return err
		}
		var all []*Instance
		for rows.Next() {
			in, err := scanInstance(rows)
			if err != nil {
				rows.Close()
				return err
			}
			all = append(all, in)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		defs := map[uuid.UUID]*Definition{}
		now := s.DB.Now()
		out = []*Instance{}
		for _, in := range all {
			d, ok := defs[in.DefinitionID]
			if !ok {
				if d, err = getDefinition(ctx, c, in.DefinitionID, false); err != nil {
					return err
				}
				defs[in.DefinitionID] = d
			}
			in.def = d
			active := in.Active(now)
			switch {
			case f.PreventingLogin && !(active && d.PreventLogin):
				continue
			case f.Active != nil && *f.Active != active:
				continue
			}
			out = append(out, in)
		}
		return nil
	})
	return out, err
}
