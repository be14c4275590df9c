package useractions

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/events"
)

// The engine announces its changes as events, in the transaction that
// makes them (Service.Events; nil publishes nothing):
//
//   - user-action.created: detection (Update, Redetect) inserted an action
//     row. An action whose content changed is updated in place and is not
//     announced again.
//   - user-action.resolved: the engine deleted an action because nothing
//     reports it any more: detection found the condition cleared (whatever
//     made the provider stop reporting it: the order was approved, the
//     object deleted, the user deactivated), or CleanupDangling caught up
//     with an action whose object no longer exists or whose user is
//     inactive, which a detection would have deleted the same way. Not
//     announced: actions the database removes with their user (ON DELETE
//     CASCADE: the engine never sees them), and actions CleanupDangling
//     drops because no registered provider has their type any more (a
//     configuration change, not a condition; a provider disabled in the
//     registry leaves its actions untouched, so nothing is announced
//     either).
//   - user-action.silenced: Silence and BulkSilence, one event per action
//     silenced, with silencedUntilInstant when silenced for some days.
//
// Detection and the cleanups stay set-based: the engine asks the events
// service once per event type whether anyone listens (Wants), and only
// then adds RETURNING to the statements it runs anyway, to learn which
// rows it inserted or deleted; it then publishes one event per row. With
// nobody listening nothing is returned and nothing published, and a run
// that changes nothing asks nothing.
//
// Under a transactional level a webhook can veto the change: detection's
// run then fails as a whole (its report carries the error), a Redetect
// rolls back to its savepoint (the change that triggered it commits, and
// the periodic run tries again), and a silence fails.

// change is one user action as an event tells it.
type change struct {
	id     uuid.UUID
	fields events.UserActionChanged
}

// changeReturning is the RETURNING list scanChanges reads, on any
// statement that writes user_actions: the action, its owner's uuid, and
// its object's uuid when a provider's ObjectTables names a table whose
// rows are keyed by id and carry a uuid (objectUUIDTable).
func (s *Service) changeReturning(ctx context.Context) (string, error) {
	tables := s.objectTables()
	types := make([]string, 0, len(tables))
	for t := range tables {
		ok, err := s.objectUUIDTable(ctx, tables[t])
		if err != nil {
			return "", err
		}
		if ok {
			types = append(types, t)
		}
	}
	obj := "NULL"
	if len(types) > 0 {
		sort.Strings(types)
		var b strings.Builder
		b.WriteString("CASE user_actions.object_type")
		for _, t := range types {
			fmt.Fprintf(&b, " WHEN %s THEN (SELECT CAST(o.uuid AS TEXT) FROM %s o WHERE o.id = user_actions.object_id)",
				sqlString(t), tables[t])
		}
		b.WriteString(" END")
		obj = b.String()
	}
	return " RETURNING CAST(user_actions.uuid AS TEXT), (SELECT CAST(u.uuid AS TEXT) FROM users u WHERE u.id = user_actions.user_id)," +
		" user_actions.action_type, user_actions.title, user_actions.urgency, user_actions.due_date, user_actions.object_type, " +
		obj, nil
}

// objectUUIDTable reports whether table's rows are found by id (the
// object id) and have a uuid column, so that events can name the object
// by its uuid. ObjectTables promises only the first, and a failing column
// would fail the statement that changes the actions (on PostgreSQL, the
// whole transaction), so each table is tried once, on the read pool and
// outside any transaction, and the answer kept.
func (s *Service) objectUUIDTable(ctx context.Context, table string) (bool, error) {
	if v, ok := s.uuidTables.Load(table); ok {
		return v.(bool), nil
	}
	rows, err := s.DB.Reader().Query(ctx, "SELECT CAST(o.uuid AS TEXT) FROM "+table+" o WHERE o.id = ? AND 1 = 0", int64(0))
	if err == nil {
		rows.Close()
	} else if ctx.Err() != nil {
		return false, ctx.Err()
	} else {
		s.Log.Debug("user-action events leave relatedObjectId out for this table: it has no uuid found by id",
			"table", table, "error", err)
	}
	s.uuidTables.Store(table, err == nil)
	return err == nil, nil
}

// objectTables merges the registered providers' ObjectTables.
func (s *Service) objectTables() map[string]string {
	tables := map[string]string{}
	for _, r := range s.providers {
		if ot, ok := r.p.(ObjectTables); ok {
			for k, v := range ot.ObjectTables() {
				tables[k] = v
			}
		}
	}
	return tables
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// scanChanges reads the rows of a statement ending in changeReturning and
// closes them.
func scanChanges(rows *sql.Rows) ([]change, error) {
	defer rows.Close()
	var out []change
	for rows.Next() {
		var (
			id, actionType, title, urgency, objType string
			user, obj                               sql.NullString
			due                                     sql.NullTime
		)
		if err := rows.Scan(&id, &user, &actionType, &title, &urgency, &due, &objType, &obj); err != nil {
			return nil, fmt.Errorf("scan changed action: %w", err)
		}
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("changed action uuid %q: %w", id, err)
		}
		c := change{id: u, fields: events.UserActionChanged{
			UserActionID: u.String(), UserID: dashed(user), ActionType: actionType, Title: title, Urgency: urgency,
			RelatedObjectType: objType, RelatedObjectID: dashed(obj),
		}}
		if due.Valid {
			c.fields.DueInstant = due.Time.UnixMilli()
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// dashed renders a stored uuid (text on SQLite, uuid on PostgreSQL) the
// way the wire wants it; anything else is left out.
func dashed(s sql.NullString) string {
	if !s.Valid {
		return ""
	}
	u, err := uuid.Parse(s.String)
	if err != nil {
		return ""
	}
	return u.String()
}

// wants says whether an event of typ would reach anyone, asked in tx.
func (s *Service) wants(ctx context.Context, tx *db.Tx, typ string) (bool, error) {
	if s.Events == nil {
		return false, nil
	}
	ok, err := s.Events.Wants(ctx, tx, typ, events.DefaultTenantID)
	if err != nil {
		return false, fmt.Errorf("%s listeners: %w", typ, err)
	}
	return ok, nil
}

// publish announces each change as an event of typ, in tx.
func (s *Service) publish(ctx context.Context, tx *db.Tx, typ string, changes []change) error {
	for _, c := range changes {
		if _, err := s.Events.Publish(ctx, tx, events.Event{
			Type: typ, TenantID: events.DefaultTenantID, LinkedObjectID: c.id, Fields: c.fields,
		}); err != nil {
			return fmt.Errorf("publish %s %s: %w", typ, c.id, err)
		}
	}
	return nil
}

// silencedUntil is the silence's end for the event: absent for good.
func silencedUntil(days *int, now time.Time) int64 {
	if days == nil {
		return 0
	}
	return now.AddDate(0, 0, *days).UnixMilli()
}
