package db_test

import (
	"context"
	"testing"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// TestSQLiteMemoryMap: both SQLite pools read through a memory map (a
// driver built without one would make the pragma a silent no-op).
func TestSQLiteMemoryMap(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, dbtest.NewURL(t, db.SQLite), dbtest.Options{})
	ctx := context.Background()
	var read, write int64
	if err := d.Reader().QueryRow(ctx, "PRAGMA mmap_size").Scan(&read); err != nil {
		t.Fatal(err)
	}
	if err := d.SQL().QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&write); err != nil {
		t.Fatal(err)
	}
	if read != 1<<30 || write != 1<<30 {
		t.Errorf("mmap_size: read pool %d, write pool %d, want %d", read, write, 1<<30)
	}
}
