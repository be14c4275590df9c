package db

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// writeSet is what a read-write transaction's statements changed: the
// tables they name, or everything when a statement is not a plain INSERT,
// UPDATE or DELETE (DDL, a CTE) and so might change anything.
type writeSet struct {
	tables []string
	all    bool
}

// note records what q writes. It reads only the statement's head:
// "INSERT [OR …] INTO t", "UPDATE [OR …] t", "DELETE FROM t"; a SELECT
// (FOR UPDATE included) and savepoints write nothing. Rows a foreign key
// cascades to, or a trigger writes, are not named: a cache lists the
// parent tables it depends on too (see NewCache).
func (w *writeSet) note(q string) {
	if w.all {
		return
	}
	words := strings.Fields(q)
	word := func(i int) string {
		if i < len(words) {
			return strings.ToUpper(words[i])
		}
		return ""
	}
	i := 1
	switch word(0) {
	case "SELECT", "SAVEPOINT", "RELEASE":
		return
	case "INSERT":
		if word(i) == "OR" {
			i += 2
		}
		if word(i) != "INTO" {
			w.all = true
			return
		}
		i++
	case "UPDATE":
		if word(i) == "OR" {
			i += 2
		}
	case "DELETE":
		if word(i) != "FROM" {
			w.all = true
			return
		}
		i++
	default:
		w.all = true
		return
	}
	if i >= len(words) {
		w.all = true
		return
	}
	table, _, _ := strings.Cut(words[i], "(")
	table = strings.ToLower(strings.Trim(table, `"`))
	if table == "" {
		w.all = true
		return
	}
	for _, t := range w.tables {
		if t == table {
			return
		}
	}
	w.tables = append(w.tables, table)
}

// generations counts committed writes per table a cache watches, plus
// writes that may have touched any table.
type generations struct {
	any    atomic.Uint64
	tables sync.Map // table name → *atomic.Uint64
}

// watch makes the counts of tables kept from now on.
func (g *generations) watch(tables []string) {
	for _, t := range tables {
		g.tables.LoadOrStore(t, new(atomic.Uint64))
	}
}

// of sums the counts of tables: it changes exactly when one of them does
// (they only grow).
func (g *generations) of(tables []string) uint64 {
	n := g.any.Load()
	for _, t := range tables {
		if c, ok := g.tables.Load(t); ok {
			n += c.(*atomic.Uint64).Load()
		}
	}
	return n
}

// wrote ends a read-write transaction's commit, whether or not Commit
// reported success: a failed commit on PostgreSQL may still have
// committed, and a spurious count only costs cache misses. It must come
// after the commit, never before (see Cache.Load).
func (d *DB) wrote(w *writeSet) {
	if w.all {
		d.gens.any.Add(1)
		return
	}
	for _, t := range w.tables {
		if c, ok := d.gens.tables.Load(t); ok {
			c.(*atomic.Uint64).Add(1)
		}
	}
}

// Cache keeps values read from the database until this process commits a
// write to one of the tables they depend on, until the value's own
// validity ends, or until ttl has passed, whichever comes first. The first
// bound makes it exact for changes made through this process; ttl bounds
// how long a change committed by another process (a second heed on the
// same PostgreSQL database, the CLI) can go unseen.
//
// It is for small values read on every request (a token's user, their
// roles) that change far less often than they are read. A write to their
// tables makes it miss, never serve stale data.
type Cache[K comparable, V any] struct {
	d      *DB
	ttl    time.Duration
	max    int
	tables []string

	mu sync.RWMutex
	m  map[K]cached[V]
}

type cached[V any] struct {
	v     V
	gen   uint64
	until time.Time
}

// NewCache returns a cache of at most max values, each kept at most ttl
// (by the DB's clock) and dropped by any committed write to one of tables:
// every table the values are read from, and every table whose rows a
// foreign key cascades into them from (a write names only its own table).
// A ttl of zero or less returns nil, which is a cache that always loads.
func NewCache[K comparable, V any](d *DB, ttl time.Duration, max int, tables ...string) *Cache[K, V] {
	if ttl <= 0 {
		return nil
	}
	d.gens.watch(tables)
	return &Cache[K, V]{d: d, ttl: ttl, max: max, tables: tables, m: map[K]cached[V]{}}
}

// Load returns k's cached value, or calls load and caches what it
// returns. load also returns until, when the value stops being true by
// itself (a role's expiry; zero for never); a load that fails is not
// cached.
func (c *Cache[K, V]) Load(k K, load func() (v V, until time.Time, err error)) (V, error) {
	if c == nil {
		v, _, err := load()
		return v, err
	}
	gen := c.d.gens.of(c.tables)
	now := c.d.Now()
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && e.gen == gen && now.Before(e.until) {
		return e.v, nil
	}
	// gen was taken before load reads: a write that commits meanwhile
	// moves the count past it, so what load saw is never kept past that
	// write.
	v, until, err := load()
	if err != nil {
		return v, err
	}
	if bound := now.Add(c.ttl); until.IsZero() || bound.Before(until) {
		until = bound
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = cached[V]{v: v, gen: gen, until: until}
	c.mu.Unlock()
	return v, nil
}
