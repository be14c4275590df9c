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

// TestSQLiteCheckpointsInBackground: what is committed reaches the
// database file soon after, though no commit has yet filled the log to
// SQLite's own checkpoint threshold (1,000 pages, 4 MiB; here 2 MiB): the
// background checkpoints copied it (in WAL mode nothing else writes the
// main file).
func TestSQLiteCheckpointsInBackground(t *testing.T) {
	t.Parallel()
	u := dbtest.NewURL(t, db.SQLite)
	d := dbtest.Open(t, u, dbtest.Options{})
	ctx := context.Background()
	path := u // dbtest's SQLite URL is the file's path
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size(path)
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
	// The blobs fill somewhat less than 2 MiB of new pages: the file had
	// free pages to reuse.
	for size(path) < before+1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10 s after 2 MiB were committed (was %d): no checkpoint ran", size(path), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSQLiteLogStaysBounded: under a steady write load with readers
// reading all along, the write-ahead log is started over again and again
// instead of growing with everything written (24 MiB here; a commit
// starts it over past SQLite's 1,000-page threshold, 4 MiB, when no reader
// is in it at that instant, and logWatch does past 8 MiB, when readers
// always were: with three CPU burners beside it, it reached 16-26 MiB
// before logWatch, 8-15 MiB with it).
func TestSQLiteLogStaysBounded(t *testing.T) {
	t.Parallel()
	d, u := walProbe(t)
	ctx := context.Background()
	stop := make(chan struct{})
	readers := make(chan error, 2)
	for range 2 {
		go func() {
			for {
				select {
				case <-stop:
					readers <- nil
					return
				default:
				}
				// Short reads, as requests make: a reader that held one
				// snapshot all along would pin the log (SQLite cannot start
				// it over under a reader), whoever checkpoints.
				var n int
				if err := d.Reader().QueryRow(ctx, "SELECT COUNT(*) FROM wal_probe WHERE id > (SELECT MAX(id) FROM wal_probe) - 8").Scan(&n); err != nil {
					readers <- err
					return
				}
			}
		}()
	}
	var largest int64
	writeBlobs(t, d, 3072, func(i int) { // 24 MiB
		if i%64 == 0 {
			if fi, err := os.Stat(u + "-wal"); err == nil {
				largest = max(largest, fi.Size())
			}
		}
	})
	close(stop)
	for range 2 {
		if err := <-readers; err != nil {
			t.Fatal(err)
		}
	}
	if largest > 16<<20 {
		t.Errorf("the write-ahead log reached %d MiB while 24 MiB were written", largest>>20)
	}
	t.Logf("largest write-ahead log: %.1f MiB", float64(largest)/(1<<20))
}

// TestSQLiteLogRestartBacksOffUnderALongRead: a read that holds the
// write-ahead log while 24 MiB of rows are written (a 50 MiB log) keeps it
// from starting over whatever the writer tries, and each try holds up the
// writes for a moment; the writer tries a few times (near 8, 12, 20 and
// 36 MiB: the step doubles), not at every 2 MiB (21 tries), and every
// write goes through.
func TestSQLiteLogRestartBacksOffUnderALongRead(t *testing.T) {
	t.Parallel()
	d, u := walProbe(t)
	ctx := context.Background()
	held, release, readDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		readDone <- d.ReadTx(ctx, func(c db.Conn) error {
			var n int
			if err := c.QueryRow(ctx, "SELECT COUNT(*) FROM wal_probe").Scan(&n); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	writeBlobs(t, d, 3072, nil) // 24 MiB
	close(release)
	if err := <-readDone; err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(u + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 24<<20 {
		t.Fatalf("the log is %d MiB: the long read did not hold it", fi.Size()>>20)
	}
	t.Logf("log %d MiB, %d restarts tried", fi.Size()>>20, d.LogRestartTries())
	if n := d.LogRestartTries(); n < 1 || n > 5 {
		t.Errorf("%d restarts tried while the read held the log; want 1-5 (a doubling step)", n)
	}
}

// walProbe opens a fresh SQLite database with a table of blobs, and says
// where its write-ahead log is.
func walProbe(t *testing.T) (d *db.DB, path string) {
	t.Helper()
	u := dbtest.NewURL(t, db.SQLite)
	d = dbtest.Open(t, u, dbtest.Options{})
	if _, err := d.SQL().ExecContext(context.Background(), "CREATE TABLE wal_probe (id INTEGER PRIMARY KEY, b BLOB NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return d, u
}

// writeBlobs commits n rows of 8 KiB to walProbe's table, one transaction
// each, calling after (when set) after each.
func writeBlobs(t *testing.T, d *db.DB, n int, after func(i int)) {
	t.Helper()
	ctx := context.Background()
	blob := make([]byte, 8<<10)
	for i := range n {
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO wal_probe (b) VALUES (?)", blob)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if after != nil {
			after(i)
		}
	}
}

// TestSQLiteCloseTwice: closing a database twice stops its checkpoints
// once and does not panic.
func TestSQLiteCloseTwice(t *testing.T) {
	t.Parallel()
	d, err := db.Open(context.Background(), db.Config{URL: dbtest.NewURL(t, db.SQLite)})
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	_ = d.Close()
}
