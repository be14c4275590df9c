package db

import "context"

// MigrateTo applies heed's migrations up to version only (no River), so a
// test can write rows as an older schema held them and then migrate on.
func (d *DB) MigrateTo(ctx context.Context, version int64) error {
	p, err := d.gooseProvider()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// BatchStats reports how many batched transactions InTxBatched ran and how
// many changes they held.
func (d *DB) BatchStats() (batches, changes int64) {
	return d.batch.batches.Load(), d.batch.changes.Load()
}

// BatchQueued reports how many InTxBatched changes wait for a batch.
func (d *DB) BatchQueued() int {
	d.batch.mu.Lock()
	defer d.batch.mu.Unlock()
	return len(d.batch.queue)
}

// BackgroundPrepares reports how many statements are being prepared in
// the background (see stmtCache.lookup).
func (d *DB) BackgroundPrepares() int {
	return int(d.readStmts.running.Load() + d.writeStmts.running.Load())
}

// ClosingStatements reports whether Close has begun closing the read
// pool's prepared statements.
func (d *DB) ClosingStatements() bool {
	d.readStmts.mu.Lock()
	defer d.readStmts.mu.Unlock()
	return d.readStmts.closed
}

// LogRestartTries reports how often the writer tried to start SQLite's
// write-ahead log over (logWatch).
func (d *DB) LogRestartTries() int64 { return d.log.tries.Load() }
