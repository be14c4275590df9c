package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/apptest"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
)

// These tests run real `heed serve` processes: the test binary re-executed
// with HEED_TEST_MAIN=1, which makes TestMain call main().

const (
	startTimeout = 60 * time.Second // start-up includes migrations, under -race
	stopTimeout  = 30 * time.Second
)

// heedProcess is a running `heed serve`.
type heedProcess struct {
	name   string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{} // closed once the process has exited
	err    error         // from Wait; read only after exited is closed
}

// startHeed starts the test binary as heed with args and, on top of the
// parent's environment minus every HEED_* variable, env.
func startHeed(t *testing.T, name string, env map[string]string, args ...string) *heedProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEED_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, mainEnv+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &heedProcess{name: name, cmd: cmd, logs: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout = p.logs
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.alive() {
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.logs)
		}
	})
	return p
}

func (p *heedProcess) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// mustBeAlive fails the test if the process has exited.
func (p *heedProcess) mustBeAlive(t *testing.T) {
	t.Helper()
	if !p.alive() {
		t.Fatalf("%s exited early (%v); output:\n%s", p.name, p.err, p.logs)
	}
}

// logRecords decodes the JSON log lines written so far; other lines (a race
// report, a panic) are skipped here and shown in the output on failure.
func (p *heedProcess) logRecords() []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.logs.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

func (p *heedProcess) logged(msg string) map[string]any {
	for _, rec := range p.logRecords() {
		if rec["msg"] == msg {
			return rec
		}
	}
	return nil
}

// addr waits for the "listening" log line and returns the address in it.
func (p *heedProcess) addr(t *testing.T) string {
	t.Helper()
	var addr string
	apptest.Eventually(t, startTimeout, p.name+" to listen", func() bool {
		p.mustBeAlive(t)
		if rec := p.logged("listening"); rec != nil {
			addr, _ = rec["addr"].(string)
			return true
		}
		return false
	})
	if addr == "" {
		t.Fatalf("%s logged listening without an address", p.name)
	}
	return addr
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// healthy checks that the process answers /healthz.
func (p *heedProcess) healthy(t *testing.T, addr string) {
	t.Helper()
	resp, err := httpClient.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("%s /healthz: %v", p.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("%s /healthz: %d %s", p.name, resp.StatusCode, body)
	}
}

// terminate sends SIGTERM without waiting.
func (p *heedProcess) terminate(t *testing.T) {
	t.Helper()
	p.mustBeAlive(t)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
}

// wantGracefulExit waits for the process to exit after terminate and checks
// that it drained and exited 0.
func (p *heedProcess) wantGracefulExit(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		t.Fatalf("%s still running %s after SIGTERM", p.name, stopTimeout)
	}
	if p.err != nil {
		t.Fatalf("%s exited with %v after SIGTERM, want status 0", p.name, p.err)
	}
	for _, msg := range []string{"shutting down", "stopped"} {
		if p.logged(msg) == nil {
			t.Fatalf("%s did not log %q", p.name, msg)
		}
	}
}

// tickStats summarises token_cleanup jobs in river_job.
type tickStats struct {
	completedTicks int      // distinct scheduled_at among completed jobs
	duplicates     []string // scheduled_at values with more than one job
	failed         int      // jobs in a failure state
}

