package db_test

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/db"
)

// TestCloseWaitsForBackgroundPrepares: a statement prepared in the
// background (the first run of a query text) may still be opening a
// connection when the caller closes the database; Close waits for it, so
// nothing touches the database's files once Close has returned (a test's
// TempDir cleanup failed with "directory not empty" when one did).
func TestCloseWaitsForBackgroundPrepares(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{URL: filepath.Join(t.TempDir(), "heed.db"), SQLiteReadConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	err = d.ReadTx(ctx, func(c db.Conn) error {
		// A new text: its prepare starts in the background and waits for
		// the read pool's one connection, which this transaction holds.
		rows, err := c.Query(ctx, "SELECT 1 WHERE ? = ?", 1, 1)
		if err != nil {
			return err
		}
		rows.Close()
		if n := d.BackgroundPrepares(); n != 1 {
			t.Fatalf("%d background prepares, want 1", n)
		}
		go func() { done <- d.Close() }()
		deadline := time.Now().Add(10 * time.Second)
		for !d.ClosingStatements() {
			select {
			case err := <-done:
				t.Errorf("Close returned (%v) while a statement was still being prepared", err)
				return nil
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("Close never began closing the statements")
			}
			runtime.Gosched()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return once the transaction ended")
	}
	if n := d.BackgroundPrepares(); n != 0 {
		t.Errorf("Close returned with %d statements still being prepared", n)
	}
}
