package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/jobs"
)

// waitFor bounds every wait on a job: generous, because the suite runs with
// -race on two cores next to other packages' tests.
const waitFor = 60 * time.Second

// signalArgs is a test job that names the user row its transaction wrote.
type signalArgs struct {
	Marker string `json:"marker"`
}

func (signalArgs) Kind() string { return "jobs_test_signal" }

// ran is what signalWorker reports for each job it works.
type ran struct {
	marker string
	// rowVisible says whether the worker could read the user row written in
	// the same transaction as the enqueue, i.e. whether it ran after commit.
	rowVisible bool
	err        error
}

type signalWorker struct {
	river.WorkerDefaults[signalArgs]
	d    *db.DB
	seen chan ran
}

func (w *signalWorker) Timeout(*river.Job[signalArgs]) time.Duration { return 5 * time.Second }

func (w *signalWorker) Work(ctx context.Context, j *river.Job[signalArgs]) error {
	var n int
	err := w.d.ReadTx(ctx, func(c db.Conn) error {
		return c.QueryRow(ctx, "SELECT COUNT(*) FROM users WHERE username = ?", j.Args.Marker).Scan(&n)
	})
	w.seen <- ran{marker: j.Args.Marker, rowVisible: n == 1, err: err}
	return nil
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startRunner builds and starts a working runner, stopped when the test ends
// (before the database closes: cleanups run last-registered first).
func startRunner(t *testing.T, d *db.DB, reg *jobs.Registry, cfg jobs.Config) *jobs.Runner {
	t.Helper()
	cfg.Work = true
	if cfg.Logger == nil {
		cfg.Logger = discardLog()
	}
	r, err := jobs.New(d, reg, cfg)
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatalf("start runner: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop runner: %v", err)
		}
	})
	return r
}

func insertUser(ctx context.Context, tx *db.Tx, username string) error {
	now := tx.Now()
	_, err := tx.Exec(ctx, `INSERT INTO users (uuid, username, preferred_languages, created, modified)
		VALUES (?, ?, ?, ?, ?)`, uuid.NewString(), username, `[]`, now, now)
	return err
}

// jobArgs returns the args of every river_job row of kind, as raw JSON.
func jobArgs(t *testing.T, d *db.DB, kind string) []string {
	t.Helper()
	// riversqlite stores args as SQLite JSONB; json() renders it as text.
	col := "json(args)"
	if d.Dialect() == db.Postgres {
		col = "args::text"
	}
	var out []string
	err := d.ReadTx(context.Background(), func(c db.Conn) error {
		rows, err := c.Query(context.Background(), "SELECT "+col+" FROM river_job WHERE kind = ? ORDER BY id", kind)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				return err
			}
			out = append(out, string(b))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	return out
}

func countJobs(t *testing.T, d *db.DB, kind, state string) int {
	t.Helper()
	q, args := "SELECT COUNT(*) FROM river_job WHERE kind = ?", []any{kind}
	if state != "" {
		q += " AND state = ?"
		args = append(args, state)
	}
	var n int
	if err := d.ReadTx(context.Background(), func(c db.Conn) error {
		return c.QueryRow(context.Background(), q, args...).Scan(&n)
	}); err != nil {
		t.Fatalf("count river_job: %v", err)
	}
	return n
}

func receive(t *testing.T, ch <-chan ran, what string) ran {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		t.Fatalf("timed out after %s waiting for %s", waitFor, what)
		return ran{}
	}
}

