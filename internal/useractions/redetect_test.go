package useractions_test

import (
	"context"
	"errors"
	"testing"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// TestRedetectFailureDoesNotFailTheChange: a provider that fails while
// re-detecting a change is rolled back to a savepoint; the change commits,
// and the other providers' work in the same transaction stays.
func TestRedetectFailureDoesNotFailTheChange(t *testing.T) {
	eachEngine(t, useractions.DefaultSettings(), func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		alice := e.user(t, "alice", nil)
		broken := &setProvider{typ: "broken"}
		broken.failWith(errors.New("detector down"))
		healthy := &setProvider{typ: "healthy"}
		healthy.report(about(alice, alice, "check your profile"))
		e.svc.Register(broken)
		e.svc.Register(healthy)
		if err := e.svc.SyncRegistry(ctx); err != nil {
			t.Fatal(err)
		}
		err := e.d.InTx(ctx, func(tx *db.Tx) error {
			// The change itself: a write that must survive the failure.
			if _, err := tx.Exec(ctx, "UPDATE users SET full_name = ? WHERE id = ?", "Alice A.", alice.ID); err != nil {
				return err
			}
			return e.svc.Redetect(ctx, tx, []provider.ObjectRef{{Type: "user", ID: alice.ID}})
		})
		if err != nil {
			t.Fatalf("the change failed with its re-detection: %v", err)
		}
		var name string
		if err := e.d.SQL().QueryRowContext(ctx, e.d.Rebind("SELECT full_name FROM users WHERE id = ?"), alice.ID).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != "Alice A." {
			t.Errorf("the change did not commit: full_name %q", name)
		}
		acts := e.mine(t, alice)
		if len(acts) != 1 || acts[0].ActionType != "healthy" {
			t.Errorf("after one failing provider, actions %v; want the healthy provider's one", acts)
		}
	})
}
