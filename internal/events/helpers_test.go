package events_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/jobs"
)

// fastConfig delivers to the test's own loopback receivers and retries
// within a second: 300 ms, then 900 ms (each ±20 %).
func fastConfig() events.Config {
	return events.Config{
		AllowPrivate:    true,
		RetrySchedule:   []time.Duration{300 * time.Millisecond, 900 * time.Millisecond},
		OverloadPenalty: 50 * time.Millisecond,
	}
}

// waitFor bounds every wait on a delivery, a retry or a log row.
const waitFor = 15 * time.Second

func testLogger() *slog.Logger {
	if os.Getenv("HEED_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// env is the events service as app.New wires it (its jobs registered on a
// real River runner), over a fresh migrated database, without the rest of
// heed.
type env struct {
	DB     *db.DB
	Events *events.Service
	Jobs   *jobs.Runner
}

type envOptions struct {
	Clock func() time.Time
	// NoWork leaves the job workers stopped: deliveries stay pending.
	NoWork bool
}

// eachEnv runs fn on a fresh env per database, in parallel.
func eachEnv(t *testing.T, cfg events.Config, o envOptions, fn func(t *testing.T, e *env)) {
	t.Helper()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		fn(t, startEnv(t, url, cfg, o))
	})
}

// startEnv starts from a copy of apptest's demo database: cheaper than
// migrating a fresh one under -race, as the copy is made once per process
// and TestTransactionalLevels needs it anyway. The demo's queued order jobs
// are dropped, as nothing here works them; the rest of the demo data does
// not touch events (no webhooks, so no event was logged).
func startEnv(t *testing.T, url string, cfg events.Config, o envOptions) *env {
	t.Helper()
	apptest.SeedDemo(t, url)
	d := dbtest.Open(t, url, dbtest.Options{Clock: o.Clock})
	if err := d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), `DELETE FROM river_job`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	log := testLogger()
	svc := events.New(d, cfg, log)
	reg := jobs.NewRegistry()
	svc.RegisterJobs(reg)
	runner, err := jobs.New(d, reg, jobs.Config{Work: !o.NoWork, Logger: log})
	if err != nil {
		t.Fatalf("jobs: %v", err)
	}
	svc.Jobs = runner
	ctx, cancel := context.WithCancel(context.Background())
	if err := runner.Start(ctx); err != nil {
		t.Fatalf("start jobs: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if err := runner.Stop(stopCtx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
		cancel()
	})
	return &env{DB: d, Events: svc, Jobs: runner}
}

// startHeed runs a whole heed (demo data, job workers, HTTP server) with
// the given webhook configuration, as apptest.Start does with its defaults.
func startHeed(t *testing.T, url string, cfg events.Config) *apptest.Harness {
	t.Helper()
	return apptest.Start(t, url, apptest.Options{Configure: func(c *app.Config) { c.Webhooks = cfg }})
}

// publish records ev in a transaction of its own, as a domain would.
func publish(t testing.TB, d *db.DB, svc *events.Service, ev events.Event) (events.Published, error) {
	t.Helper()
	var p events.Published
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		var err error
		p, err = svc.Publish(context.Background(), tx, ev)
		return err
	})
	return p, err
}

func mustPublish(t testing.TB, d *db.DB, svc *events.Service, ev events.Event) events.Published {
	t.Helper()
	p, err := publish(t, d, svc, ev)
	if err != nil {
		t.Fatalf("publish %s: %v", ev.Type, err)
	}
	return p
}

