package kalamtest

import (
	"sync"
	"time"
)

// Upstream keeps every piece of rate-limit state (the connection guard's
// per-IP buckets, violations and bans; the auth, query and subscription
// limiters) in caches built from rate_limit.cache_ttl_seconds and
// rate_limit.cache_max_entries
// (jamals86/KalamDB: backend/src/connection_guard.rs,
// backend/crates/kalamdb-api/src/limiter/rate_limiter.rs, defaults in
// backend/crates/kalamdb-configs/src/config/defaults.rs).
const (
	// rateStateIdle is cache_ttl_seconds (600): state not read or written
	// for that long is forgotten, so a banned or throttled client that
	// stays away 10 minutes starts again clean.
	rateStateIdle = 600 * time.Second
	// rateStateMax is cache_max_entries (1 000) per cache.
	rateStateMax = 1000
)

// idleCache is a keyed store whose entries expire after rateStateIdle
// without use and which holds at most rateStateMax entries, like the moka
// caches upstream keeps its rate-limit state in. Reads and writes both
// count as use (moka's time-to-idle). When full, a new key evicts the
// least recently used entry; moka's admission policy weighs how often keys
// are used as well, which only matters beyond 1 000 active clients.
// Time comes from the caller, so a test clock drives expiry.
type idleCache[V any] struct {
	mu sync.Mutex
	m  map[string]*idleEntry[V]
}

type idleEntry[V any] struct {
	v    V
	used time.Time
}

// get returns key's live value and marks it used; ok is false when there
// is none (never stored, or idle too long).
func (c *idleCache[V]) get(key string, now time.Time) (v V, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.liveLocked(key, now)
	if e == nil {
		return v, false
	}
	e.used = now
	return e.v, true
}

// getOrCreate returns key's live value, storing mk() first when there is
// none, and marks it used.
func (c *idleCache[V]) getOrCreate(key string, now time.Time, mk func() V) V {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.liveLocked(key, now); e != nil {
		e.used = now
		return e.v
	}
	if c.m == nil {
		c.m = map[string]*idleEntry[V]{}
	}
	if len(c.m) >= rateStateMax {
		c.evictLocked(now)
	}
	e := &idleEntry[V]{v: mk(), used: now}
	c.m[key] = e
	return e.v
}

// liveLocked returns key's entry, dropping it if it has idled out.
func (c *idleCache[V]) liveLocked(key string, now time.Time) *idleEntry[V] {
	e := c.m[key]
	if e == nil {
		return nil
	}
	if now.Sub(e.used) >= rateStateIdle {
		delete(c.m, key)
		return nil
	}
	return e
}

// evictLocked makes room for one entry: every idled-out entry goes, and
// if none did, the least recently used one.
func (c *idleCache[V]) evictLocked(now time.Time) {
	var oldest string
	var lru *idleEntry[V]
	for k, e := range c.m {
		if now.Sub(e.used) >= rateStateIdle {
			delete(c.m, k)
			continue
		}
		if lru == nil || e.used.Before(lru.used) {
			oldest, lru = k, e
		}
	}
	if len(c.m) >= rateStateMax {
		delete(c.m, oldest)
	}
}
