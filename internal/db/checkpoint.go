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
		_, err := checkpoint(ctx, conn, "PASSIVE")
		cancel()
		// Log a failure once, not four times a second.
		if err != nil && !failing {
			slog.Warn("sqlite checkpoint failed; the write-ahead log grows until one succeeds", "error", err)
		}
		failing = err != nil
	}
}

// checkpoint runs one checkpoint in mode and says whether it finished
// (RESTART: the log will start over). RESTART waits, through the busy
// handler until ctx ends, for the writer and the readers of the moment
// (readers that start meanwhile read the database file, new writers wait),
// so it ends once the short reads in flight have. But either mode fails at
// once while another checkpoint runs (the background one, or a commit's
// own on River's connection): a RESTART is tried again shortly, a few
// times.
func checkpoint(ctx context.Context, conn *sql.DB, mode string) (bool, error) {
	for range restartTries {
		var busy, frames, copied int
		if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil {
			return false, err
		}
		// frames is -1 when another checkpoint held the lock.
		if mode != "RESTART" || frames >= 0 {
			return busy == 0, nil
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return false, nil
}

// restartTries bounds how often a RESTART is tried while another checkpoint
// holds the lock.
const restartTries = 20

// logRestartBytes: a write-ahead log file past this size has missed being
// started over (SQLite's own checkpoint comes at 1,000 pages, 4 MiB); past
// that, each further logRestartStep of growth tries again, and the step
// doubles with every try that a reader outlasts (up to maxRestartStep).
const (
	logRestartBytes = 8 << 20
	logRestartStep  = 2 << 20
	maxRestartStep  = 1 << 30
)

// logRestartWait bounds how long a restart waits for the readers in the
// log: a request's reads end within it; a long read (a digest, an export)
// does not, and the restart gives up rather than hold up every write.
const logRestartWait = 100 * time.Millisecond

// logCheckEvery is how many commits pass between two looks at the log's
// file size.
const logCheckEvery = 64

// logWatch looks at the write-ahead log's file every logCheckEvery commits
// and, when the file has grown past logRestartBytes and by the current step
// since the last try, starts the log over (a RESTART checkpoint) on the
// writer's connection, before the committing call returns. The file keeps
// its size once the log starts over (SQLite reuses it from the start), so
// it grows only while the log is not started over, and the restart runs
// only then. It runs in the writer's path, paced by the writes: a
// background checkpoint on a timer, run late on a busy machine, let the log
// grow to 16 MiB and more in the same test; here it stays near 10-15 MiB.
//
// A long read holds the log whatever is tried, and each try holds up the
// writes for up to logRestartWait; the doubling step keeps those tries to a
// few while it lasts. Under a read held for 4 s, 8 KiB commits back to back
// ran 82,900 times without logWatch, 5,200 with a try at every 2 MiB that
// waited for the busy timeout (5 s), 67,600 as it is.
type logWatch struct {
	path    string
	conn    *sql.DB // the writer's; nil: not SQLite
	commits atomic.Int64
	tried   atomic.Int64 // the file's size at the last try
	step    atomic.Int64 // growth since the last try before the next; 0: logRestartStep
	tries   atomic.Int64 // restarts tried, for tests
}

// committed follows every commit on the writer (InTx, a batch), after the
// connection is released: the restart takes it. Calls may overlap; at
// worst two try at once.
func (w *logWatch) committed() {
	if w.conn == nil || w.commits.Add(1)%logCheckEvery != 0 {
		return
	}
	fi, err := os.Stat(w.path)
	if err != nil {
		return
	}
	step := w.step.Load()
	if step == 0 {
		step = logRestartStep
	}
	size := fi.Size()
	if size <= logRestartBytes || size < w.tried.Load()+step {
		return
	}
	w.tried.Store(size)
	w.tries.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), logRestartWait)
	defer cancel()
	restarted, err := checkpoint(ctx, w.conn, "RESTART")
	if err != nil && ctx.Err() == nil {
		slog.Warn("sqlite: starting the write-ahead log over failed", "error", err, "log_bytes", size)
	}
	if restarted {
		w.step.Store(logRestartStep)
	} else {
		w.step.Store(min(2*step, maxRestartStep))
	}
}