func readTicks(t *testing.T, d *db.DB) tickStats {
	t.Helper()
	ctx := context.Background()
	var s tickStats
	err := d.ReadTx(ctx, func(c db.Conn) error {
		if err := c.QueryRow(ctx, `SELECT COUNT(DISTINCT scheduled_at) FROM river_job
			WHERE kind = 'token_cleanup' AND state = 'completed'`).Scan(&s.completedTicks); err != nil {
			return err
		}
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM river_job
			WHERE kind = 'token_cleanup' AND state IN ('retryable', 'discarded', 'cancelled')`).Scan(&s.failed); err != nil {
			return err
		}
		rows, err := c.Query(ctx, `SELECT scheduled_at, COUNT(*) FROM river_job WHERE kind = 'token_cleanup'
			GROUP BY scheduled_at HAVING COUNT(*) > 1 ORDER BY scheduled_at`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				at string
				n  int
			)
			if err := rows.Scan(&at, &n); err != nil {
				return err
			}
			s.duplicates = append(s.duplicates, fmt.Sprintf("%s ×%d", at, n))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("read river_job: %v", err)
	}
	return s
}

// waitForTicks waits until token_cleanup has completed for at least n
// distinct ticks, failing at once if any process exits.
func waitForTicks(t *testing.T, d *db.DB, n int, procs ...*heedProcess) tickStats {
	t.Helper()
	var s tickStats
	apptest.Eventually(t, 90*time.Second, fmt.Sprintf("token_cleanup to complete for %d ticks", n), func() bool {
		for _, p := range procs {
			p.mustBeAlive(t)
		}
		s = readTicks(t, d)
		return s.completedTicks >= n
	})
	return s
}

func wantOncePerTick(t *testing.T, s tickStats) {
	t.Helper()
	if len(s.duplicates) > 0 {
		t.Fatalf("ticks with more than one token_cleanup job: %v", s.duplicates)
	}
	if s.failed > 0 {
		t.Fatalf("%d token_cleanup jobs failed", s.failed)
	}
}

// TestPeriodicJobOncePerTickAcrossTwoServers is the multi-replica promise:
// two `heed serve` processes on one PostgreSQL, a job scheduled every
// second, and each tick enqueued exactly once (by the elected leader).
func TestPeriodicJobOncePerTickAcrossTwoServers(t *testing.T) {
	t.Parallel()
	if os.Getenv(dbtest.PostgresEnv) == "" {
		t.Skip(dbtest.PostgresEnv + " is not set; several replicas need PostgreSQL")
	}
	url := dbtest.NewURL(t, db.Postgres)
	// Migrate first: concurrent first-time migrations on PostgreSQL are not
	// serialised (goose runs without a session locker and rivermigrate takes
	// no lock), and one of two replicas started together on a fresh database
	// can fail with a duplicate-key error. Both servers still run the (then
	// empty) migration step at start, together.
	heed(t, nil, "migrate", "--database-url", url).want(t, 0)
	args := []string{"serve", "--database-url", url, "--addr", "127.0.0.1:0", "--schedule", "token_cleanup=* * * * * *",
		"--log-format", "json", "--pg-max-conns", "8"}
	procs := []*heedProcess{startHeed(t, "heed-1", nil, args...), startHeed(t, "heed-2", nil, args...)}
	for _, p := range procs {
		p.healthy(t, p.addr(t))
	}
	d := openTestDB(t, url)

	const ticks = 5
	s := waitForTicks(t, d, ticks, procs...)
	wantOncePerTick(t, s)
	for _, p := range procs {
		p.mustBeAlive(t)
		p.healthy(t, p.addr(t))
	}
	var workers []string
	if err := d.ReadTx(context.Background(), func(c db.Conn) error {
		rows, err := c.Query(context.Background(), `SELECT DISTINCT unnest(attempted_by) FROM river_job WHERE kind = 'token_cleanup'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var w string
			if err := rows.Scan(&w); err != nil {
				return err
			}
			workers = append(workers, w)
		}
		return rows.Err()
	}); err != nil {
		t.Fatalf("read attempted_by: %v", err)
	}
	t.Logf("%d ticks, worked by %d client(s): %v", s.completedTicks, len(workers), workers)

	for _, p := range procs {
		p.terminate(t)
	}
	for _, p := range procs {
		p.wantGracefulExit(t)
	}
	// Jobs enqueued during shutdown count too.
	wantOncePerTick(t, readTicks(t, d))
}

// TestPeriodicJobRepeatsOnSQLite is the single-process default: the same
// schedule, set through the environment this time, on a SQLite file.
func TestPeriodicJobRepeatsOnSQLite(t *testing.T) {
	t.Parallel()
	url := filepath.Join(t.TempDir(), "heed.db")
	p := startHeed(t, "heed", map[string]string{
		"HEED_DATABASE_URL":           url,
		"HEED_SCHEDULE_TOKEN_CLEANUP": "* * * * * *",
		"HEED_LOG_FORMAT":             "json",
	}, "serve", "--addr", "127.0.0.1:0")
	p.healthy(t, p.addr(t))
	d := openTestDB(t, url)

	wantOncePerTick(t, waitForTicks(t, d, 3, p))
	p.terminate(t)
	p.wantGracefulExit(t)
	wantOncePerTick(t, readTicks(t, d))
}

// TestServeStopsGracefullyOnSIGTERM: a serving heed exits 0 on SIGTERM after
// draining, and stops listening.
func TestServeStopsGracefullyOnSIGTERM(t *testing.T) {
	t.Parallel()
	url := filepath.Join(t.TempDir(), "heed.db")
	p := startHeed(t, "heed", nil, "serve", "--database-url", url, "--addr", "127.0.0.1:0", "--log-format", "json")
	addr := p.addr(t)
	p.healthy(t, addr)

	p.terminate(t)
	p.wantGracefulExit(t)
	resp, err := httpClient.Get("http://" + addr + "/healthz")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("/healthz answered %d after heed stopped", resp.StatusCode)
	}
}
