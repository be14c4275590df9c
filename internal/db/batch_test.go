package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// TestInTxBatched: many concurrent changes through InTxBatched. Each
// locks one shared row (as heed's changes lock the object they change:
// on SQLite the write lock already serializes them) and inserts a user,
// taking its time after the lock. Every fifth one
// fails after inserting (its row must not remain), one panics (the panic
// reaches its caller, its row does not remain), the others succeed. Each
// caller gets its own outcome and hooks; what committed is exactly the
// successful changes; and the order of the times taken inside the
// transactions is the commit order (here: the order of the row ids, which
// SQLite and PostgreSQL hand out in insertion order).
func TestInTxBatched(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 60
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			now := tx.Now()
			_, err := tx.Exec(ctx, `INSERT INTO users (uuid, username, preferred_languages, created, modified)
				VALUES ('00000000-0000-4000-8000-999999999999', 'lock', '[]', ?, ?)`, now, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		var (
			wg                sync.WaitGroup
			committed, rolled atomic.Int64
			mu                sync.Mutex
			want              = map[string]bool{}
			start             = make(chan struct{})
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				name := fmt.Sprintf("batched-%02d", i)
				var panicked any
				err := func() (err error) {
					defer func() { panicked = recover() }()
					return d.InTxBatched(ctx, func(tx *db.Tx) error {
						tx.AfterCommit(func() { committed.Add(1) })
						tx.AfterRollback(func() { rolled.Add(1) })
						var id int64
						if err := tx.QueryRow(ctx, "SELECT id FROM users WHERE username = 'lock'"+d.ForUpdate()).Scan(&id); err != nil {
							return err
						}
						now := tx.Now()
						if _, err := tx.Exec(ctx, `INSERT INTO users (uuid, username, preferred_languages, created, modified)
							VALUES (?, ?, '[]', ?, ?)`, fmt.Sprintf("00000000-0000-4000-8000-%012d", i), name, now, now); err != nil {
							return err
						}
						switch {
						case i == 7:
							panic("kaboom")
						case i%5 == 0:
							return boom
						}
						return nil
					})
				}()
				switch {
				case i == 7:
					if panicked != "kaboom" {
						t.Errorf("change %d: panic %v, want kaboom", i, panicked)
					}
				case i%5 == 0:
					if !errors.Is(err, boom) {
						t.Errorf("change %d: %v, want boom", i, err)
					}
				default:
					if err != nil {
						t.Errorf("change %d: %v", i, err)
					}
					mu.Lock()
					want[name] = true
					mu.Unlock()
				}
			}()
		}
		// Hold the writer with one change until all the others wait, so
		// that they share transactions whatever the scheduling (on
		// PostgreSQL they just run).
		gate, release := make(chan struct{}), make(chan struct{})
		gated := make(chan error, 1)
		go func() {
			gated <- d.InTxBatched(ctx, func(tx *db.Tx) error {
				close(gate)
				<-release
				return nil
			})
		}()
		<-gate
		close(start)
		if d.Dialect() == db.SQLite {
			for d.BatchQueued() < n {
				time.Sleep(time.Millisecond)
			}
		}
		close(release)
		if err := <-gated; err != nil {
			t.Fatal(err)
		}
		wg.Wait()

		rows, err := d.Reader().Query(ctx, "SELECT username, created FROM users WHERE username LIKE 'batched-%' ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]bool{}
		var last time.Time
		for rows.Next() {
			var name string
			var created time.Time
			if err := rows.Scan(&name, &created); err != nil {
				t.Fatal(err)
			}
			got[name] = true
			if created.Before(last) {
				t.Errorf("%s committed after a change dated %s but is dated %s", name, last, created)
			}
			last = created
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%d users committed, want the %d successful changes", len(got), len(want))
		}
		for name := range want {
			if !got[name] {
				t.Errorf("%s succeeded but is not stored", name)
			}
		}
		if c := committed.Load(); c != int64(len(want)) {
			t.Errorf("%d after-commit hooks ran, want %d", c, len(want))
		}
		// The gate's own transaction, then the 60 waiting changes in one.
		if batches, changes := d.BatchStats(); d.Dialect() == db.SQLite && (changes != n+1 || batches != 2) {
			t.Errorf("SQLite ran %d changes in %d transactions: want the gate alone, then all %d in one", changes, batches, n)
		} else {
			t.Logf("%d changes in %d transactions", changes, batches)
		}
		if r := rolled.Load(); r != int64(n/5) {
			t.Errorf("%d after-rollback hooks ran, want %d (the failed changes; not the panic)", r, n/5)
		}
	})
}
