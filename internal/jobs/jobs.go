// Package jobs runs heed's background work on River, on both databases.
//
// Domain packages register workers and periodic jobs on a Registry and
// enqueue through Enqueue inside their own transaction, so a job exists
// exactly when the change that asked for it committed.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/heed-dev/heed/internal/db"
)

// Enqueuer is what domain code needs to ask for background work.
type Enqueuer interface {
	// Enqueue inserts a job inside tx. If it fails the transaction is unusable
	// and must be rolled back (return the error from the InTx function).
	Enqueue(ctx context.Context, tx *db.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// Periodic describes a job that River's elected leader enqueues on a cron
// schedule, once per tick across all replicas.
type Periodic struct {
	// ID names the job in configuration (HEED_SCHEDULE_<ID>); it must match
	// River's periodic job ID rules ([a-z0-9_] is always safe).
	ID string
	// Schedule is the default cron expression: five fields, six with a
	// leading seconds field, or a descriptor such as "@every 1h" or "@daily".
	Schedule string
	// Args builds the job's arguments at each tick.
	Args func() river.JobArgs
	// Opts is used for every insert (for example a unique period).
	Opts *river.InsertOpts
}

// Registry collects workers and periodic jobs from domain packages.
type Registry struct {
	workers  *river.Workers
	periodic []Periodic
	// queues are named queues beside River's default, with their own
	// worker bounds.
	queues map[string]int
	// timeouts holds each kind's declared bound on one attempt.
	timeouts map[string]time.Duration
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{workers: river.NewWorkers(), timeouts: map[string]time.Duration{}}
}

// AddWorker registers w for its job kind. Every worker must declare how long
// one attempt may run, with River's Timeout method returning a constant
// (it is read once, here, with an empty job): the rescue of jobs left
// running by a dead process is derived from these bounds, so New refuses a
// kind without one (River's WorkerDefaults return 0, "the client default").
func AddWorker[T river.JobArgs](r *Registry, w river.Worker[T]) {
	var args T
	r.timeouts[args.Kind()] = w.Timeout(&river.Job[T]{JobRow: &rivertype.JobRow{Kind: args.Kind()}, Args: args})
	river.AddWorker(r.workers, w)
}

// rescueSlack is how long after a job's timeout (its context cancelled) the
// job may still be returning and recording its outcome before River's
// rescuer may take it for dead.
const rescueSlack = 5 * time.Second

// These are River v0.51.1's fixed maintenance intervals (internal/maintenance,
// not configurable): they bound recovery together with RescueStuckJobsAfter.
const (
	// riverRescuerInterval: the leader looks for stuck jobs this often.
	riverRescuerInterval = 30 * time.Second
	// riverSchedulerInterval: a rescued job is made retryable; the leader
	// makes due retryable jobs available this often.
	riverSchedulerInterval = 5 * time.Second
	// riverRescueOverhead covers the rest: the rescuer's start-up stagger
	// (up to 1 s), the first retry's backoff (1 s ± 10 %) and a fetch poll.
	riverRescueOverhead = 3 * time.Second
)

// rescueAfter derives River's RescueStuckJobsAfter from the declared
// timeouts: the longest, plus slack. It fails for a kind with no bound.
func (r *Registry) rescueAfter() (longest time.Duration, err error) {
	kinds := make([]string, 0, len(r.timeouts))
	for k := range r.timeouts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t := r.timeouts[k]
		if t <= 0 {
			return 0, fmt.Errorf("job kind %q declares no timeout: give its worker a Timeout method returning a positive duration", k)
		}
		longest = max(longest, t)
	}
	if longest == 0 {
		longest = river.JobTimeoutDefault
	}
	return longest, nil
}

// AddQueue declares a queue with its own bound on concurrent jobs, so that
// one kind of slow work (webhook deliveries) cannot take every worker.
func (r *Registry) AddQueue(name string, maxWorkers int) {
	if r.queues == nil {
		r.queues = map[string]int{}
	}
	r.queues[name] = maxWorkers
}

// AddPeriodic registers a periodic job.
func (r *Registry) AddPeriodic(p Periodic) { r.periodic = append(r.periodic, p) }

// PeriodicIDs lists the registered periodic job IDs, sorted.
func (r *Registry) PeriodicIDs() []string {
	ids := make([]string, 0, len(r.periodic))
	for _, p := range r.periodic {
		ids = append(ids, p.ID)
	}
	sort.Strings(ids)
	return ids
}

// Config tunes the runner.
type Config struct {
	// Work starts workers and the periodic scheduler. Replicas that should
	// serve the API only leave it false: they still enqueue.
	Work bool
	// Schedules overrides periodic schedules by ID; "off" disables one.
	Schedules map[string]string
	// MaxWorkers bounds concurrent jobs per process (default 50).
	MaxWorkers int
	Logger     *slog.Logger
	// Metrics, when set, receives job counters.
	Metrics prometheus.Registerer
	// StopTimeout is how long running jobs may go on after Stop before their
	// contexts are cancelled (River's SoftStopTimeout; default 10s).
	StopTimeout time.Duration
}

// workingClient is the part of River's client that differs only by the
// transaction type between the two drivers.
type workingClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Runner owns the River clients.
type Runner struct {
	// inserter takes heed's *sql.Tx: riversqlite on SQLite, riverdatabasesql
	// (never started) on PostgreSQL.
	inserter *river.Client[*sql.Tx]
	// worker runs jobs: the same SQLite client, or riverpgxv5 on the shared pool.
	worker  workingClient
	work    bool
	log     *slog.Logger
	metrics *jobMetrics
	cancel  context.CancelFunc
	done    chan struct{}

	// sqliteExec is River's SQLite executor, for the start-up rescue; nil on
	// PostgreSQL.
	sqliteExec riverdriver.Executor
	// longest is the longest declared job timeout; rescueAfter is River's
	// RescueStuckJobsAfter derived from it.
	longest, rescueAfter, stopTimeout time.Duration
	// dash is the job dashboard, once Dashboard built it.
	dash *dashboard
}

var periodicIDPattern = regexp.MustCompile(`\A[\w][\w\-\[\]<>\/.·:+]+\z`)

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron expression as Periodic.Schedule documents.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cronParser.Parse(strings.TrimSpace(spec))
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return s, nil
}

