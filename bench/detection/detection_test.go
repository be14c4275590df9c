package detection_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heed-dev/heed/bench/detection"
	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// BenchmarkDetection measures full user-action detection (every provider
// over every user: what the periodic job and `heed actions update` run) on
// a generated data set of N users, 10·N resources and N orders. It only
// runs with HEED_BENCH_LARGE=1, so `go test ./...` never pays for it:
//
//	HEED_BENCH_LARGE=1 go test -run '^$' -bench Detection -benchtime 1x -timeout 1h ./bench/detection
//
// HEED_BENCH_USERS lists the sizes (default 10000,100000). With
// HEED_TEST_POSTGRES_URL set PostgreSQL runs too (HEED_BENCH_DB=postgres
// runs only PostgreSQL); it is analyzed after generating, as its autovacuum
// would be. HEED_BENCH_ANALYZE=1 analyzes SQLite too (heed never does).
// HEED_BENCH_CPUPROFILE=DIR writes a CPU profile of each cold run there.
//
// Each size runs "cold" (no stored actions: all are created) and then
// "warm" (nothing changed since: the steady state of the periodic job).
// Reported per provider: wall time (-ms/op), statements (-stmts/op) and
// actions written; and the peak heap during the run (live objects and
// garbage not yet collected).
func BenchmarkDetection(b *testing.B) {
	if os.Getenv("HEED_BENCH_LARGE") != "1" {
		b.Skip("HEED_BENCH_LARGE=1 runs the large detection benchmark")
	}
	sizes := []int{10_000, 100_000}
	if v := os.Getenv("HEED_BENCH_USERS"); v != "" {
		sizes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 1 {
				b.Fatalf("HEED_BENCH_USERS=%q: want a comma-separated list of user counts", v)
			}
			sizes = append(sizes, n)
		}
	}
	dialects := []db.Dialect{db.SQLite}
	if os.Getenv(dbtest.PostgresEnv) != "" {
		dialects = append(dialects, db.Postgres)
	}
	if v := os.Getenv("HEED_BENCH_DB"); v != "" {
		dialects = nil
		for _, s := range strings.Split(v, ",") {
			dialects = append(dialects, db.Dialect(strings.TrimSpace(s)))
		}
	}
	for _, dialect := range dialects {
		b.Run(string(dialect), func(b *testing.B) {
			for _, n := range sizes {
				b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) { benchSize(b, dialect, n) })
			}
		})
	}
}

func benchSize(b *testing.B, dialect db.Dialect, n int) {
	ctx := context.Background()
	url := dbtest.NewURL(b, dialect)
	shape := detection.ForUsers(n)
	gd := dbtest.Open(b, url, dbtest.Options{})
	start := time.Now()
	if err := detection.Generate(ctx, gd, shape, gd.Now()); err != nil {
		b.Fatal(err)
	}
	generated := time.Since(start)
	// PostgreSQL's autovacuum analyzes a bulk-loaded table within a minute
	// or so; measure that steady state rather than the first minute's
	// plans. heed never analyzes SQLite, so SQLite runs without statistics
	// unless asked.
	if dialect == db.Postgres || os.Getenv("HEED_BENCH_ANALYZE") == "1" {
		if err := detection.Analyze(ctx, gd); err != nil {
			b.Fatal(err)
		}
	}
	if err := gd.Close(); err != nil {
		b.Fatal(err)
	}
	customers, projects := shape.Counts()
	data := fmt.Sprintf("%d users, %d customers, %d projects, %d resources, %d orders (generated in %s)", shape.Users, customers,
		projects, shape.Resources, shape.Orders, generated.Round(time.Millisecond))

	// The app as `heed actions update` builds it: no workers, no migration.
	a, err := app.New(ctx, app.Config{DatabaseURL: url, Logger: slog.New(slog.DiscardHandler), DB: db.Config{PostgresMaxConns: 8}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	profile := ""
	if dir := os.Getenv("HEED_BENCH_CPUPROFILE"); dir != "" {
		profile = filepath.Join(dir, fmt.Sprintf("detection-%s-%d-cold.pprof", dialect, n))
	}
	b.Run("cold", func(b *testing.B) { run(b, a, data, true, profile) })
	b.Run("warm", func(b *testing.B) { run(b, a, data, false, "") })
}

// run detects b.N times, each provider on its own as the CLI does; cold
// runs start from an empty user_actions table.
func run(b *testing.B, a *app.App, data string, cold bool, profile string) {
	ctx := context.Background()
	types := a.Actions.ActionTypes()
	dur := map[string]time.Duration{}
	stmts := map[string]int64{}
	written := map[string]int{}
	var peak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if cold {
			b.StopTimer()
			if err := a.DB.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, "DELETE FROM user_actions")
				return err
			}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if profile != "" && i == 0 {
			f, err := os.Create(profile)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
			defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
		}
		stop := sampleHeap()
		for _, t := range types {
			before := a.DB.Statements()
			reports, err := a.Actions.Update(ctx, t, nil)
			stmts[t] += a.DB.Statements() - before
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range reports {
				if r.Err != nil || r.Skipped {
					b.Fatalf("%s: %+v", t, r)
				}
				dur[t] += r.Duration
				written[t] += r.Created + r.Updated + r.Deleted
			}
		}
		peak = max(peak, stop())
	}
	b.StopTimer()
	var line []string
	var total int64
	for _, t := range types {
		b.ReportMetric(float64(dur[t].Milliseconds())/float64(b.N), t+"-ms/op")
		b.ReportMetric(float64(stmts[t])/float64(b.N), t+"-stmts/op")
		total += stmts[t]
		line = append(line, fmt.Sprintf("%s %s, %d statements, %d actions written", t,
			(dur[t]/time.Duration(b.N)).Round(time.Millisecond), stmts[t]/int64(b.N), written[t]/b.N))
	}
	b.ReportMetric(float64(total)/float64(b.N), "stmts/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	var stored int
	if err := a.DB.Reader().QueryRow(ctx, "SELECT COUNT(*) FROM user_actions").Scan(&stored); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s\n%s; %d actions stored; peak heap %d MiB (live objects and garbage not yet collected)", data, strings.Join(line, "; "), stored, peak>>20)
}

// sampleHeap watches the live heap until the returned stop is called, and
// stop returns the largest value seen.
func sampleHeap() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	done := make(chan struct{})
	var (
		wg   sync.WaitGroup
		peak uint64
	)
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak, read())
	}
}
