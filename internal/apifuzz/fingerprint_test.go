package apifuzz

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/heed-dev/heed/internal/db"
)

// skipTable reports whether a table stays out of the fingerprint: River's
// job tables (a rejected request enqueues nothing, but River keeps its own
// bookkeeping there), the migration ledger, and SQLite's internals. heed
// has no time-driven table while job workers are stopped, as they are in
// the fuzz run.
func skipTable(name string) bool {
	return strings.HasPrefix(name, "river_") || strings.HasPrefix(name, "sqlite_") || name == "goose_db_version"
}

// snapshot is a fingerprint of the database: a hash per table.
type snapshot struct {
	sum    string
	tables map[string]string // table → hash of its rows
	rows   map[string]int
}

// changed names the tables whose contents differ, with row counts.
func (s snapshot) changed(after snapshot) []string {
	var out []string
	for name, h := range after.tables {
		if s.tables[name] != h {
			out = append(out, fmt.Sprintf("%s (%d → %d rows)", name, s.rows[name], after.rows[name]))
		}
	}
	for name := range s.tables {
		if _, ok := after.tables[name]; !ok {
			out = append(out, name+" (gone)")
		}
	}
	sort.Strings(out)
	return out
}

// fingerprinter hashes every row of every heed table. Equal fingerprints
// mean equal contents; rows are compared as sets, so neither physical
// order nor a missing primary key matters.
//
// On PostgreSQL one query renders and hashes every table on the server. On
// SQLite the rows are read and hashed here, which costs tens of
// milliseconds under -race, so a connection of the fingerprinter's own
// watches PRAGMA data_version, which changes whenever another connection
// (heed's) commits: while it stands still, the last fingerprint stands.
type fingerprinter struct {
	d      *db.DB
	tables []string
	query  string // PostgreSQL

	watch       *sql.Conn // SQLite
	watchDB     *sql.DB
	lastVersion int64
	last        snapshot
}

func newFingerprinter(ctx context.Context, d *db.DB) (*fingerprinter, error) {
	fp := &fingerprinter{d: d}
	conn := d.SQL()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if d.Dialect() == db.Postgres {
		q = `SELECT table_name FROM information_schema.tables
		     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	names, err := queryStrings(ctx, conn, q)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	for _, name := range names {
		if !skipTable(name) {
			fp.tables = append(fp.tables, name)
		}
	}
	if len(fp.tables) == 0 {
		return nil, fmt.Errorf("no tables to fingerprint")
	}
	if d.Dialect() == db.Postgres {
		var parts []string
		for _, name := range fp.tables {
			parts = append(parts, fmt.Sprintf(
				`SELECT '%s', COUNT(*), md5(COALESCE(string_agg(t::text, E'\n' ORDER BY t::text), '')) FROM "%s" t`, name, name))
		}
		fp.query = strings.Join(parts, "\nUNION ALL\n")
		return fp, nil
	}
	var file string
	if err := conn.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
		return nil, fmt.Errorf("database file: %w", err)
	}
	fp.watchDB, err = sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	if fp.watch, err = fp.watchDB.Conn(ctx); err != nil {
		fp.watchDB.Close()
		return nil, err
	}
	return fp, nil
}

func (fp *fingerprinter) close() {
	if fp.watch != nil {
		fp.watch.Close()
		fp.watchDB.Close()
	}
}

func (fp *fingerprinter) take(ctx context.Context) (snapshot, error) {
	if fp.watch == nil {
		return fp.takePostgres(ctx)
	}
	var version int64
	if err := fp.watch.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&version); err != nil {
		return snapshot{}, fmt.Errorf("data_version: %w", err)
	}
	if fp.last.sum != "" && version == fp.lastVersion {
		return fp.last, nil
	}
	snap, err := fp.scan(ctx)
	if err != nil {
		return snapshot{}, err
	}
	fp.last, fp.lastVersion = snap, version
	return snap, nil
}

func (fp *fingerprinter) takePostgres(ctx context.Context) (snapshot, error) {
	rows, err := fp.d.SQL().QueryContext(ctx, fp.query)
	if err != nil {
		return snapshot{}, fmt.Errorf("fingerprint: %w", err)
	}
	defer rows.Close()
	snap := snapshot{tables: map[string]string{}, rows: map[string]int{}}
	for rows.Next() {
		var name, sum string
		var n int
		if err := rows.Scan(&name, &n, &sum); err != nil {
			return snapshot{}, fmt.Errorf("fingerprint: %w", err)
		}
		snap.tables[name], snap.rows[name] = sum, n
	}
	if err := rows.Err(); err != nil {
		return snapshot{}, fmt.Errorf("fingerprint: %w", err)
	}
	return snap.seal(), nil
}

// scan reads and hashes every table (SQLite).
func (fp *fingerprinter) scan(ctx context.Context) (snapshot, error) {
	snap := snapshot{tables: map[string]string{}, rows: map[string]int{}}
	for _, name := range fp.tables {
		rows, err := tableRows(ctx, fp.d.SQL(), name)
		if err != nil {
			return snapshot{}, err
		}
		h := sha256.New()
		for _, r := range rows {
			h.Write([]byte(r))
			h.Write([]byte{'\n'})
		}
		snap.tables[name], snap.rows[name] = hex.EncodeToString(h.Sum(nil)), len(rows)
	}
	return snap.seal(), nil
}

func (s snapshot) seal() snapshot {
	all := sha256.New()
	for _, name := range sortedKeys(s.tables) {
		fmt.Fprintf(all, "%s %d %s\n", name, s.rows[name], s.tables[name])
	}
	s.sum = hex.EncodeToString(all.Sum(nil))
	return s
}

// tableRows renders every row of a table, sorted.
func tableRows(ctx context.Context, conn *sql.DB, table string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	var b []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("scan %s: %w", table, err)
		}
		b = b[:0]
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
				b = append(b, 'N')
			case int64:
				b = append(b, 'i')
				b = strconv.AppendInt(b, v, 10)
			case float64:
				b = append(b, 'f')
				b = strconv.AppendFloat(b, v, 'g', -1, 64)
			case bool:
				b = append(b, 'b')
				b = strconv.AppendBool(b, v)
			case string:
				b = append(b, 's')
				b = strconv.AppendQuote(b, v)
			case []byte:
				b = append(b, 'x')
				b = strconv.AppendQuote(b, string(v))
			case time.Time:
				b = append(b, 't')
				b = v.UTC().AppendFormat(b, time.RFC3339Nano)
			default:
				b = fmt.Appendf(b, "%T:%v", v, v)
			}
			b = append(b, '|')
		}
		out = append(out, string(b))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	sort.Strings(out)
	return out, nil
}

func queryStrings(ctx context.Context, conn *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