func TestEnqueueInTxRunsAfterCommit(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		seen := make(chan ran, 16)
		reg := jobs.NewRegistry()
		jobs.AddWorker(reg, &signalWorker{d: d, seen: seen})
		metrics := prometheus.NewRegistry()
		r := startRunner(t, d, reg, jobs.Config{Metrics: metrics})

		err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := insertUser(ctx, tx, "committed"); err != nil {
				return err
			}
			if err := r.Enqueue(ctx, tx, signalArgs{Marker: "committed"}, nil); err != nil {
				return err
			}
			select {
			case got := <-seen:
				return fmt.Errorf("job %q ran before its transaction committed", got.marker)
			default:
			}
			return nil
		})
		if err != nil {
			t.Fatalf("transaction: %v", err)
		}
		got := receive(t, seen, "the committed job to run")
		if got.err != nil {
			t.Fatalf("worker read: %v", got.err)
		}
		if got.marker != "committed" || !got.rowVisible {
			t.Fatalf("worker saw marker %q, row visible %v; want %q and the row committed with it", got.marker, got.rowVisible, "committed")
		}
		apptest.Eventually(t, waitFor, "the job to be marked completed", func() bool {
			return countJobs(t, d, "jobs_test_signal", "completed") == 1
		})
		apptest.Eventually(t, waitFor, "the completion to be counted in heed_jobs_finished_total", func() bool {
			return counterValue(t, metrics, "heed_jobs_finished_total",
				map[string]string{"kind": "jobs_test_signal", "outcome": "completed"}) == 1
		})
	})
}

// counterValue reads one labelled counter from reg (0 when absent).
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestEnqueueInRolledBackTxNeverExists(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		seen := make(chan ran, 16)
		reg := jobs.NewRegistry()
		jobs.AddWorker(reg, &signalWorker{d: d, seen: seen})
		r := startRunner(t, d, reg, jobs.Config{})

		boom := errors.New("boom")
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := insertUser(ctx, tx, "rolled-back"); err != nil {
				return err
			}
			if err := r.Enqueue(ctx, tx, signalArgs{Marker: "rolled-back"}, nil); err != nil {
				return err
			}
			// The job is visible inside its own transaction...
			var n int
			if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM river_job WHERE kind = ?", "jobs_test_signal").Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("river_job rows inside the transaction: %d, want 1", n)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("transaction returned %v, want %v", err, boom)
		}
		// ...and gone with it.
		if args := jobArgs(t, d, "jobs_test_signal"); len(args) != 0 {
			t.Fatalf("river_job after rollback: %v, want none", args)
		}

		// A later committed job of the same kind runs; by then the rolled-back
		// one, had it existed, would have been fetched too (same queue, older).
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := insertUser(ctx, tx, "sentinel"); err != nil {
				return err
			}
			return r.Enqueue(ctx, tx, signalArgs{Marker: "sentinel"}, nil)
		}); err != nil {
			t.Fatalf("sentinel transaction: %v", err)
		}
		got := receive(t, seen, "the sentinel job to run")
		if got.marker != "sentinel" {
			t.Fatalf("first job worked: %q, want the sentinel (the rolled-back job ran)", got.marker)
		}
		apptest.Eventually(t, waitFor, "the sentinel to be marked completed", func() bool {
			return countJobs(t, d, "jobs_test_signal", "completed") == 1
		})
		select {
		case extra := <-seen:
			t.Fatalf("unexpected job worked: %q", extra.marker)
		default:
		}
		args := jobArgs(t, d, "jobs_test_signal")
		if len(args) != 1 {
			t.Fatalf("river_job rows: %v, want only the sentinel", args)
		}
		var a signalArgs
		if err := json.Unmarshal([]byte(args[0]), &a); err != nil || a.Marker != "sentinel" {
			t.Fatalf("river_job args %s (%v), want the sentinel", args[0], err)
		}
	})
}

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 1, 2, 12, 1, 30, 500_000_000, time.UTC)
	accept := []struct {
		spec string
		next time.Time
	}{
		{"*/5 * * * *", time.Date(2026, 1, 2, 12, 5, 0, 0, time.UTC)},
		{"17 * * * *", time.Date(2026, 1, 2, 12, 17, 0, 0, time.UTC)},
		{"* * * * * *", time.Date(2026, 1, 2, 12, 1, 31, 0, time.UTC)},
		{"*/10 * * * * *", time.Date(2026, 1, 2, 12, 1, 40, 0, time.UTC)},
		{"@every 1s", time.Date(2026, 1, 2, 12, 1, 31, 0, time.UTC)},
		{"@every 1h", time.Date(2026, 1, 2, 13, 1, 30, 0, time.UTC)},
		{"@daily", time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)},
		{"  @hourly\n", time.Date(2026, 1, 2, 13, 0, 0, 0, time.UTC)},
	}
	for _, c := range accept {
		s, err := jobs.ParseSchedule(c.spec)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", c.spec, err)
			continue
		}
		if got := s.Next(from); !got.Equal(c.next) {
			t.Errorf("ParseSchedule(%q).Next(%s) = %s, want %s", c.spec, from, got, c.next)
		}
	}
	for _, spec := range []string{
		"", "garbage", "off", "* * * *", "* * * * * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *",
		"@every", "@every banana", "@fortnightly",
	} {
		if s, err := jobs.ParseSchedule(spec); err == nil {
			t.Errorf("ParseSchedule(%q) = %v, want an error", spec, s)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", spec)) {
			t.Errorf("ParseSchedule(%q) error %q does not name the schedule", spec, err)
		}
	}
}

