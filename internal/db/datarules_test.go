package db_test

// Tests of design.md §7's data rules at the database layer (issue 16): a
// unique violation is recognised on both engines, a value PostgreSQL refuses
// is the client's error, row locks and NULL order are spelled per dialect,
// an unreadable stored date does not fail its row, money moved to minor
// units exactly, and text sorts byte-wise on PostgreSQL as on SQLite.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
)

func insertUser(ctx context.Context, c db.Conn, name string) error {
	now := c.DB().Now()
	_, err := c.Exec(ctx, `INSERT INTO users (uuid, username, created, modified) VALUES (?, ?, ?, ?)`,
		uuid.NewString(), name, now, now)
	return err
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error { return insertUser(ctx, tx, "dup") }); err != nil {
			t.Fatal(err)
		}
		err := d.InTx(ctx, func(tx *db.Tx) error {
			return fmt.Errorf("wrapped: %w", insertUser(ctx, tx, "dup"))
		})
		if !db.IsUniqueViolation(err) {
			t.Fatalf("duplicate username: IsUniqueViolation(%v) = false", err)
		}
		// A primary key collision is one too (SQLite has its own code).
		err = d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE TABLE pk (id INTEGER PRIMARY KEY)`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO pk (id) VALUES (1)`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO pk (id) VALUES (1)`)
			return err
		})
		if !db.IsUniqueViolation(err) {
			t.Fatalf("duplicate primary key: IsUniqueViolation(%v) = false", err)
		}
		// Other constraint failures are not.
		err = d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO tokens (key_hash, user_id, created) VALUES ('other', 4242, ?)`, tx.Now())
			return err
		})
		if err == nil || db.IsUniqueViolation(err) {
			t.Fatalf("foreign key violation: err %v, IsUniqueViolation true or no error", err)
		}
		for _, e := range []error{nil, errors.New("UNIQUE constraint failed"), errs.Field("username", "taken")} {
			if db.IsUniqueViolation(e) {
				t.Errorf("IsUniqueViolation(%v) = true", e)
			}
		}
	})
}

