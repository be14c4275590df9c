// Package dbtest hands each test a fresh, migrated heed database: SQLite
// always, and PostgreSQL too when HEED_TEST_POSTGRES_URL names a server.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/heed-dev/heed/internal/db"
)

// PostgresEnv names the variable that points tests at a PostgreSQL server,
// for example postgres://postgres@127.0.0.1:5432/postgres.
const PostgresEnv = "HEED_TEST_POSTGRES_URL"

// Options tune a test database.
type Options struct {
	Clock func() time.Time
}

// Clock is a clock a test moves by hand; pass its Now as Options.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now is the time the clock shows.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Each runs fn once per available dialect, as subtests named "sqlite" and
// "postgres", each with its own fresh database.
func Each(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, NewURL(t, db.SQLite))
	})
	if os.Getenv(PostgresEnv) != "" {
		t.Run("postgres", func(t *testing.T) {
			fn(t, NewURL(t, db.Postgres))
		})
	}
}

// EachDB is Each with an opened, migrated *db.DB.
func EachDB(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	Each(t, func(t *testing.T, url string) {
		fn(t, Open(t, url, Options{}))
	})
}

// NewURL creates an empty database of the given dialect and returns its URL;
// it is removed when the test ends. For PostgreSQL without a server
// configured the test is skipped.
func NewURL(t testing.TB, dialect db.Dialect) string {
	t.Helper()
	if dialect == db.SQLite {
		return t.TempDir() + "/heed.db"
	}
	server := os.Getenv(PostgresEnv)
	if server == "" {
		t.Skip(PostgresEnv + " is not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "heed_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), server)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open opens and migrates the database at url, closing it when the test ends.
func Open(t testing.TB, url string, opts Options) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{URL: url, Clock: opts.Clock, PostgresMaxConns: 8})
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}