type tickOnArgs struct{}

func (tickOnArgs) Kind() string { return "jobs_test_tick_on" }

type tickOffArgs struct{}

func (tickOffArgs) Kind() string { return "jobs_test_tick_off" }

type tickWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	ticks chan time.Time
}

func (w *tickWorker[T]) Timeout(*river.Job[T]) time.Duration { return time.Second }

func (w *tickWorker[T]) Work(_ context.Context, j *river.Job[T]) error {
	w.ticks <- j.ScheduledAt
	return nil
}

func noArgs() river.JobArgs { return signalArgs{} }

func TestNewRejectsBadPeriodicConfig(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		registry := func(ids ...string) *jobs.Registry {
			reg := jobs.NewRegistry()
			jobs.AddWorker(reg, &signalWorker{d: d, seen: make(chan ran, 1)})
			for _, id := range ids {
				reg.AddPeriodic(jobs.Periodic{ID: id, Schedule: "@daily", Args: noArgs})
			}
			return reg
		}
		cases := []struct {
			name      string
			reg       *jobs.Registry
			schedules map[string]string
			want      []string
		}{
			{"unknown override", registry("token_cleanup", "digest"), map[string]string{"tokens_cleanup": "* * * * *"},
				[]string{`"tokens_cleanup"`, "digest, token_cleanup"}},
			{"invalid id with space", registry("bad id"), nil, []string{`"bad id"`}},
			{"invalid id empty", registry(""), nil, []string{`""`}},
			{"invalid id one character", registry("x"), nil, []string{`"x"`}},
			{"id of 128 characters", registry(strings.Repeat("a", 128)), nil, []string{strings.Repeat("a", 128)}},
			{"duplicate id", registry("token_cleanup", "token_cleanup"), nil, []string{`"token_cleanup"`}},
			{"invalid override schedule", registry("token_cleanup"), map[string]string{"token_cleanup": "every minute"},
				[]string{"token_cleanup", `"every minute"`}},
			{"invalid default schedule", func() *jobs.Registry {
				reg := registry()
				reg.AddPeriodic(jobs.Periodic{ID: "nightly", Schedule: "25 * * * * * *", Args: noArgs})
				return reg
			}(), nil, []string{"nightly"}},
		}
		for _, c := range cases {
			for _, work := range []bool{true, false} {
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("%s (work=%v): jobs.New panicked: %v", c.name, work, p)
						}
					}()
					r, err := jobs.New(d, c.reg, jobs.Config{Work: work, Schedules: c.schedules, Logger: discardLog()})
					if err == nil {
						t.Errorf("%s (work=%v): jobs.New = %v, want an error", c.name, work, r)
						return
					}
					for _, w := range c.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("%s (work=%v): error %q does not mention %s", c.name, work, err, w)
						}
					}
				}()
			}
		}
	})
}