func (r *Registry) periodicJobs(overrides map[string]string, log *slog.Logger) ([]*river.PeriodicJob, error) {
	known := map[string]bool{}
	var out []*river.PeriodicJob
	for _, p := range r.periodic {
		// River panics on a bad or duplicate ID (or one of 128+ characters)
		// inside NewClient; fail with a message instead.
		if known[p.ID] {
			return nil, fmt.Errorf("periodic job id %q is registered twice", p.ID)
		}
		known[p.ID] = true
		if len(p.ID) >= 128 || !periodicIDPattern.MatchString(p.ID) {
			return nil, fmt.Errorf("periodic job id %q is not valid for River", p.ID)
		}
		spec := p.Schedule
		if o, ok := overrides[p.ID]; ok {
			spec = o
		}
		if strings.EqualFold(strings.TrimSpace(spec), "off") {
			log.Info("periodic job disabled", "id", p.ID)
			continue
		}
		sched, err := ParseSchedule(spec)
		if err != nil {
			return nil, fmt.Errorf("periodic job %s: %w", p.ID, err)
		}
		p := p
		out = append(out, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
			return p.Args(), p.Opts
		}, &river.PeriodicJobOpts{ID: p.ID}))
	}
	for id := range overrides {
		if !known[id] {
			return nil, fmt.Errorf("schedule given for unknown periodic job %q (known: %s)", id, strings.Join(r.PeriodicIDs(), ", "))
		}
	}
	return out, nil
}

