// Package db opens heed's database (SQLite or PostgreSQL), applies migrations
// and runs transactions. Every dialect difference lives here: domain packages
// write one query set with `?` placeholders and this package adapts it.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the database engine.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says where the database is and how to size its pools.
type Config struct {
	// URL is a postgres:// URL, or a SQLite file path (optionally prefixed
	// with sqlite: or file:).
	URL string
	// SQLiteReadConns sizes SQLite's read-only pool. Two is the measured
	// balance on two cores (design.md §10); more made the WAL grow unbounded.
	SQLiteReadConns int
	// SQLiteSynchronousFull trades write throughput for durability on power
	// loss. NORMAL (the default) loses nothing when only the process crashes.
	SQLiteSynchronousFull bool
	// PostgresMaxConns sizes the pgx pool shared by the store and River.
	PostgresMaxConns int32
	// Clock returns the current time; tests inject a fake. Nil means time.Now.
	Clock func() time.Time
}

// DB is an open heed database.
type DB struct {
	dialect Dialect
	// write runs every read-write transaction. On SQLite it holds exactly one
	// connection with immediate transactions, so writers queue in Go instead
	// of failing with SQLITE_BUSY.
	write *sql.DB
	// read serves read-only transactions. On PostgreSQL it is write.
	read *sql.DB
	// riverSQL is the SQLite connection pool River works on (one connection,
	// separate from the store's). Nil on PostgreSQL.
	riverSQL *sql.DB
	// checkpointSQL is the SQLite connection checkpoints runs on (nil on
	// PostgreSQL); closing stopCheckpoints stops it, then checkpointsDone
	// closes.
	checkpointSQL                    *sql.DB
	stopCheckpoints, checkpointsDone chan struct{}
	stopOnce                         sync.Once
	// log watches the write-ahead log's growth from the commits (SQLite).
	log logWatch
	// pool is the pgx pool on PostgreSQL (nil on SQLite); River's working
	// client shares it.
	pool  *pgxpool.Pool
	clock func() time.Time

	rebindCache sync.Map
	// statements counts statements run through Conn, for tests that prove a
	// list costs a constant number of queries.
	statements atomic.Int64
	// readStmts and writeStmts hold the statements prepared once on each
	// pool, by query text (the same cache on PostgreSQL, where they are one
	// pool): Reader runs them directly, transactions through Tx.StmtContext.
	readStmts, writeStmts *stmtCache
	// batch queues InTxBatched changes (SQLite).
	batch batcher
	// gens counts committed writes for caches (see Cache).
	gens generations
}

// Statements reports how many statements have run through Conn so far.
func (d *DB) Statements() int64 { return d.statements.Load() }

// Open connects to the database named by cfg.URL. It does not migrate.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	if IsPostgresURL(cfg.URL) {
		return openPostgres(ctx, cfg, clock)
	}
	return openSQLite(ctx, cfg, clock)
}

// IsPostgresURL reports whether url selects PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

func openPostgres(ctx context.Context, cfg Config, clock func() time.Time) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	// River's listener hijacks one connection for LISTEN, so size explicitly
	// rather than relying on pgx's max(4, NumCPU).
	pcfg.MaxConns = 20
	if cfg.PostgresMaxConns > 0 {
		pcfg.MaxConns = cfg.PostgresMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	// OpenDBFromPool keeps no idle connection (MaxIdleConns 0): every
	// statement then took a fresh connection, and the statements heed
	// prepares once (Reader) were prepared again on it, twice per webhook
	// delivery (measured). Keep half the pool idle on the database/sql
	// side; the other half stays free for River, which uses the pool
	// directly. A pool of 12 or more keeps all but four, open and idle:
	// with only half kept, 32 concurrent users/me requests made
	// database/sql close and reopen connections all the time, preparing
	// statements again on each (3,300 req/s, p99 130 ms; capped: 6,000
	// req/s, p99 15 ms). The cap makes requests queue in database/sql
	// rather than in pgxpool, and leaves River its four.
	sqlDB.SetMaxIdleConns(max(int(pcfg.MaxConns)/2, 2))
	if n := int(pcfg.MaxConns) - 4; n >= 8 {
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetMaxOpenConns(n)
	}
	stmts := &stmtCache{pool: sqlDB}
	return &DB{dialect: Postgres, write: sqlDB, read: sqlDB, pool: pool, clock: clock, readStmts: stmts, writeStmts: stmts}, nil
}

