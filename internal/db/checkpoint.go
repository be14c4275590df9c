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
