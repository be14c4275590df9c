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
	"strings"
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
	Data       map[string]any
	Changed    []string
}

const versionCols = `v.id, v.entity_type, v.object_uuid, v.created, u.uuid, u.username, u.full_name, v.comment, v.data, v.changed_fields`

const versionFrom = ` FROM versions v LEFT JOIN users u ON u.id = v.user_id`

func scanVersion(r db.Scanner) (*Version, error) {
	var (
		v                 Version
		obj               string
		uid, uname, ufull sql.NullString
		data, changed     string
	)
	if err := r.Scan(&v.ID, &v.EntityType, &obj, &v.Created, &uid, &uname, &ufull, &v.Comment, &data, &changed); err != nil {
		return nil, err
	}
	v.ObjectUUID, _ = uuid.Parse(obj)
	if uid.Valid {
		u, _ := uuid.Parse(uid.String)
		v.User = &User{UUID: u, Username: uname.String, FullName: ufull.String}
	}
	if err := json.Unmarshal([]byte(data), &v.Data); err != nil {
		return nil, fmt.Errorf("version %d data: %w", v.ID, err)
	}
	if err := json.Unmarshal([]byte(changed), &v.Changed); err != nil {
		return nil, fmt.Errorf("version %d changed_fields: %w", v.ID, err)
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

// Exists reports whether the object has any recorded version.
func (s *Store) Exists(ctx context.Context, entityType string, object uuid.UUID) (bool, error) {
	var n int
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		return c.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM versions WHERE entity_type = ? AND object_uuid = ? LIMIT 1) x`,
			entityType, object.String()).Scan(&n)
	})
	if err != nil {
		return false, fmt.Errorf("look up history: %w", err)
	}
	return n > 0, nil
}

// List returns an object's versions, newest first (ties: higher id first).
func (s *Store) List(ctx context.Context, entityType string, object uuid.UUID, f Filter, page db.Page) (out []*Version, total int, err error) {
	defer errs.Wrap(&err, "history.List(%s)", entityType)
	err = s.DB.ReadTx(ctx, func(c db.Conn) error {
		where := []string{"v.entity_type = ?", "v.object_uuid = ?"}
		args := []any{entityType, object.String()}
		if f.After != nil {
			where = append(where, "v.created > ?")
			args = append(args, *f.After)
		}
		if f.Before != nil {
			where = append(where, "v.created < ?")
			args = append(args, *f.Before)
		}
		if f.Field != "" {
			where = append(where, c.DB().JSONArrayContains("v.changed_fields"))
			args = append(args, f.Field)
		}
		cond := strings.Join(where, " AND ")
		var err error
		// The LEFT JOIN on the users primary key leaves the count's plan
		// unchanged: both engines drop a join nothing reads.
		out, total, err = db.CountAndPage(ctx, c, db.PageQuery{
			Columns: versionCols, From: versionFrom, Where: cond,
			OrderBy: " ORDER BY v.created DESC, v.id DESC", Args: args, Page: page,
		}, scanVersion)
		return err
	})
	return out, total, err
}

// ErrNoVersion means no version exists at or before the asked instant.
var ErrNoVersion = errs.NotFoundf("No version found before the specified timestamp.")

// At returns the newest version at or before t (inclusive).
func (s *Store) At(ctx context.Context, entityType string, object uuid.UUID, t time.Time) (*Version, error) {
	var v *Version
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		v, err = scanVersion(c.QueryRow(ctx, "SELECT "+versionCols+versionFrom+
			" WHERE v.entity_type = ? AND v.object_uuid = ? AND v.created <= ? ORDER BY v.created DESC, v.id DESC LIMIT 1",
			entityType, object.String(), t))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoVersion
	}
	if err != nil {
		return nil, fmt.Errorf("history at: %w", err)
	}
	return v, nil
}

// Get returns one version of the object.
func (s *Store) Get(ctx context.Context, entityType string, object uuid.UUID, id int64) (*Version, error) {
	var v *Version
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		v, err = scanVersion(c.QueryRow(ctx, "SELECT "+versionCols+versionFrom+
			" WHERE v.entity_type = ? AND v.object_uuid = ? AND v.id = ?", entityType, object.String(), id))
		return err
	})
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
	var prev *Version
	err := s.DB.ReadTx(ctx, func(c db.Conn) error {
		var err error
		prev, err = scanVersion(c.QueryRow(ctx, "SELECT "+versionCols+versionFrom+
			` WHERE v.entity_type = ? AND v.object_uuid = ? AND (v.created < ? OR (v.created = ? AND v.id < ?))
			ORDER BY v.created DESC, v.id DESC LIMIT 1`, v.EntityType, v.ObjectUUID.String(), v.Created, v.Created, v.ID))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("previous version: %w", err)
	}
	return prev, nil
}

// FieldChange is one field's difference between two versions.
type FieldChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// Diff lists the fields whose values differ from base to v, sorted by name.
// A nil base (v is the first version) reports every field with old null.
func Diff(base, v *Version) []FieldChange {
	var oldData map[string]any
	if base != nil {
		oldData = base.Data
	}
	keys := map[string]bool{}
	for k := range v.Data {
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
		n, okNew := v.Data[k]
		if okOld == okNew && reflect.DeepEqual(o, n) {
			continue
		}
		out = append(out, FieldChange{Field: k, Old: o, New: n})
	}
	return out
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
