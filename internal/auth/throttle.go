package auth

import (
	"sync"
	"time"
)

// Throttle counts failed login attempts per key (a username, a client
// address) in a fixed window and blocks a key that reached the limit until
// its window ends. It is per process: with several replicas an attacker gets
// Limit attempts per replica per window, which bounds guessing all the same.
type Throttle struct {
	Limit  int
	Window time.Duration
	Clock  func() time.Time

	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	start    time.Time
}

// NewThrottle allows limit failures per key per window.
func NewThrottle(limit int, window time.Duration, clock func() time.Time) *Throttle {
	if clock == nil {
		clock = time.Now
	}
	return &Throttle{Limit: limit, Window: window, Clock: clock, entries: map[string]*throttleEntry{}}
}

// Blocked returns how long the longest-blocked of keys must still wait, or 0.
func (t *Throttle) Blocked(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Clock()
	var wait time.Duration
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok {
			continue
		}
		end := e.start.Add(t.Window)
		if !now.Before(end) {
			delete(t.entries, k)
			continue
		}
		if e.failures >= t.Limit && end.Sub(now) > wait {
			wait = end.Sub(now)
		}
	}
	return wait
}

// Fail records a failed attempt for every key.
func (t *Throttle) Fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Clock()
	if len(t.entries) > 100_000 {
		t.pruneLocked(now)
	}
	for _, k := range keys {
		e, ok := t.entries[k]
		if !ok || !now.Before(e.start.Add(t.Window)) {
			e = &throttleEntry{start: now}
			t.entries[k] = e
		}
		e.failures++
	}
}

// Reset forgets a key (after a successful login for that username).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

func (t *Throttle) pruneLocked(now time.Time) {
	for k, e := range t.entries {
		if !now.Before(e.start.Add(t.Window)) {
			delete(t.entries, k)
		}
	}
}
