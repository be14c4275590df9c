// Command anchorimport copies the DRF anchor's seeded data
// (../shared/bench/drf-reference, `manage.py seed`) into a migrated, empty
// heed database, SQLite or PostgreSQL, through heed's own db package, so
// that bench/side_by_side.sh measures both servers on the same rows:
//
//	heed migrate --database-url heed.db
//	anchorimport --anchor anchor.sqlite3 --database-url heed.db
//
// What goes in (the anchor's ids and uuids, so version ids match too):
//   - users: ids, uuids, usernames, emails, full names, staff/support/active
//     flags; no password.
//   - tokens: key_hash = hex SHA-256 of the anchor's token (auth.HashToken),
//     never expiring.
//   - one customer, project and offering ("basic", Active) to hang the
//     resources on, and the anchor's plans (ids, uuids, names).
//   - resources: the anchor's, live fields = the newest version's fields
//     (checked against the anchor's row: the import stops on a difference).
//   - versions: every reversion_version row, entity_type "resource", with
//     the revision's date, user and comment. data is heed's encoding of the
//     same fields (encoding/json of the field map: keys sorted, compact),
//     with plan written as the plan's 32-hex uuid (heed's Snapshot) instead
//     of Django's integer pk; changed_fields = every tracked field for the
//     first version, else those that differ from the previous version, in
//     heed's TrackedFields order. The per-object version counters of
//     migration 00009 follow through the versions table's triggers.
//   - user_actions: ids, uuids, users, types, titles, descriptions,
//     urgencies, due dates, silence fields, created and modified. The
//     anchor's related object id is not unique per (user, type) — its seed
//     draws it at random — while heed's dedup key is, so object_type is
//     "anchor" and object_id the anchor action's id; the anchor's object id
//     goes into related_object_name ("object N"). content_hash is a
//     placeholder: nothing here runs detection.
//
// Both servers then hide the same silenced actions and order the rest the
// same way, and serve the same versions (the script verifies both).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/marketplace"
)

func main() {
	anchor := flag.String("anchor", "anchor.sqlite3", "the anchor's seeded SQLite database (read only)")
	url := flag.String("database-url", "heed.db", "heed's migrated, empty database: a SQLite path or a postgres:// URL")
	flag.Parse()
	ctx := context.Background()
	start := time.Now()

	src, err := sql.Open("sqlite", "file:"+*anchor+"?mode=ro")
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	dst, err := db.Open(ctx, db.Config{URL: *url})
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Close()

	im := &importer{src: src, pg: dst.Dialect() == db.Postgres}
	if err := dst.InTx(ctx, func(tx *db.Tx) error { return im.run(ctx, tx) }); err != nil {
		log.Fatal(err)
	}
	if dst.Dialect() == db.Postgres {
		// As autovacuum would soon after a bulk load (PostgreSQL 13 and
		// later vacuum after inserts too): statistics for the planner, and
		// the visibility map, without which an index-only scan (a user's
		// action summary) still reads every row's heap page. Left to
		// autovacuum, it ran at some point of the measurement. VACUUM runs
		// outside a transaction. Not on SQLite: heed never runs ANALYZE
		// there, and with statistics (modernc's SQLite has STAT4) a
		// prepared statement is re-prepared whenever a value bound in its
		// WHERE clause changes.
		if _, err := dst.SQL().ExecContext(ctx, "VACUUM (ANALYZE)"); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("imported %d users, %d tokens, %d plans, %d resources, %d versions, %d user actions into %s in %.1f s\n",
		im.n["users"], im.n["tokens"], im.n["plans"], im.n["resources"], im.n["versions"], im.n["user_actions"],
		dst.Dialect(), time.Since(start).Seconds())
}

type importer struct {
	src *sql.DB
	pg  bool
	n   map[string]int
}

// epoch dates the rows the anchor has no counterpart for.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (im *importer) run(ctx context.Context, tx *db.Tx) error {
	im.n = map[string]int{}
	var n int
	if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM versions)
		+ (SELECT COUNT(*) FROM resources) + (SELECT COUNT(*) FROM user_actions)`).Scan(&n); err != nil {
		return err
	}
	if n != 0 {
		return fmt.Errorf("heed database is not empty; import into a freshly migrated one")
	}
	steps := []func(context.Context, *db.Tx) error{im.users, im.tokens, im.marketplace, im.history, im.actions}
	for _, step := range steps {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	if im.pg {
		// Explicit ids went in past the identity sequences: move them on.
		for _, t := range []string{"users", "tokens", "customers", "projects", "offerings", "plans", "resources", "versions", "user_actions"} {
			if _, err := tx.Exec(ctx, "SELECT setval(pg_get_serial_sequence('"+t+"', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM "+t+"), false)"); err != nil {
				return fmt.Errorf("sequence of %s: %w", t, err)
			}
		}
	}
	return nil
}

// insert writes rows into table in multi-row INSERTs.
func (im *importer) insert(ctx context.Context, tx *db.Tx, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	per := max(1, 20000/len(cols))
	one := "(" + db.Placeholders(len(cols)) + ")"
	override := ""
	if im.pg && cols[0] == "id" {
		override = " OVERRIDING SYSTEM VALUE"
	}
	for len(rows) > 0 {
		batch := rows[:min(per, len(rows))]
		rows = rows[len(batch):]
		args := make([]any, 0, len(batch)*len(cols))
		for _, r := range batch {
			args = append(args, r...)
		}
		q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")" + override + " VALUES " +
			strings.TrimSuffix(strings.Repeat(one+", ", len(batch)), ", ")
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		im.n[table] += len(batch)
	}
	return nil
}

func (im *importer) users(ctx context.Context, tx *db.Tx) error {
	rows, err := im.src.QueryContext(ctx, `SELECT id, uuid, username, email, full_name, is_staff, is_support, is_active,
		CAST(date_joined AS TEXT) FROM api_user ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read users: %w", err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		var id int64
		var u, name, email, full, joined string
		var staff, support, active bool
		if err := rows.Scan(&id, &u, &name, &email, &full, &staff, &support, &active, &joined); err != nil {
			return err
		}
		t := djangoTime(joined)
		out = append(out, []any{id, dashed(u), name, email, full, staff, support, active, t, t})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return im.insert(ctx, tx, "users", []string{"id", "uuid", "username", "email", "full_name", "is_staff", "is_support",
		"is_active", "created", "modified"}, out)
}

