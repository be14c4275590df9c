// Package app wires heed's parts into one process: database, migrations,
// jobs, domain services and the HTTP server.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	netmail "net/mail"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/heed-dev/heed/internal/actioning"
	"github.com/heed-dev/heed/internal/api"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/console"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/demo"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/history"
	"github.com/heed-dev/heed/internal/jobs"
	"github.com/heed-dev/heed/internal/mail"
	"github.com/heed-dev/heed/internal/marketplace"
	"github.com/heed-dev/heed/internal/useractions"
	"github.com/heed-dev/heed/internal/useractions/provider"
)

// Config is everything `heed serve` can be told.
// DefaultCacheTTL is Config.CacheTTL's default.
const DefaultCacheTTL = time.Second

type Config struct {
	Addr        string
	DatabaseURL string
	// Demo loads the demo data set into an empty database at start.
	Demo bool
	// Work runs job workers and the periodic scheduler in this process.
	Work bool
	// Migrate applies pending migrations at start.
	Migrate bool
	// Schedules overrides periodic job schedules by ID.
	Schedules map[string]string
	// HistoryRetentionDays prunes versions older than this many days
	// (keeping each object's newest); 0 keeps history forever.
	HistoryRetentionDays int
	MaxWorkers           int
	TokenLifetime        time.Duration
	// CacheTTL bounds how long a token's owner and a user's roles are kept
	// in memory (auth.Service.CacheReads): writes this process commits
	// drop them at once, so it is how late a change made by another
	// process (a second heed on PostgreSQL, the CLI) can be seen. Zero
	// means DefaultCacheTTL; negative turns the caches off.
	CacheTTL   time.Duration
	TrustProxy bool
	// DrainGrace is how long Run keeps serving after its context ends, with
	// /readyz answering 503, so that load balancers stop routing here
	// before the listener closes.
	DrainGrace time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests after that.
	ShutdownTimeout time.Duration
	// JobStopTimeout is how long running jobs may go on once requests are
	// drained, before their contexts are cancelled.
	JobStopTimeout time.Duration
	// UserActions are the engine's settings; nil means the defaults.
	UserActions *useractions.Settings
	// PendingOrderHours is how long an order waits for approval before it
	// becomes an action (default 24).
	PendingOrderHours int
	// ExpirationReminders is the default reminder schedule, in days before
	// a resource's end date (default 30, 14, 7, 1).
	ExpirationReminders []int
	// Digest says what digest emails say about the site.
	Digest useractions.DigestConfig
	// SMTPURL is where digests go (smtp:// or smtps://); empty logs them.
	SMTPURL  string
	MailFrom string
	// Webhooks tunes event delivery (private addresses, retries, log
	// retention).
	Webhooks events.Config
	DB       db.Config
	Logger   *slog.Logger
	// Clock is injected by tests; nil means the wall clock.
	Clock func() time.Time
}

// App is a running heed.
type App struct {
	cfg     Config
	DB      *db.DB
	Jobs    *jobs.Runner
	Users   *auth.Service
	Market  *marketplace.Service
	History *history.Store
	Actions *useractions.Service
	Events  *events.Service
	// Actioning is FusionAuth's user actioning.
	Actioning *actioning.Service
	Server    *api.Server
	Metrics   *prometheus.Registry
	log       *slog.Logger

	// draining is set when Run starts to shut down; /readyz reads it.
	draining atomic.Bool
	// jobsRunning is set when jobs outlived their stop budget: Close then
	// leaves the pools open under them.
	jobsRunning atomic.Bool
}