// TestDataExceptionsAreInvalid: values PostgreSQL refuses to store (NUL in
// text or JSON, dates and numbers out of range) come back from InTx and
// ReadTx as errs.Invalid, not as an internal error (a 500). SQLite stores
// them, which is why the API boundary refuses them first.
func TestDataExceptionsAreInvalid(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		pg := d.Dialect() == db.Postgres
		check := func(what string, err error) {
			t.Helper()
			switch {
			case pg && errs.KindOf(err) != errs.Invalid:
				t.Errorf("%s: kind %v, want Invalid; err %v", what, errs.KindOf(err), err)
			case !pg && err != nil:
				t.Errorf("%s: SQLite refused it: %v", what, err)
			}
		}
		check("NUL in text (22021)", d.InTx(ctx, func(tx *db.Tx) error {
			if err := insertUser(ctx, tx, "a\x00b"); err != nil {
				return fmt.Errorf("a wrapped error: %w", err)
			}
			return nil
		}))
		check("invalid UTF-8 (22021)", d.InTx(ctx, func(tx *db.Tx) error { return insertUser(ctx, tx, "a\xffb") }))
		check("NUL in a filter (22021, read)", d.ReadTx(ctx, func(c db.Conn) error {
			var n int
			return c.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE username = ?`, "\x00").Scan(&n)
		}))
		check("NUL in a filter (22021, Reader)", func() error {
			rows, err := d.Reader().Query(ctx, `SELECT id FROM users WHERE username = ?`, "\x00")
			if err == nil {
				rows.Close()
			}
			return err
		}())
		check(`\u0000 in JSON (22P05)`, d.InTx(ctx, func(tx *db.Tx) error {
			now := tx.Now()
			_, err := tx.Exec(ctx, `INSERT INTO users (uuid, username, preferred_languages, created, modified) VALUES (?, ?, ?, ?, ?)`,
				uuid.NewString(), "json", `["a\u0000"]`, now, now)
			return err
		}))
		check("year 0 (22008)", d.InTx(ctx, func(tx *db.Tx) error {
			var s string
			return tx.QueryRow(ctx, `SELECT CAST(CAST(? AS DATE) AS TEXT)`, "0000-01-01").Scan(&s)
		}))
		check("numeric overflow (22003)", d.InTx(ctx, func(tx *db.Tx) error {
			var s string
			return tx.QueryRow(ctx, `SELECT CAST(CAST(? AS NUMERIC(16,2)) AS TEXT)`, "99999999999999999999999999.99").Scan(&s)
		}))
		// An error of another kind keeps it; any other database error stays
		// internal.
		notFound := errs.NotFoundf("Not found.")
		if err := d.InTx(ctx, func(*db.Tx) error { return notFound }); !errors.Is(err, notFound) {
			t.Errorf("domain error changed to %v", err)
		}
		err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, `SELECT * FROM no_such_table`); return err })
		if err == nil || errs.KindOf(err) != errs.Internal {
			t.Errorf("missing table: kind %v, want Internal; err %v", errs.KindOf(err), err)
		}
	})
}

func TestForUpdateOf(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		want := ""
		if d.Dialect() == db.Postgres {
			want = " FOR UPDATE OF u"
		}
		if got := d.ForUpdateOf("u"); got != want {
			t.Fatalf("ForUpdateOf(u) = %q, want %q", got, want)
		}
		// PostgreSQL refuses a plain FOR UPDATE on the nullable side of an
		// outer join; naming the table makes the statement valid.
		ctx := context.Background()
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := insertUser(ctx, tx, "locked"); err != nil {
				return err
			}
			var name string
			return tx.QueryRow(ctx, `SELECT u.username FROM users u LEFT JOIN tokens t ON t.user_id = u.id
				WHERE u.username = ?`+d.ForUpdateOf("u"), "locked").Scan(&name)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestNullDate writes dates no validated input can make, and reads them
// back without failing the row.
func TestNullDate(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		stored := []any{"2030-01-15", nil, "10009-12-28", "0001-01-01", "9999-12-31"}
		want := []db.NullDate{
			{Time: time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC), Valid: true},
			{},
			{Bad: "10009-12-28"},
			{Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Valid: true},
			{Time: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), Valid: true},
		}
		if d.Dialect() == db.Postgres {
			// PostgreSQL stores year 10009 as a date and infinity too.
			stored = append(stored, "infinity")
			want = append(want, db.NullDate{Bad: "infinity"})
		} else {
			// SQLite stores any text.
			stored = append(stored, "0000-01-01", "soon")
			want = append(want, db.NullDate{Bad: "0000-01-01"}, db.NullDate{Bad: "soon"})
		}
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE TABLE dates (id INTEGER PRIMARY KEY, d DATE)`); err != nil {
				return err
			}
			for i, v := range stored {
				if _, err := tx.Exec(ctx, `INSERT INTO dates (id, d) VALUES (?, ?)`, i, v); err != nil {
					return fmt.Errorf("store %v: %w", v, err)
				}
			}
			rows, err := tx.Query(ctx, `SELECT d FROM dates ORDER BY id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for i := 0; rows.Next(); i++ {
				var got db.NullDate
				if err := rows.Scan(&got); err != nil {
					return fmt.Errorf("scan %v: %w", stored[i], err)
				}
				if got.Valid {
					got.Time = got.Time.UTC()
				}
				w := want[i]
				if got.Valid != w.Valid || !got.Time.Equal(w.Time) || (w.Bad != "") != (got.Bad != "") ||
					(w.Bad != "" && !strings.Contains(got.Bad, strings.TrimPrefix(w.Bad, "+"))) {
					t.Errorf("stored %v: read %+v, want %+v", stored[i], got, w)
				}
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestOrderByNullsLast: a nullable key puts NULL last ascending and first
// descending on both engines (SQLite's default is the opposite of
// PostgreSQL's), and "-key" is the exact reverse of "key".
func TestOrderByNullsLast(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		allowed := map[string]string{"d": db.NullsLast("d")}
		read := func(o string) string {
			var out []string
			err := d.InTx(ctx, func(tx *db.Tx) error {
				rows, err := tx.Query(ctx, `SELECT id FROM dates`+db.OrderBy(o, allowed, nil, "id"))
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var id string
					if err := rows.Scan(&id); err != nil {
						return err
					}
					out = append(out, id)
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(out, " ")
		}
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE TABLE dates (id INTEGER PRIMARY KEY, d DATE)`); err != nil {
				return err
			}
			for id, v := range []any{"2030-01-01", nil, "2020-01-01", nil, "2030-01-01"} {
				if _, err := tx.Exec(ctx, `INSERT INTO dates (id, d) VALUES (?, ?)`, id, v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := read("d"), "2 0 4 1 3"; got != want {
			t.Errorf("o=d: %s, want %s", got, want)
		}
		if got, want := read("-d"), "3 1 4 0 2"; got != want {
			t.Errorf("o=-d: %s, want %s", got, want)
		}
	})
}

// TestMoneyMigration: migration 00005 turns every stored plan price into
// exact minor units on both engines.
func TestMoneyMigration(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, u string) {
		ctx := context.Background()
		d, err := db.Open(ctx, db.Config{URL: u, PostgresMaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.MigrateTo(ctx, 4); err != nil {
			t.Fatal(err)
		}
		prices := []string{"0.00", "0.02", "10.50", "9.00", "100.00", "999999999999.99", "12345678901234.56"}
		want := []int64{0, 2, 1050, 900, 10000, 99999999999999, 1234567890123456}
		seedPlans(t, d, prices)
		if err := d.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		err = d.ReadTx(ctx, func(c db.Conn) error {
			rows, err := c.Query(ctx, `SELECT name, unit_price_minor FROM plans ORDER BY unit_price_minor, id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					name  string
					minor int64
				)
				if err := rows.Scan(&name, &minor); err != nil {
					return err
				}
				got[name] = minor
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range prices {
			if got[p] != want[i] {
				t.Errorf("price %s migrated to %d, want %d", p, got[p], want[i])
			}
		}
	})
}

// TestMoneyMigrationRefusesWhatItCannotConvert: SQLite stored any text the
// old code produced, including amounts no integer holds; the migration
// stops, changing nothing, rather than clamp or round them.
func TestMoneyMigrationRefusesWhatItCannotConvert(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"99999999999999999999999999.99", "1e3", "10.5"} {
		t.Run(bad, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, db.Config{URL: dbtest.NewURL(t, db.SQLite)})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.MigrateTo(ctx, 4); err != nil {
				t.Fatal(err)
			}
			seedPlans(t, d, []string{"10.50", bad})
			err = d.MigrateTo(ctx, 5)
			if err == nil || !strings.Contains(err.Error(), "correct those plans and migrate again") {
				t.Fatalf("migrate with unit_price %q: %v, want the guard's message", bad, err)
			}
			var price string
			if err := d.ReadTx(ctx, func(c db.Conn) error {
				return c.QueryRow(ctx, `SELECT unit_price FROM plans WHERE name = ?`, bad).Scan(&price)
			}); err != nil || price != bad {
				t.Fatalf("after the refused migration: unit_price %q, %v; want it unchanged", price, err)
			}
		})
	}
}

// seedPlans writes plans named after their price with the schema before
// 00005 (unit_price as text or numeric).
func seedPlans(t *testing.T, d *db.DB, prices []string) {
	t.Helper()
	ctx := context.Background()
	err := d.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		var cust, off int64
		if err := tx.QueryRow(ctx, `INSERT INTO customers (uuid, name, slug, created, modified) VALUES (?, 'c', 'c', ?, ?) RETURNING id`,
			uuid.NewString(), now, now).Scan(&cust); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO offerings (uuid, customer_id, name, type, state, created, modified)
			VALUES (?, ?, 'o', 'basic', 'Active', ?, ?) RETURNING id`, uuid.NewString(), cust, now, now).Scan(&off); err != nil {
			return err
		}
		for _, p := range prices {
			if _, err := tx.Exec(ctx, `INSERT INTO plans (uuid, offering_id, name, unit_price, created, modified) VALUES (?, ?, ?, ?, ?, ?)`,
				uuid.NewString(), off, p, p, now, now); err != nil {
				return fmt.Errorf("plan %s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTextOrderIsBytewise: on a PostgreSQL database whose default collation
// is a natural-language one (ICU en-US here; en_US.UTF-8 behaves alike),
// names still sort byte-wise, as SQLite's BINARY collation sorts them, so
// ?o=name gives one order on both engines.
func TestTextOrderIsBytewise(t *testing.T) {
	t.Parallel()
	server := os.Getenv(dbtest.PostgresEnv)
	if server == "" {
		t.Skip(dbtest.PostgresEnv + " is not set")
	}
	ctx := context.Background()
	name := "heed_test_icu_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+
		" TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"); err != nil {
		t.Skipf("no ICU collation on this server: %v", err)
	}
	t.Cleanup(func() {
		// admin is closed by now (deferred above): drop with a fresh connection.
		c, err := pgx.Connect(context.Background(), server)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	pu, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	pu.Path = "/" + name
	d := dbtest.Open(t, pu.String(), dbtest.Options{})
	names := []string{"alpha", "Zeta", "a-c", "ab", "Ab", "b", "é"}
	want := "Ab Zeta a-c ab alpha b é" // byte order, as SQLite sorts
	err = d.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		for _, n := range names {
			if err := insertUser(ctx, tx, n); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO customers (uuid, name, slug, created, modified) VALUES (?, ?, ?, ?, ?)`,
				uuid.NewString(), n, n, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SELECT username FROM users ORDER BY username`, `SELECT name FROM customers ORDER BY name`,
		`SELECT slug FROM customers ORDER BY slug`} {
		var got []string
		err := d.ReadTx(ctx, func(c db.Conn) error {
			rows, err := c.Query(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return err
				}
				got = append(got, s)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: %q, want %q", q, strings.Join(got, " "), want)
		}
	}
}