func sqlitePath(u string) string {
	u = strings.TrimPrefix(u, "sqlite://")
	u = strings.TrimPrefix(u, "sqlite:")
	u = strings.TrimPrefix(u, "file:")
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

func sqliteDSN(path string, params ...string) string {
	q := url.Values{}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		q.Add(k, v)
	}
	return "file:" + path + "?" + q.Encode()
}

// sqliteMmap lets each connection read the database file's first GiB
// through a memory map instead of a read(2) into its own page cache per
// page it misses (writes still go through write(2)): history pages over a
// database larger than the page cache served 17-38 % more requests
// (bench/side_by_side.sh, back to back). The map is the OS page cache
// itself, so it costs address space, not memory.
const sqliteMmap = "_pragma=mmap_size(1073741824)"

func openSQLite(ctx context.Context, cfg Config, clock func() time.Time) (*DB, error) {
	path := sqlitePath(cfg.URL)
	if path == "" || path == ":memory:" {
		return nil, errors.New("sqlite needs a file path (the read pool and River share it through WAL)")
	}
	sync := "synchronous(NORMAL)"
	if cfg.SQLiteSynchronousFull {
		sync = "synchronous(FULL)"
	}
	writeDSN := sqliteDSN(path,
		"_pragma=busy_timeout(5000)", "_pragma=journal_mode(WAL)", "_pragma="+sync,
		"_pragma=foreign_keys(1)", sqliteMmap, "_txlock=immediate")
	// No _txlock on the read pool: with query_only an immediate BEGIN fails.
	readDSN := sqliteDSN(path, "_pragma=busy_timeout(5000)", "_pragma=query_only(1)", "_pragma=foreign_keys(1)", sqliteMmap)

	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before the read-only pool opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	readConns := cfg.SQLiteReadConns
	if readConns <= 0 {
		readConns = 2
	}
	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite read pool: %w", err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	river, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open sqlite river pool: %w", err)
	}
	river.SetMaxOpenConns(1)
	ckpt, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		write.Close()
		read.Close()
		river.Close()
		return nil, fmt.Errorf("open sqlite checkpoint connection: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	d := &DB{dialect: SQLite, write: write, read: read, riverSQL: river, checkpointSQL: ckpt, clock: clock,
		readStmts: &stmtCache{pool: read}, writeStmts: &stmtCache{pool: write},
		stopCheckpoints: make(chan struct{}), checkpointsDone: make(chan struct{}),
		log: logWatch{path: path + "-wal", conn: write}}
	go d.checkpoints(ckpt)
	return d, nil
}

// Close releases every pool.
func (d *DB) Close() error {
	var errs []error
	if d.checkpointSQL != nil {
		d.stopOnce.Do(func() { close(d.stopCheckpoints) })
		<-d.checkpointsDone
		errs = append(errs, d.checkpointSQL.Close())
	}
	errs = append(errs, d.readStmts.close())
	if d.writeStmts != d.readStmts {
		errs = append(errs, d.writeStmts.close())
	}
	if d.riverSQL != nil {
		errs = append(errs, d.riverSQL.Close())
	}
	if d.read != d.write {
		errs = append(errs, d.read.Close())
	}
	errs = append(errs, d.write.Close())
	if d.pool != nil {
		d.pool.Close()
	}
	return errors.Join(errs...)
}

// Dialect reports the engine.
func (d *DB) Dialect() Dialect { return d.dialect }

// Pool is the pgx pool (PostgreSQL only; nil on SQLite).
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// RiverSQL is the dedicated SQLite pool for River's working client (nil on PostgreSQL).
func (d *DB) RiverSQL() *sql.DB { return d.riverSQL }

// SQL is the read-write database/sql handle. Transactions opened on it can be
// handed to River's InsertTx on both dialects.
func (d *DB) SQL() *sql.DB { return d.write }

