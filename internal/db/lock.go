package db

import (
	"context"
	"fmt"
)

// LockKey serialises transactions that name the same key until they end:
// a transaction-scoped advisory lock on PostgreSQL. SQLite needs none, as
// its one write connection already serialises every writing transaction.
func (t *Tx) LockKey(ctx context.Context, key string) error {
	if t.d.dialect != Postgres {
		return nil
	}
	if _, err := t.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext(?))", key); err != nil {
		return fmt.Errorf("lock %q: %w", key, err)
	}
	return nil
}
