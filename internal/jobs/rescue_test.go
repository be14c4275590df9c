package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/jobs"
)

type untimedArgs struct{}

func (untimedArgs) Kind() string { return "jobs_test_untimed" }

// untimedWorker keeps River's default Timeout (0: "the client's default").
type untimedWorker struct {
	river.WorkerDefaults[untimedArgs]
}

func (untimedWorker) Work(context.Context, *river.Job[untimedArgs]) error { return nil }

func TestNewRefusesKindWithoutTimeout(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, dbtest.NewURL(t, db.SQLite), dbtest.Options{})
	reg := jobs.NewRegistry()
	jobs.AddWorker(reg, &signalWorker{d: d, seen: make(chan ran, 1)})
	jobs.AddWorker(reg, untimedWorker{})
	for _, work := range []bool{true, false} {
		r, err := jobs.New(d, reg, jobs.Config{Work: work, Logger: discardLog()})
		if err == nil {
			t.Fatalf("jobs.New (work=%v) = %v, want an error for the kind without a timeout", work, r)
		}
		if !strings.Contains(err.Error(), `"jobs_test_untimed"`) || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("jobs.New (work=%v) error %q, want the kind and its missing timeout named", work, err)
		}
	}
}

func TestRescueAfterDerivedFromTimeouts(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, dbtest.NewURL(t, db.SQLite), dbtest.Options{})
	reg := jobs.NewRegistry()
	jobs.AddWorker(reg, &signalWorker{d: d, seen: make(chan ran, 1)}) // 5 s
	jobs.AddWorker(reg, &tickWorker[tickOnArgs]{ticks: make(chan time.Time, 1)})
	r, err := jobs.New(d, reg, jobs.Config{Logger: discardLog()})
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	// The longest timeout (5 s) plus 5 s of slack; River's default is 1 h.
	if got := r.RescueAfter(); got != 10*time.Second {
		t.Fatalf("RescueAfter = %s, want 10s", got)
	}
	if got := r.RecoveryBound(); got >= time.Minute || got < r.RescueAfter()+30*time.Second {
		t.Fatalf("RecoveryBound = %s, want under a minute and at least RescueAfter plus River's 30 s rescuer interval", got)
	}
}

// riverExec is River's own driver executor for d, to put a job in the state
// a killed process leaves it in: running, attempted, never finished.
func riverExec(d *db.DB) riverdriver.Executor {
	if d.Dialect() == db.Postgres {
		return riverpgxv5.New(d.Pool()).GetExecutor()
	}
	return riversqlite.New(d.RiverSQL()).GetExecutor()
}

func jobIDs(t *testing.T, d *db.DB, kind string) []int64 {
	t.Helper()
	var ids []int64
	err := d.ReadTx(context.Background(), func(c db.Conn) error {
		rows, err := c.Query(context.Background(), "SELECT id FROM river_job WHERE kind = ? ORDER BY id", kind)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("read river_job ids: %v", err)
	}
	return ids
}

// TestJobsLeftRunningAreRescued: a job a dead process left "running" runs
// again. On SQLite the rescue happens at start-up, whatever the job's age;
// on PostgreSQL River's rescuer takes it once it is RescueAfter old (here a
// minute old: with River's default of an hour it would stay stuck).
func TestJobsLeftRunningAreRescued(t *testing.T) {
	t.Parallel()
	dbtest.EachDB(t, func(t *testing.T, d *db.DB) {
		t.Parallel()
		ctx := context.Background()
		seen := make(chan ran, 4)
		reg := jobs.NewRegistry()
		jobs.AddWorker(reg, &signalWorker{d: d, seen: seen})
		r, err := jobs.New(d, reg, jobs.Config{Work: true, Logger: discardLog()})
		if err != nil {
			t.Fatalf("jobs.New: %v", err)
		}
		for _, marker := range []string{"orphan", "exhausted"} {
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				if err := insertUser(ctx, tx, marker); err != nil {
					return err
				}
				return r.Enqueue(ctx, tx, signalArgs{Marker: marker}, nil)
			}); err != nil {
				t.Fatalf("enqueue %s: %v", marker, err)
			}
		}
		ids := jobIDs(t, d, "jobs_test_signal")
		if len(ids) != 2 {
			t.Fatalf("river_job rows: %v, want 2", ids)
		}
		attemptedAt := time.Now().UTC()
		if d.Dialect() == db.Postgres {
			attemptedAt = attemptedAt.Add(-time.Minute)
		}
		exec := riverExec(d)
		for i, id := range ids {
			p := &riverdriver.JobUpdateFullParams{
				ID: id, StateDoUpdate: true, State: rivertype.JobStateRunning,
				AttemptDoUpdate: true, Attempt: 1, AttemptedAtDoUpdate: true, AttemptedAt: &attemptedAt,
				AttemptedByDoUpdate: true, AttemptedBy: []string{"a-process-that-was-killed"},
			}
			if i == 1 { // its last attempt was the one that died
				p.MaxAttemptsDoUpdate, p.MaxAttempts = true, 1
			}
			if _, err := exec.JobUpdateFull(ctx, p); err != nil {
				t.Fatalf("mark job %d running: %v", id, err)
			}
		}

		start := time.Now()
		if err := r.Start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Stop(stopCtx); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
		got := receive(t, seen, "the job left running to run again")
		if got.marker != "orphan" || got.err != nil {
			t.Fatalf("worked %q (%v), want the orphan", got.marker, got.err)
		}
		t.Logf("%s: job left running ran again %s after start", d.Dialect(), time.Since(start).Round(time.Millisecond))
		apptest.Eventually(t, waitFor, "the rescued job to complete and the exhausted one to be discarded", func() bool {
			return countJobs(t, d, "jobs_test_signal", "completed") == 1 && countJobs(t, d, "jobs_test_signal", "discarded") == 1
		})
		orphan, err := exec.JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: ids[0]})
		if err != nil {
			t.Fatalf("get job: %v", err)
		}
		if len(orphan.Errors) != 1 {
			t.Fatalf("rescued job errors %+v, want one: the rescue", orphan.Errors)
		}
		want := "Stuck job rescued by JobRescuer" // River's rescuer, from the timeouts
		if d.Dialect() == db.SQLite {
			want = "rescued at start-up"
		}
		if !strings.Contains(orphan.Errors[0].Error, want) {
			t.Fatalf("rescue recorded as %q, want %q", orphan.Errors[0].Error, want)
		}
		select {
		case extra := <-seen:
			t.Fatalf("the job with no attempts left ran: %q", extra.marker)
		default:
		}
	})
}

