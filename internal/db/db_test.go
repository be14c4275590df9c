package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

func TestRoundTripAndTx(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := d.Now()
		insert := func(tx *db.Tx, name string) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (uuid, username, is_staff, preferred_languages, created, modified)
				VALUES (?, ?, ?, ?, ?, ?)`, "7d1f6c0e-8a44-4b53-9d2e-5c6f1b2a3c4d", name, true, `["en","de"]`, now, now)
			return err
		}
		ran := false
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { ran = true })
			return insert(tx, "x")
		}); err != nil {
			t.Fatal(err)
		}
		if !ran {
			t.Fatal("after-commit hook did not run")
		}
		boom := errors.New("boom")
		ranRolledBack := false
		err := d.InTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { ranRolledBack = true })
			if _, err := tx.Exec(ctx, `UPDATE users SET username = 'changed'`); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || ranRolledBack {
			t.Fatalf("rollback: err=%v hook ran=%v", err, ranRolledBack)
		}
		err = d.ReadTx(ctx, func(c db.Conn) error {
			var (
				uuid, name, langs string
				staff, active     bool
				created           time.Time
			)
			if err := c.QueryRow(ctx, `SELECT uuid, username, is_staff, is_active, preferred_languages, created FROM users WHERE created >= ? AND username <> '?'`, now).
				Scan(&uuid, &name, &staff, &active, &langs, &created); err != nil {
				return err
			}
			if uuid != "7d1f6c0e-8a44-4b53-9d2e-5c6f1b2a3c4d" || name != "x" || !staff || !active {
				t.Errorf("got %s %s %v %v", uuid, name, staff, active)
			}
			if !created.Equal(now) {
				t.Errorf("created %v, want %v", created, now)
			}
			if langs != `["en","de"]` && langs != `["en", "de"]` {
				t.Errorf("langs %q", langs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ok, err := d.MigrationsCurrent(ctx)
		if err != nil || !ok {
			t.Fatalf("migrations current: %v %v", ok, err)
		}
	})
}