// TestScheduleOverrides runs real periodic jobs: an override turns a yearly
// job into a per-second one, and "off" disables a per-second one.
func TestScheduleOverrides(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		on := &tickWorker[tickOnArgs]{ticks: make(chan time.Time, 100)}
		off := &tickWorker[tickOffArgs]{ticks: make(chan time.Time, 100)}
		reg := jobs.NewRegistry()
		jobs.AddWorker(reg, on)
		jobs.AddWorker(reg, off)
		reg.AddPeriodic(jobs.Periodic{ID: "tick_on", Schedule: "@yearly", Args: func() river.JobArgs { return tickOnArgs{} }})
		reg.AddPeriodic(jobs.Periodic{ID: "tick_off", Schedule: "* * * * * *", Args: func() river.JobArgs { return tickOffArgs{} }})
		if got := reg.PeriodicIDs(); strings.Join(got, ",") != "tick_off,tick_on" {
			t.Fatalf("PeriodicIDs = %v", got)
		}
		startRunner(t, d, reg, jobs.Config{Schedules: map[string]string{"tick_on": "* * * * * *", "tick_off": " OFF "}})

		first := receiveTick(t, on.ticks, "the first tick of tick_on")
		second := receiveTick(t, on.ticks, "the second tick of tick_on")
		// Compared, not ordered: a caught-up tick can be worked concurrently.
		if first.Equal(second) {
			t.Fatalf("two tick_on jobs for the same tick %s", first)
		}
		if first.Nanosecond() != 0 || second.Nanosecond() != 0 {
			t.Fatalf("ticks scheduled at %s and %s; want whole seconds of the cron schedule", first, second)
		}
		// Both schedules tick on the same leader at the same seconds: had
		// tick_off been enabled it would have been inserted by now.
		if n := countJobs(t, d, "jobs_test_tick_off", ""); n != 0 {
			t.Fatalf("disabled periodic job inserted %d times", n)
		}
		select {
		case at := <-off.ticks:
			t.Fatalf("disabled periodic job ran (scheduled at %s)", at)
		default:
		}
	})
}

func receiveTick(t *testing.T, ch <-chan time.Time, what string) time.Time {
	t.Helper()
	select {
	case at := <-ch:
		return at
	case <-time.After(waitFor):
		t.Fatalf("timed out after %s waiting for %s", waitFor, what)
		return time.Time{}
	}
}

// TestTokenCleanupRemovesExpiredTokens runs a whole heed with the cleanup
// scheduled every second and watches it delete an expired token, and only it.
func TestTokenCleanupRemovesExpiredTokens(t *testing.T) {
	t.Parallel()
	apptest.Each(t, apptest.Options{Schedules: map[string]string{"token_cleanup": "* * * * * *"}}, func(t *testing.T, h *apptest.Harness) {
		t.Parallel()
		ctx := context.Background()
		d := h.App.DB
		alice, err := h.App.Users.UserByUsername(ctx, "alice")
		if err != nil {
			t.Fatalf("alice: %v", err)
		}
		expired, valid := auth.NewTokenSecret(), auth.NewTokenSecret()
		now := d.Now()
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := auth.StoreToken(ctx, tx, alice.ID, expired, "expired", now.Add(-time.Hour)); err != nil {
				return err
			}
			return auth.StoreToken(ctx, tx, alice.ID, valid, "valid", now.Add(time.Hour))
		}); err != nil {
			t.Fatalf("store tokens: %v", err)
		}
		tokenExists := func(secret string) bool {
			var n int
			if err := d.ReadTx(ctx, func(c db.Conn) error {
				return c.QueryRow(ctx, "SELECT COUNT(*) FROM tokens WHERE key_hash = ?", auth.HashToken(secret)).Scan(&n)
			}); err != nil {
				t.Fatalf("count tokens: %v", err)
			}
			return n == 1
		}
		if !tokenExists(expired) || !tokenExists(valid) {
			t.Fatal("tokens not stored")
		}
		waitStart := time.Now()
		apptest.Eventually(t, waitFor, "the expired token to be deleted", func() bool { return !tokenExists(expired) })
		t.Logf("expired token deleted after %s", time.Since(waitStart))
		if !tokenExists(valid) {
			t.Fatal("the valid token was deleted too")
		}
		// River records completion in batches, shortly after the work is done.
		apptest.Eventually(t, waitFor, "a token_cleanup job to be recorded as completed", func() bool {
			return countJobs(t, d, "token_cleanup", "completed") >= 1
		})
		for _, tok := range []string{valid, apptest.Alice} {
			u, err := h.App.Users.Authenticate(ctx, tok)
			if err != nil || u.Username != "alice" {
				t.Fatalf("Authenticate after cleanup: %v, %v", u, err)
			}
		}
		if _, err := h.App.Users.Authenticate(ctx, expired); err == nil {
			t.Fatal("the expired token still authenticates")
		}
	})
}
