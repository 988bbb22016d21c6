package kalamtest

import (
	"sync"
	"time"
)

// bucket is a token bucket refilled at rate tokens per second up to rate,
// read against the server clock so a frozen test clock makes limits exact.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate int) bool {
	if rate <= 0 {
		return true
	}
	if b.last.IsZero() {
		b.tokens = float64(rate)
		b.last = now
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens += el.Seconds() * float64(rate)
		if b.tokens > float64(rate) {
			b.tokens = float64(rate)
		}
		b.last = now
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
