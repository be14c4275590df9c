package history_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/history"
)

// record writes one version of an object at the given instant.
func record(t testing.TB, d *db.DB, kind string, obj uuid.UUID, at time.Time, comment string) int64 {
	t.Helper()
	var id int64
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		var err error
		id, err = history.Record(context.Background(), tx, history.Entry{
			EntityType: kind, ObjectID: 1, ObjectUUID: obj, At: at, Comment: comment,
			Data: map[string]any{"name": comment}, Changed: []string{"name"},
		})
		return err
	})
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	return id
}

// versionIDs lists the ids of the versions of the given objects, ascending.
func versionIDs(t testing.TB, d *db.DB, objs ...uuid.UUID) []int64 {
	t.Helper()
	var out []int64
	err := d.ReadTx(context.Background(), func(c db.Conn) error {
		for _, o := range objs {
			rows, err := c.Query(context.Background(), "SELECT id FROM versions WHERE object_uuid = ?", o.String())
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				out = append(out, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list versions: %v", err)
	}
	slices.Sort(out)
	return out
}

func TestPruneDeletesOldVersionsInBatchesKeepingEachNewest(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		now := d.Now()
		cutoff := now.Add(-30 * 24 * time.Hour)
		day := 24 * time.Hour
		// Each batch size runs on a fresh set of objects; what earlier rounds
		// kept is every object's newest version, which Prune never deletes.
		for _, batch := range []int{1, 2, 3, 1000} {
			a, b, c, tie, f := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
			var keep, drop []int64
			// a: only old versions; the newest stays.
			for i := 5; i >= 1; i-- {
				id := record(t, d, "resource", a, cutoff.Add(-time.Duration(i)*day), "a")
				if i == 1 {
					keep = append(keep, id)
				} else {
					drop = append(drop, id)
				}
			}
			// b: old versions, one exactly at the cutoff (not older), one new.
			for i := 3; i >= 1; i-- {
				drop = append(drop, record(t, d, "resource", b, cutoff.Add(-time.Duration(i)*time.Hour), "b"))
			}
			keep = append(keep, record(t, d, "resource", b, cutoff, "b at cutoff"), record(t, d, "resource", b, now, "b new"))
			// c: a single old version.
			keep = append(keep, record(t, d, "resource", c, cutoff.Add(-100*day), "c"))
			// tie: two old versions at one instant; the higher id is the newest.
			at := cutoff.Add(-7 * day)
			drop = append(drop, record(t, d, "resource", tie, at, "tie 1"))
			keep = append(keep, record(t, d, "resource", tie, at, "tie 2"))
			// e: another kind of object with a's uuid has its own newest.
			keep = append(keep, record(t, d, "customer", a, cutoff.Add(-50*day), "e"))
			// f: only recent versions.
			keep = append(keep, record(t, d, "plan", f, now.Add(-day), "f1"), record(t, d, "plan", f, now, "f2"))

			stmts := d.Statements()
			n, err := history.Prune(ctx, d, cutoff, batch)
			if err != nil {
				t.Fatalf("batch %d: prune: %v", batch, err)
			}
			if n != len(drop) {
				t.Errorf("batch %d: pruned %d, want %d", batch, n, len(drop))
			}
			// One DELETE per batch, and a last one that finds fewer than a batch.
			if got, want := d.Statements()-stmts, int64(len(drop)/batch+1); got != want {
				t.Errorf("batch %d: %d statements for %d rows, want %d (batches of %d)", batch, got, len(drop), want, batch)
			}
			slices.Sort(keep)
			if got := versionIDs(t, d, a, b, c, tie, f); !slices.Equal(got, keep) {
				t.Errorf("batch %d: versions left %v, want %v (dropped should be %v)", batch, got, keep, drop)
			}
			if n, err := history.Prune(ctx, d, cutoff, batch); err != nil || n != 0 {
				t.Errorf("batch %d: a second prune deleted %d (%v), want 0", batch, n, err)
			}
		}
	})
}

func TestPruneJobRunsOnSchedule(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		a, err := app.New(ctx, app.Config{
			DatabaseURL: url, Work: true, Migrate: true, HistoryRetentionDays: 30,
			Schedules: map[string]string{"history_prune": "* * * * * *"},
			Logger:    slog.New(slog.DiscardHandler), DB: db.Config{PostgresMaxConns: 10},
		})
		if err != nil {
			t.Fatalf("start heed: %v", err)
		}
		t.Cleanup(func() { _ = a.Close() })
		old, lone := uuid.New(), uuid.New()
		now := a.DB.Now()
		gone := []int64{
			record(t, a.DB, "resource", old, now.Add(-40*24*time.Hour), "old 1"),
			record(t, a.DB, "resource", old, now.Add(-31*24*time.Hour), "old 2"),
		}
		kept := []int64{
			record(t, a.DB, "resource", old, now.Add(-29*24*time.Hour), "within retention"),
			record(t, a.DB, "resource", lone, now.Add(-400*24*time.Hour), "only version"),
		}
		runCtx, cancel := context.WithCancel(ctx)
		if err := a.Jobs.Start(runCtx); err != nil {
			t.Fatalf("start jobs: %v", err)
		}
		t.Cleanup(func() {
			stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			if err := a.Jobs.Stop(stopCtx); err != nil {
				t.Errorf("stop jobs: %v", err)
			}
			cancel()
		})
		apptest.Eventually(t, processWait, "the retention job to prune", func() bool {
			return len(versionIDs(t, a.DB, old)) < 3
		})
		if got := versionIDs(t, a.DB, old, lone); !slices.Equal(got, kept) {
			t.Errorf("after the retention job: versions %v, want %v (pruned %v)", got, kept, gone)
		}
	})
}

func TestNoRetentionSchedulesNoJob(t *testing.T) {
	t.Parallel()
	_, err := app.New(context.Background(), app.Config{
		DatabaseURL: dbtest.NewURL(t, db.SQLite), Migrate: true, HistoryRetentionDays: 0,
		Schedules: map[string]string{"history_prune": "@every 1h"}, Logger: slog.New(slog.DiscardHandler),
	})
	if err == nil || !strings.Contains(err.Error(), `unknown periodic job "history_prune"`) {
		t.Fatalf("with retention 0, scheduling history_prune: %v; want it unknown (the job is not scheduled)", err)
	}
}
