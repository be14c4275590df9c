// Package history keeps a version of every change of a tracked object:
// recorded in the change's own transaction, listed by time, read as of any
// instant, diffed, and pruned by a retention job. It is generic over entity
// types; domains feed it through their change observers.
package history

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// Entry is one change to record.
type Entry struct {
	EntityType string
	ObjectID   int64
	ObjectUUID uuid.UUID
	// At must be read inside the transaction after the object's row was
	// locked, so that version order is commit order.
	At      time.Time
	UserID  *int64
	Comment string
	Data    map[string]any
	Changed []string
}

// Record writes a version inside tx.
func Record(ctx context.Context, tx *db.Tx, e Entry) (int64, error) {
	data, err := json.Marshal(e.Data)
	if err != nil {
		return 0, fmt.Errorf("encode version data: %w", err)
	}
	changed := e.Changed
	if changed == nil {
		changed = []string{}
	}
	ch, _ := json.Marshal(changed)
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO versions (entity_type, object_id, object_uuid, created, user_id, comment, data, changed_fields)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.EntityType, e.ObjectID, e.ObjectUUID.String(), e.At, e.UserID, e.Comment, string(data), string(ch)).Scan(&id); err != nil {
		return 0, fmt.Errorf("record %s version: %w", e.EntityType, err)
	}
	return id, nil
}

// User is who made a change.
type User struct {
	UUID     uuid.UUID
	Username string
	FullName string
}

// Version is one recorded state of an object.
type Version struct {
	ID         int64
	EntityType string
	ObjectUUID uuid.UUID
	Created    time.Time
	User       *User
	Comment    string
	// Data is the JSON object of the tracked fields, as stored: responses
	// pass it through undecoded (decoding and re-encoding it was 40 % of a
	// history page's CPU). Fields decodes it, for diff and revert.
	Data json.RawMessage
}

// Fields decodes Data.
func (v *Version) Fields() (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(v.Data, &m); err != nil {
		return nil, fmt.Errorf("version %d data: %w", v.ID, err)
	}
	return m, nil
}

// versionCols, per dialect, leave out the entity type and object, which
// every query names in its WHERE clause: scanVersion sets them.
var versionCols = map[db.Dialect]string{db.SQLite: versionColsOf(db.SQLite), db.Postgres: versionColsOf(db.Postgres)}

func versionColsOf(d db.Dialect) string {
	return `v.id, ` + d.TimeColumn("v.created") + `, u.uuid, u.username, u.full_name, v.comment, v.data`
}

const versionFrom = ` FROM versions v LEFT JOIN users u ON u.id = v.user_id`

// newestFirst is the order of every list of versions.
const newestFirst = ` ORDER BY v.created DESC, v.id DESC`

// scanVersion reads versionCols of a version of the object (after the
// leading columns lead).
func scanVersion(r db.Scanner, entityType string, object uuid.UUID, lead ...any) (*Version, error) {
	var (
		uid, uname, ufull sql.NullString
		data              []byte
		created           db.Time
	)
	v := Version{EntityType: entityType, ObjectUUID: object}
	if err := r.Scan(append(lead, &v.ID, &created, &uid, &uname, &ufull, &v.Comment, &data)...); err != nil {
		return nil, err
	}
	v.Created, v.Data = created.Time, data
	if uid.Valid {
		u, _ := uuid.Parse(uid.String)
		v.User = &User{UUID: u, Username: uname.String, FullName: ufull.String}
	}
	return &v, nil
}

// Store reads history.
type Store struct {
	DB *db.DB
}

// Filter narrows List. Time bounds are strict, as Waldur's are.
type Filter struct {
	After  *time.Time
	Before *time.Time
	// Field keeps only versions in which this field changed.
	Field string
}

// ErrNoHistory means the object has no recorded version (or does not
// exist: history outlives objects, so the two are one answer).
var ErrNoHistory = errs.NotFoundf("Not found.")

// counter is the object's version count, kept by migration 00009's
// triggers: a row with n > 0 exactly when the object has a version.
const counter = `(SELECT c.n FROM version_counts c WHERE c.entity_type = ? AND c.object_uuid = ?)`

