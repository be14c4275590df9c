package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/marketplace"
)

// These tests SIGKILL real `heed serve` processes (the test binary
// re-executed as heed) on a copy of the demo data set, restart them, and
// read the database afterwards.

const (
	// crashRunsEnv sets how many times TestCrashUnderWriteLoad kills heed
	// per database: a few in CI, HEED_TEST_CRASH_RUNS=50 for a longer run.
	crashRunsEnv     = "HEED_TEST_CRASH_RUNS"
	defaultCrashRuns = 3
	// holdOrdersEnv makes the re-executed heed hold every basic order in
	// its processor until the job's context ends, so that a test can kill
	// it with the order's job certainly running.
	holdOrdersEnv = "HEED_TEST_HOLD_ORDERS"
	// processOrderKind is marketplace.ProcessOrderArgs' job kind.
	processOrderKind = "marketplace_process_order"
	// carolToken is the demo project member's: her orders wait for alice.
	carolToken = "demo-carol-token"
)

// holdOrders is the configureApp hook installed when holdOrdersEnv is set.
func holdOrders(a *app.App) {
	a.Market.RegisterProcessor(marketplace.OfferingTypeBasic, marketplace.ProcessorFunc(func(ctx context.Context, o *marketplace.Order) error {
		slog.Default().Info("test: holding order", "order", strings.ReplaceAll(o.UUID.String(), "-", ""))
		<-ctx.Done()
		return ctx.Err()
	}))
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *heedProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL %s: %v", p.name, err)
	}
	<-p.exited
}

// recoveryBound reads the bound the process announced for rescuing jobs a
// dead process left running (jobs.Runner.RecoveryBound).
func (p *heedProcess) recoveryBound(t *testing.T) time.Duration {
	t.Helper()
	rec := p.logged("job workers starting")
	if rec == nil {
		t.Fatalf("%s did not log its job recovery bound", p.name)
	}
	ns, ok := rec["recovery_bound"].(float64)
	if !ok || ns <= 0 {
		t.Fatalf("%s logged recovery_bound %v", p.name, rec["recovery_bound"])
	}
	return time.Duration(ns)
}

// heedAPI is a small client for one heed process.
type heedAPI struct {
	base   string
	client *http.Client
}

// call sends a JSON request and decodes a JSON object answer into out. It
// returns the status, or an error when no complete answer arrived.
func (c heedAPI) call(ctx context.Context, method, path, token string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Token "+token)
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("%s %s: decode %q: %w", method, path, b, err)
		}
	}
	return resp.StatusCode, nil
}

type orderJSON struct {
	UUID         string  `json:"uuid"`
	State        string  `json:"state"`
	ProjectUUID  string  `json:"project_uuid"`
	OfferingUUID string  `json:"offering_uuid"`
	PlanUUID     *string `json:"plan_uuid"`
	ResourceUUID *string `json:"marketplace_resource_uuid"`
	ResourceName string  `json:"resource_name"`
}

func (c heedAPI) pendingOrders(t *testing.T) []orderJSON {
	t.Helper()
	var out []orderJSON
	if status, err := c.callList("/api/marketplace-orders/?state=pending-consumer", apptest.Alice, &out); err != nil || status != http.StatusOK {
		t.Fatalf("list pending orders: %d %v", status, err)
	}
	if len(out) == 0 {
		t.Fatal("the demo data set has no pending order")
	}
	return out
}

func hex32(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "") }

// dbOrder is an order as the database holds it.
type dbOrder struct {
	id               int64
	uuid, state, typ string
	resourceID       *int64
}

