// Command heed serves the heed API and runs its background jobs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/heed-dev/heed/internal/api"
	"github.com/heed-dev/heed/internal/app"
	"github.com/heed-dev/heed/internal/auth"
	"github.com/heed-dev/heed/internal/db"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal starts a graceful drain; restoring the default
	// handling then lets a second one end the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, os.Environ())
	stop()
	os.Exit(code)
}

// configureApp, when set, adjusts a built app before it serves. Only this
// package's tests set it (in the test binary re-executed as heed), to hold
// order processing where a crash test needs a job left running.
var configureApp func(*app.App)

const usage = `heed tells people what needs their attention and keeps the record of what happened.

Usage:
  heed serve [flags]                 serve the API and run background jobs
  heed migrate [flags]               apply pending schema migrations
  heed demo [flags]                  load the demo data set into the database
  heed token create --user NAME      mint an API token for a user
  heed user create NAME [--staff]    add a user who can sign in to the console (password from the terminal or stdin)
  heed actions update [flags]        run user-action detection now (--provider TYPE, --user NAME)
  heed version                       print the version

Every flag can also be set in the environment: --database-url is HEED_DATABASE_URL.
Run "heed COMMAND -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, environ []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr, getenv, environ)
	case "migrate":
		err = migrate(ctx, args[1:], stderr, getenv)
	case "demo":
		err = loadDemo(ctx, args[1:], stderr, getenv)
	case "token":
		err = token(ctx, args[1:], stdout, stderr, getenv)
	case "user":
		err = user(ctx, args[1:], stdin, stdout, stderr, getenv)
	case "actions":
		err = actions(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "heed", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "heed: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "heed:", err)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "heed:", err)
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// common holds the flags every database command shares.
type common struct {
	databaseURL      string
	logFormat        string
	logLevel         string
	sqliteReadConns  int
	sqliteSyncFull   bool
	postgresMaxConns int
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.databaseURL, "database-url", "heed.db", "SQLite file path, or a postgres:// URL to use PostgreSQL")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.IntVar(&c.sqliteReadConns, "sqlite-read-conns", 2, "SQLite read-only connections (2 is the measured balance on 2 cores)")
	fs.BoolVar(&c.sqliteSyncFull, "sqlite-synchronous-full", false, "SQLite synchronous=FULL: survive power loss at half the write throughput (default NORMAL survives process crashes)")
	fs.IntVar(&c.postgresMaxConns, "pg-max-conns", 20, "PostgreSQL pool size shared by the API and River")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", c.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", c.logFormat)}
}

func (c *common) dbConfig() db.Config {
	return db.Config{
		URL: c.databaseURL, SQLiteReadConns: c.sqliteReadConns, SQLiteSynchronousFull: c.sqliteSyncFull,
		PostgresMaxConns: int32(c.postgresMaxConns),
	}
}

// parse applies HEED_* environment values as defaults, then the arguments.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "HEED_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil && envErr == nil {
				envErr = usageError{fmt.Sprintf("%s=%q: %v", name, v, err)}
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// scheduleFlag collects repeated --schedule ID=SPEC values.
type scheduleFlag map[string]string

func (s scheduleFlag) String() string {
	parts := make([]string, 0, len(s))
	for k, v := range s {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (s scheduleFlag) Set(v string) error {
	id, spec, ok := strings.Cut(v, "=")
	if !ok || id == "" || spec == "" {
		return fmt.Errorf("want ID=CRON, got %q", v)
	}
	s[id] = spec
	return nil
}

func serve(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string, environ []string) error {
	fs := flag.NewFlagSet("heed serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c               common
		addr            string
		loadDemo        bool
		noWorkers       bool
		noMigrate       bool
		trustProxy      bool
		maxWorkers      int
		tokenLifetime   time.Duration
		cacheTTL        time.Duration
		drainGrace      time.Duration
		shutdownTimeout time.Duration
		jobStopTimeout  time.Duration
		retentionDays   int
		pprofAddr       string
	)
	schedules := scheduleFlag{}
	var actions actionFlags
	var hooks webhookFlags
	c.register(fs)
	actions.register(fs)
	hooks.register(fs)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.BoolVar(&loadDemo, "demo", false, "load the demo data set (users with PUBLICLY KNOWN tokens) into an empty database at start")
	fs.BoolVar(&noWorkers, "no-workers", false, "serve the API only; run no jobs (for replicas beside a worker)")
	fs.BoolVar(&noMigrate, "no-migrate", false, "do not apply pending migrations at start")
	fs.BoolVar(&trustProxy, "trust-proxy", false, "honour X-Forwarded-Proto/Host/For from a reverse proxy")
	fs.IntVar(&maxWorkers, "max-workers", 50, "jobs run concurrently by this process")
	fs.DurationVar(&tokenLifetime, "token-lifetime", 24*time.Hour, "lifetime of tokens issued by password login (0: never expire)")
	fs.DurationVar(&cacheTTL, "cache-ttl", app.DefaultCacheTTL, "keep token owners and user roles in memory at most this long: how late a change made by another process (a second heed, the CLI) is seen; this process's own writes apply at once (0: no cache)")
	fs.DurationVar(&drainGrace, "drain-grace", 5*time.Second, "on SIGINT/SIGTERM, time /readyz answers 503 while requests are still served, for load balancers to notice")
	fs.DurationVar(&shutdownTimeout, "shutdown-timeout", 30*time.Second, "after the drain grace, time for in-flight requests to finish")
	fs.DurationVar(&jobStopTimeout, "job-stop-timeout", 10*time.Second, "after requests, time running jobs get to finish before they are cancelled (and retried after restart)")
	fs.IntVar(&retentionDays, "history-retention-days", 0, "delete history versions older than this many days, keeping each object's newest (0: keep forever)")
	fs.StringVar(&pprofAddr, "pprof-addr", "", "serve net/http/pprof on this address, on a listener of its own (e.g. 127.0.0.1:6060; empty: off)")
	fs.Var(schedules, "schedule", "override a periodic job's cron schedule, ID=SPEC (repeatable; SPEC \"off\" disables; env HEED_SCHEDULE_<ID>)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if id, ok := strings.CutPrefix(k, "HEED_SCHEDULE_"); ok && v != "" {
			id = strings.ToLower(id)
			if _, set := schedules[id]; !set {
				schedules[id] = v
			}
		}
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	if os.Getenv("GOGC") == "" {
		// The heap is small and the request path allocates: collecting at
		// 400 % growth instead of 100 % cut a history page's CPU by 14 %
		// (bench/side_by_side.sh). GOGC in the environment wins.
		debug.SetGCPercent(400)
	}
	cfg := app.Config{
		Addr: addr, DatabaseURL: c.databaseURL, Demo: loadDemo, Work: !noWorkers, Migrate: !noMigrate,
		Schedules: schedules, MaxWorkers: maxWorkers, TokenLifetime: tokenLifetime, TrustProxy: trustProxy,
		CacheTTL:   cacheOff(cacheTTL),
		DrainGrace: drainGrace, ShutdownTimeout: shutdownTimeout, JobStopTimeout: jobStopTimeout,
		DB: c.dbConfig(), Logger: log, HistoryRetentionDays: retentionDays,
	}
	if err := actions.apply(&cfg); err != nil {
		return err
	}
	if err := hooks.apply(&cfg); err != nil {
		return err
	}
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if configureApp != nil {
		configureApp(a)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if pprofAddr != "" {
		stopPprof, err := startPprof(pprofAddr, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopPprof()
	}
	return a.Run(ctx, ln)
}

func openDB(ctx context.Context, c *common, log *slog.Logger) (*db.DB, error) {
	d, err := db.Open(ctx, c.dbConfig())
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx, log); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// openExisting opens the database for a command that only uses one: it
// never creates a database (a mistyped path or the wrong folder would
// otherwise leave an empty heed.db behind) and never migrates one.
func openExisting(ctx context.Context, c *common) (*db.DB, error) {
	d, err := db.OpenExisting(ctx, c.dbConfig())
	if errors.Is(err, db.ErrNoDatabase) {
		return nil, fmt.Errorf("%w; create it with heed migrate (or heed serve), or point --database-url (HEED_DATABASE_URL) at an existing one", err)
	}
	if err != nil {
		return nil, err
	}
	current, err := d.MigrationsCurrent(ctx)
	if err != nil || !current {
		_ = d.Close()
		if err != nil {
			return nil, fmt.Errorf("check migrations: %w", err)
		}
		return nil, errors.New("the database has pending migrations (or is not a heed database); run heed migrate first")
	}
	return d, nil
}

// parseCommon parses a command that takes only the common flags.
func parseCommon(name string, args []string, stderr io.Writer, getenv func(string) string) (*common, *slog.Logger, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &common{}
	c.register(fs)
	if err := parse(fs, args, getenv); err != nil {
		return nil, nil, err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return nil, nil, err
	}
	return c, log, nil
}

func migrate(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	c, log, err := parseCommon("heed migrate", args, stderr, getenv)
	if err != nil {
		return err
	}
	d, err := openDB(ctx, c, log)
	if err != nil {
		return err
	}
	log.Info("migrations current", "database", string(d.Dialect()))
	return d.Close()
}

func loadDemo(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	c, log, err := parseCommon("heed demo", args, stderr, getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, app.Config{DatabaseURL: c.databaseURL, DB: c.dbConfig(), Migrate: true, Logger: log})
	if err != nil {
		return err
	}
	defer a.Close()
	return a.LoadDemo(ctx, false)
}

func token(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"usage: heed token create --user NAME"}
	}
	fs := flag.NewFlagSet("heed token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		c           common
		username    string
		description string
	)
	c.register(fs)
	fs.StringVar(&username, "user", "", "username to mint the token for (required)")
	fs.StringVar(&description, "description", "created with heed token create", "what the token is for")
	if err := parse(fs, args[1:], getenv); err != nil {
		return err
	}
	if username == "" {
		return usageError{"--user is required"}
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	d, err := openExisting(ctx, &c)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := &auth.Service{DB: d}
	tok, err := svc.CreateToken(ctx, username, description)
	if err != nil {
		return err
	}
	log.Info("token created; it is shown once", "user", username)
	fmt.Fprintln(stdout, tok)
	return nil
}

func init() { api.Version = version }

// cacheOff maps the --cache-ttl flag, where 0 turns the caches off, onto
// app.Config.CacheTTL, where 0 means the default.
func cacheOff(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return -1
	}
	return ttl
}
