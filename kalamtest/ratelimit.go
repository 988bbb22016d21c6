package kalamtest

import (
	"sync"
	"time"
)

// bucket is upstream's token bucket: it holds whole tokens, starts full
// at rate, and refills rate tokens a second up to rate. Like upstream's,
// it adds only whole tokens, skips a refill less than 10 ms after the last
// one, and restarts the refill period only when it added something, so a
// fraction of a token earned before a refill is lost
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/limiter/token_bucket.rs;
// the connection guard's copy in backend/src/connection_guard.rs is the
// same). It reads the server clock, so a frozen test clock makes limits
// exact.
type bucket struct {
	tokens int
	last   time.Time
}

// take spends one token, or reports none left. rate <= 0 disables the
// bucket.
func (b *bucket) take(now time.Time, rate int) bool {
	if rate <= 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens, b.last = rate, now
	}
	if el := now.Sub(b.last); el >= 10*time.Millisecond {
		if add := int(el.Seconds() * float64(rate)); add > 0 {
			b.tokens, b.last = min(b.tokens+add, rate), now
		}
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// ipLimiter is a set of token buckets by key: per IP for authentication
// (login, refresh, setup and WebSocket auth share one), per user for
// /v1/api/sql. Like upstream's, a bucket unused for 600 s is forgotten
// (see idleCache).
type ipLimiter struct {
	mu      sync.Mutex // serialises take on the cached buckets
	rate    int
	buckets idleCache[*bucket]
}

func newIPLimiter(rate int) *ipLimiter {
	return &ipLimiter{rate: rate}
}

func (l *ipLimiter) allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	b := l.buckets.getOrCreate(key, now, func() *bucket { return &bucket{} })
	l.mu.Lock()
	defer l.mu.Unlock()
	return b.take(now, l.rate)
}