func readOrders(t *testing.T, d *db.DB) map[string]dbOrder {
	t.Helper()
	ctx := context.Background()
	out := map[string]dbOrder{}
	err := d.ReadTx(ctx, func(c db.Conn) error {
		rows, err := c.Query(ctx, "SELECT id, CAST(uuid AS TEXT), state, type, resource_id FROM orders")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var o dbOrder
			if err := rows.Scan(&o.id, &o.uuid, &o.state, &o.typ, &o.resourceID); err != nil {
				return err
			}
			o.uuid = hex32(o.uuid)
			out[o.uuid] = o
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("read orders: %v", err)
	}
	return out
}

// resourceVersions reads every resource version: the descriptions stored
// per resource, and how many versions each comment has.
func resourceVersions(t *testing.T, d *db.DB) (descriptions map[string]map[string]bool, comments map[string]int) {
	t.Helper()
	ctx := context.Background()
	descriptions, comments = map[string]map[string]bool{}, map[string]int{}
	err := d.ReadTx(ctx, func(c db.Conn) error {
		rows, err := c.Query(ctx, "SELECT CAST(object_uuid AS TEXT), comment, CAST(data AS TEXT) FROM versions WHERE entity_type = ?",
			marketplace.KindResource)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, comment, data string
			if err := rows.Scan(&id, &comment, &data); err != nil {
				return err
			}
			var snap struct {
				Description string `json:"description"`
			}
			if err := json.Unmarshal([]byte(data), &snap); err != nil {
				return fmt.Errorf("version data %q: %w", data, err)
			}
			id = hex32(id)
			if descriptions[id] == nil {
				descriptions[id] = map[string]bool{}
			}
			descriptions[id][snap.Description] = true
			comments[comment]++
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("read versions: %v", err)
	}
	return descriptions, comments
}

func countRows(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.ReadTx(context.Background(), func(c db.Conn) error {
		return c.QueryRow(context.Background(), q, args...).Scan(&n)
	}); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// runningJobs lists the process-order jobs marked running.
func runningJobs(t *testing.T, d *db.DB) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	if err := d.ReadTx(ctx, func(c db.Conn) error {
		rows, err := c.Query(ctx, "SELECT id FROM river_job WHERE kind = ? AND state = ?", processOrderKind, "running")
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
	}); err != nil {
		t.Fatalf("read running jobs: %v", err)
	}
	return ids
}

// riverExec is River's own driver executor for d, to read jobs as River
// sees them on either database.
func riverExec(d *db.DB) riverdriver.Executor {
	if d.Dialect() == db.Postgres {
		return riverpgxv5.New(d.Pool()).GetExecutor()
	}
	return riversqlite.New(d.RiverSQL()).GetExecutor()
}

// orderJobErrors returns the recorded errors of every process-order job
// for the order with database id orderID.
func orderJobErrors(t *testing.T, d *db.DB, orderID int64) (jobs int, errs []string) {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	if err := d.ReadTx(ctx, func(c db.Conn) error {
		rows, err := c.Query(ctx, "SELECT id FROM river_job WHERE kind = ?", processOrderKind)
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
	}); err != nil {
		t.Fatalf("read jobs: %v", err)
	}
	for _, id := range ids {
		j, err := riverExec(d).JobGetByID(ctx, &riverdriver.JobGetByIDParams{ID: id})
		if err != nil {
			t.Fatalf("job %d: %v", id, err)
		}
		var args marketplace.ProcessOrderArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatalf("job %d args: %v", id, err)
		}
		if args.OrderID != orderID {
			continue
		}
		jobs++
		for _, e := range j.Errors {
			errs = append(errs, e.Error)
		}
	}
	return jobs, errs
}

// TestOrderJobLeftRunningIsRescued kills heed while an approved order's job
// is certainly running (its processor holds it), restarts heed, and checks
// that the order ends done exactly once within the announced bound: at
// start-up on SQLite, by River's rescuer (derived from the job timeouts) on
// PostgreSQL.
func TestOrderJobLeftRunningIsRescued(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		apptest.SeedDemo(t, url)
		args := []string{"serve", "--database-url", url, "--addr", "127.0.0.1:0", "--log-format", "json", "--pg-max-conns", "8", "--drain-grace", "100ms"}
		first := startHeed(t, "heed-held", map[string]string{holdOrdersEnv: "1"}, args...)
		c := heedAPI{base: "http://" + first.addr(t), client: httpClient}

		approved := c.pendingOrders(t)[0]
		status, err := c.call(ctx, http.MethodPost, "/api/marketplace-orders/"+approved.UUID+"/approve_by_consumer/", apptest.Alice, struct{}{}, nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("approve: %d %v; want 200", status, err)
		}
		apptest.Eventually(t, startTimeout, "the order's job to be held in its processor", func() bool {
			first.mustBeAlive(t)
			for _, rec := range first.logRecords() {
				if rec["msg"] == "test: holding order" && rec["order"] == approved.UUID {
					return true
				}
			}
			return false
		})
		d := openTestDB(t, url)
		order := readOrders(t, d)[approved.UUID]
		// The demo's own order jobs (no-ops: their orders are done) may
		// still await River's batched completion; then only ours runs.
		apptest.Eventually(t, startTimeout, "the held job to be the only process-order job running", func() bool {
			return countRows(t, d, "SELECT COUNT(*) FROM river_job WHERE kind = ? AND state = ?", processOrderKind, "running") == 1
		})
		first.kill(t)
		killedAt := time.Now()
		if o := readOrders(t, d)[approved.UUID]; o.state != marketplace.OrderExecuting {
			t.Fatalf("order after the kill: %s, want executing (the held job never committed)", o.state)
		}

		second := startHeed(t, "heed-restarted", nil, args...)
		second.addr(t)
		bound := second.recoveryBound(t)
		var doneAfter time.Duration
		apptest.Eventually(t, time.Until(killedAt.Add(bound)), fmt.Sprintf("the order to be done within %s of the kill", bound), func() bool {
			second.mustBeAlive(t)
			if readOrders(t, d)[approved.UUID].state == marketplace.OrderDone {
				doneAfter = time.Since(killedAt)
				return true
			}
			return false
		})
		t.Logf("%s: order left executing by a killed heed done %s after the kill (bound %s)", d.Dialect(), doneAfter.Round(time.Millisecond), bound)

		_, comments := resourceVersions(t, d)
		if n := comments["State changed to OK by order "+approved.UUID]; n != 1 {
			t.Fatalf("the order completed %d times (versions saying so), want exactly once", n)
		}
		if n := countRows(t, d, "SELECT COUNT(*) FROM resources WHERE id = ? AND state = ?", *order.resourceID, marketplace.ResourceOK); n != 1 {
			t.Fatal("the order's resource is not OK")
		}
		if n := countRows(t, d, "SELECT COUNT(*) FROM resources WHERE name = ?", approved.ResourceName); n != 1 {
			t.Fatalf("%d resources named %q, want 1", n, approved.ResourceName)
		}
		// One job, rescued once, by the mechanism each database relies on.
		jobs, errs := orderJobErrors(t, d, order.id)
		want := "Stuck job rescued by JobRescuer"
		if d.Dialect() == db.SQLite {
			want = "rescued at start-up"
		}
		if jobs != 1 || len(errs) != 1 || !strings.Contains(errs[0], want) {
			t.Fatalf("%d jobs for the order with errors %q; want one job rescued once (%q)", jobs, errs, want)
		}
		second.terminate(t)
		second.wantGracefulExit(t)
	})
}