// New builds the River clients for d. Nothing runs until Start.
func New(d *db.DB, reg *Registry, cfg Config) (*Runner, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	// River logs every poll hiccup at info; heed's own log stays readable.
	riverLog := slog.New(levelFloor{Handler: log.Handler(), min: slog.LevelWarn})
	maxWorkers := cfg.MaxWorkers
	if maxWorkers <= 0 {
		maxWorkers = 50
	}
	periodic, err := reg.periodicJobs(cfg.Schedules, log)
	if err != nil {
		return nil, err
	}
	longest, err := reg.rescueAfter()
	if err != nil {
		return nil, err
	}
	stopTimeout := cfg.StopTimeout
	if stopTimeout <= 0 {
		stopTimeout = 10 * time.Second
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}}
	for name, n := range reg.queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	workCfg := &river.Config{
		Logger: riverLog,
		// Back-to-back inserts notify once per FetchCooldown; 20 ms and a
		// 200 ms poll keep commit-to-start latency low (river-notes §5).
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 200 * time.Millisecond,
		Queues:            queues,
		Workers:           reg.workers,
		PeriodicJobs:      periodic,
		// Every kind declares its own timeout; the client default (which
		// River requires RescueStuckJobsAfter to exceed) is the longest.
		JobTimeout: longest,
		// River's default is an hour: an order whose job died with its
		// process would wait that long. A job still running past its
		// timeout and the slack is dead (its context was cancelled at the
		// timeout), so it can be retried; retries are safe because every
		// worker re-checks state under a lock (marketplace.ProcessOrder).
		RescueStuckJobsAfter: longest + rescueSlack,
		// On Stop, running jobs get StopTimeout, then their contexts are
		// cancelled; Stop still waits for them to return (see Stop).
		SoftStopTimeout: stopTimeout,
	}
	r := &Runner{work: cfg.Work, log: log, longest: longest, rescueAfter: longest + rescueSlack, stopTimeout: stopTimeout}
	if cfg.Metrics != nil {
		r.metrics = newJobMetrics(cfg.Metrics)
	}
	switch d.Dialect() {
	case db.Postgres:
		ins, err := river.NewClient(riverdatabasesql.New(d.SQL()), &river.Config{
			Logger:        riverLog,
			FetchCooldown: 20 * time.Millisecond,
		})
		if err != nil {
			return nil, fmt.Errorf("river insert client: %w", err)
		}
		r.inserter = ins
		if cfg.Work {
			w, err := river.NewClient(riverpgxv5.New(d.Pool()), workCfg)
			if err != nil {
				return nil, fmt.Errorf("river client: %w", err)
			}
			r.worker = w
		}
	default:
		driver := riversqlite.New(d.RiverSQL())
		c, err := river.NewClient(driver, workCfg)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		r.inserter = c
		if cfg.Work {
			r.worker = c
			r.sqliteExec = driver.GetExecutor()
		}
	}
	return r, nil
}

// Enqueue implements Enqueuer.
func (r *Runner) Enqueue(ctx context.Context, tx *db.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := r.inserter.InsertTx(ctx, tx.SQLTx(), args, opts); err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// ErrJobsRunning is returned by Stop when jobs have not returned in time.
var ErrJobsRunning = errors.New("jobs still running")

// RescueAfter is River's RescueStuckJobsAfter: the longest declared job
// timeout plus slack. A job running for longer is taken for dead.
func (r *Runner) RescueAfter() time.Duration { return r.rescueAfter }

// RecoveryBound is the longest a job left running by a dead process waits
// before it runs again on PostgreSQL: it must be RescueAfter old, River's
// leader looks for such jobs every 30 s, makes them retryable, and its
// scheduler (every 5 s) makes them available after the first retry's one
// second backoff. A dead leader's successor takes over within about 20 s,
// inside the same bound. On SQLite a restart rescues them at once (Start).
func (r *Runner) RecoveryBound() time.Duration {
	return r.rescueAfter + riverRescuerInterval + riverSchedulerInterval + riverRescueOverhead
}

// StopBudget is how long Stop needs for jobs that honour their context: the
// stop timeout, after which their contexts are cancelled, plus slack.
func (r *Runner) StopBudget() time.Duration { return r.stopTimeout + rescueSlack }

// Start runs workers and the scheduler when the runner was configured to
// work. On SQLite it first rescues the jobs a dead process left running.
func (r *Runner) Start(ctx context.Context) error {
	if !r.work {
		return nil
	}
	if r.sqliteExec != nil {
		if err := r.rescueOrphans(ctx); err != nil {
			return err
		}
	}
	r.log.Info("job workers starting", "rescue_stuck_after", r.rescueAfter, "recovery_bound", r.RecoveryBound(),
		"stop_timeout", r.stopTimeout)
	// River's notifier spins when its context has a deadline; give it a
	// cancel-only context of its own.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel = cancel
	if r.metrics != nil {
		events, unsubscribe := r.worker.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
			river.EventKindJobCancelled, river.EventKindJobSnoozed)
		r.done = make(chan struct{})
		go func() {
			defer close(r.done)
			defer unsubscribe()
			for {
				select {
				case <-runCtx.Done():
					return
				case ev, ok := <-events:
					if !ok {
						return
					}
					r.metrics.observe(ev)
				}
			}
		}()
	}
	if err := r.worker.Start(runCtx); err != nil {
		cancel()
		return fmt.Errorf("start river: %w", err)
	}
	return nil
}

// rescueBatch bounds one start-up rescue statement.
const rescueBatch = 1000

