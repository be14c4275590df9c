package db_test

import (
	"context"
	"os"
	"testing"
	"time"

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

// TestSQLiteCheckpointsInBackground: no commit copies the write-ahead log
// back into the database file (autocheckpoint is off on the writer), yet
// what is committed reaches the file soon after, by the background
// checkpoints: in WAL mode nothing else writes the main file.
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	t.Parallel()
	u := dbtest.NewURL(t, db.SQLite)
	d := dbtest.Open(t, u, dbtest.Options{})
	ctx := context.Background()
	var auto int
	if err := d.SQL().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	path := u // dbtest's SQLite URL is the file's path
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	if _, err := d.SQL().ExecContext(ctx, "CREATE TABLE ckpt_probe (b BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 64<<10)
	for range 32 { // 2 MiB in all
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO ckpt_probe (b) VALUES (?)", blob)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+2<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10 s after 2 MiB were committed (was %d): no checkpoint ran", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