// Now is the database clock: UTC, truncated to the microsecond both engines
// store, so a value written and read back compares equal.
func (d *DB) Now() time.Time { return d.clock().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// ForUpdate is the row-lock suffix for a SELECT that precedes an update.
// SQLite needs none: an immediate transaction already holds the write lock.
func (d *DB) ForUpdate() string {
	if d.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ForUpdateOf is the row-lock suffix that locks only the rows of the table
// aliased alias: PostgreSQL refuses FOR UPDATE on the nullable side of an
// outer join, so a query joining optional rows must name what it locks.
// SQLite needs none, as for ForUpdate.
func (d *DB) ForUpdateOf(alias string) string {
	if d.dialect == Postgres {
		return " FOR UPDATE OF " + alias
	}
	return ""
}

// Rebind turns `?` placeholders into the dialect's form. Question marks inside
// single-quoted literals are left alone.
func (d *DB) Rebind(q string) string {
	if d.dialect != Postgres {
		return q
	}
	if v, ok := d.rebindCache.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	inQuote := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	d.rebindCache.Store(q, out)
	return out
}

// timeLayout is how SQLite stores instants: fixed width, so text order is time
// order and indexes serve range queries.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime renders t the way SQLite stores it.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func (d *DB) args(args []any) []any {
	if d.dialect != SQLite {
		return args
	}
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = FormatTime(v)
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = FormatTime(*v)
			}
		case sql.NullTime:
			if v.Valid {
				args[i] = FormatTime(v.Time)
			} else {
				args[i] = nil
			}
		}
	}
	return args
}

// Conn is what queries run on: a read-write Tx or a read-only snapshot.
type Conn interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	DB() *DB
}

type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type conn struct {
	d *DB
	r sqlRunner
	// w collects what a read-write transaction writes (nil elsewhere).
	w *writeSet
}

func (c conn) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.d.statements.Add(1)
	if c.w != nil {
		c.w.note(q)
	}
	return c.r.ExecContext(ctx, c.d.Rebind(q), c.d.args(args)...)
}

func (c conn) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.d.statements.Add(1)
	if c.w != nil {
		c.w.note(q)
	}
	return c.r.QueryContext(ctx, c.d.Rebind(q), c.d.args(args)...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	c.d.statements.Add(1)
	if c.w != nil {
		c.w.note(q)
	}
	return c.r.QueryRowContext(ctx, c.d.Rebind(q), c.d.args(args)...)
}

func (c conn) DB() *DB { return c.d }

// Tx is a read-write transaction. Work registered with AfterCommit runs once
// the transaction has committed, never if it rolls back.
type Tx struct {
	conn
	tx            *sql.Tx
	afterCommit   []func()
	afterRollback []func()
}

// SQLTx exposes the database/sql transaction, for River's InsertTx.
func (t *Tx) SQLTx() *sql.Tx { return t.tx }

// AfterCommit registers fn to run after a successful commit.
func (t *Tx) AfterCommit(fn func()) { t.afterCommit = append(t.afterCommit, fn) }

// AfterRollback registers fn to run after the transaction rolled back
// (never after a commit), once the connection is released: on SQLite fn
// may write in a transaction of its own.
func (t *Tx) AfterRollback(fn func()) { t.afterRollback = append(t.afterRollback, fn) }

// Now is the transaction's clock. Call it after locking the rows being
// changed, so that time order equals commit order.
func (t *Tx) Now() time.Time { return t.d.Now() }

