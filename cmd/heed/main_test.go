package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
	"github.com/heed-dev/heed/internal/db/dbtest"
	"github.com/heed-dev/heed/internal/errs"
)

// mainEnv makes the test binary behave as heed itself: periodic_test.go
// re-executes os.Args[0] with it to run real `heed serve` processes.
const mainEnv = "HEED_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		if os.Getenv(holdOrdersEnv) == "1" {
			configureApp = holdOrders
		}
		main() // exits with heed's status
		return
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (serve installs
// its logger as slog's default, which other goroutines may use).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

// heed runs the CLI in-process with env as its whole environment.
func heed(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return heedInput(t, env, "", args...)
}

// heedInput is heed with stdinText on standard input.
func heedInput(t *testing.T, env map[string]string, stdinText string, args ...string) result {
	t.Helper()
	// Generous: the demo data set takes tens of seconds under -race on a
	// busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	if len(args) > 0 && args[0] == "serve" {
		// Every serve run here should fail before listening; if one starts
		// serving instead, stop it at once so it returns 0 and the test
		// fails on the exit code.
		done := make(chan struct{})
		defer close(done)
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if strings.Contains(stderr.String(), "msg=listening") {
						cancel()
						return
					}
				}
			}
		}()
	}
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	code := run(ctx, args, strings.NewReader(stdinText), &stdout, &stderr, func(k string) string { return env[k] }, environ)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("heed %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d; stderr: %s", r.code, code, r.stderr)
	}
	return r
}

func openTestDB(t *testing.T, url string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Config{URL: url, PostgresMaxConns: 4})
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version", "-v"} {
		r := heed(t, nil, arg).want(t, 0)
		if r.stdout != "heed "+version+"\n" || r.stderr != "" {
			t.Errorf("heed %s: stdout %q stderr %q, want %q", arg, r.stdout, r.stderr, "heed "+version+"\n")
		}
	}
	r := heed(t, nil).want(t, 2)
	if !strings.Contains(r.stderr, "Usage:") || r.stdout != "" {
		t.Errorf("no arguments: stdout %q stderr %q, want the usage on stderr", r.stdout, r.stderr)
	}
	r = heed(t, nil, "help").want(t, 0)
	if !strings.Contains(r.stdout, "heed token create --user NAME") {
		t.Errorf("help: stdout %q, want the usage", r.stdout)
	}
	r = heed(t, nil, "migrate", "-h").want(t, 0)
	if !strings.Contains(r.stderr, "-database-url") {
		t.Errorf("migrate -h: stderr %q, want the flags", r.stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	r := heed(t, nil, "frobnicate", "--database-url", filepath.Join(t.TempDir(), "heed.db")).want(t, 2)
	if !strings.Contains(r.stderr, `unknown command "frobnicate"`) || !strings.Contains(r.stderr, "Usage:") {
		t.Errorf("stderr %q, want the unknown command named and the usage", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		for i := 0; i < 2; i++ { // the second run finds nothing to do
			r := heed(t, nil, "migrate", "--database-url", url).want(t, 0)
			if !strings.Contains(r.stderr, "migrations current") {
				t.Errorf("run %d: stderr %q, want %q", i+1, r.stderr, "migrations current")
			}
		}
		current, err := openTestDB(t, url).MigrationsCurrent(context.Background())
		if err != nil || !current {
			t.Fatalf("MigrationsCurrent after heed migrate = %v, %v; want true", current, err)
		}
	})
}

var tokenLine = regexp.MustCompile(`\A[0-9a-f]{40}\n\z`)

func TestDemoThenTokenCreate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		heed(t, nil, "demo", "--database-url", url).want(t, 0)

		first := heed(t, nil, "token", "create", "--user", "alice", "--database-url", url).want(t, 0)
		second := heed(t, nil, "token", "create", "--database-url", url, "--user", "alice", "--description", "ci").want(t, 0)
		for _, r := range []result{first, second} {
			if !tokenLine.MatchString(r.stdout) {
				t.Fatalf("token create printed %q, want 40 hex characters and a newline", r.stdout)
			}
		}
		if first.stdout == second.stdout {
			t.Fatalf("two token create runs printed the same token %q", first.stdout)
		}
		svc := &auth.Service{DB: openTestDB(t, url)}
		for _, tok := range []string{first.stdout, second.stdout, "demo-alice-token"} {
			u, err := svc.Authenticate(ctx, strings.TrimSpace(tok))
			if err != nil {
				t.Fatalf("Authenticate(%q): %v", tok, err)
			}
			if u.Username != "alice" {
				t.Fatalf("token %q belongs to %q, want alice", tok, u.Username)
			}
		}

		r := heed(t, nil, "token", "create", "--user", "nobody", "--database-url", url).want(t, 1)
		if r.stdout != "" || !strings.Contains(r.stderr, `"nobody"`) {
			t.Fatalf("token create --user nobody: stdout %q stderr %q, want no token and the user named", r.stdout, r.stderr)
		}
	})
}

