package history_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/history"
	"github.com/heed-dev/heed/internal/marketplace"
)

// BenchmarkHistoryScaling: a resource with 1,000,000 versions of its own
// serves its first history page (the default page of 10 versions and the
// exact total, as GET …/history/ reads them) and history/at (an instant in the
// middle of its history) as fast as a resource with 10 versions in the same
// table. Each iteration reads both resources; the benchmark reports the
// time of each and their ratio, "1M/10" (the goal: at most 1.5).
//
//	go test -run '^$' -bench HistoryScaling -benchtime 2000x ./internal/history
//	HEED_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres go test -run '^$' -bench HistoryScaling -benchtime 2000x -timeout 30m ./internal/history
//
// The million versions go in with one INSERT … SELECT in the benchmark's
// setup (the version_counts triggers count them as for any insert), once
// per dialect and test binary; building takes about a minute on SQLite.
func BenchmarkHistoryScaling(b *testing.B) {
	ctx := context.Background()
	page := db.Page{Limit: 10}
	for _, dialect := range benchDialects() {
		b.Run(string(dialect), func(b *testing.B) {
			t := scalingTable(b, dialect)
			s := &history.Store{DB: t.d}
			ops := []struct {
				name string
				read func(obj uuid.UUID, at time.Time, versions int) error
			}{
				{"list", func(obj uuid.UUID, _ time.Time, versions int) error {
					l, total, err := s.List(ctx, marketplace.KindResource, obj, history.Filter{}, page)
					if err == nil && (len(l) != min(versions, page.Limit) || total != versions) {
						err = fmt.Errorf("%d versions of %d, want %d of %d", len(l), total, min(versions, page.Limit), versions)
					}
					return err
				}},
				{"at", func(obj uuid.UUID, at time.Time, _ int) error {
					v, err := s.At(ctx, marketplace.KindResource, obj, at)
					if err == nil && v.Created.After(at) {
						err = fmt.Errorf("version of %s after %s", v.Created, at)
					}
					return err
				}},
			}
			for _, op := range ops {
				b.Run(op.name, func(b *testing.B) {
					var small, big time.Duration
					n := 0
					for b.Loop() {
						start := time.Now()
						if err := op.read(t.small, t.smallAt, scalingSmall); err != nil {
							b.Fatalf("own=10: %v", err)
						}
						mid := time.Now()
						if err := op.read(t.big, t.bigAt, scalingBig); err != nil {
							b.Fatalf("own=1M: %v", err)
						}
						small += mid.Sub(start)
						big += time.Since(mid)
						n++
					}
					b.ReportMetric(float64(small.Nanoseconds())/float64(n), "ns/own=10")
					b.ReportMetric(float64(big.Nanoseconds())/float64(n), "ns/own=1M")
					b.ReportMetric(float64(big)/float64(small), "1M/10")
				})
			}
		})
	}
}

const (
	scalingSmall = 10
	scalingBig   = 1_000_000
)

// scaling is the table BenchmarkHistoryScaling reads: two resources, one
// with scalingSmall versions and one with scalingBig, over the same year.
type scaling struct {
	d              *db.DB
	small, big     uuid.UUID
	smallAt, bigAt time.Time
	buildOnce      sync.Once
	buildErr       error
}

var scalingTables sync.Map // dialect → *scaling

func scalingTable(b *testing.B, dialect db.Dialect) *scaling {
	b.Helper()
	v, _ := scalingTables.LoadOrStore(dialect, &scaling{})
	t := v.(*scaling)
	t.buildOnce.Do(func() {
		start := time.Now()
		t.buildErr = t.create(context.Background(), dialect)
		if t.buildErr == nil {
			fmt.Fprintf(os.Stderr, "built %s table: a resource with %d versions and one with %d in %s\n",
				dialect, scalingSmall, scalingBig, time.Since(start).Round(time.Millisecond))
		}
	})
	if t.buildErr != nil {
		b.Fatalf("build %s scaling table: %v", dialect, t.buildErr)
	}
	return t
}

func (t *scaling) create(ctx context.Context, dialect db.Dialect) error {
	d, err := newBenchDB(ctx, dialect)
	if err != nil {
		return err
	}
	t.d = d
	now := d.Now()
	year := 365 * 24 * time.Hour
	t.small, t.big = uuid.New(), uuid.New()
	// history/at asks for the middle of each history.
	t.smallAt, t.bigAt = now.Add(-year/2), now.Add(-year/2)
	if err := insertVersions(ctx, d, scalingSmall, &t.small, now, year); err != nil {
		return fmt.Errorf("small resource: %w", err)
	}
	if err := insertVersions(ctx, d, scalingBig, &t.big, now, year); err != nil {
		return fmt.Errorf("big resource: %w", err)
	}
	if dialect == db.Postgres {
		// As autovacuum would after such a load. (Not on SQLite: heed never
		// runs ANALYZE there.)
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "ANALYZE versions")
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