// New opens the database, migrates it when asked, and builds every service.
// Nothing listens and no job runs until Run.
func New(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	dbCfg := cfg.DB
	dbCfg.URL = cfg.DatabaseURL
	dbCfg.Clock = cfg.Clock
	d, err := db.Open(ctx, dbCfg)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, DB: d, log: log}
	if err := a.build(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	cfg, d, log := a.cfg, a.DB, a.log
	if cfg.Migrate {
		if err := d.Migrate(ctx, log); err != nil {
			return err
		}
	}
	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	a.Users = &auth.Service{DB: d, TokenLifetime: cfg.TokenLifetime, Throttle: auth.NewThrottle(5, 15*time.Minute, cfg.Clock)}
	cacheTTL := cfg.CacheTTL
	if cacheTTL == 0 {
		cacheTTL = DefaultCacheTTL
	}
	a.Users.CacheReads(cacheTTL)

	reg := jobs.NewRegistry()
	auth.RegisterJobs(reg, d, log)
	a.Events = events.New(d, cfg.Webhooks, log)
	a.Events.RegisterJobs(reg)
	a.Events.RegisterMetrics(a.Metrics)
	a.Market = marketplace.New(d, nil)
	a.Market.CacheReads(cacheTTL)
	a.Market.RegisterJobs(reg, log)
	a.Market.OnChange(a.recordHistory)
	a.Market.OnChange(a.publishOrderState)
	settings := useractions.DefaultSettings()
	if cfg.UserActions != nil {
		settings = *cfg.UserActions
	}
	a.Actions = useractions.New(d, nil, settings, log)
	a.Actions.Events = a.Events
	a.Actions.Digest = cfg.Digest
	sender, err := mail.Open(cfg.SMTPURL, cfg.MailFrom, log)
	if err != nil {
		return err
	}
	a.Actions.Mail = useractions.MailVia(sender)
	a.Actioning = actioning.New(d, a.Events, sender, log)
	if from, err := netmail.ParseAddress(cfg.MailFrom); err == nil {
		a.Actioning.DefaultFrom = actioning.Address{Address: from.Address, Display: from.Name}
	}
	a.Actioning.RegisterJobs(reg)
	a.Actions.Register(a.Actioning.AccountRestrictions())
	a.Actioning.OnChange = func(ctx context.Context, tx *db.Tx, nums []int64) error {
		objects := make([]provider.ObjectRef, len(nums))
		for i, n := range nums {
			objects[i] = provider.ObjectRef{Type: actioning.ObjectInstance, ID: n}
		}
		return a.Actions.Redetect(ctx, tx, objects)
	}
	a.Actions.Register(a.Market.PendingOrders(cfg.PendingOrderHours))
	a.Actions.Register(a.Market.ExpiringResources(cfg.ExpirationReminders))
	a.Actions.RegisterJobs(reg)
	a.Actions.RegisterMetrics(a.Metrics)
	a.Market.OnChange(a.redetect)
	a.History = &history.Store{DB: d}
	history.RegisterJobs(reg, d, cfg.HistoryRetentionDays, log)
	runner, err := jobs.New(d, reg, jobs.Config{
		Work: cfg.Work, Schedules: cfg.Schedules, MaxWorkers: cfg.MaxWorkers, Logger: log, Metrics: a.Metrics,
		StopTimeout: cfg.JobStopTimeout,
	})
	if err != nil {
		return err
	}
	a.Jobs = runner
	a.Market.Jobs = runner
	a.Actions.Jobs = runner
	a.Events.Jobs = runner
	a.Actioning.Jobs = runner
	if err := a.Actions.SyncRegistry(ctx); err != nil {
		return err
	}

	if cfg.Demo {
		if err := a.LoadDemo(ctx, true); err != nil {
			return err
		}
	}
	pages, err := console.New(console.Deps{
		Users: a.Users, Market: a.Market, History: a.History, Actions: a.Actions, Actioning: a.Actioning, Events: a.Events,
		Jobs: a.Jobs.Dashboard(), TrustProxy: cfg.TrustProxy, Logger: log, Clock: cfg.Clock,
	})
	if err != nil {
		return err
	}
	a.Server = api.New(api.Deps{
		DB: d, Users: a.Users, Marketplace: a.Market, History: a.History, Actions: a.Actions, Events: a.Events, Actioning: a.Actioning,
		Logger: log, Metrics: a.Metrics,
		TrustProxy: cfg.TrustProxy,
		Mount:      []func(huma.API){}, Draining: a.draining.Load, Pages: pages,
	})
	return nil
}

// LoadDemo adds the demo data set (see package demo). With onlyIfEmpty it
// refuses a database holding other users.
func (a *App) LoadDemo(ctx context.Context, onlyIfEmpty bool) error {
	if err := demo.Load(ctx, a.DB, a.Market, a.log, onlyIfEmpty); err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	if err := demo.LoadActioning(ctx, a.DB, a.Actioning, a.DB.Now()); err != nil {
		return fmt.Errorf("load demo actioning data: %w", err)
	}
	// The demo's users see their actions at once, not at the next tick.
	if _, err := a.Actions.Update(ctx, "", nil); err != nil {
		return fmt.Errorf("detect demo actions: %w", err)
	}
	return nil
}

// redetect keeps user actions in step with marketplace changes, inside the
// change's transaction: the response to an approval no longer lists the
// order's action.
func (a *App) redetect(ctx context.Context, tx *db.Tx, ch marketplace.ObjectChange) error {
	var objects []provider.ObjectRef
	switch ch.Kind {
	case marketplace.KindOrder:
		objects = append(objects, provider.ObjectRef{Type: marketplace.ObjectOrder, ID: ch.ID})
		if ch.ResourceID != 0 {
			// An open order hides its resource's expiry action.
			objects = append(objects, provider.ObjectRef{Type: marketplace.ObjectResource, ID: ch.ResourceID})
		}
	case marketplace.KindResource:
		return a.Actions.RedetectChanged(ctx, tx, provider.ObjectRef{Type: marketplace.ObjectResource, ID: ch.ID}, ch.Changed)
	default:
		return nil
	}
	return a.Actions.Redetect(ctx, tx, objects)
}