func TestTokenUsageErrors(t *testing.T) {
	t.Parallel()
	url := filepath.Join(t.TempDir(), "heed.db")
	for _, args := range [][]string{
		{"token"},
		{"token", "delete", "--user", "alice"},
		{"token", "create", "--database-url", url},
		{"token", "create", "--database-url", url, "--user", "alice", "extra"},
		{"token", "create", "--database-url", url, "--no-such-flag"},
	} {
		r := heed(t, nil, args...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("heed %s: exit %d stdout %q, want 2 and no output", strings.Join(args, " "), r.code, r.stdout)
		}
	}
	if _, err := os.Stat(url); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a usage error touched the database: stat %s: %v", url, err)
	}
}

// TestCommandsNeverCreateADatabase: only serve, migrate and demo create a
// database. Pointed at a missing one, token create says so, exits 1 and
// leaves nothing behind; on an unmigrated one it refuses to migrate.
func TestCommandsNeverCreateADatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "heed.db")
	fromEnv := filepath.Join(dir, "from-env.db")
	for _, c := range []struct {
		env  map[string]string
		args []string
		path string
	}{
		{nil, []string{"token", "create", "--user", "alice", "--database-url", missing}, missing},
		{nil, []string{"token", "create", "--user", "alice", "--database-url", "file:" + missing + "?_pragma=foreign_keys(1)"}, missing},
		{map[string]string{"HEED_DATABASE_URL": fromEnv}, []string{"token", "create", "--user", "alice"}, fromEnv},
	} {
		r := heed(t, c.env, c.args...).want(t, 1)
		if r.stdout != "" || !strings.Contains(r.stderr, "no database at "+c.path) || !strings.Contains(r.stderr, "heed migrate") {
			t.Errorf("heed %s: stdout %q stderr %q; want no token, the missing file named and how to create one",
				strings.Join(c.args, " "), r.stdout, r.stderr)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("token create left %s behind", e.Name())
	}

	// An existing file that is not a heed database is not migrated.
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := heed(t, nil, "token", "create", "--user", "alice", "--database-url", empty).want(t, 1)
	if !strings.Contains(r.stderr, "pending migrations") || !strings.Contains(r.stderr, "heed migrate") {
		t.Errorf("token create on an empty file: stderr %q, want the pending migrations named", r.stderr)
	}
	if current, err := openTestDB(t, empty).MigrationsCurrent(context.Background()); err != nil || current {
		t.Errorf("after token create the empty file is migrated (%v, %v); want it left alone", current, err)
	}

	if server := os.Getenv(dbtest.PostgresEnv); server != "" {
		u, err := url.Parse(server)
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/heed_no_such_database"
		r := heed(t, nil, "token", "create", "--user", "alice", "--database-url", u.String()).want(t, 1)
		if !strings.Contains(r.stderr, "heed_no_such_database") {
			t.Errorf("token create on a missing PostgreSQL database: stderr %q, want it named", r.stderr)
		}
	}
}

func TestDatabaseURLFromEnvironment(t *testing.T) {
	t.Parallel()
	_, statErr := os.Stat("heed.db")
	hadDefault := statErr == nil
	t.Cleanup(func() {
		if _, err := os.Stat("heed.db"); err == nil && !hadDefault {
			t.Error("a command used the default ./heed.db instead of HEED_DATABASE_URL")
			_ = os.Remove("heed.db")
			_ = os.Remove("heed.db-wal")
			_ = os.Remove("heed.db-shm")
		}
	})
	url := filepath.Join(t.TempDir(), "from-env.db")
	env := map[string]string{"HEED_DATABASE_URL": url}
	heed(t, env, "migrate").want(t, 0)
	svc := &auth.Service{DB: openTestDB(t, url)}
	name := "dora"
	if _, err := svc.CreateUser(context.Background(), nil, auth.UserInput{Username: &name}); err != nil {
		t.Fatalf("create dora: %v", err)
	}
	tok := heed(t, env, "token", "create", "--user", "dora").want(t, 0).stdout
	u, err := svc.Authenticate(context.Background(), strings.TrimSpace(tok))
	if err != nil || u.Username != "dora" {
		t.Fatalf("token from the HEED_DATABASE_URL database: %v, %v; want dora", u, err)
	}

	// A flag beats the environment.
	flagURL := filepath.Join(t.TempDir(), "from-flag.db")
	bad := map[string]string{"HEED_DATABASE_URL": filepath.Join(t.TempDir(), "missing-dir", "x.db")}
	heed(t, bad, "migrate", "--database-url", flagURL).want(t, 0)
	if _, err := os.Stat(flagURL); err != nil {
		t.Fatalf("--database-url was not used: %v", err)
	}
	// And the environment is really read: that path cannot be created.
	heed(t, bad, "migrate").want(t, 1)
}

