package apptest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// Loading the demo data set through the services takes seconds under -race,
// so each test process builds it once per dialect and every test starts
// from a copy: a file copy on SQLite, CREATE DATABASE … TEMPLATE on
// PostgreSQL.

type template struct {
	once sync.Once
	src  string // SQLite file, or PostgreSQL database name
	err  error
}

var templates = map[db.Dialect]*template{db.SQLite: {}, db.Postgres: {}}

// seedDemo fills the empty database at target with the demo data set.
func seedDemo(t testing.TB, target string) {
	t.Helper()
	dialect := db.SQLite
	if db.IsPostgresURL(target) {
		dialect = db.Postgres
	}
	tpl := templates[dialect]
	tpl.once.Do(func() { tpl.src, tpl.err = buildTemplate(dialect) })
	if tpl.err != nil {
		t.Fatalf("build demo template: %v", tpl.err)
	}
	if dialect == db.SQLite {
		if err := copyFile(tpl.src, target); err != nil {
			t.Fatalf("copy demo template: %v", err)
		}
		return
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("parse %s: %v", target, err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := pgx.Connect(context.Background(), os.Getenv(dbtest.PostgresEnv))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(context.Background())
	for _, q := range []string{"DROP DATABASE " + name, "CREATE DATABASE " + name + " TEMPLATE " + tpl.src} {
		if _, err := admin.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// SeedDemo fills the empty database at url with the demo data set, from the
// same per-process template Start uses, for tests that run heed themselves.
func SeedDemo(t testing.TB, url string) {
	t.Helper()
	seedDemo(t, url)
}

func buildTemplate(dialect db.Dialect) (string, error) {
	var target, src string
	if dialect == db.SQLite {
		dir, err := os.MkdirTemp("", "heed-apptest-")
		if err != nil {
			return "", err
		}
		src = filepath.Join(dir, "template.db")
		target = src
	} else {
		server := os.Getenv(dbtest.PostgresEnv)
		admin, err := pgx.Connect(context.Background(), server)
		if err != nil {
			return "", err
		}
		defer admin.Close(context.Background())
		dropStaleTemplates(admin)
		src = "heed_tmpl_" + strconv.Itoa(os.Getpid())
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+src+" WITH (FORCE)"); err != nil {
			return "", err
		}
		if _, err := admin.Exec(context.Background(), "CREATE DATABASE "+src); err != nil {
			return "", err
		}
		u, err := url.Parse(server)
		if err != nil {
			return "", err
		}
		u.Path = "/" + src
		target = u.String()
	}
	ctx := context.Background()
	a, err := app.New(ctx, app.Config{DatabaseURL: target, Demo: true, Migrate: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return "", fmt.Errorf("load demo: %w", err)
	}
	if dialect == db.SQLite {
		// Fold the WAL into the main file so one file is the whole database.
		if err := a.DB.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "SELECT 1")
			return err
		}); err != nil {
			return "", err
		}
		if _, err := a.DB.SQL().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return "", fmt.Errorf("checkpoint: %w", err)
		}
	}
	if err := a.Close(); err != nil {
		return "", err
	}
	return src, nil
}

// dropStaleTemplates removes templates left by test processes that ended
// (a test binary has no hook to drop its own at exit).
func dropStaleTemplates(admin *pgx.Conn) {
	rows, err := admin.Query(context.Background(), "SELECT datname FROM pg_database WHERE datname LIKE 'heed_tmpl_%'")
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(name, "heed_tmpl_"))
		if err != nil {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); os.IsNotExist(err) {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
