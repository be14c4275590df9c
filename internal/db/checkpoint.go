package db

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database
// file on SQLite.
const checkpointEvery = 250 * time.Millisecond

// checkpoints copies SQLite's write-ahead log back into the database file
// from a connection of its own, every checkpointEvery. SQLite's own
// checkpoint, run by the commit that finds the log past 1,000 pages, then
// has little left to copy, and that commit, with every change queued
// behind it on the one writer, waits less (PATCH +6 %, p99 11 -> 10 ms,
// back to back). That commit's checkpoint stays: it is the one that can
// finish the log while the writer holds it still, which lets the next
// write start the log over. With only background checkpoints the log
// never caught up under a steady write load and grew to 900 MB in 20 s
// (design.md warns of the same with more readers). A PASSIVE checkpoint
// waits for no reader or writer.
//
// A commit starts the log over only if, at that instant, no reader holds a
// snapshot that uses it. With reads all along on a busy machine (a reader
// descheduled mid-statement) that instant may not come, and the log grew
// with everything written (24 MiB of 24 in a test): logWatch starts it
// over.
func (d *DB) checkpoints(conn *sql.DB) {
	defer close(d.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-d.stopCheckpoints:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := checkpoint(ctx, conn, "PASSIVE")
		cancel()
		// Log a failure once, not four times a second.
		if err != nil && !failing {
			slog.Warn("sqlite checkpoint failed; the write-ahead log grows until one succeeds", "error", err)
		}
		failing = err != nil
	}
}

// checkpoint runs one checkpoint in mode. RESTART waits, through the busy
// timeout, for the writer and the readers of the moment (readers that start
// meanwhile read the database file, new writers wait), so it ends once the
// short reads in flight have. But either mode fails at once while another
// checkpoint runs (the background one, or a commit's own on River's
// connection): a RESTART is tried again shortly, a few times.
func checkpoint(ctx context.Context, conn *sql.DB, mode string) error {
	for range restartTries {
		var busy, frames, copied int
		if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
			return err
		}
		// frames is -1 when another checkpoint held the lock.
		if mode != "RESTART" || frames >= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// restartTries bounds how often a RESTART is tried while another checkpoint
// holds the lock.
const restartTries = 20

// logRestartBytes: a write-ahead log file past this size has missed being
// started over (SQLite's own checkpoint comes at 1,000 pages, 4 MiB).
const logRestartBytes = 8 << 20

// logCheckEvery is how many commits pass between two looks at the log's
// file size.
const logCheckEvery = 64

// logWatch looks at the write-ahead log's file every logCheckEvery commits
// and, when the file has grown past logRestartBytes and past its size at
// the last restart, starts the log over (a RESTART checkpoint) on the
// writer's connection, before the committing call returns. The file keeps
// its size once the log starts over (SQLite reuses it from the start), so
// it grows only while the log is not started over, and the restart runs
// only then. It runs in the writer's path, paced by the writes: a
// background checkpoint on a timer, run late on a busy machine, let the log
// grow to 16 MiB and more in the same test; here it stays near 10 MiB.
type logWatch struct {
	path    string
	conn    *sql.DB // the writer's; nil: not SQLite
	commits atomic.Int64
	asked   atomic.Int64 // the file's size at the last restart
}

// committed follows every commit on the writer (InTx, a batch).
func (w *logWatch) committed() {
	if w.conn == nil || w.commits.Add(1)%logCheckEvery != 0 {
		return
	}
	fi, err := os.Stat(w.path)
	if err != nil {
		return
	}
	if size := fi.Size(); size > logRestartBytes && size > w.asked.Load() {
		w.asked.Store(size)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := checkpoint(ctx, w.conn, "RESTART"); err != nil {
			slog.Warn("sqlite: starting the write-ahead log over failed", "error", err, "log_bytes", size)
		}
	}
}