// crashLoad drives one heed with resource PATCHes and order approvals and
// records what heed acknowledged.
type crashLoad struct {
	resources []string // demo resources alice PATCHes
	project   string
	offering  string
	plan      string

	mu         sync.Mutex
	writesAck  map[string][]string // resource → acknowledged descriptions
	writes     int                 // acknowledged PATCHes
	ordersAck  map[string]string   // approved order → its resource name
	failed     int                 // requests with no complete answer
	unexpected []string            // complete answers that were not success
}

func (l *crashLoad) patcher(ctx context.Context, c heedAPI, run, worker int) {
	for seq := 0; ctx.Err() == nil; seq++ {
		res := l.resources[(worker+seq)%len(l.resources)]
		desc := fmt.Sprintf("crash run %d writer %d write %d", run, worker, seq)
		var out struct {
			Description string `json:"description"`
		}
		status, err := c.call(ctx, http.MethodPatch, "/api/marketplace-resources/"+res+"/", apptest.Alice,
			map[string]string{"description": desc}, &out)
		l.mu.Lock()
		switch {
		case err != nil:
			l.failed++
		case status != http.StatusOK || out.Description != desc:
			l.unexpected = append(l.unexpected, fmt.Sprintf("PATCH %s: %d %q", res, status, out.Description))
		default:
			l.writesAck[res] = append(l.writesAck[res], desc)
			l.writes++
		}
		l.mu.Unlock()
	}
}

