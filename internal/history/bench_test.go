package history_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/history"
	"github.com/heed-dev/heed/internal/marketplace"
)

// The history benchmarks read one resource's versions from a versions table
// of 1 thousand rows and of 1 million rows, and a resource with 10 thousand
// versions of its own. The tables are built once per process (the big one
// takes a while) and dropped by TestMain; plain `go test` never builds them.

// TestMain removes the benchmark databases after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range benchCleanups {
		f()
	}
	os.Exit(code)
}

var benchCleanups []func()

const (
	// targetVersions is how many versions the read resource has.
	targetVersions = 20
	// heavyVersions is how many the resource with a long history has.
	heavyVersions = 10_000
	// fillerPerObject is how many versions each filler object has.
	fillerPerObject = 20
)

// benchSnapshot is a realistic serialized_data for filler rows.
const benchSnapshot = `{"attributes":{"name":"filler"},"cost":"150.00","description":"Sequencing pipelines, cohort 2026",` +
	`"downscaled":false,"end_date":"2027-01-01","limits":{"cpu_hours":1000},"name":"filler","options":{},"paused":false,` +
	`"plan":"768aeb31b3c744aca84ffb3da8881f6d","restrict_member_access":false,"slug":"filler","state":"OK"}`

// benchTable is a versions table of a given size with the resources the
// benchmarks read.
type benchTable struct {
	d *db.DB
	// target has targetVersions versions; heavy (big tables only) has
	// heavyVersions. at and heavyAt are instants in the middle of each.
	target, heavy uuid.UUID
	at, heavyAt   time.Time
	rows          int
	build         time.Duration
	buildOnce     sync.Once
	buildErr      error
}

var benchTables sync.Map // "dialect/rows" → *benchTable

func benchDialects() []db.Dialect {
	out := []db.Dialect{db.SQLite}
	if os.Getenv(dbtest.PostgresEnv) != "" {
		out = append(out, db.Postgres)
	}
	return out
}

// table returns the versions table with rows rows on dialect, building it on
// first use.
func table(b *testing.B, dialect db.Dialect, rows int) *benchTable {
	b.Helper()
	v, _ := benchTables.LoadOrStore(fmt.Sprintf("%s/%d", dialect, rows), &benchTable{rows: rows})
	t := v.(*benchTable)
	t.buildOnce.Do(func() {
		start := time.Now()
		t.buildErr = t.create(context.Background(), dialect)
		t.build = time.Since(start)
		if t.buildErr == nil {
			fmt.Fprintf(os.Stderr, "built %s versions table with %d rows in %s\n", dialect, rows, t.build.Round(time.Millisecond))
		}
	})
	if t.buildErr != nil {
		b.Fatalf("build %s table of %d rows: %v", dialect, rows, t.buildErr)
	}
	return t
}

func (t *benchTable) create(ctx context.Context, dialect db.Dialect) error {
	d, err := newBenchDB(ctx, dialect)
	if err != nil {
		return err
	}
	t.d = d

	// Versions span the past year; the resources read interleave with the
	// filler in time.
	now := d.Now()
	year := 365 * 24 * time.Hour
	t.target = uuid.New()
	step := year / targetVersions
	for i := range targetVersions {
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := history.Record(ctx, tx, history.Entry{
				EntityType: marketplace.KindResource, ObjectID: 1, ObjectUUID: t.target, At: now.Add(-year + time.Duration(i)*step),
				Comment: "Resource updated", Data: map[string]any{"name": "target", "description": fmt.Sprint(i)}, Changed: []string{"description"},
			})
			return err
		}); err != nil {
			return err
		}
	}
	t.at = now.Add(-year/2 + step/3)
	filler := t.rows - targetVersions
	if t.rows >= 100_000 {
		t.heavy = uuid.New()
		t.heavyAt = now.Add(-year/2 + time.Second)
		if err := insertVersions(ctx, d, heavyVersions, &t.heavy, now, year); err != nil {
			return fmt.Errorf("heavy resource: %w", err)
		}
		filler -= heavyVersions
	}
	if err := insertVersions(ctx, d, filler, nil, now, year); err != nil {
		return fmt.Errorf("filler: %w", err)
	}
	var n int
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, "ANALYZE versions"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "SELECT COUNT(*) FROM versions").Scan(&n)
	}); err != nil {
		return err
	}
	if n != t.rows {
		return fmt.Errorf("versions table has %d rows, want %d", n, t.rows)
	}
	return nil
}

