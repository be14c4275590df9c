package db

import (
	"context"
	"fmt"
)

// LockKey holds a lock named key until the transaction ends: exclusive,
// or shared (shared holders run together, an exclusive holder runs alone).
// It is a transaction-scoped advisory lock on PostgreSQL; SQLite needs
// none, as its one write connection already serialises every writing
// transaction.
func (t *Tx) LockKey(ctx context.Context, key string, shared bool) error {
	if t.d.dialect != Postgres {
		return nil
	}
	fn := "pg_advisory_xact_lock"
	if shared {
		fn = "pg_advisory_xact_lock_shared"
	}
	if _, err := t.Exec(ctx, "SELECT "+fn+"(hashtext(?))", key); err != nil {
		return fmt.Errorf("lock %q: %w", key, err)
	}
	return nil
}
