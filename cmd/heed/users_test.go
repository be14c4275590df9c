package main

import (
	"context"
	"strings"
	"testing"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

func TestUserCreate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		heed(t, nil, "migrate", "--database-url", url).want(t, 0)

		r := heedInput(t, nil, "s3cret-enough\n", "user", "create", "root", "--staff", "--email", "root@example.com", "--database-url", url).want(t, 0)
		if !strings.Contains(r.stdout, "created root") || strings.Contains(r.stdout+r.stderr, "s3cret-enough") {
			t.Fatalf("stdout %q stderr %q: want the user named and the password nowhere", r.stdout, r.stderr)
		}
		svc := &auth.Service{DB: openTestDB(t, url)}
		// The first administrator can sign in to the console with it.
		secret, err := svc.StartSession(ctx, "root", "s3cret-enough", "127.0.0.1", 0)
		if err != nil {
			t.Fatalf("sign in as the created user: %v", err)
		}
		u, err := svc.Authenticate(ctx, secret)
		if err != nil || !u.IsStaff || u.IsSupport || u.Email != "root@example.com" {
			t.Fatalf("created user %+v, %v: want staff with the email", u, err)
		}

		heedInput(t, nil, "other-password\n", "user", "create", "plain", "--database-url", url).want(t, 0)
		if u, err := svc.UserByUsername(ctx, "plain"); err != nil || u.IsStaff {
			t.Fatalf("plain user: %+v, %v: want not staff", u, err)
		}

		for _, c := range []struct {
			stdin string
			args  []string
			code  int
			want  string
		}{
			{"long-enough-pw\n", []string{"user", "create", "root", "--database-url", url}, 1, "already"},
			{"", []string{"user", "create", "nopw", "--database-url", url}, 1, "no password given"},
			{"pw\n", []string{"user", "create", "--staff", "--database-url", url}, 2, "usage"},
			{"pw\n", []string{"user", "create", "x", "hunter2", "--database-url", url}, 2, "unexpected argument"},
			{"pw\n", []string{"user", "list", "--database-url", url}, 2, "usage"},
		} {
			r := heedInput(t, nil, c.stdin, c.args...).want(t, c.code)
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("heed %v: stderr %q, want %q", c.args, r.stderr, c.want)
			}
		}
		if _, err := svc.UserByUsername(ctx, "nopw"); err == nil {
			t.Fatal("a user without a password was created")
		}
	})
}