// Exists reports whether the object has any recorded version.
func (s *Store) Exists(ctx context.Context, entityType string, object uuid.UUID) (bool, error) {
	var n sql.NullInt64
	err := s.DB.Reader().QueryRow(ctx, `SELECT `+counter, entityType, object.String()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up history: %w", err)
	}
	return n.Int64 > 0, nil
}

// List returns an object's versions, newest first (ties: higher id first),
// and how many match in all: ErrNoHistory when the object has none.
//
// The total of an unfiltered list is the object's version counter, O(1)
// however long its history; a filtered one counts the matching versions
// through the object's time index. Either is a scalar subquery of the
// page's own statement: one statement is one snapshot on both engines, so
// count and page agree without a transaction, and the statement is
// prepared once (db.Reader). Only an empty page needs a second look, for
// the total or the 404, in one read transaction.
func (s *Store) List(ctx context.Context, entityType string, object uuid.UUID, f Filter, page db.Page) (out []*Version, total int, err error) {
	defer errs.Wrap(&err, "history.List(%s)", entityType)
	where := "v.entity_type = ? AND v.object_uuid = ?"
	args := []any{entityType, object.String()}
	if f.After != nil {
		where += " AND v.created > ?"
		args = append(args, *f.After)
	}
	if f.Before != nil {
		where += " AND v.created < ?"
		args = append(args, *f.Before)
	}
	if f.Field != "" {
		where += " AND " + s.DB.JSONArrayContains("v.changed_fields")
		args = append(args, f.Field)
	}
	count, countArgs := counter, args[:2]
	if len(args) > 2 {
		count = "(SELECT COUNT(*) FROM versions v WHERE " + where + ")"
		countArgs = args
	}
	q := "SELECT " + count + ", " + versionCols[s.DB.Dialect()] + versionFrom + " WHERE " + where + newestFirst
	qargs := append(append([]any{}, countArgs...), args...)
	if page.Limit > 0 {
		// Placeholders, not literals: one statement text for every page.
		q += " LIMIT ? OFFSET ?"
		qargs = append(qargs, page.Limit, page.Offset)
	}
	read := func(c db.Conn) error {
		rows, err := c.Query(ctx, q, qargs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n sql.NullInt64
			v, err := scanVersion(rows, entityType, object, &n)
			if err != nil {
				return err
			}
			total = int(n.Int64)
			out = append(out, v)
		}
		return rows.Err()
	}
	if err := read(s.DB.Reader()); err != nil {
		return nil, 0, err
	}
	if len(out) > 0 {
		return out, total, nil
	}
	// An empty page: past the end, a filter nothing matches, or no history.
	var n, matching sql.NullInt64
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		out = nil
		if err := read(c); err != nil {
			return err
		}
		return c.QueryRow(ctx, "SELECT "+counter+", "+count, append(append([]any{}, args[:2]...), countArgs...)...).Scan(&n, &matching)
	})
	if err != nil {
		return nil, 0, err
	}
	if n.Int64 == 0 {
		return nil, 0, ErrNoHistory
	}
	return out, int(matching.Int64), nil
}

// ErrNoVersion means no version exists at or before the asked instant.
var ErrNoVersion = errs.NotFoundf("No version found before the specified timestamp.")

// At returns the newest version at or before t (inclusive): ErrNoHistory
// when the object has no version at all, ErrNoVersion when none is that old.
func (s *Store) At(ctx context.Context, entityType string, object uuid.UUID, t time.Time) (*Version, error) {
	v, err := scanVersion(s.DB.Reader().QueryRow(ctx, "SELECT "+versionCols[s.DB.Dialect()]+versionFrom+
		" WHERE v.entity_type = ? AND v.object_uuid = ? AND v.created <= ?"+newestFirst+" LIMIT 1",
		entityType, object.String(), t), entityType, object)
	if errors.Is(err, sql.ErrNoRows) {
		// History is never emptied (retention keeps each object's newest
		// version), so a version that exists now existed then.
		ok, err := s.Exists(ctx, entityType, object)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNoHistory
		}
		return nil, ErrNoVersion
	}
	if err != nil {
		return nil, fmt.Errorf("history at: %w", err)
	}
	return v, nil
}

