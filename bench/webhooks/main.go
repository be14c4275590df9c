// Command webhooks measures heed's webhook delivery: sustained deliveries
// per second, and the latency from an event's commit to its arrival at a
// receiver when events come at half that rate.
//
// It starts a real `heed serve` (workers on) on a fresh database, a local
// receiver that answers 200 at once, and a webhook to it; then it produces
// resource.version.created events itself, through heed's own code opened
// in-process on the same database (app.New with Work false: it only
// enqueues), so that HTTP request handling does not limit the producer.
// bench/webhooks.sh builds heed and runs this; see bench/README.md.
//
// Output: one "name: value" line per metric, in a fixed order.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/events"
	"github.com/heed-dev/heed/internal/marketplace"
)

const staffToken = "demo-staff-token"

type config struct {
	heed         string
	dbArg        string
	dir          string
	duration     time.Duration
	warmup       time.Duration
	pacedFor     time.Duration
	rate         float64
	workers      int
	maxWorkers   int
	producers    int
	produce      string
	pgMaxConns   int
	drainTimeout time.Duration
	keepDB       bool
	inProcess    bool
	cpuProfile   string
}

func main() {
	var c config
	flag.StringVar(&c.heed, "heed", "heed", "the heed binary to run")
	flag.StringVar(&c.dbArg, "db", "sqlite", `"sqlite" (a fresh file in --dir) or the URL of an empty PostgreSQL database`)
	flag.StringVar(&c.dir, "dir", "", "working directory for the SQLite file and heed's log (default: a new temporary one)")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "measurement window at full speed, after --warmup")
	flag.DurationVar(&c.warmup, "warmup", 5*time.Second, "full-speed production before the window opens")
	flag.DurationVar(&c.pacedFor, "paced-duration", 10*time.Second, "length of the paced (latency) phase")
	flag.Float64Var(&c.rate, "rate", 0, "events/s of the paced phase (0: half the sustained deliveries/s)")
	flag.IntVar(&c.workers, "workers", 100, "heed serve --webhook-workers: concurrent deliveries")
	flag.IntVar(&c.maxWorkers, "max-workers", 50, "heed serve --max-workers: heed's other jobs")
	flag.IntVar(&c.producers, "producers", 8, "producer goroutines")
	flag.StringVar(&c.produce, "produce", "publish", "publish: events.Publish in a transaction of its own; update: marketplace UpdateResource (a resource version and its event)")
	flag.IntVar(&c.pgMaxConns, "pg-max-conns", 20, "PostgreSQL pool size, of heed serve and of the producer each")
	flag.DurationVar(&c.drainTimeout, "drain-timeout", 3*time.Minute, "how long to wait for the backlog to be delivered")
	flag.BoolVar(&c.keepDB, "keep", false, "keep the working directory")
	flag.BoolVar(&c.inProcess, "in-process", false, "deliver from this process too (heed's app with workers on, as heed serve runs API writes beside its workers) instead of a separate heed serve: one SQLite writer, and a CPU profile covers heed's delivery code")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of this process over the full-speed window (with --in-process: producer, workers and receiver)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "webhooks bench:", err)
		os.Exit(1)
	}
}

// out prints one metric line.
func out(name string, format string, args ...any) {
	fmt.Printf("%s: %s\n", name, fmt.Sprintf(format, args...))
}