// rescueOrphans makes every job left "running" workable again, through
// River's own driver calls (the ones its rescuer uses), before this process
// fetches any. Only on SQLite: there one process owns the file, so at
// start-up no job can really be running, and waiting RescueAfter plus the
// rescuer's interval would only delay the orders of a restarted heed. On
// PostgreSQL other replicas may be running them; River's rescuer decides.
// Jobs are made available at once (not retryable, which would wait for the
// leader's scheduler, and a restarted process waits up to 20 s to become
// leader); one that has used its last attempt is discarded, as River does.
func (r *Runner) rescueOrphans(ctx context.Context) error {
	now := time.Now().UTC()
	// A horizon well ahead takes every running job, whatever the clock did
	// between the crash and now.
	horizon := now.Add(24 * time.Hour)
	var retried, discarded int
	var afterID int64
	for {
		stuck, err := r.sqliteExec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: afterID, Max: rescueBatch, StuckHorizon: horizon})
		if err != nil {
			return fmt.Errorf("find jobs left running: %w", err)
		}
		if len(stuck) == 0 {
			break
		}
		p := &riverdriver.JobRescueManyParams{StuckHorizon: horizon}
		for _, j := range stuck {
			afterID = j.ID
			attemptErr, err := json.Marshal(rivertype.AttemptError{
				At: now, Attempt: max(j.Attempt, 0), Error: "Left running by a heed process that ended; rescued at start-up",
			})
			if err != nil {
				return fmt.Errorf("encode rescue error: %w", err)
			}
			state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
			if j.Attempt >= max(j.MaxAttempts, 0) {
				state, finalized = rivertype.JobStateDiscarded, &now
				discarded++
			} else {
				retried++
			}
			p.ID = append(p.ID, j.ID)
			p.Error = append(p.Error, attemptErr)
			p.FinalizedAt = append(p.FinalizedAt, finalized)
			p.ScheduledAt = append(p.ScheduledAt, j.ScheduledAt)
			p.State = append(p.State, string(state))
		}
		if _, err := r.sqliteExec.JobRescueMany(ctx, p); err != nil {
			return fmt.Errorf("rescue %d jobs left running: %w", len(stuck), err)
		}
		if len(stuck) < rescueBatch {
			break
		}
	}
	if retried+discarded > 0 {
		r.log.Warn("jobs left running by a process that ended were rescued at start-up",
			"retried", retried, "discarded", discarded)
	}
	return nil
}

// Stop stops fetching and waits for running jobs to return. They get the
// stop timeout to finish, then River cancels their contexts (a job's work
// is one transaction, so it rolls back and is retried after the restart).
// ctx bounds the wait (give it StopBudget); if it ends first, Stop cancels
// every job at once and waits rescueSlack more. If jobs still run after
// that, it returns ErrJobsRunning and the caller must keep the database
// open: pulling the pools from under a job would fail it halfway instead
// of leaving it to the rescue.
func (r *Runner) Stop(ctx context.Context) error {
	if d := r.dash; d != nil {
		// Before the pools close under its background queries.
		d.close()
	}
	if !r.work || r.cancel == nil {
		return nil
	}
	err := r.worker.Stop(ctx)
	if err != nil {
		r.log.Warn("jobs still running at the stop deadline; cancelling them", "error", err)
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rescueSlack)
		err = r.worker.StopAndCancel(hardCtx)
		cancel()
	}
	r.cancel()
	if r.done != nil {
		<-r.done
	}
	if err != nil {
		return fmt.Errorf("stop river: %w (%v)", ErrJobsRunning, err)
	}
	return nil
}

// levelFloor drops records below min.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{Handler: h.Handler.WithAttrs(a), min: h.min}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{Handler: h.Handler.WithGroup(name), min: h.min}
}

type jobMetrics struct {
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newJobMetrics(reg prometheus.Registerer) *jobMetrics {
	m := &jobMetrics{
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "heed_jobs_finished_total",
			Help: "Background jobs that finished an attempt, by kind and outcome.",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "heed_job_duration_seconds",
			Help:    "Time a job attempt ran, by kind.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kind"}),
	}
	reg.MustRegister(m.finished, m.duration)
	return m
}

func (m *jobMetrics) observe(ev *river.Event) {
	if ev.Job == nil {
		return
	}
	outcome := string(ev.Kind)
	outcome = strings.TrimPrefix(outcome, "job_")
	m.finished.WithLabelValues(ev.Job.Kind, outcome).Inc()
	if ev.JobStats != nil {
		m.duration.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.RunDuration.Seconds())
	}
}
