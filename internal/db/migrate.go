package db

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

func (d *DB) gooseProvider() (*goose.Provider, error) {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	if d.dialect == Postgres {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations %s: %w", dir, err)
	}
	p, err := goose.NewProvider(dialect, d.write, sub)
	if err != nil {
		return nil, fmt.Errorf("goose provider: %w", err)
	}
	return p, nil
}

// migrateLockKey is the PostgreSQL advisory lock replicas take around
// migrations ("heed" in ASCII).
const migrateLockKey = 0x68656564

// Migrate applies heed's pending schema migrations and River's, in that order.
// On PostgreSQL it holds an advisory lock throughout, so replicas starting
// together migrate one after the other (goose and rivermigrate take none
// themselves: three concurrent runs failed 5 times in 60 without it).
func (d *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	if d.dialect == Postgres {
		conn, err := d.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("acquire migration lock connection: %w", err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		defer func() {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockKey)
		}()
	}
	p, err := d.gooseProvider()
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply heed migrations: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	riverRes, err := d.riverMigrate(ctx, log)
	if err != nil {
		return err
	}
	for _, v := range riverRes {
		log.Info("river migration applied", "version", v)
	}
	return nil
}

func (d *DB) riverMigrate(ctx context.Context, log *slog.Logger) ([]int, error) {
	// River logs each version at info; Migrate logs them once itself.
	log = slog.New(warnOnly{log.Handler()})
	if d.dialect == Postgres {
		return migrateRiver(ctx, riverdatabasesql.New(d.write), log, false)
	}
	return migrateRiver(ctx, riversqlite.New(d.write), log, false)
}

// migrateRiver applies River's migrations, or with validateOnly reports
// (through an error) whether any is pending.
func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], log *slog.Logger, validateOnly bool) ([]int, error) {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	if validateOnly {
		res, err := m.Validate(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("validate river migrations: %w", err)
		}
		if !res.OK {
			return nil, errRiverPending
		}
		return nil, nil
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("apply river migrations: %w", err)
	}
	versions := make([]int, 0, len(res.Versions))
	for _, v := range res.Versions {
		versions = append(versions, v.Version)
	}
	return versions, nil
}

var errRiverPending = errors.New("river migrations pending")

// MigrationsCurrent reports whether every heed and River migration is applied.
func (d *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	p, err := d.gooseProvider()
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("check heed migrations: %w", err)
	}
	if pending {
		return false, nil
	}
	discard := slog.New(slog.DiscardHandler)
	if d.dialect == Postgres {
		_, err = migrateRiver(ctx, riverdatabasesql.New(d.write), discard, true)
	} else {
		_, err = migrateRiver(ctx, riversqlite.New(d.write), discard, true)
	}
	if errors.Is(err, errRiverPending) {
		return false, nil
	}
	return err == nil, err
}

type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
