package db

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Page selects a slice of an ordered list.
type Page struct {
	Limit  int
	Offset int
}

// SQL renders the page as a LIMIT/OFFSET clause (same on both dialects).
func (p Page) SQL() string {
	if p.Limit <= 0 {
		return ""
	}
	return " LIMIT " + strconv.Itoa(p.Limit) + " OFFSET " + strconv.Itoa(p.Offset)
}

// nullsLast marks an ordering expression whose column is nullable.
const nullsLast = " NULLS LAST"

// NullsLast marks a nullable column in an OrderBy allow-list. The engines
// disagree on where NULL sorts (SQLite: first ascending; PostgreSQL: last),
// so a nullable key names its place explicitly on both: last ascending,
// first descending, so "-key" is exactly the reverse of "key".
//
// The place is an ordering term of its own, (expr IS NULL), rather than
// NULLS LAST: SQLite cannot read NULLS LAST from an index, and sorted every
// page ordered by a nullable key; an index on (expr IS NULL), expr serves
// both engines (migration 00011 has the one user actions read).
func NullsLast(expr string) string { return expr + nullsLast }

// OrderBy turns a DRF-style ordering parameter ("name,-created") into an
// ORDER BY clause. allowed maps public field names to SQL expressions
// (wrap nullable ones in NullsLast); unknown names are ignored, as DRF's
// OrderingFilter does. The unique tiebreak expression is always appended so
// pages never overlap.
func OrderBy(o string, allowed map[string]string, def []string, tiebreak string) string {
	var parts []string
	seen := map[string]bool{}
	lastDesc := false
	add := func(field string) {
		desc := strings.HasPrefix(field, "-")
		name := strings.TrimPrefix(field, "-")
		expr, ok := allowed[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		lastDesc = desc
		base, nullable := strings.CutSuffix(expr, nullsLast)
		switch {
		case desc && nullable:
			parts = append(parts, "("+base+" IS NULL) DESC, "+base+" DESC")
		case desc:
			parts = append(parts, base+" DESC")
		case nullable:
			parts = append(parts, "("+base+" IS NULL) ASC, "+base+" ASC")
		default:
			parts = append(parts, base+" ASC")
		}
	}
	for _, f := range strings.Split(o, ",") {
		if f = strings.TrimSpace(f); f != "" {
			add(f)
		}
	}
	if len(parts) == 0 {
		for _, f := range def {
			add(f)
		}
	}
	tb := tiebreak
	if len(parts) > 0 && lastDesc && !strings.Contains(tiebreak, " ") {
		// Keep the tiebreak in the direction of the last key, so "-created"
		// reads newest-first all the way down.
		tb = tiebreak + " DESC"
	}
	parts = append(parts, tb)
	return " ORDER BY " + strings.Join(parts, ", ")
}

// JSONArrayContains is a condition true when the JSON array in column holds
// the string bound to the one placeholder it contains.
func (d *DB) JSONArrayContains(column string) string {
	if d.dialect == Postgres {
		// jsonb's ? operator would clash with placeholders; the function is the same test.
		return "jsonb_exists(" + column + ", ?)"
	}
	return "EXISTS (SELECT 1 FROM json_each(" + column + ") WHERE json_each.value = ?)"
}

// Scanner is a row to scan: *sql.Row or *sql.Rows.
type Scanner interface{ Scan(dest ...any) error }

// PageQuery describes one page of a filtered list: SELECT Columns From
// WHERE Where OrderBy, with Args for Where's placeholders.
type PageQuery struct {
	Columns string
	// From is the FROM clause with its joins, starting " FROM ".
	From    string
	Where   string
	OrderBy string
	Args    []any
	Page    Page
}

// CountAndPage counts every row matching q and reads q.Page of them, in two
// statements on c (run it in a ReadTx so both see one snapshot).
func CountAndPage[T any](ctx context.Context, c Conn, q PageQuery, scan func(Scanner) (T, error)) ([]T, int, error) {
	where := q.Where
	if where == "" {
		where = "1=1"
	}
	var total int
	if err := c.QueryRow(ctx, "SELECT COUNT(*)"+q.From+" WHERE "+where, q.Args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count: %w", err)
	}
	rows, err := c.Query(ctx, "SELECT "+q.Columns+q.From+" WHERE "+where+q.OrderBy+q.Page.SQL(), q.Args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	return out, total, nil
}

// Placeholders is n comma-separated placeholders, for an IN list.
func Placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ListPage is CountAndPage in one statement on the read pool, with no
// transaction: the count is a scalar subquery of the page's own SELECT
// (evaluated once on both engines), so it and the rows come from one
// snapshot, and the statement is prepared once (Reader). Only an empty
// page needs the count alone; that runs CountAndPage in a read
// transaction, so count and page still agree. Use it where the page is
// all a list reads.
func ListPage[T any](ctx context.Context, d *DB, q PageQuery, scan func(Scanner) (T, error)) ([]T, int, error) {
	stmt, args := q.Statement()
	rows, err := d.Reader().Query(ctx, stmt, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	var (
		out   []T
		total int
	)
	withTotal := totalFirst{rows, &total}
	for rows.Next() {
		v, err := scan(withTotal)
		if err != nil {
			return nil, 0, fmt.Errorf("scan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list: %w", err)
	}
	if len(out) > 0 {
		return out, total, nil
	}
	rows.Close()
	err = d.ReadTx(ctx, func(c Conn) error {
		var err error
		out, total, err = CountAndPage(ctx, c, q, scan)
		return err
	})
	return out, total, err
}

// Statement is the one statement ListPage runs for q: the total, then the
// page's columns. Tests read its plan.
func (q PageQuery) Statement() (string, []any) {
	where := q.Where
	if where == "" {
		where = "1=1"
	}
	stmt := "SELECT (SELECT COUNT(*)" + q.From + " WHERE " + where + "), " + q.Columns + q.From + " WHERE " + where + q.OrderBy
	args := make([]any, 0, 2*len(q.Args)+2)
	args = append(append(args, q.Args...), q.Args...)
	if q.Page.Limit > 0 {
		// Placeholders, not literals: one statement text for every page.
		stmt += " LIMIT ? OFFSET ?"
		args = append(args, q.Page.Limit, q.Page.Offset)
	}
	return stmt, args
}

// totalFirst scans a page row whose first column is the total.
type totalFirst struct {
	r     Scanner
	total *int
}

func (t totalFirst) Scan(dest ...any) error {
	return t.r.Scan(append([]any{t.total}, dest...)...)
}
