package db

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNoDatabase says a SQLite URL names a file that does not exist.
var ErrNoDatabase = errors.New("no database")

// OpenExisting is Open for commands that must never create a database:
// opening a missing SQLite file would create an empty one, so it fails with
// ErrNoDatabase instead. PostgreSQL never creates a database on connect, so
// a missing one already fails in Open.
func OpenExisting(ctx context.Context, cfg Config) (*DB, error) {
	if !IsPostgresURL(cfg.URL) {
		path := sqlitePath(cfg.URL)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s: the file does not exist", ErrNoDatabase, path)
		} else if err != nil {
			return nil, fmt.Errorf("database file %s: %w", path, err)
		}
	}
	return Open(ctx, cfg)
}
