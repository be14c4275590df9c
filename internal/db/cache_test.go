package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// TestCache: a cached read is served until this DB commits a write to a
// table it depends on (InTx or InTxBatched, however the statement spells
// the table; a rollback, or a write to another table, keeps it; a
// statement whose target is not plain may write anything and drops it),
// until its ttl passes on the DB's clock, or until the validity its
// loader gave ends; failed loads are not kept; a disabled cache loads
// every time; a full cache starts over.
func TestCache(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, u string) {
		ctx := context.Background()
		clock := dbtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
		d := dbtest.Open(t, u, dbtest.Options{Clock: clock.Now})
		for _, q := range []string{"CREATE TABLE cache_probe (v INTEGER NOT NULL)", "CREATE TABLE other_probe (v INTEGER NOT NULL)"} {
			if _, err := d.SQL().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.SQL().ExecContext(ctx, d.Rebind("INSERT INTO cache_probe (v) VALUES (?)"), 1); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, q, args...)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		set := func(v int) { exec("UPDATE cache_probe SET v = ?", v) }

		c := db.NewCache[string, int](d, time.Minute, 2, "cache_probe")
		loads := 0
		var until time.Time
		read := func(key string) int {
			t.Helper()
			v, err := c.Load(key, func() (int, time.Time, error) {
				loads++
				var v int
				err := d.Reader().QueryRow(ctx, "SELECT v FROM cache_probe").Scan(&v)
				return v, until, err
			})
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		expect := func(key string, want, wantLoads int) {
			t.Helper()
			if got := read(key); got != want || loads != wantLoads {
				t.Fatalf("read %q = %d after %d loads, want %d after %d", key, got, loads, want, wantLoads)
			}
		}

		expect("a", 1, 1)
		expect("a", 1, 1) // cached
		set(2)
		expect("a", 2, 2) // a commit drops it
		expect("a", 2, 2)

		if err := d.InTxBatched(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE cache_probe SET v = 3")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		expect("a", 3, 3) // so does a batched one

		refused := errors.New("refused")
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, "UPDATE cache_probe SET v = 4"); err != nil {
				return err
			}
			return refused
		}); !errors.Is(err, refused) {
			t.Fatalf("rolled back write: %v", err)
		}
		expect("a", 3, 3) // a rollback changed nothing

		// A write elsewhere keeps it; every spelling of a write here drops it.
		exec("INSERT INTO other_probe (v) VALUES (1)")
		exec("UPDATE other_probe SET v = 2")
		expect("a", 3, 3)
		exec(`insert into "cache_probe"(v) values (7)`)
		expect("a", 3, 4)
		exec("  DELETE\n FROM cache_probe WHERE v = 7")
		expect("a", 3, 5)
		exec("WITH x AS (SELECT 1) UPDATE other_probe SET v = 3") // might write anything
		expect("a", 3, 6)

		clock.Add(59 * time.Second)
		expect("a", 3, 6)
		clock.Add(time.Second)
		expect("a", 3, 7) // the ttl passed

		until = clock.Now().Add(10 * time.Second)
		expect("b", 3, 8)
		clock.Add(9 * time.Second)
		expect("b", 3, 8)
		clock.Add(time.Second)
		expect("b", 3, 9) // its own validity ended first
		until = time.Time{}

		// Full (two keys): the third starts over, the others load again.
		expect("c", 3, 10)
		expect("a", 3, 11)

		failures := 0
		for range 2 {
			if _, err := c.Load("d", func() (int, time.Time, error) {
				failures++
				return 0, time.Time{}, refused
			}); !errors.Is(err, refused) {
				t.Fatalf("failed load: %v", err)
			}
		}
		if failures != 2 {
			t.Errorf("a failed load was cached: %d loads for two reads", failures)
		}

		off := db.NewCache[string, int](d, 0, 10, "cache_probe")
		for i := range 2 {
			v, err := off.Load("a", func() (int, time.Time, error) { return i, time.Time{}, nil })
			if err != nil || v != i {
				t.Fatalf("disabled cache read %d: %d, %v", i, v, err)
			}
		}
	})
}
