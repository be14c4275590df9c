package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
	"riverqueue.com/riverui/uiendpoints"
)

// DashboardPrefix is where the console mounts River's dashboard.
const DashboardPrefix = "/console/jobs"

// dashboardIdle is how long the dashboard's background work (River UI
// refreshing its job counts) goes on after the last request to it.
const dashboardIdle = 5 * time.Minute

// Dashboard is River's own UI (riverui, assets embedded in the binary) for
// this runner's queues, served under DashboardPrefix, or nil when it cannot
// be built. It does no authentication: the console mounts it behind the
// staff sign-in.
//
// It uses the client that works the jobs: riverpgxv5 on PostgreSQL
// (riverdatabasesql, the insert-only client, on a replica that does not
// work jobs) and riversqlite on SQLite.
func (r *Runner) Dashboard() http.Handler {
	var bundle uiendpoints.Bundle
	if c, ok := r.worker.(*river.Client[pgx.Tx]); ok {
		bundle = riverui.NewEndpoints(c, nil)
	} else {
		bundle = riverui.NewEndpoints[*sql.Tx](r.inserter, nil)
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: bundle,
		// Arguments can hold people's data; show them on a job's page only.
		JobListHideArgsByDefault: true,
		Logger:                   slog.New(levelFloor{Handler: r.log.Handler(), min: slog.LevelWarn}),
		Prefix:                   DashboardPrefix,
	})
	if err != nil {
		r.log.Error("job dashboard unavailable", "error", err)
		return nil
	}
	r.dash = &dashboard{ui: h, log: r.log}
	return r.dash
}

// dashboard starts riverui's background services on the first request
// (Dashboard is built before the runner starts, and most processes never
// serve it) and stops them once nobody has used it for dashboardIdle; the
// next request starts them again. Requests are served either way: the
// services only keep job counts fresh for large tables.
type dashboard struct {
	ui  *riverui.Handler
	log *slog.Logger

	mu     sync.Mutex
	stop   context.CancelFunc
	last   time.Time
	closed bool
}

// close stops the background services for good (the runner is stopping);
// requests still get answers, with counts as of the last refresh.
func (d *dashboard) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.stop != nil {
		d.stop()
		d.stop = nil
	}
}

func (d *dashboard) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	d.touch()
	d.ui.ServeHTTP(w, req)
}

func (d *dashboard) touch() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = time.Now()
	if d.stop != nil || d.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.ui.Start(ctx); err != nil {
		cancel()
		d.log.Warn("job dashboard: start background services", "error", err)
		return
	}
	d.stop = cancel
	time.AfterFunc(dashboardIdle, d.idle)
}

// idle stops the services unless the dashboard was used meanwhile, in
// which case it looks again when that use is dashboardIdle old.
func (d *dashboard) idle() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop == nil {
		return
	}
	if left := dashboardIdle - time.Since(d.last); left > 0 {
		time.AfterFunc(left, d.idle)
		return
	}
	d.stop()
	d.stop = nil
}
