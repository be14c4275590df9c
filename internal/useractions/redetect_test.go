package useractions_test

import (
	"context"
	"errors"
	"slices"
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

// watchingProvider reports its actions about users, and reads only their
// full names (useractions.FieldWatcher).
type watchingProvider struct{ *setProvider }

func (watchingProvider) WatchedFields() map[string][]string {
	return map[string][]string{"user": {"full_name"}}
}

// TestRedetectChangedSkipsUnwatchedFields: a change re-detects with the
// providers that read a changed field, or that do not say what they read,
// and not with those that read only other fields.
func TestRedetectChangedSkipsUnwatchedFields(t *testing.T) {
	eachEngine(t, useractions.DefaultSettings(), func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		alice := e.user(t, "alice", nil)
		watching := watchingProvider{&setProvider{typ: "watching"}}
		watching.report(about(alice, alice, "check your name"))
		blind := &setProvider{typ: "blind"}
		blind.report(about(alice, alice, "check your profile"))
		e.svc.Register(watching)
		e.svc.Register(blind)
		if err := e.svc.SyncRegistry(ctx); err != nil {
			t.Fatal(err)
		}
		change := func(fields ...string) {
			t.Helper()
			err := e.d.InTx(ctx, func(tx *db.Tx) error {
				return e.svc.RedetectChanged(ctx, tx, provider.ObjectRef{Type: "user", ID: alice.ID}, fields)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		types := func() []string {
			var out []string
			for _, a := range e.mine(t, alice) {
				out = append(out, a.ActionType)
			}
			slices.Sort(out)
			return out
		}
		change("email")
		if got := types(); !slices.Equal(got, []string{"blind"}) {
			t.Errorf("after an email change, actions of %v; want only the blind provider's", got)
		}
		change("email", "full_name")
		if got := types(); !slices.Equal(got, []string{"blind", "watching"}) {
			t.Errorf("after a name change, actions of %v; want both providers'", got)
		}
	})
}