func (l *crashLoad) orderer(ctx context.Context, c heedAPI, run int) {
	for seq := 0; ctx.Err() == nil; seq++ {
		name := fmt.Sprintf("crash-%d-%d", run, seq)
		var created orderJSON
		status, err := c.call(ctx, http.MethodPost, "/api/marketplace-orders/", carolToken, map[string]any{
			"project": l.project, "offering": l.offering, "plan": l.plan, "attributes": map[string]any{"name": name},
		}, &created)
		if err == nil && status == http.StatusCreated {
			// Waldur answers an approval with {"detail"}; 200 is the
			// acknowledgement that the order is executing.
			status, err = c.call(ctx, http.MethodPost, "/api/marketplace-orders/"+created.UUID+"/approve_by_consumer/", apptest.Alice,
				struct{}{}, nil)
		}
		l.mu.Lock()
		switch {
		case err != nil:
			l.failed++
		case status != http.StatusOK && status != http.StatusCreated:
			l.unexpected = append(l.unexpected, fmt.Sprintf("order %s: %d", name, status))
		default:
			l.ordersAck[created.UUID] = name
		}
		l.mu.Unlock()
	}
}

// acked counts the acknowledged writes and approvals so far.
func (l *crashLoad) acked() (writes, orders int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes, len(l.ordersAck)
}

