package events

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/errs"
)

// rowScanner is a row to read: *sql.Rows or *sql.Row.
type rowScanner interface{ Scan(...any) error }

// loadByName runs q (a SELECT of one table with an id and a name column),
// narrowed by where when it is set, in name order ignoring case, then id,
// and reads each row with scan. what names the rows in errors ("keys").
// No rows is an empty list, not nil.
func loadByName[T any](ctx context.Context, c db.Conn, what, q, where string, args []any, scan func(rowScanner) (*T, error)) ([]*T, error) {
	if where != "" {
		q += " WHERE " + where
	}
	rows, err := c.Query(ctx, q+` ORDER BY lower(name), id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", what, err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// getByID returns the row with id that load finds, or NotFound "<what> not
// found".
func getByID[T any](ctx context.Context, c db.Conn, id uuid.UUID, what string, load func(context.Context, db.Conn, string, []any) ([]*T, error)) (*T, error) {
	vs, err := load(ctx, c, "id = ?", []any{id.String()})
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, errs.NotFoundf("%s not found", what)
	}
	return vs[0], nil
}

// deleteUnused deletes the row id of table inside tx, unless users (a
// COUNT query with one placeholder, the id) finds rows that still use it:
// then inUse(count) is the error. No row id is NotFound "<what> not found".
func deleteUnused(ctx context.Context, tx *db.Tx, id uuid.UUID, table, what, users string, inUse func(n int) error) error {
	var uses int
	if err := tx.QueryRow(ctx, users, id.String()).Scan(&uses); err != nil {
		return err
	}
	if uses > 0 {
		return inUse(uses)
	}
	res, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE id = ?`, id.String())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFoundf("%s not found", what)
	}
	return nil
}