// newBenchDB creates and migrates an empty database for a benchmark, removed
// when the test binary ends.
func newBenchDB(ctx context.Context, dialect db.Dialect) (*db.DB, error) {
	var dsn string
	if dialect == db.SQLite {
		dir, err := os.MkdirTemp("", "heed-bench-")
		if err != nil {
			return nil, err
		}
		benchCleanups = append(benchCleanups, func() { _ = os.RemoveAll(dir) })
		dsn = dir + "/heed.db"
	} else {
		server := os.Getenv(dbtest.PostgresEnv)
		admin, err := pgx.Connect(ctx, server)
		if err != nil {
			return nil, err
		}
		var r [6]byte
		_, _ = rand.Read(r[:])
		name := "heed_bench_" + hex.EncodeToString(r[:])
		_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
		_ = admin.Close(ctx)
		if err != nil {
			return nil, err
		}
		benchCleanups = append(benchCleanups, func() {
			if c, err := pgx.Connect(context.Background(), server); err == nil {
				_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
				_ = c.Close(context.Background())
			}
		})
		u, err := url.Parse(server)
		if err != nil {
			return nil, err
		}
		u.Path = "/" + name
		dsn = u.String()
	}
	d, err := db.Open(ctx, db.Config{URL: dsn, PostgresMaxConns: 4})
	if err != nil {
		return nil, err
	}
	// Close before the cleanups registered above (they run in order).
	benchCleanups = append([]func(){func() { _ = d.Close() }}, benchCleanups...)
	if err := d.Migrate(ctx, slog.New(slog.DiscardHandler)); err != nil {
		return nil, err
	}
	return d, nil
}

// insertVersions adds n versions with one multi-row INSERT ... SELECT: of
// the object obj, or (obj nil) of filler objects with fillerPerObject
// versions each, spread evenly over the span before now.
func insertVersions(ctx context.Context, d *db.DB, n int, obj *uuid.UUID, now time.Time, span time.Duration) error {
	if n <= 0 {
		return nil
	}
	stepSecs := int64(span/time.Second) / int64(n)
	if stepSecs < 1 {
		stepSecs = 1
	}
	var q string
	args := []any{}
	if d.Dialect() == db.Postgres {
		objExpr := fmt.Sprintf("('00000000-0000-4000-8000-' || lpad(to_hex(i / %d), 12, '0'))::uuid", fillerPerObject)
		if obj != nil {
			objExpr = "?::uuid"
			args = append(args, obj.String())
		}
		q = `INSERT INTO versions (entity_type, object_id, object_uuid, created, user_id, comment, data, changed_fields)
			SELECT 'resource', 1000000 + i / ` + fmt.Sprint(fillerPerObject) + `, ` + objExpr + `,
				?::timestamptz - make_interval(secs => i * ?), NULL, 'Resource updated', ?::jsonb, '["description"]'::jsonb
			FROM generate_series(0, ? - 1) AS i`
		args = append(args, now, stepSecs, benchSnapshot, n)
	} else {
		objExpr := fmt.Sprintf("printf('00000000-0000-4000-8000-%%012x', i / %d)", fillerPerObject)
		if obj != nil {
			objExpr = "?"
			args = append(args, obj.String())
		}
		// SQLite stores instants as fixed-width text (db.FormatTime).
		q = `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < ? - 1)
			INSERT INTO versions (entity_type, object_id, object_uuid, created, user_id, comment, data, changed_fields)
			SELECT 'resource', 1000000 + i / ` + fmt.Sprint(fillerPerObject) + `, ` + objExpr + `,
				strftime('%Y-%m-%dT%H:%M:%S', ?, '-' || (i * ?) || ' seconds') || '.000000Z',
				NULL, 'Resource updated', ?, '["description"]'
			FROM seq`
		args = append([]any{n}, args...)
		args = append(args, now.UTC().Format("2006-01-02 15:04:05"), stepSecs, benchSnapshot)
	}
	return d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	})
}

var benchSizes = []struct {
	name string
	rows int
}{{"versions=1k", 1_000}, {"versions=1M", 1_000_000}}

// BenchmarkHistoryAt measures Store.At (history/at/) for a resource with 20
// versions in a table of 1k and of 1M rows, and for a resource with 10k
// versions of its own (in the 1M table).
func BenchmarkHistoryAt(b *testing.B) {
	ctx := context.Background()
	for _, dialect := range benchDialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for _, size := range benchSizes {
				b.Run(size.name, func(b *testing.B) {
					t := table(b, dialect, size.rows)
					s := &history.Store{DB: t.d}
					for b.Loop() {
						v, err := s.At(ctx, marketplace.KindResource, t.target, t.at)
						if err != nil || v.ObjectUUID != t.target {
							b.Fatalf("At: %v %v", v, err)
						}
					}
				})
			}
			b.Run("own=10k", func(b *testing.B) {
				t := table(b, dialect, 1_000_000)
				s := &history.Store{DB: t.d}
				for b.Loop() {
					if _, err := s.At(ctx, marketplace.KindResource, t.heavy, t.heavyAt); err != nil {
						b.Fatalf("At: %v", err)
					}
				}
			})
		})
	}
}

