// Package jobs runs heed's background work on River, on both databases.
//
// Domain packages register workers and periodic jobs on a Registry and
// enqueue through Enqueue inside their own transaction, so a job exists
// exactly when the change that asked for it committed.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
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
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{workers: river.NewWorkers()} }

// AddWorker registers w for its job kind.
func AddWorker[T river.JobArgs](r *Registry, w river.Worker[T]) {
	river.AddWorker(r.workers, w)
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
}

// workingClient is the part of River's client that differs only by the
// transaction type between the two drivers.
type workingClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
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
	workCfg := &river.Config{
		Logger: riverLog,
		// Back-to-back inserts notify once per FetchCooldown; 20 ms and a
		// 200 ms poll keep commit-to-start latency low (river-notes §5).
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 200 * time.Millisecond,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:           reg.workers,
		PeriodicJobs:      periodic,
	}
	r := &Runner{work: cfg.Work, log: log}
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
		c, err := river.NewClient(riversqlite.New(d.RiverSQL()), workCfg)
		if err != nil {
			return nil, fmt.Errorf("river client: %w", err)
		}
		r.inserter = c
		if cfg.Work {
			r.worker = c
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

// Start runs workers and the scheduler when the runner was configured to work.
func (r *Runner) Start(ctx context.Context) error {
	if !r.work {
		return nil
	}
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

// Stop lets running jobs finish (until ctx ends) and stops the scheduler.
func (r *Runner) Stop(ctx context.Context) error {
	if !r.work || r.cancel == nil {
		return nil
	}
	err := r.worker.Stop(ctx)
	r.cancel()
	if r.done != nil {
		<-r.done
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("stop river: %w", err)
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
