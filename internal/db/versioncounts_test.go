package db_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// TestVersionCounts: migration 00009 counts each object's existing versions,
// and its triggers keep version_counts equal to a COUNT(*) of versions per
// object through single inserts, multi-row inserts, deletes (one and many),
// moves of a version to another object, and a rollback.
func TestVersionCounts(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, u string) {
		ctx := context.Background()
		d, err := db.Open(ctx, db.Config{URL: u, PostgresMaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.MigrateTo(ctx, 8); err != nil {
			t.Fatal(err)
		}
		objects := []string{
			"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
			"00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
		}
		now := d.Now()
		exec := func(q string, args ...any) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, q, args...)
				return err
			}); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		insert := func(kind, obj string, n int) {
			t.Helper()
			q := "INSERT INTO versions (entity_type, object_id, object_uuid, created, comment, data) VALUES "
			var args []any
			for i := range n {
				if i > 0 {
					q += ", "
				}
				q += "(?, 1, ?, ?, 'c', '{}')"
				args = append(args, kind, obj, now)
			}
			exec(q, args...)
		}
		check := func(step string) {
			t.Helper()
			type key struct{ Kind, Object string }
			read := func(q string) map[key]int {
				got := map[key]int{}
				if err := d.ReadTx(ctx, func(c db.Conn) error {
					rows, err := c.Query(ctx, q)
					if err != nil {
						return err
					}
					defer rows.Close()
					for rows.Next() {
						var k key
						var n int
						if err := rows.Scan(&k.Kind, &k.Object, &n); err != nil {
							return err
						}
						if n != 0 {
							got[k] = n
						}
					}
					return rows.Err()
				}); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				return got
			}
			want := read("SELECT entity_type, object_uuid, COUNT(*) FROM versions GROUP BY entity_type, object_uuid")
			got := read("SELECT entity_type, object_uuid, n FROM version_counts")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: version_counts differ from COUNT(*) (-count +counter):\n%s", step, diff)
			}
		}

		// Versions written before the migration are counted by it.
		insert("resource", objects[0], 3)
		insert("customer", objects[0], 1)
		insert("resource", objects[1], 2)
		if err := d.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		check("after migration 00009")

		insert("resource", objects[0], 1)
		insert("resource", objects[2], 5)
		check("inserts")
		exec(`INSERT INTO versions (entity_type, object_id, object_uuid, created, comment, data)
			SELECT entity_type, object_id, ?, created, comment, data FROM versions WHERE entity_type = 'resource' AND object_uuid = ?`,
			objects[3], objects[2])
		check("INSERT ... SELECT")
		exec("DELETE FROM versions WHERE id = (SELECT MIN(id) FROM versions WHERE object_uuid = ?)", objects[0])
		exec("DELETE FROM versions WHERE object_uuid = ?", objects[2])
		check("deletes")
		exec("UPDATE versions SET object_uuid = ? WHERE id = (SELECT MAX(id) FROM versions WHERE object_uuid = ?)", objects[1], objects[3])
		exec("UPDATE versions SET comment = 'moved nowhere' WHERE object_uuid = ?", objects[1])
		check("moves")
		boom := errors.New("boom")
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO versions (entity_type, object_id, object_uuid, created, data) VALUES ('resource', 1, ?, ?, '{}')",
				objects[0], now); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("rollback: %v", err)
		}
		check("rollback")
	})
}
