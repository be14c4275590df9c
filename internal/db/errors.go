package db

import (
	"errors"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/heed-dev/heed/internal/errs"
)

// IsUniqueViolation reports whether err is a unique or primary-key
// violation on either engine. Uniqueness is decided by the INSERT or UPDATE
// that violates it, never by a SELECT before it: a check-then-insert lets two
// concurrent writers both pass the check (on PostgreSQL the loser then failed
// with a raw duplicate-key 500).
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505" // unique_violation
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		// modernc turns extended result codes on, so the constraint kind
		// is in the code itself.
		c := lite.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// dataExceptions are the PostgreSQL SQLSTATEs that mean "this value cannot
// be stored", with the message a client gets. SQLite stores all of these
// silently, which is why the API boundary refuses them on both engines
// first (design.md §7); this table is the second line, so a value the
// boundary misses is a 400 and not a 500.
var dataExceptions = map[string]string{
	// character_not_in_repertoire: NUL in text, invalid UTF-8.
	"22021": "A text value holds a character that cannot be stored (such as NUL) or is not valid UTF-8.",
	// untranslatable_character: NUL (\u0000) inside a JSON string for jsonb.
	"22P05": "A JSON value holds a character that cannot be stored (such as \\u0000).",
	// datetime_field_overflow: a date or time outside what the column holds.
	"22008": "A date or time is outside the range that can be stored.",
	// numeric_value_out_of_range.
	"22003": "A number is outside the range that can be stored.",
}

// classify is the one place a database error becomes a domain error: a
// value the database refuses to store is the client's mistake (Invalid),
// everything else stays as it is (and reaches the API as Internal unless
// the domain mapped it). Errors that already carry a domain kind pass
// through untouched.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return err
	}
	msg, ok := dataExceptions[pg.Code]
	if !ok {
		return err
	}
	// The boundary should have refused this value before SQL: say so once,
	// so the gap gets closed.
	slog.Warn("database refused a value the API boundary let through", "sqlstate", pg.Code, "error", pg.Message)
	return &errs.Error{Kind: errs.Invalid, Message: msg, Err: err}
}
