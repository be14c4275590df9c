package db

import (
	"sync"
	"time"
)

// Generation changes after every read-write transaction this DB commits
// (InTx, InTxBatched), never before its commit: a value read while the
// generation was g reflects every write that process committed before g
// was taken. Cache builds on it.
func (d *DB) Generation() uint64 { return d.generation.Load() }

// wrote ends a read-write transaction's commit, whether or not Commit
// reported success: a failed commit on PostgreSQL may still have
// committed, and a spurious bump only costs cache misses.
func (d *DB) wrote() { d.generation.Add(1) }

// Cache keeps values read from the database until this process commits
// any write, until the value's own validity ends, or until ttl has passed,
// whichever comes first. The first bound makes it exact for changes made
// through this process, however they reach the tables a value came from;
// ttl bounds how long a change committed by another process (a second
// heed on the same PostgreSQL database, the CLI) can go unseen.
//
// It is for small values read on every request (a token's user, their
// roles) that change far less often than they are read. A busy writer
// makes it miss, never serve stale data.
type Cache[K comparable, V any] struct {
	d   *DB
	ttl time.Duration
	max int

	mu sync.RWMutex
	m  map[K]cached[V]
}

type cached[V any] struct {
	v     V
	gen   uint64
	until time.Time
}

// NewCache returns a cache of at most max values, each kept at most ttl
// (by the DB's clock). A ttl of zero or less returns nil, which is a cache
// that always loads.
func NewCache[K comparable, V any](d *DB, ttl time.Duration, max int) *Cache[K, V] {
	if ttl <= 0 {
		return nil
	}
	return &Cache[K, V]{d: d, ttl: ttl, max: max, m: map[K]cached[V]{}}
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
	gen := c.d.Generation()
	now := c.d.Now()
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && e.gen == gen && now.Before(e.until) {
		return e.v, nil
	}
	// gen was taken before load reads: a write that commits meanwhile
	// bumps the generation past it, so what load saw is never kept past
	// that write.
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