// BenchmarkHistoryList measures the first page (10 versions, with the total
// count) of Store.List (history/) in the same tables.
func BenchmarkHistoryList(b *testing.B) {
	ctx := context.Background()
	page := db.Page{Limit: 10}
	for _, dialect := range benchDialects() {
		b.Run(string(dialect), func(b *testing.B) {
			for _, size := range benchSizes {
				b.Run(size.name, func(b *testing.B) {
					t := table(b, dialect, size.rows)
					s := &history.Store{DB: t.d}
					for b.Loop() {
						l, total, err := s.List(ctx, marketplace.KindResource, t.target, history.Filter{}, page)
						if err != nil || len(l) != 10 || total != targetVersions {
							b.Fatalf("List: %d versions of %d, %v", len(l), total, err)
						}
					}
				})
			}
			b.Run("own=10k", func(b *testing.B) {
				t := table(b, dialect, 1_000_000)
				s := &history.Store{DB: t.d}
				for b.Loop() {
					l, total, err := s.List(ctx, marketplace.KindResource, t.heavy, history.Filter{}, page)
					if err != nil || len(l) != 10 || total != heavyVersions {
						b.Fatalf("List: %d versions of %d, %v", len(l), total, err)
					}
				}
			})
		})
	}
}

// BenchmarkUpdateResource measures the change path with history: a PATCH of
// a tracked field (description; one version written in the change's
// transaction), a no-op PATCH (same value: row locked and compared, nothing
// written), and for reference a plain UPDATE of the same row without the
// change path or history.
func BenchmarkUpdateResource(b *testing.B) {
	ctx := context.Background()
	for _, dialect := range benchDialects() {
		b.Run(string(dialect), func(b *testing.B) {
			a, err := app.New(ctx, app.Config{
				DatabaseURL: dbtest.NewURL(b, dialect), Migrate: true, Logger: slog.New(slog.DiscardHandler),
				DB: db.Config{PostgresMaxConns: 4},
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Close() })
			staff, res := benchResource(b, a)
			rid := res.ID
			desc := func(s string) marketplace.ResourceUpdate { return marketplace.ResourceUpdate{Description: &s} }
			versions := func() int {
				_, n, err := a.History.List(ctx, marketplace.KindResource, res.UUID, history.Filter{}, db.Page{Limit: 1})
				if err != nil {
					b.Fatal(err)
				}
				return n
			}

			b.Run("tracked", func(b *testing.B) {
				before := versions()
				i := 0
				for b.Loop() {
					i++
					if _, err := a.Market.UpdateResource(ctx, staff, marketplace.ConsumerView, res.UUID, desc(fmt.Sprint("description ", i))); err != nil {
						b.Fatal(err)
					}
				}
				if got := versions() - before; got != i {
					b.Fatalf("%d tracked updates made %d versions", i, got)
				}
			})
			b.Run("noop", func(b *testing.B) {
				r, err := a.Market.GetResource(ctx, staff, marketplace.ConsumerView, res.UUID)
				if err != nil {
					b.Fatal(err)
				}
				before := versions()
				for b.Loop() {
					if _, err := a.Market.UpdateResource(ctx, staff, marketplace.ConsumerView, res.UUID, desc(r.Description)); err != nil {
						b.Fatal(err)
					}
				}
				if got := versions() - before; got != 0 {
					b.Fatalf("no-op updates made %d versions", got)
				}
			})
			b.Run("plain-update", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if err := a.DB.InTx(ctx, func(tx *db.Tx) error {
						_, err := tx.Exec(ctx, "UPDATE resources SET description = ?, modified = ? WHERE id = ?", fmt.Sprint("plain ", i), tx.Now(), rid)
						return err
					}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// benchResource makes a staff user and a resource through the marketplace
// service (no demo data: no password hashing).
func benchResource(b *testing.B, a *app.App) (*auth.User, *marketplace.Resource) {
	b.Helper()
	ctx := context.Background()
	name, yes, langs := "bench-staff", true, []string{"en"}
	staff, err := a.Users.CreateUser(ctx, nil, auth.UserInput{Username: &name, FullName: &name, IsStaff: &yes, PreferredLanguages: &langs})
	if err != nil {
		b.Fatal(err)
	}
	m := a.Market
	cust, err := m.CreateCustomer(ctx, staff, marketplace.CustomerInput{Name: "Bench", Email: "bench@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	proj, err := m.CreateProject(ctx, staff, marketplace.ProjectInput{Customer: cust.UUID, Name: "Bench project"})
	if err != nil {
		b.Fatal(err)
	}
	off, err := m.CreateOffering(ctx, staff, marketplace.OfferingInput{Customer: cust.UUID, Name: "Bench offering"})
	if err != nil {
		b.Fatal(err)
	}
	plan, err := m.CreatePlan(ctx, staff, marketplace.PlanInput{Offering: off.UUID, Name: "Bench plan", UnitPrice: "10.00", Unit: "month"})
	if err != nil {
		b.Fatal(err)
	}
	o, err := m.CreateOrder(ctx, staff, marketplace.OrderInput{Project: proj.UUID, Offering: off.UUID, Plan: &plan.UUID,
		Attributes: map[string]any{"name": "bench-resource"}, Limits: map[string]int64{"cpu_hours": 10}})
	if err != nil {
		b.Fatal(err)
	}
	r, err := m.GetResource(ctx, staff, marketplace.ConsumerView, *o.ResourceUUID)
	if err != nil {
		b.Fatal(err)
	}
	return staff, r
}