func (im *importer) tokens(ctx context.Context, tx *db.Tx) error {
	rows, err := im.src.QueryContext(ctx, `SELECT key, user_id, CAST(created AS TEXT) FROM authtoken_token ORDER BY user_id`)
	if err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		var key, created string
		var uid int64
		if err := rows.Scan(&key, &uid, &created); err != nil {
			return err
		}
		out = append(out, []any{auth.HashToken(key), uid, "imported from drf anchor", djangoTime(created)})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return im.insert(ctx, tx, "tokens", []string{"key_hash", "user_id", "description", "created"}, out)
}

// plans maps the anchor's plan ids to their 32-hex uuids.
var plans = map[int64]string{}

func (im *importer) marketplace(ctx context.Context, tx *db.Tx) error {
	ns := uuid.MustParse("6f1c2a52-0000-4000-8000-000000000000")
	if err := im.insert(ctx, tx, "customers", []string{"id", "uuid", "name", "slug", "description", "email", "created", "modified"},
		[][]any{{1, uuid.NewSHA1(ns, []byte("customer")).String(), "Benchmark Org", "benchmark-org", "", "bench@example.com", epoch, epoch}}); err != nil {
		return err
	}
	if err := im.insert(ctx, tx, "projects", []string{"id", "uuid", "customer_id", "name", "slug", "description", "created", "modified"},
		[][]any{{1, uuid.NewSHA1(ns, []byte("project")).String(), 1, "Benchmark", "benchmark", "", epoch, epoch}}); err != nil {
		return err
	}
	if err := im.insert(ctx, tx, "offerings", []string{"id", "uuid", "customer_id", "name", "description", "type", "state",
		"components", "plugin_options", "created", "modified"},
		[][]any{{1, uuid.NewSHA1(ns, []byte("offering")).String(), 1, "Benchmark cloud", "", "basic", "Active", "[]", "{}", epoch, epoch}}); err != nil {
		return err
	}
	rows, err := im.src.QueryContext(ctx, "SELECT id, uuid, name FROM api_plan ORDER BY id")
	if err != nil {
		return fmt.Errorf("read plans: %w", err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		var id int64
		var u, name string
		if err := rows.Scan(&id, &u, &name); err != nil {
			return err
		}
		plans[id] = u
		out = append(out, []any{id, dashed(u), 1, name, "", 0, "month", false, epoch, epoch})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return im.insert(ctx, tx, "plans", []string{"id", "uuid", "offering_id", "name", "description", "unit_price_minor", "unit",
		"archived", "created", "modified"}, out)
}

// history imports every version, then the resources as their newest
// versions say they are.
func (im *importer) history(ctx context.Context, tx *db.Tx) error {
	tracked := marketplace.TrackedFieldsFor(marketplace.KindResource)
	rows, err := im.src.QueryContext(ctx, `SELECT v.id, CAST(v.object_id AS INTEGER), r.uuid, CAST(rv.date_created AS TEXT),
		rv.user_id, rv.comment, v.serialized_data
		FROM reversion_version v JOIN reversion_revision rv ON rv.id = v.revision_id
		JOIN api_resource r ON r.id = CAST(v.object_id AS INTEGER)
		ORDER BY CAST(v.object_id AS INTEGER), rv.date_created, v.id`)
	if err != nil {
		return fmt.Errorf("read versions: %w", err)
	}
	defer rows.Close()
	type state struct {
		uuid          string
		fields        map[string]any
		first, latest time.Time
	}
	last := map[int64]*state{}
	cols := []string{"id", "entity_type", "object_id", "object_uuid", "created", "user_id", "comment", "data", "changed_fields"}
	var out [][]any
	for rows.Next() {
		var (
			id, rid        int64
			ru, date, com  string
			user           sql.NullInt64
			serialized     string
			fieldsEnvelope []struct {
				Fields map[string]any `json:"fields"`
			}
		)
		if err := rows.Scan(&id, &rid, &ru, &date, &user, &com, &serialized); err != nil {
			return err
		}
		dec := json.NewDecoder(strings.NewReader(serialized))
		dec.UseNumber()
		if err := dec.Decode(&fieldsEnvelope); err != nil || len(fieldsEnvelope) != 1 {
			return fmt.Errorf("version %d: serialized_data: %v", id, err)
		}
		f := fieldsEnvelope[0].Fields
		if len(f) != len(tracked) {
			return fmt.Errorf("version %d: %d fields, want heed's %d tracked ones", id, len(f), len(tracked))
		}
		if p, ok := f["plan"].(json.Number); ok {
			pid, _ := p.Int64()
			f["plan"] = plans[pid]
		}
		data, err := json.Marshal(f)
		if err != nil {
			return err
		}
		st := last[rid]
		changed := tracked
		if st != nil {
			changed = nil
			for _, name := range tracked {
				a, _ := json.Marshal(st.fields[name])
				b, _ := json.Marshal(f[name])
				if string(a) != string(b) {
					changed = append(changed, name)
				}
			}
		}
		ch, _ := json.Marshal(append([]string{}, changed...))
		at := djangoTime(date)
		if st == nil {
			st = &state{uuid: ru, first: at}
			last[rid] = st
		}
		st.fields, st.latest = f, at
		var uid any
		if user.Valid {
			uid = user.Int64
		}
		out = append(out, []any{id, marketplace.KindResource, rid, dashed(ru), at, uid, com, string(data), string(ch)})
		if len(out) == 20000 {
			if err := im.insert(ctx, tx, "versions", cols, out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := im.insert(ctx, tx, "versions", cols, out); err != nil {
		return err
	}

	// Resources: the newest version's fields, checked against the anchor's row.
	planID := map[string]int64{}
	for id, u := range plans {
		planID[u] = id
	}
	live, err := im.src.QueryContext(ctx, `SELECT id, name, description, slug, state, limits, attributes, options,
		CAST(cost AS TEXT), CAST(end_date AS TEXT), downscaled, restrict_member_access, paused, plan_id FROM api_resource ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read resources: %w", err)
	}
	defer live.Close()
	var res [][]any
	for live.Next() {
		var (
			id                                        int64
			name, desc, slug, st, limits, attrs, opts string
			cost, end                                 sql.NullString
			down, restrict, paused                    bool
			plan                                      sql.NullInt64
		)
		if err := live.Scan(&id, &name, &desc, &slug, &st, &limits, &attrs, &opts, &cost, &end, &down, &restrict, &paused, &plan); err != nil {
			return err
		}
		v := last[id]
		if v == nil {
			return fmt.Errorf("resource %d has no versions", id)
		}
		d := v.fields
		str := func(k string) string { s, _ := d[k].(string); return s }
		if str("name") != name || str("description") != desc || str("slug") != slug || str("state") != st ||
			d["downscaled"] != down || d["restrict_member_access"] != restrict || d["paused"] != paused {
			return fmt.Errorf("resource %d: live row differs from its newest version", id)
		}
		var p any
		if u, ok := d["plan"].(string); ok && u != "" {
			p = planID[u]
		}
		jsonOf := func(k string) string { b, _ := json.Marshal(d[k]); return string(b) }
		var c, e any
		if s, ok := d["cost"].(string); ok {
			c = s
		}
		if s, ok := d["end_date"].(string); ok {
			e = s
		}
		res = append(res, []any{id, dashed(v.uuid), 1, 1, p, name, desc, slug, st, jsonOf("limits"), jsonOf("attributes"),
			jsonOf("options"), c, e, down, restrict, paused, "", v.first, v.latest})
	}
	if err := live.Err(); err != nil {
		return err
	}
	return im.insert(ctx, tx, "resources", []string{"id", "uuid", "project_id", "offering_id", "plan_id", "name", "description",
		"slug", "state", "limits", "attributes", "options", "cost", "end_date", "downscaled", "restrict_member_access", "paused",
		"error_message", "created", "modified"}, res)
}

func (im *importer) actions(ctx context.Context, tx *db.Tx) error {
	rows, err := im.src.QueryContext(ctx, `SELECT id, uuid, user_id, action_type, title, description, urgency,
		CAST(due_date AS TEXT), object_id, is_silenced, CAST(silenced_at AS TEXT), CAST(silenced_until AS TEXT),
		CAST(created AS TEXT), CAST(modified AS TEXT) FROM api_useraction ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read actions: %w", err)
	}
	defer rows.Close()
	rank := map[string]int{"high": 0, "medium": 1, "low": 2}
	var out [][]any
	for rows.Next() {
		var id, uid, obj int64
		var u, typ, title, desc, urg, created, modified string
		var due, silencedAt, silencedUntil sql.NullString
		var silenced bool
		if err := rows.Scan(&id, &u, &uid, &typ, &title, &desc, &urg, &due, &obj, &silenced, &silencedAt,
			&silencedUntil, &created, &modified); err != nil {
			return err
		}
		r, ok := rank[urg]
		if !ok {
			return fmt.Errorf("action %d: urgency %q", id, urg)
		}
		out = append(out, []any{id, dashed(u), uid, typ, "anchor", id, fmt.Sprintf("object %d", obj), title, desc, urg, r,
			nullTime(due), "anchor-import", silenced, nullTime(silencedAt), nullTime(silencedUntil),
			djangoTime(created), djangoTime(modified)})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return im.insert(ctx, tx, "user_actions", []string{"id", "uuid", "user_id", "action_type", "object_type", "object_id",
		"related_object_name", "title", "description", "urgency", "urgency_rank", "due_date", "content_hash", "is_silenced",
		"silenced_at", "silenced_until", "created", "modified"}, out)
}

// dashed turns Django's 32-hex uuid column into heed's dashed form.
func dashed(hex32 string) string {
	u, err := uuid.Parse(hex32)
	if err != nil {
		log.Fatalf("uuid %q: %v", hex32, err)
	}
	return u.String()
}

// djangoTime parses Django's SQLite datetime text (UTC, USE_TZ):
// "YYYY-MM-DD HH:MM:SS[.ffffff]", sometimes with a "+00:00" suffix.
func djangoTime(s string) time.Time {
	s = strings.TrimSuffix(strings.TrimSuffix(s, "+00:00"), "Z")
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	log.Fatalf("time %q: not Django's SQLite layout", s)
	return time.Time{}
}

func nullTime(s sql.NullString) any {
	if !s.Valid {
		return nil
	}
	return djangoTime(s.String)
}
