package kalamtest

import (
	"sync"
	"time"
)

// subCounter is upstream's per-user subscription count, the number
// SUBSCRIPTION_LIMIT_EXCEEDED is decided on
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/limiter/rate_limiter.rs).
// It only approximates the live subscriptions, exactly as upstream's does:
// every successful subscribe adds one (a reused id too), every unsubscribe
// on an authenticated socket takes one away (floor 0) whether or not it
// removed anything (…/ws/events/unsubscribe.rs), a closing socket takes
// one per subscription it still holds (…/ws/events/cleanup.rs), and a
// count idle for 600 s is forgotten (idleCache).
type subCounter struct {
	mu     sync.Mutex // serialises changes to the cached counts
	counts idleCache[*int]
}

// allow reports whether user is below limit.
func (c *subCounter) allow(user string, limit int, now time.Time) bool {
	n, ok := c.counts.get(user, now)
	if !ok {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return *n < limit
}

// inc counts one more subscription for user.
func (c *subCounter) inc(user string, now time.Time) {
	n := c.counts.getOrCreate(user, now, func() *int { return new(int) })
	c.mu.Lock()
	*n++
	c.mu.Unlock()
}

// dec counts one fewer, never below zero.
func (c *subCounter) dec(user string, now time.Time) {
	n, ok := c.counts.get(user, now)
	if !ok {
		return
	}
	c.mu.Lock()
	*n = max(*n-1, 0)
	c.mu.Unlock()
}

// SubscriptionCount is the count the server decides the per-user
// subscription limit (WithSubscriptionLimits) on for user. Like upstream's
// it drifts from the number of live subscriptions: see subCounter.
func (s *Server) SubscriptionCount(user string) int {
	return s.subCounts.count(user, s.now())
}

// count is user's current count (0 when none is kept).
func (c *subCounter) count(user string, now time.Time) int {
	n, ok := c.counts.get(user, now)
	if !ok {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return *n
}