// delivery is one request a receiver got.
type delivery struct {
	At     time.Time
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// eventID is the envelope's event.id.
func (d delivery) eventID(t testing.TB) string {
	t.Helper()
	var b struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	if err := json.Unmarshal(d.Body, &b); err != nil {
		t.Fatalf("delivery body %q: %v", d.Body, err)
	}
	return b.Event.ID
}

// receiver is a real HTTP endpoint recording every request heed makes;
// respond says what to answer to the nth (1-based) request.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []delivery
	arrived chan struct{} // closed and replaced at each request
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t testing.TB, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{arrived: make(chan struct{}), respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{At: time.Now(), Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		n := len(rc.got)
		close(rc.arrived)
		rc.arrived = make(chan struct{})
		rc.mu.Unlock()
		if rc.respond == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		rc.respond(n, w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// status answers every request with code.
func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// all returns what has arrived so far.
func (rc *receiver) all() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// wait returns the deliveries once at least n have arrived.
func (rc *receiver) wait(t testing.TB, n int) []delivery {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	for {
		rc.mu.Lock()
		if len(rc.got) >= n {
			out := slices.Clone(rc.got)
			rc.mu.Unlock()
			return out
		}
		ch := rc.arrived
		have := len(rc.got)
		rc.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("receiver %s: %d requests after %s, want %d", rc.URL, have, waitFor, n)
		}
	}
}

// eventually polls cond (every 20 ms) until it holds or waitFor passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitFor)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", waitFor, what)
		}
	}
}

// waitLog polls the event's Webhook Event Log until cond holds.
func waitLog(t testing.TB, svc *events.Service, id uuid.UUID, what string, cond func(*events.EventLog) bool) *events.EventLog {
	t.Helper()
	var last *events.EventLog
	eventually(t, "event "+id.String()+": "+what, func() bool {
		e, err := svc.GetEventLog(context.Background(), id)
		if err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return false
			}
			t.Fatalf("GetEventLog: %v", err)
		}
		last = e
		return cond(e)
	})
	return last
}

// finished: every delivery succeeded or gave up.
func finished(e *events.EventLog) bool { return e.Pending == 0 && e.Result != events.ResultRunning }

// tenant creates a tenant whose event configuration is cfg.
func tenant(t testing.TB, svc *events.Service, name string, cfg map[string]events.EventSetting) uuid.UUID {
	t.Helper()
	tn, err := svc.CreateTenant(context.Background(), events.Tenant{Name: name, Events: cfg})
	if err != nil {
		t.Fatalf("create tenant %s: %v", name, err)
	}
	return tn.ID
}

func on(level events.TransactionType) events.EventSetting {
	return events.EventSetting{Enabled: true, TransactionType: level}
}

// hook creates a webhook to url with the usual short timeouts; adjust
// lets a test set the rest.
func hook(t testing.TB, svc *events.Service, url string, adjust func(w *events.Webhook)) *events.Webhook {
	t.Helper()
	w := events.Webhook{URL: url, ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second}
	if adjust != nil {
		adjust(&w)
	}
	out, err := svc.CreateWebhook(context.Background(), w)
	if err != nil {
		t.Fatalf("create webhook %s: %v", url, err)
	}
	return out
}

// fieldCodes returns err's FusionAuth codes by field; it fails the test
// unless err is an errs.Invalid error.
func fieldCodes(t testing.TB, err error) map[string][]string {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Invalid {
		t.Fatalf("error %v (%T): want an errs.Invalid error", err, err)
	}
	return e.Codes
}

// countRows runs a COUNT(*) query.
func countRows(t testing.TB, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Reader().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// deliveryJobs returns the states of the River delivery jobs of one event.
func deliveryJobs(t testing.TB, d *db.DB, event uuid.UUID) []string {
	t.Helper()
	args := "CAST(args AS TEXT)"
	if d.Dialect() == db.Postgres {
		args = "args::text"
	}
	rows, err := d.Reader().Query(context.Background(), `SELECT state FROM river_job WHERE kind = 'webhook_delivery' AND `+args+` LIKE ? ORDER BY id`,
		"%"+event.String()+"%")
	if err != nil {
		t.Fatalf("delivery jobs: %v", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantVeto asserts err is FusionAuth's vetoed-transaction error.
func wantVeto(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("the change committed; want it vetoed by the webhooks")
	}
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Upstream || e.Code != "[WebhookTransactionException]" || e.Message != events.MsgWebhookTransaction {
		t.Fatalf("error %v; want errs.Upstream with code [WebhookTransactionException] and FusionAuth's message", err)
	}
}