// Get returns one version of the object.
func (s *Store) Get(ctx context.Context, entityType string, object uuid.UUID, id int64) (*Version, error) {
	v, err := scanVersion(s.DB.Reader().QueryRow(ctx, "SELECT "+versionCols[s.DB.Dialect()]+versionFrom+
		" WHERE v.entity_type = ? AND v.object_uuid = ? AND v.id = ?", entityType, object.String(), id), entityType, object)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFoundf("Not found.")
	}
	if err != nil {
		return nil, fmt.Errorf("get version: %w", err)
	}
	return v, nil
}

// Previous returns the version just before v, or nil for the first one.
func (s *Store) Previous(ctx context.Context, v *Version) (*Version, error) {
	prev, err := scanVersion(s.DB.Reader().QueryRow(ctx, "SELECT "+versionCols[s.DB.Dialect()]+versionFrom+
		` WHERE v.entity_type = ? AND v.object_uuid = ? AND (v.created < ? OR (v.created = ? AND v.id < ?))`+newestFirst+` LIMIT 1`,
		v.EntityType, v.ObjectUUID.String(), v.Created, v.Created, v.ID), v.EntityType, v.ObjectUUID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("previous version: %w", err)
	}
	return prev, nil
}

// Predecessors returns the version just before each of vs (all versions
// of one object), by the id of the version it precedes; the first version
// has none. One statement for the lot: a filtered page's rows are not
// consecutive, and looking each one's predecessor up alone was a
// statement per row.
func (s *Store) Predecessors(ctx context.Context, vs []*Version) (map[int64]*Version, error) {
	out := make(map[int64]*Version, len(vs))
	if len(vs) == 0 {
		return out, nil
	}
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v.ID
	}
	first := vs[0]
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		rows, err := c.Query(ctx, "SELECT n.id, "+versionCols[s.DB.Dialect()]+` FROM versions n
			JOIN versions v ON v.id = (SELECT p.id FROM versions p
				WHERE p.entity_type = n.entity_type AND p.object_uuid = n.object_uuid
				AND (p.created < n.created OR (p.created = n.created AND p.id < n.id))
				ORDER BY p.created DESC, p.id DESC LIMIT 1)
			LEFT JOIN users u ON u.id = v.user_id
			WHERE n.id IN (`+db.Placeholders(len(vs))+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var next int64
			v, err := scanVersion(rows, first.EntityType, first.ObjectUUID, &next)
			if err != nil {
				return err
			}
			out[next] = v
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("previous versions: %w", err)
	}
	return out, nil
}

// FieldChange is one field's difference between two versions.
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Diff lists the fields whose values differ from base to v, sorted by name.
// A nil base (v is the first version) reports every field with old null.
func Diff(base, v *Version) ([]FieldChange, error) {
	var oldData map[string]any
	if base != nil {
		var err error
		if oldData, err = base.Fields(); err != nil {
			return nil, err
		}
	}
	newData, err := v.Fields()
	if err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range newData {
		keys[k] = true
	}
	for k := range oldData {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	out := []FieldChange{}
	for _, k := range names {
		o, okOld := oldData[k]
		n, okNew := newData[k]
		if okOld == okNew && reflect.DeepEqual(o, n) {
			continue
		}
		out = append(out, FieldChange{Field: k, Old: o, New: n})
	}
	return out, nil
}

// Prune deletes versions created before cutoff, batch rows per transaction,
// always keeping each object's newest version. It returns how many went.
func Prune(ctx context.Context, d *db.DB, cutoff time.Time, batch int) (int, error) {
	total := 0
	for {
		var n int64
		err := d.InTx(ctx, func(tx *db.Tx) error {
			res, err := tx.Exec(ctx, `DELETE FROM versions WHERE id IN (
				SELECT v.id FROM versions v WHERE v.created < ? AND EXISTS (
					SELECT 1 FROM versions n WHERE n.entity_type = v.entity_type AND n.object_uuid = v.object_uuid
					AND (n.created > v.created OR (n.created = v.created AND n.id > v.id)))
				ORDER BY v.created, v.id LIMIT ?)`, cutoff, batch)
			if err != nil {
				return fmt.Errorf("prune versions: %w", err)
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if int(n) < batch {
			return total, nil
		}
	}
}