func TestBadLogSettings(t *testing.T) {
	t.Parallel()
	url := filepath.Join(t.TempDir(), "heed.db")
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"migrate", "--database-url", url, "--log-format", "xml"}, `--log-format "xml"`},
		{map[string]string{"HEED_LOG_FORMAT": "yaml"}, []string{"demo", "--database-url", url}, `--log-format "yaml"`},
		{nil, []string{"token", "create", "--user", "alice", "--database-url", url, "--log-level", "loud"}, `--log-level "loud"`},
		{nil, []string{"serve", "--database-url", url, "--addr", "127.0.0.1:0", "--log-format", "logfmt"}, `--log-format "logfmt"`},
	}
	for _, c := range cases {
		r := heed(t, c.env, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("heed %s: exit %d stderr %q, want 2 and %s", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
	}
	if _, err := os.Stat(url); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a bad log setting still opened the database: stat %s: %v", url, err)
	}
}

func TestServeRejectsBadSchedules(t *testing.T) {
	t.Parallel()
	url := filepath.Join(t.TempDir(), "heed.db")
	serveArgs := []string{"serve", "--database-url", url, "--addr", "127.0.0.1:0"}
	r := heed(t, nil, append(serveArgs, "--schedule", "token_cleanups=* * * * *")...).want(t, 1)
	if !strings.Contains(r.stderr, `unknown periodic job "token_cleanups"`) {
		t.Errorf("stderr %q, want the unknown job named", r.stderr)
	}
	r = heed(t, map[string]string{"HEED_SCHEDULE_NOPE": "@daily"}, serveArgs...).want(t, 1)
	if !strings.Contains(r.stderr, `unknown periodic job "nope"`) {
		t.Errorf("stderr %q, want the unknown job from HEED_SCHEDULE_NOPE named", r.stderr)
	}
	r = heed(t, nil, append(serveArgs, "--schedule", "token_cleanup=every so often")...).want(t, 1)
	if !strings.Contains(r.stderr, "token_cleanup") || !strings.Contains(r.stderr, `"every so often"`) {
		t.Errorf("stderr %q, want the job and its bad schedule named", r.stderr)
	}
	r = heed(t, nil, append(serveArgs, "--schedule", "token_cleanup")...).want(t, 2)
	if !strings.Contains(r.stderr, "want ID=CRON") {
		t.Errorf("stderr %q, want the ID=CRON form explained", r.stderr)
	}
}

func TestServeDemoRefusesRealData(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, url string) {
		t.Parallel()
		ctx := context.Background()
		heed(t, nil, "migrate", "--database-url", url).want(t, 0)
		d := openTestDB(t, url)
		svc := &auth.Service{DB: d}
		name := "carol"
		if _, err := svc.CreateUser(ctx, nil, auth.UserInput{Username: &name}); err != nil {
			t.Fatalf("create carol: %v", err)
		}

		r := heed(t, nil, "serve", "--demo", "--database-url", url, "--addr", "127.0.0.1:0").want(t, 1)
		if !strings.Contains(r.stderr, "database is not empty") {
			t.Fatalf("stderr %q, want the refusal explained", r.stderr)
		}
		if strings.Contains(r.stderr, "listening") {
			t.Fatalf("serve --demo started listening on a database with real users: %s", r.stderr)
		}
		if _, err := svc.UserByUsername(ctx, "admin"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("demo admin after the refusal: %v, want not found", err)
		}
		if _, err := svc.Authenticate(ctx, "demo-staff-token"); err == nil {
			t.Fatal("the demo staff token authenticates after the refusal")
		}
	})
}
