package db

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database
// file on SQLite.
const checkpointEvery = 250 * time.Millisecond

// checkpoints copies SQLite's write-ahead log back into the database file
// from a connection of its own, every checkpointEvery, instead of leaving
// it to whichever commit crosses SQLite's 1,000-page threshold: that
// commit, and every change queued behind it on the one writer, waited for
// the copy and its fsync (under a PATCH load, one commit in about a
// hundred; p99 up to tens of ms). A PASSIVE checkpoint waits for no
// reader or writer; what it cannot copy yet, the next one does.
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
		_, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		cancel()
		// Log a failure once, not four times a second.
		if err != nil && !failing {
			slog.Warn("sqlite checkpoint failed; the write-ahead log grows until one succeeds", "error", err)
		}
		failing = err != nil
	}
}