// InTx runs fn in a read-write transaction, committing when fn returns nil.
// On SQLite the transaction holds the write lock from its first statement.
// A value the database refuses to store comes back as errs.Invalid (see
// classify), whatever fn wrapped it in.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{conn: conn{d: d, r: txStmts{tx: sqlTx, stmts: d.writeStmts}, w: &writeSet{}}, tx: sqlTx}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		err = classify(err)
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		for _, f := range tx.afterRollback {
			f()
		}
		return err
	}
	err = sqlTx.Commit()
	d.wrote(tx.w)
	d.log.committed()
	if err != nil {
		return classify(fmt.Errorf("commit: %w", err))
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// Reader runs single statements on the read pool without a transaction:
// the cheap path for one-statement reads such as a token lookup. Anything
// that reads twice and needs one snapshot uses ReadTx.
func (d *DB) Reader() Conn { return conn{d: d, r: poolStmts{d.read, d.readStmts}} }

// maxStmts bounds each pool's statement cache. Query texts are the
// program's own (filters and IN lists vary them a little); past the bound,
// new texts run unprepared.
const maxStmts = 1000

// stmtCache holds statements prepared once on a pool, by query text:
// parsing and planning the same SQL on every request was a tenth of a
// history page's CPU on SQLite. database/sql prepares each one again on
// every connection that runs it, once, and keeps it there.
type stmtCache struct {
	pool    *sql.DB
	m       sync.Map // query text → *sql.Stmt
	n       atomic.Int64
	pending sync.Map // query text → true while (or after failing) being prepared in the background
	// bg counts background prepares, so that close waits for them: one
	// still opening a SQLite connection after Close created the database's
	// -shm file again in a directory being removed (a test's TempDir
	// cleanup failed with "directory not empty"). closed, under mu, stops
	// new ones.
	mu      sync.Mutex
	closed  bool
	bg      sync.WaitGroup
	running atomic.Int32
}

// lookup returns q's prepared statement, or nil when there is none yet:
// it is then prepared in the background and the caller runs q unprepared
// this once. Preparing in the caller could deadlock: preparing takes one
// of the pool's connections, and a caller inside a transaction holds one
// already (SQLite's write pool has only that one; two read transactions
// on its two-connection read pool could each wait for the other's).
func (c *stmtCache) lookup(q string) *sql.Stmt {
	if s, ok := c.m.Load(q); ok {
		return s.(*sql.Stmt)
	}
	if c.n.Load() >= maxStmts {
		return nil
	}
	if _, busy := c.pending.LoadOrStore(q, true); !busy {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return nil
		}
		c.bg.Add(1)
		c.running.Add(1)
		// A text that fails to prepare stays pending: it is not tried again.
		go func() {
			defer c.bg.Done()
			defer c.running.Add(-1)
			if c.get(context.Background(), q) != nil {
				c.pending.Delete(q)
			}
		}()
	}
	return nil
}

// get returns the prepared statement for q, preparing it on the pool, or
// nil when the cache is full or q does not prepare (callers then run q
// unprepared, which reports the same error where they expect it).
func (c *stmtCache) get(ctx context.Context, q string) *sql.Stmt {
	if s, ok := c.m.Load(q); ok {
		return s.(*sql.Stmt)
	}
	if c.n.Load() >= maxStmts {
		return nil
	}
	s, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(q, s); loaded {
		_ = s.Close()
		return prev.(*sql.Stmt)
	}
	c.n.Add(1)
	return s
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.bg.Wait()
	var errs []error
	c.m.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}

// poolStmts runs statements on a pool, prepared once.
type poolStmts struct {
	pool  *sql.DB
	stmts *stmtCache
}

// Reader has no transaction boundary to classify errors at (see InTx), so
// its Exec and Query classify their own; QueryRow's error surfaces at Scan.
func (p poolStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var (
		res sql.Result
		err error
	)
	if s := p.stmts.lookup(q); s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = p.pool.ExecContext(ctx, q, args...)
	}
	return res, classify(err)
}

func (p poolStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if s := p.stmts.lookup(q); s != nil {
		rows, err = s.QueryContext(ctx, args...)
	} else {
		rows, err = p.pool.QueryContext(ctx, q, args...)
	}
	return rows, classify(err)
}

func (p poolStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := p.stmts.lookup(q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.pool.QueryRowContext(ctx, q, args...)
}

// txStmts runs a transaction's statements through the pool's prepared
// ones (database/sql's Tx.StmtContext: the statement already prepared on
// the transaction's connection is reused, else prepared there once).
type txStmts struct {
	tx    *sql.Tx
	stmts *stmtCache
}

func (t txStmts) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := t.stmts.lookup(q); s != nil {
		return t.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t txStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.stmts.lookup(q); s != nil {
		return t.tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t txStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.stmts.lookup(q); s != nil {
		return t.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// ReadTx runs fn in a read-only transaction so that every statement of a page
// (count, rows, related rows) sees the same snapshot. Errors are classified
// as InTx's are (a NUL in a filter is a 400 on PostgreSQL, not a 500).
func (d *DB) ReadTx(ctx context.Context, fn func(c Conn) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.dialect == Postgres {
		// Read committed would let a page's count and rows disagree.
		opts.Isolation = sql.LevelRepeatableRead
	}
	sqlTx, err := d.read.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read transaction: %w", err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // read-only: nothing to lose
	return classify(fn(conn{d: d, r: txStmts{tx: sqlTx, stmts: d.readStmts}}))
}