type holdArgs struct{}

func (holdArgs) Kind() string { return "jobs_test_hold" }

// holdWorker reports its start, then waits for its context (obedient) or
// for release, ignoring its context (stubborn), and reports how it ended.
type holdWorker struct {
	river.WorkerDefaults[holdArgs]
	obedient bool
	started  chan struct{}
	release  chan struct{}
	ended    chan error
}

func (w *holdWorker) Timeout(*river.Job[holdArgs]) time.Duration { return 5 * time.Second }

func (w *holdWorker) Work(ctx context.Context, _ *river.Job[holdArgs]) error {
	w.started <- struct{}{}
	if w.obedient {
		<-ctx.Done()
	} else {
		<-w.release
	}
	w.ended <- ctx.Err()
	return ctx.Err()
}

// TestStopGivesJobsTheirOwnBudget: Stop lets a running job go on for the
// stop timeout, then cancels it and waits for it to return; a job that
// ignores its context makes Stop report ErrJobsRunning (so the caller keeps
// the database open) instead of returning as if all were done.
func TestStopGivesJobsTheirOwnBudget(t *testing.T) {
	t.Parallel()
	for _, obedient := range []bool{true, false} {
		t.Run(map[bool]string{true: "obedient", false: "stubborn"}[obedient], func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := dbtest.Open(t, dbtest.NewURL(t, db.SQLite), dbtest.Options{})
			w := &holdWorker{obedient: obedient, started: make(chan struct{}, 1), release: make(chan struct{}), ended: make(chan error, 1)}
			reg := jobs.NewRegistry()
			jobs.AddWorker(reg, w)
			const stopTimeout = 300 * time.Millisecond
			r, err := jobs.New(d, reg, jobs.Config{Work: true, Logger: discardLog(), StopTimeout: stopTimeout})
			if err != nil {
				t.Fatalf("jobs.New: %v", err)
			}
			if err := r.Start(ctx); err != nil {
				t.Fatalf("start: %v", err)
			}
			if err := d.InTx(ctx, func(tx *db.Tx) error { return r.Enqueue(ctx, tx, holdArgs{}, nil) }); err != nil {
				t.Fatalf("enqueue: %v", err)
			}
			select {
			case <-w.started:
			case <-time.After(waitFor):
				t.Fatal("the job never started")
			}

			budget := r.StopBudget()
			if !obedient {
				budget = 2 * stopTimeout // it will not be enough anyway
			}
			stopCtx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			stopStart := time.Now()
			err = r.Stop(stopCtx)
			took := time.Since(stopStart)
			if obedient {
				if err != nil {
					t.Fatalf("Stop: %v, want nil once the job returned", err)
				}
				select {
				case jobErr := <-w.ended:
					if !errors.Is(jobErr, context.Canceled) {
						t.Fatalf("the job ended with %v, want its context cancelled", jobErr)
					}
				default:
					t.Fatal("Stop returned while the job was still running")
				}
				if took < stopTimeout {
					t.Fatalf("the job was cancelled %s after Stop, before its stop timeout of %s", took, stopTimeout)
				}
				return
			}
			if !errors.Is(err, jobs.ErrJobsRunning) {
				t.Fatalf("Stop with a job ignoring its context: %v, want ErrJobsRunning", err)
			}
			select {
			case <-w.ended:
				t.Fatal("the stubborn job ended before it was released")
			default:
			}
			close(w.release)
			<-w.ended
			if err := r.Stop(ctx); err != nil {
				t.Fatalf("Stop after the job returned: %v", err)
			}
		})
	}
}