// Close releases the database, unless Run gave up waiting for jobs: then
// the pools stay open under them until the process exits, and whatever
// they leave unfinished is retried after the restart (jobs.Runner.Stop).
func (a *App) Close() error {
	if a.jobsRunning.Load() {
		a.log.Warn("jobs still running: leaving the database open for them until exit")
		return nil
	}
	return a.DB.Close()
}

// Run serves HTTP on ln and runs jobs until ctx is cancelled, then drains
// in this order, so that nothing in flight is dropped:
//
//  1. /readyz answers 503 at once and responses carry "Connection: close",
//     so load balancers stop routing here and pooled connections end;
//  2. for DrainGrace the listener still accepts and serves, for requests
//     sent before the balancer noticed (closing it at once reset them);
//  3. the listener closes and in-flight requests get ShutdownTimeout;
//  4. the job workers stop: running jobs get JobStopTimeout, then their
//     contexts are cancelled; Run waits for them (jobs.Runner.Stop).
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a.draining.Load() {
				w.Header().Set("Connection", "close")
			}
			a.Server.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if err := a.Jobs.Start(ctx); err != nil {
		return err
	}
	a.log.Info("listening", "addr", ln.Addr().String(), "database", string(a.DB.Dialect()), "workers", a.cfg.Work)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: %w", err)
	}
	a.draining.Store(true)
	timeout := a.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	grace := max(a.cfg.DrainGrace, 0)
	a.log.Info("shutting down", "drain_grace", grace, "shutdown_timeout", timeout, "job_stop_timeout", a.Jobs.StopBudget())
	if runErr == nil && grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-t.C:
		case err := <-serveErr:
			t.Stop()
			runErr = fmt.Errorf("serve: %w", err)
		}
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("drain requests: %w", err))
	}
	a.log.Info("requests drained")
	// Jobs get their own budget, not what the requests left of one.
	jobCtx, cancelJobs := context.WithTimeout(context.Background(), a.Jobs.StopBudget())
	defer cancelJobs()
	if err := a.Jobs.Stop(jobCtx); err != nil {
		if errors.Is(err, jobs.ErrJobsRunning) {
			a.jobsRunning.Store(true)
		}
		runErr = errors.Join(runErr, err)
	}
	a.log.Info("stopped")
	return runErr
}

// recordHistory turns every marketplace change into a history version, in
// the change's transaction.
//
// Each version is announced as a resource.version.created event, in the
// same transaction.
func (a *App) recordHistory(ctx context.Context, tx *db.Tx, ch marketplace.ObjectChange) error {
	if !marketplace.Versioned(ch.Kind) {
		return nil
	}
	var userID *int64
	actor := ""
	if ch.Actor != nil {
		userID = &ch.Actor.ID
		actor = ch.Actor.UUID.String()
	}
	version, err := history.Record(ctx, tx, history.Entry{
		EntityType: ch.Kind, ObjectID: ch.ID, ObjectUUID: ch.UUID, At: ch.At, UserID: userID,
		Comment: ch.Comment, Data: ch.After, Changed: ch.Changed,
	})
	if err != nil {
		return err
	}
	changed := ch.Changed
	if changed == nil {
		changed = []string{}
	}
	_, err = a.Events.Publish(ctx, tx, events.Event{
		Type: events.TypeResourceVersionCreate, LinkedObjectID: ch.UUID,
		Fields: events.ResourceVersionCreated{
			ObjectType: ch.Kind, ObjectID: ch.UUID.String(), VersionID: version, ChangedFields: changed,
			Comment: ch.Comment, ActorUserID: actor, State: ch.After,
		},
	})
	return err
}

// publishOrderState announces an order's move as order.state-changed.
func (a *App) publishOrderState(ctx context.Context, tx *db.Tx, ch marketplace.ObjectChange) error {
	if ch.Kind != marketplace.KindOrder {
		return nil
	}
	ev := events.OrderStateChanged{OrderID: ch.UUID.String()}
	ev.State, _ = ch.After["state"].(string)
	if ch.Before != nil {
		ev.PreviousState, _ = ch.Before["state"].(string)
	}
	if ch.Actor != nil {
		ev.ActorUserID = ch.Actor.UUID.String()
	}
	_, err := a.Events.Publish(ctx, tx, events.Event{Type: events.TypeOrderStateChanged, LinkedObjectID: ch.UUID, Fields: ev})
	return err
}
