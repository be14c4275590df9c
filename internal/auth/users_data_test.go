package auth_test

// Issue 16 on users: a username's uniqueness is decided by the unique index,
// so concurrent creates and renames give one winner and 400s, never a 500;
// a password beyond bcrypt's 72 bytes is a 400, not a 500.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
)

// outcome counts what concurrent calls returned.
type outcome struct {
	ok, invalid int
	other       []error
}

// concurrently runs n calls of fn at once; an error counts as invalid only
// when it is a 400 naming field.
func concurrently(n int, field string, fn func(i int) error) outcome {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		out   outcome
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := fn(i)
			mu.Lock()
			defer mu.Unlock()
			e, ok := errs.As(err)
			switch {
			case err == nil:
				out.ok++
			case ok && e.Kind == errs.Invalid && len(e.Fields[field]) > 0:
				out.invalid++
			default:
				out.other = append(out.other, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func TestConcurrentUsernames(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		svc := &auth.Service{DB: d, PasswordCost: bcrypt.MinCost}
		const n, rounds = 4, 15
		for round := range rounds {
			name := fmt.Sprintf("race-%d", round)
			got := concurrently(n, "username", func(int) error {
				_, err := svc.CreateUser(ctx, nil, auth.UserInput{Username: &name})
				return err
			})
			if got.ok != 1 || got.invalid != n-1 || len(got.other) > 0 {
				t.Fatalf("create %s ×%d: %d created, %d refused on username, other errors %v", name, n, got.ok, got.invalid, got.other)
			}
		}

		// Renames race the same way: n users, one new name.
		var ids []uuid.UUID
		for i := range n {
			name := fmt.Sprintf("renamer-%d", i)
			u, err := svc.CreateUser(ctx, nil, auth.UserInput{Username: &name})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.UUID)
		}
		for round := range rounds {
			name := fmt.Sprintf("renamed-%d", round)
			got := concurrently(n, "username", func(i int) error {
				_, err := svc.UpdateUser(ctx, nil, ids[i], auth.UserInput{Username: &name})
				return err
			})
			if got.ok != 1 || got.invalid != n-1 || len(got.other) > 0 {
				t.Fatalf("rename to %s ×%d: %d renamed, %d refused on username, other errors %v", name, n, got.ok, got.invalid, got.other)
			}
		}
		// A taken name is refused outside a race too, and changes nothing.
		taken := "race-0"
		_, err := svc.UpdateUser(ctx, nil, ids[0], auth.UserInput{Username: &taken})
		if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || len(e.Fields["username"]) == 0 {
			t.Fatalf("rename to a taken name: %v", err)
		}
	})
}

func TestPasswordLimit(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		svc := &auth.Service{DB: d, PasswordCost: bcrypt.MinCost}
		wantRefused := func(what string, err error) {
			t.Helper()
			if e, ok := errs.As(err); !ok || e.Kind != errs.Invalid || len(e.Fields["password"]) == 0 {
				t.Fatalf("%s: %v (kind %v), want a 400 on password", what, err, errs.KindOf(err))
			}
		}
		atLimit := strings.Repeat("p", auth.MaxPasswordBytes)
		over := atLimit + "p"
		// 37 two-byte characters: 37 characters, 74 bytes.
		wide := strings.Repeat("é", 37)

		name := "limit"
		u, err := svc.CreateUser(ctx, nil, auth.UserInput{Username: &name, Password: &atLimit})
		if err != nil {
			t.Fatalf("72-byte password: %v", err)
		}
		if _, err := svc.Login(ctx, name, atLimit, "test"); err != nil {
			t.Fatalf("login with the 72-byte password: %v", err)
		}
		for _, pw := range []string{over, wide} {
			other := fmt.Sprintf("over-%d", len(pw))
			_, err := svc.CreateUser(ctx, nil, auth.UserInput{Username: &other, Password: &pw})
			wantRefused(fmt.Sprintf("create with %d bytes", len(pw)), err)
			if _, err := svc.UserByUsername(ctx, other); errs.KindOf(err) != errs.NotFound {
				t.Fatalf("a refused create left user %s: %v", other, err)
			}
			_, err = svc.UpdateUser(ctx, nil, u.UUID, auth.UserInput{Password: &pw})
			wantRefused(fmt.Sprintf("update with %d bytes", len(pw)), err)
		}
		// The refused updates changed nothing.
		if _, err := svc.Login(ctx, name, atLimit, "test"); err != nil {
			t.Fatalf("login after refused updates: %v", err)
		}
	})
}