func run(c config) error {
	if c.produce != "publish" && c.produce != "update" {
		return fmt.Errorf("--produce %q: want publish or update", c.produce)
	}
	if c.producers < 1 || c.workers < 1 || c.duration <= 0 {
		return errors.New("--producers, --workers and --duration must be positive")
	}
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "heed-webhooks-bench-")
		if err != nil {
			return err
		}
		c.dir = dir
		if !c.keepDB {
			defer os.RemoveAll(dir)
		}
	}
	url := c.dbArg
	dialect := "postgres"
	switch {
	case url == "sqlite":
		url = filepath.Join(c.dir, "heed.db")
		dialect = "sqlite"
	case db.IsPostgresURL(url):
	default:
		return fmt.Errorf(`--db %q: want "sqlite" or a postgres:// URL`, c.dbArg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	recv, err := startReceiver()
	if err != nil {
		return err
	}
	defer recv.close()

	var (
		a       *app.App
		heedPid int // 0: in-process
	)
	if c.inProcess {
		a, err = startInProcess(ctx, c, url, recv.url+"/hook")
		if err != nil {
			return err
		}
		defer func() {
			stopCtx, stop := context.WithTimeout(context.Background(), 20*time.Second)
			defer stop()
			_ = a.Jobs.Stop(stopCtx)
			_ = a.Close()
		}()
	} else {
		h, err := startHeed(c, url)
		if err != nil {
			return err
		}
		defer h.stop()
		if err := h.createWebhook(recv.url + "/hook"); err != nil {
			return err
		}
		heedPid = h.cmd.Process.Pid
		a, err = app.New(ctx, app.Config{
			DatabaseURL: url, Work: false, Migrate: false,
			Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			DB:       db.Config{PostgresMaxConns: int32(c.pgMaxConns)},
			Webhooks: events.Config{AllowPrivate: true},
		})
		if err != nil {
			return fmt.Errorf("open the database in-process: %w", err)
		}
		defer a.Close()
	}
	p, err := newProducer(ctx, c, a, recv)
	if err != nil {
		return err
	}

	out("db", "%s", dialect)
	if c.inProcess {
		out("deliverer", "in-process (one heed app: producer and workers)")
	} else {
		out("deliverer", "heed serve (a separate process)")
	}
	out("produce", "%s", c.produce)
	out("producers", "%d", c.producers)
	out("heed_webhook_workers", "%d", c.workers)
	out("heed_max_workers", "%d", c.maxWorkers)
	out("window_s", "%g", c.duration.Seconds())

	// Phase 1: full speed. The window opens after the warm-up.
	stats := newStatSampler(heedPid, a.DB)
	phase := p.start(ctx, 0)
	time.Sleep(c.warmup) // wall-clock phase length, not synchronisation
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	winStart := recv.since()
	before := stats.sample(ctx)
	time.Sleep(c.duration)
	winEnd := recv.since()
	after := stats.sample(ctx)
	if c.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	phase.stop()
	produced := p.committedBetween(winStart, winEnd)
	delivered := recv.firstBetween(winStart, winEnd)
	backlog := p.committed() - recv.distinct()
	deliveries := float64(delivered) / c.duration.Seconds()
	out("produced_per_s", "%.0f", float64(produced)/c.duration.Seconds())
	out("deliveries_per_s", "%.0f", deliveries)
	out("backlog_at_window_end", "%d", backlog)
	if backlog < int(deliveries/2) {
		out("limited_by", "producer (the backlog stayed under half a second of deliveries: heed delivered as fast as events came)")
	} else {
		out("limited_by", "delivery (events waited for a worker)")
	}
	stats.report("window", before, after, delivered)
	if n := p.errors.Load(); n > 0 {
		out("producer_errors", "%d (first: %v)", n, p.firstErr.Load())
	}

	// Phase 2: the backlog, with no producer: delivery alone.
	drainStart := recv.since()
	drainFrom := recv.distinct()
	if err := recv.waitFor(ctx, p.committed(), c.drainTimeout); err != nil {
		out("drain", "%v", err)
		return printEnd(recv, p)
	}
	drained := 0.0
	if n := recv.distinct() - drainFrom; n > 1000 {
		drained = float64(n) / (recv.since() - drainStart).Seconds()
		out("drain_deliveries_per_s", "%.0f", drained)
	} else {
		out("drain_deliveries_per_s", "n/a (backlog of %d)", n)
	}

	// Phase 3: paced at half the sustained rate; latency from commit. When
	// the full-speed producer held the deliveries back (SQLite's write lock
	// taken from another process), the drain shows what heed delivers
	// alone: half of that is the pace then.
	rate := c.rate
	switch {
	case rate > 0:
		out("paced_rate_basis", "--rate")
	case drained > deliveries:
		rate = drained / 2
		out("paced_rate_basis", "half the drain rate (above the window's)")
	default:
		rate = deliveries / 2
		out("paced_rate_basis", "half the window's deliveries/s")
	}
	if rate < 1 {
		return fmt.Errorf("paced rate %.2f events/s: nothing was delivered at full speed", rate)
	}
	pacedStart := recv.since()
	phase = p.start(ctx, rate)
	time.Sleep(c.pacedFor)
	phase.stop()
	pacedEnd := recv.since()
	if err := recv.waitFor(ctx, p.committed(), 30*time.Second); err != nil {
		out("paced_drain", "%v", err)
	}
	// The first second settles the pipeline.
	lat := p.latencies(pacedStart+time.Second, pacedEnd)
	out("paced_rate_per_s", "%.0f", rate)
	out("paced_produced_per_s", "%.0f", float64(p.committedBetween(pacedStart, pacedEnd))/(pacedEnd-pacedStart).Seconds())
	out("paced_deliveries_per_s", "%.0f", float64(recv.firstBetween(pacedStart, pacedEnd))/(pacedEnd-pacedStart).Seconds())
	out("latency_from", "%s", p.latencyFrom())
	if len(lat) == 0 {
		out("latency_ms", "n/a (no event measured)")
	} else {
		out("latency_samples", "%d", len(lat))
		out("latency_p50_ms", "%.1f", ms(pct(lat, 0.50)))
		out("latency_p90_ms", "%.1f", ms(pct(lat, 0.90)))
		out("latency_p99_ms", "%.1f", ms(pct(lat, 0.99)))
		out("latency_max_ms", "%.1f", ms(lat[len(lat)-1]))
	}
	return printEnd(recv, p)
}

func printEnd(recv *receiver, p *producer) error {
	out("events_committed", "%d", p.committed())
	out("events_received", "%d", recv.distinct())
	out("duplicate_deliveries", "%d", recv.requests.Load()-int64(recv.distinct()))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pct reads the q quantile of sorted durations (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// --- receiver ---------------------------------------------------------------

// receiver records the first arrival of every event id (the webhook-id
// header) and answers 200 at once.
type receiver struct {
	srv   *http.Server
	ln    net.Listener
	url   string
	start time.Time

	requests atomic.Int64
	mu       sync.Mutex
	first    map[uuid.UUID]arrival
	times    []time.Duration // first arrivals, in order of arrival
}

type arrival struct {
	at            time.Duration // since start (monotonic)
	wall          time.Time
	createInstant int64 // the event's createInstant, epoch ms
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{ln: ln, url: "http://" + ln.Addr().String(), start: time.Now(), first: map[uuid.UUID]arrival{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

var createInstantKey = []byte(`"createInstant":`)

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(req.Body)
	w.WriteHeader(http.StatusOK)
	r.requests.Add(1)
	id, err := uuid.Parse(req.Header.Get("webhook-id"))
	if err != nil {
		return
	}
	var created int64
	if i := bytes.Index(body, createInstantKey); i >= 0 {
		rest := body[i+len(createInstantKey):]
		j := bytes.IndexAny(rest, ",}")
		if j > 0 {
			created, _ = strconv.ParseInt(string(rest[:j]), 10, 64)
		}
	}
	at := now.Sub(r.start)
	r.mu.Lock()
	if _, seen := r.first[id]; !seen {
		r.first[id] = arrival{at: at, wall: now, createInstant: created}
		r.times = append(r.times, at)
	}
	r.mu.Unlock()
}

func (r *receiver) since() time.Duration { return time.Since(r.start) }

func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.first)
}

// firstBetween counts first arrivals in [from, to).
func (r *receiver) firstBetween(from, to time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return countBetween(r.times, from, to)
}

func countBetween(ts []time.Duration, from, to time.Duration) int {
	n := 0
	for _, t := range ts {
		if t >= from && t < to {
			n++
		}
	}
	return n
}

// waitFor polls until n distinct events have arrived.
func (r *receiver) waitFor(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for r.distinct() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d events arrived within %s", r.distinct(), n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// --- in-process heed ----------------------------------------------------------

// startInProcess opens heed's app with its workers on in this process, as
// heed serve would (demo data only when the producer updates resources),
// and creates the webhook through the service.
func startInProcess(ctx context.Context, c config, url, hook string) (*app.App, error) {
	a, err := app.New(ctx, app.Config{
		DatabaseURL: url, Work: true, Migrate: true, Demo: c.produce == "update", MaxWorkers: c.maxWorkers,
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		DB:       db.Config{PostgresMaxConns: int32(c.pgMaxConns)},
		Webhooks: events.Config{AllowPrivate: true, MaxWorkers: c.workers},
	})
	if err != nil {
		return nil, fmt.Errorf("start heed in-process: %w", err)
	}
	if err := a.Jobs.Start(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	if _, err := a.Events.CreateWebhook(ctx, events.Webhook{
		URL: hook, ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second, Global: true,
		EventsEnabled: map[string]bool{events.TypeResourceVersionCreate: true},
	}); err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	return a, nil
}

// --- heed serve --------------------------------------------------------------

type heedProc struct {
	cmd  *exec.Cmd
	base string
	log  *os.File
	done chan struct{}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startHeed(c config, url string) (*heedProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(c.dir, "heed.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.heed, "serve", "--database-url", url, "--addr", addr, "--demo",
		"--log-level", "warn", "--drain-grace", "0s", "--webhook-allow-private",
		"--webhook-workers", strconv.Itoa(c.workers), "--max-workers", strconv.Itoa(c.maxWorkers),
		"--pg-max-conns", strconv.Itoa(c.pgMaxConns))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Only the flags above: a HEED_* variable of the caller's must not
	// change what is measured.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEED_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.heed, err)
	}
	h := &heedProc{cmd: cmd, base: "http://" + addr, log: logf, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(h.done)
	}()
	// The demo data set loads first: give it time.
	deadline := time.Now().Add(2 * time.Minute)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(h.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h, nil
			}
		}
		select {
		case <-h.done:
			return nil, fmt.Errorf("heed serve exited at start; its log:\n%s", tail(logf.Name()))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			h.stop()
			return nil, fmt.Errorf("heed serve did not answer /healthz within 2m; its log:\n%s", tail(logf.Name()))
		}
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (h *heedProc) createWebhook(url string) error {
	body, _ := json.Marshal(map[string]any{"webhook": map[string]any{
		"url": url, "connectTimeout": 1000, "readTimeout": 2000, "global": true,
		"eventsEnabled": map[string]bool{events.TypeResourceVersionCreate: true},
	}})
	req, err := http.NewRequest(http.MethodPost, h.base+"/api/webhook", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", staffToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST /api/webhook: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /api/webhook: %d %s", resp.StatusCode, b)
	}
	return nil
}

// stop ends heed with SIGTERM, then SIGKILL if it lingers.
func (h *heedProc) stop() {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
	}
	h.log.Close()
}

// --- producer ----------------------------------------------------------------

type producer struct {
	c    config
	a    *app.App
	recv *receiver

	staff     *auth.User
	resources []uuid.UUID
	seq       atomic.Int64

	mu      sync.Mutex
	commits map[uuid.UUID]time.Duration // publish: event id → commit (since recv.start)
	times   []time.Duration             // every commit, in order
	n       atomic.Int64

	errors   atomic.Int64
	firstErr atomic.Value
}

func newProducer(ctx context.Context, c config, a *app.App, recv *receiver) (*producer, error) {
	p := &producer{c: c, a: a, recv: recv, commits: map[uuid.UUID]time.Duration{}}
	if c.produce == "update" {
		staff, err := a.Users.Authenticate(ctx, staffToken)
		if err != nil {
			return nil, fmt.Errorf("staff user: %w", err)
		}
		p.staff = staff
		list, _, err := a.Market.ListResources(ctx, staff, marketplace.ConsumerView,
			marketplace.ResourceFilter{States: []string{marketplace.ResourceOK}}, db.Page{Limit: 100})
		if err != nil {
			return nil, fmt.Errorf("list resources: %w", err)
		}
		for _, r := range list {
			p.resources = append(p.resources, r.UUID)
		}
		if len(p.resources) == 0 {
			return nil, errors.New("the demo data set has no resource in state OK")
		}
	}
	return p, nil
}

func (p *producer) latencyFrom() string {
	if p.c.produce == "publish" {
		return "commit (time.Now after the producer's transaction committed)"
	}
	return "createInstant (the event's time, read inside the transaction; millisecond resolution)"
}

// one produces one event and records its commit.
func (p *producer) one(ctx context.Context, worker int) error {
	n := p.seq.Add(1)
	var id uuid.UUID
	switch p.c.produce {
	case "publish":
		obj := uuid.New()
		err := p.a.DB.InTx(ctx, func(tx *db.Tx) error {
			pub, err := p.a.Events.Publish(ctx, tx, events.Event{
				Type: events.TypeResourceVersionCreate, LinkedObjectID: obj,
				Fields: events.ResourceVersionCreated{
					ObjectType: marketplace.KindResource, ObjectID: obj.String(), VersionID: n,
					ChangedFields: []string{"description"}, Comment: "webhook bench",
					State: map[string]any{"description": fmt.Sprintf("bench %d", n)},
				},
			})
			if err == nil && pub.Webhooks == 0 {
				err = errors.New("no webhook receives the event")
			}
			id = pub.ID
			return err
		})
		if err != nil {
			return err
		}
	case "update":
		desc := fmt.Sprintf("webhook bench %d", n)
		res := p.resources[worker%len(p.resources)]
		if _, err := p.a.Market.UpdateResource(ctx, p.staff, marketplace.ConsumerView, res,
			marketplace.ResourceUpdate{Description: &desc}); err != nil {
			return err
		}
	}
	at := p.recv.since()
	p.mu.Lock()
	if id != uuid.Nil {
		p.commits[id] = at
	}
	p.times = append(p.times, at)
	p.mu.Unlock()
	p.n.Add(1)
	return nil
}

func (p *producer) committed() int { return int(p.n.Load()) }

func (p *producer) committedBetween(from, to time.Duration) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return countBetween(p.times, from, to)
}

type phase struct {
	stopped atomic.Bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// stop lets every producer finish the event it is writing, then returns.
func (ph *phase) stop() {
	ph.stopped.Store(true)
	ph.cancel() // wakes paced producers; never handed to a transaction
	ph.wg.Wait()
}

// start runs the producers: at full speed when rate is 0, else paced to
// rate events/s overall (event i is due at start + i/rate).
func (p *producer) start(ctx context.Context, rate float64) *phase {
	wake, cancel := context.WithCancel(context.Background())
	ph := &phase{cancel: cancel}
	begin := time.Now()
	var next atomic.Int64
	for w := range p.c.producers {
		ph.wg.Go(func() {
			for !ph.stopped.Load() && ctx.Err() == nil {
				if rate > 0 {
					due := begin.Add(time.Duration(float64(next.Add(1)-1) / rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-wake.Done():
							return
						case <-time.After(d):
						}
					}
				}
				if err := p.one(ctx, w); err != nil {
					if p.errors.Add(1) == 1 {
						p.firstErr.Store(err.Error())
					}
				}
			}
		})
	}
	return ph
}

// latencies returns, sorted, commit-to-arrival of the events committed in
// [from, to) that arrived.
func (p *producer) latencies(from, to time.Duration) []time.Duration {
	p.recv.mu.Lock()
	defer p.recv.mu.Unlock()
	var out []time.Duration
	if p.c.produce == "publish" {
		p.mu.Lock()
		for id, at := range p.commits {
			if at < from || at >= to {
				continue
			}
			if a, ok := p.recv.first[id]; ok {
				out = append(out, a.at-at)
			}
		}
		p.mu.Unlock()
	} else {
		startWall := p.recv.start
		for _, a := range p.recv.first {
			created := time.UnixMilli(a.createInstant)
			at := created.Sub(startWall)
			if a.createInstant == 0 || at < from || at >= to {
				continue
			}
			out = append(out, a.wall.Sub(created))
		}
	}
	slices.Sort(out)
	return out
}

// --- CPU and database statistics ---------------------------------------------

// statSampler reads the CPU time of heed serve, of this process and of
// the PostgreSQL backends serving this database, and PostgreSQL's
// transaction and row counters: where the time goes without a profiler in
// heed.
type statSampler struct {
	heedPid int // 0 when heed runs in this process
	d       *db.DB
}

type sample struct {
	at                            time.Time
	heedCPU, selfCPU              time.Duration
	pgCPU                         map[int]time.Duration // backend pid → CPU
	xact, ins, upd, del, returned int64
	tables                        map[string][3]int64
}

func newStatSampler(heedPid int, d *db.DB) *statSampler { return &statSampler{heedPid: heedPid, d: d} }

// clockTick is USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// procCPU reads a process's user and system time from /proc.
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// utime and stime are the 12th and 13th fields after the command name,
	// which is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * clockTick
}

func (s *statSampler) sample(ctx context.Context) sample {
	out := sample{at: time.Now(), selfCPU: procCPU("self")}
	if s.heedPid != 0 {
		out.heedCPU = procCPU(strconv.Itoa(s.heedPid))
	}
	if s.d.Dialect() != db.Postgres {
		return out
	}
	out.pgCPU = map[int]time.Duration{}
	out.tables = map[string][3]int64{}
	err := s.d.ReadTx(ctx, func(c db.Conn) error {
		// Only this database's backends: other databases on the server
		// are someone else's load.
		rows, err := c.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				rows.Close()
				return err
			}
			out.pgCPU[pid] = procCPU(strconv.Itoa(pid))
		}
		rows.Close()
		if err := c.QueryRow(ctx, `SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_returned
			FROM pg_stat_database WHERE datname = current_database()`).Scan(&out.xact, &out.ins, &out.upd, &out.del, &out.returned); err != nil {
			return err
		}
		rows, err = c.Query(ctx, `SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var v [3]int64
			if err := rows.Scan(&name, &v[0], &v[1], &v[2]); err != nil {
				return err
			}
			out.tables[name] = v
		}
		return rows.Err()
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhooks bench: PostgreSQL statistics:", err)
	}
	return out
}

// pgCPUDelta sums the CPU the backends present in both samples used.
func pgCPUDelta(a, b sample) time.Duration {
	var d time.Duration
	for pid, x := range a.pgCPU {
		if y, ok := b.pgCPU[pid]; ok && y >= x {
			d += y - x
		}
	}
	return d
}

// report prints CPU use over the window and, on PostgreSQL, what the
// database did per delivery.
func (s *statSampler) report(prefix string, a, b sample, deliveries int) {
	wall := b.at.Sub(a.at).Seconds()
	pcts := func(d time.Duration) float64 { return 100 * d.Seconds() / wall }
	perMs := func(d time.Duration) float64 { return ms(d) / float64(max(deliveries, 1)) }
	if s.heedPid != 0 {
		out(prefix+"_cpu_heed_serve_pct", "%.0f", pcts(b.heedCPU-a.heedCPU))
		out(prefix+"_cpu_producer_and_receiver_pct", "%.0f", pcts(b.selfCPU-a.selfCPU))
		out(prefix+"_heed_serve_cpu_ms_per_delivery", "%.3f", perMs(b.heedCPU-a.heedCPU))
		out(prefix+"_producer_and_receiver_cpu_ms_per_delivery", "%.3f", perMs(b.selfCPU-a.selfCPU))
	} else {
		out(prefix+"_cpu_process_pct", "%.0f (producer, workers and receiver)", pcts(b.selfCPU-a.selfCPU))
		out(prefix+"_process_cpu_ms_per_delivery", "%.3f", perMs(b.selfCPU-a.selfCPU))
	}
	if s.d.Dialect() != db.Postgres {
		return
	}
	pg := pgCPUDelta(a, b)
	out(prefix+"_cpu_postgres_backends_pct", "%.0f", pcts(pg))
	out(prefix+"_postgres_cpu_ms_per_delivery", "%.3f", perMs(pg))
	per := func(x, y int64) float64 { return float64(y-x) / float64(max(deliveries, 1)) }
	out(prefix+"_pg_transactions_per_delivery", "%.2f (the producer's included)", per(a.xact, b.xact))
	out(prefix+"_pg_rows_per_delivery", "inserted %.2f, updated %.2f, deleted %.2f, returned %.1f",
		per(a.ins, b.ins), per(a.upd, b.upd), per(a.del, b.del), per(a.returned, b.returned))
	var names []string
	for n := range b.tables {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		x, y := a.tables[n], b.tables[n]
		ins, upd, del := per(x[0], y[0]), per(x[1], y[1]), per(x[2], y[2])
		if ins+upd+del < 0.05 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s +%.2f ~%.2f -%.2f", n, ins, upd, del))
	}
	out(prefix+"_pg_table_rows_per_delivery", "%s", strings.Join(parts, "; "))
}
