package auth_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
)

// TestAuthenticateCache: with the token cache on, a change made through
// this process applies to the very next request (deactivation, a token
// deleted in a transaction), while one made behind its back (another
// process: here a statement outside any heed transaction) applies once the
// cache's ttl has passed, or this process writes to users or tokens, and
// not before: writes to other tables keep the cache. Callers get their own
// copy of the user.
func TestAuthenticateCache(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, u string) {
		ctx := context.Background()
		clock := dbtest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
		d := dbtest.Open(t, u, dbtest.Options{Clock: clock.Now})
		svc := &auth.Service{DB: d, PasswordCost: bcrypt.MinCost}
		svc.CacheReads(time.Minute)

		newUser := func(name string) string {
			t.Helper()
			if _, err := svc.CreateUser(ctx, nil, auth.UserInput{Username: &name}); err != nil {
				t.Fatal(err)
			}
			tok, err := svc.CreateToken(ctx, name, "test")
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		accepted := func(tok string) bool {
			t.Helper()
			_, err := svc.Authenticate(ctx, tok)
			if err != nil && errs.KindOf(err) != errs.Unauthenticated {
				t.Fatalf("authenticate: %v", err)
			}
			return err == nil
		}

		alice := newUser("alice")
		a, err := svc.Authenticate(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		a.Username, a.PreferredLanguages = "mallory", append(a.PreferredLanguages, "xx")
		again, err := svc.Authenticate(ctx, alice)
		if err != nil || again.Username != "alice" || len(again.PreferredLanguages) != 0 {
			t.Fatalf("a caller's change reached the cache: %+v, %v", again, err)
		}

		// Through this process: the next call sees it.
		off := false
		if _, err := svc.UpdateUser(ctx, nil, again.UUID, auth.UserInput{IsActive: &off}); err != nil {
			t.Fatal(err)
		}
		if accepted(alice) {
			t.Error("a deactivated user's token still authenticates")
		}

		// Behind its back: seen after the ttl.
		bob := newUser("bob")
		if !accepted(bob) {
			t.Fatal("bob's new token is refused")
		}
		if _, err := d.SQL().ExecContext(ctx, d.Rebind("DELETE FROM tokens WHERE key_hash = ?"), auth.HashToken(bob)); err != nil {
			t.Fatal(err)
		}
		if !accepted(bob) {
			t.Error("the cache was not used: another process's delete applied at once")
		}
		clock.Add(59 * time.Second)
		if !accepted(bob) {
			t.Error("the cache kept bob's token for less than its ttl")
		}
		clock.Add(time.Second)
		if accepted(bob) {
			t.Error("another process's delete went unseen past the ttl")
		}
		// A write to another table keeps the cache; one to users drops it.
		dave := newUser("dave")
		if !accepted(dave) {
			t.Fatal("dave's new token is refused")
		}
		if _, err := d.SQL().ExecContext(ctx, d.Rebind("DELETE FROM tokens WHERE key_hash = ?"), auth.HashToken(dave)); err != nil {
			t.Fatal(err)
		}
		write := func(q string) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q); return err }); err != nil {
				t.Fatal(err)
			}
		}
		write("UPDATE versions SET comment = comment")
		if !accepted(dave) {
			t.Error("a write to versions dropped the token cache")
		}
		write("UPDATE users SET full_name = full_name WHERE username = 'nobody'")
		if accepted(dave) {
			t.Error("a write to users kept the token cache")
		}

		// A refused token is not cached: once it exists, it works.
		carol := newUser("carol")
		if _, err := d.SQL().ExecContext(ctx, d.Rebind("DELETE FROM tokens WHERE key_hash = ?"), auth.HashToken(carol)); err != nil {
			t.Fatal(err)
		}
		if accepted(carol) {
			t.Fatal("a deleted token authenticates")
		}
		if _, err := d.SQL().ExecContext(ctx, d.Rebind(`INSERT INTO tokens (key_hash, user_id, description, created)
			SELECT ?, id, 'again', created FROM users WHERE username = 'carol'`), auth.HashToken(carol)); err != nil {
			t.Fatal(err)
		}
		if !accepted(carol) {
			t.Error("a refusal was cached")
		}
	})
}