// run drives c until ctx ends and waits for every request to return.
func (l *crashLoad) run(ctx context.Context, c heedAPI, run int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() { l.patcher(ctx, c, run, w) })
	}
	wg.Go(func() { l.orderer(ctx, c, run) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// TestCrashUnderWriteLoad kills heed at random points under resource
// PATCHes and order approvals, restarts it each time, and checks that every
// acknowledged write is stored with its history version, that every
// approved order reaches done within the rescue bound exactly once, and
// that no resource was created twice.
func TestCrashUnderWriteLoad(t *testing.T) {
	t.Parallel()
	runs := defaultCrashRuns
	if v := os.Getenv(crashRunsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number of kills", crashRunsEnv, v)
		}
		runs = n
	}
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		apptest.SeedDemo(t, url)
		d := openTestDB(t, url)
		args := []string{"serve", "--database-url", url, "--addr", "127.0.0.1:0", "--log-format", "json", "--pg-max-conns", "8", "--drain-grace", "100ms"}
		client := &http.Client{Timeout: 30 * time.Second}

		l := &crashLoad{writesAck: map[string][]string{}, ordersAck: map[string]string{}}
		// Distinct jobs found running, and orders found executing, right
		// after a kill: what the restarts had to recover.
		jobsLeftRunning, ordersLeftExecuting := map[int64]bool{}, map[string]bool{}
		var lastKill time.Time
		for run := 1; run <= runs; run++ {
			p := startHeed(t, fmt.Sprintf("heed-run-%d", run), nil, args...)
			c := heedAPI{base: "http://" + p.addr(t), client: client}
			if run == 1 {
				pending := c.pendingOrders(t)[0]
				l.project, l.offering, l.plan = pending.ProjectUUID, pending.OfferingUUID, *pending.PlanUUID
				var list []struct {
					UUID string `json:"uuid"`
				}
				if status, err := c.callList("/api/marketplace-resources/?state=OK", apptest.Alice, &list); err != nil || status != http.StatusOK || len(list) == 0 {
					t.Fatalf("list resources: %d %v, %d resources", status, err, len(list))
				}
				for _, r := range list {
					l.resources = append(l.resources, r.UUID)
				}
			}
			writesBefore, ordersBefore := l.acked()
			stopLoad := l.run(context.Background(), c, run)
			// A random point of the load, once this run has had a write and
			// an approval acknowledged (a slow start, under -race, must not
			// leave a run without load).
			apptest.Eventually(t, startTimeout, "the load to be acknowledged", func() bool {
				p.mustBeAlive(t)
				w, o := l.acked()
				return w > writesBefore && o > ordersBefore
			})
			kill := time.NewTimer(time.Duration(rand.IntN(1000)) * time.Millisecond)
			select {
			case <-kill.C:
			case <-p.exited:
				t.Fatalf("%s exited under load: %v", p.name, p.err)
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatalf("SIGKILL %s: %v", p.name, err)
			}
			lastKill = time.Now()
			stopLoad() // requests still in flight get no answer either way
			<-p.exited
			for _, id := range runningJobs(t, d) {
				jobsLeftRunning[id] = true
			}
			for id, o := range readOrders(t, d) {
				if o.state == marketplace.OrderExecuting {
					ordersLeftExecuting[id] = true
				}
			}
		}

		final := startHeed(t, "heed-final", nil, args...)
		final.addr(t)
		bound := final.recoveryBound(t)
		// Polled (another process writes it) until done or past the bound;
		// the figures are reported either way, then checked.
		var executing int
		poll := time.NewTicker(20 * time.Millisecond)
		defer poll.Stop()
		for deadline := lastKill.Add(bound); ; <-poll.C {
			final.mustBeAlive(t)
			executing = countRows(t, d, "SELECT COUNT(*) FROM orders WHERE state = ?", marketplace.OrderExecuting)
			if executing == 0 || time.Now().After(deadline) {
				break
			}
		}
		recovered := time.Since(lastKill)

		orders := readOrders(t, d)
		descriptions, comments := resourceVersions(t, d)
		l.mu.Lock()
		defer l.mu.Unlock()
		var found, missing int
		for res, descs := range l.writesAck {
			for _, desc := range descs {
				if descriptions[res][desc] {
					found++
				} else {
					missing++
				}
			}
		}
		var done, stuck, completedTwice int
		for id := range l.ordersAck {
			switch orders[id].state {
			case marketplace.OrderDone:
				done++
			default:
				stuck++
			}
			if comments["State changed to OK by order "+id] > 1 {
				completedTwice++
			}
		}
		duplicates := countRows(t, d, `SELECT COUNT(*) FROM (SELECT name FROM resources GROUP BY name HAVING COUNT(*) > 1) dup`)
		sharedResources := countRows(t, d, `SELECT COUNT(*) FROM (SELECT resource_id FROM orders WHERE type = 'Create'
			GROUP BY resource_id HAVING COUNT(*) > 1) dup`)
		orphanResources := countRows(t, d, `SELECT COUNT(*) FROM resources r WHERE NOT EXISTS (
			SELECT 1 FROM orders o WHERE o.resource_id = r.id AND o.type = 'Create')`)
		t.Logf("%s: %d runs killed at random points; writes acknowledged %d, found with their version %d, missing %d; "+
			"orders approved %d, done %d, stuck %d, completed twice %d; the kills left %d process-order jobs running and "+
			"%d orders executing; all orders done %s after the last kill (bound %s); %d requests unanswered around the kills; "+
			"duplicate resources %d", d.Dialect(), runs, l.writes, found, missing, len(l.ordersAck), done, stuck, completedTwice,
			len(jobsLeftRunning), len(ordersLeftExecuting), recovered.Round(time.Millisecond), bound, l.failed, duplicates+sharedResources+orphanResources)

		if len(l.unexpected) > 0 {
			t.Errorf("answers that were neither success nor a cut connection: %q", l.unexpected)
		}
		if l.writes == 0 || len(l.ordersAck) == 0 {
			t.Errorf("the load got %d writes and %d approvals acknowledged; want some of each", l.writes, len(l.ordersAck))
		}
		if missing > 0 {
			t.Errorf("%d acknowledged writes have no history version with their value", missing)
		}
		if executing > 0 || stuck > 0 {
			t.Errorf("%d orders still executing (%d of them acknowledged as approved) %s after the last kill; bound %s",
				executing, stuck, recovered.Round(time.Millisecond), bound)
		}
		if completedTwice > 0 {
			t.Errorf("%d orders completed more than once", completedTwice)
		}
		if duplicates+sharedResources+orphanResources > 0 {
			t.Errorf("resources: %d names used twice, %d shared by two create orders, %d without a create order",
				duplicates, sharedResources, orphanResources)
		}
		final.terminate(t)
		final.wantGracefulExit(t)
	})
}
