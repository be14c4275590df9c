// Command uaimport copies the DRF anchor's seeded users, tokens and user
// actions (../shared/bench/drf-reference, `manage.py seed`) into a migrated,
// empty heed database, so that bench/side_by_side_actions.sh measures both
// servers on the same lists.
//
//	uaimport --anchor anchor.sqlite3 --database-url heed.db
//
// What goes in:
//   - users: the anchor's ids, uuids, usernames, emails, full names and
//     staff/support/active flags; no password.
//   - tokens: key_hash = hex SHA-256 of the anchor's token (auth.HashToken),
//     never expiring.
//   - user_actions: the anchor's ids, uuids, users, action types, titles,
//     descriptions, urgencies, due dates, silence fields, created and
//     modified. The anchor's related object id is not unique per (user,
//     type) — its seed draws it at random — while heed's dedup key is, so
//     object_type is "anchor" and object_id the anchor action's id; the
//     anchor's object id goes into related_object_name ("object N").
//     content_hash is a placeholder: nothing here runs detection.
//
// Both servers then hide the same silenced actions and order the rest the
// same way (urgency rank, due date with none last, newest), so a user's
// first page holds the same uuids on both sides (the script checks).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
)

func main() {
	anchor := flag.String("anchor", "anchor.sqlite3", "the anchor's seeded SQLite database (read only)")
	url := flag.String("database-url", "heed.db", "heed's migrated, empty database")
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

	var users, tokens, actions int
	err = dst.InTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM user_actions)").Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("heed database is not empty; import into a freshly migrated one")
		}

		rows, err := src.QueryContext(ctx, `SELECT id, uuid, username, email, full_name, is_staff, is_support, is_active,
			CAST(date_joined AS TEXT) FROM api_user ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read users: %w", err)
		}
		for rows.Next() {
			var id int64
			var u, name, email, full, joined string
			var staff, support, active bool
			if err := rows.Scan(&id, &u, &name, &email, &full, &staff, &support, &active, &joined); err != nil {
				return err
			}
			t := djangoTime(joined)
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, uuid, username, email, full_name, is_staff, is_support,
				is_active, created, modified) VALUES (?,?,?,?,?,?,?,?,?,?)`,
				id, dashed(u), name, email, full, staff, support, active, t, t); err != nil {
				return fmt.Errorf("user %s: %w", name, err)
			}
			users++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()

		rows, err = src.QueryContext(ctx, `SELECT key, user_id, CAST(created AS TEXT) FROM authtoken_token ORDER BY user_id`)
		if err != nil {
			return fmt.Errorf("read tokens: %w", err)
		}
		for rows.Next() {
			var key, created string
			var uid int64
			if err := rows.Scan(&key, &uid, &created); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO tokens (key_hash, user_id, description, created) VALUES (?,?,?,?)`,
				auth.HashToken(key), uid, "imported from drf anchor", djangoTime(created)); err != nil {
				return fmt.Errorf("token of user %d: %w", uid, err)
			}
			tokens++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()

		rows, err = src.QueryContext(ctx, `SELECT id, uuid, user_id, action_type, title, description, urgency,
			CAST(due_date AS TEXT), object_id, is_silenced, CAST(silenced_at AS TEXT), CAST(silenced_until AS TEXT),
			CAST(created AS TEXT), CAST(modified AS TEXT) FROM api_useraction ORDER BY id`)
		if err != nil {
			return fmt.Errorf("read actions: %w", err)
		}
		defer rows.Close()
		rank := map[string]int{"high": 0, "medium": 1, "low": 2}
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
			if _, err := tx.Exec(ctx, `INSERT INTO user_actions (id, uuid, user_id, action_type, object_type, object_id,
				related_object_name, title, description, urgency, urgency_rank, due_date, content_hash, is_silenced,
				silenced_at, silenced_until, created, modified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				id, dashed(u), uid, typ, "anchor", id, fmt.Sprintf("object %d", obj), title, desc, urg, r,
				nullTime(due), "anchor-import", silenced, nullTime(silencedAt), nullTime(silencedUntil),
				djangoTime(created), djangoTime(modified)); err != nil {
				return fmt.Errorf("action %d: %w", id, err)
			}
			actions++
		}
		return rows.Err()
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("imported %d users, %d tokens, %d user actions in %.1f s\n", users, tokens, actions, time.Since(start).Seconds())
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
