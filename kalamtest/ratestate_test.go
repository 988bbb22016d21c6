package kalamtest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// The per-user subscription count is upstream's approximate counter
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/limiter/rate_limiter.rs):
// an unsubscribe always takes one away, even for an id the server never
// registered (backend/crates/kalamdb-api/src/ws/events/unsubscribe.rs), and a
// subscribe that reuses a live id is counted again
// (backend/crates/kalamdb-api/src/ws/events/subscription.rs). So the count
// drifts both ways, and the cap with it.
func TestSubscriptionCountDriftsAsUpstream(t *testing.T) {
	l := newLive(t, kalamtest.WithSubscriptionLimits(2, 100))
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("a", "SELECT * FROM app.messages", "")
	// Reusing "a" replaces it but counts it again: 1 live, counted 2.
	w.subscribe("a", "SELECT * FROM app.messages", "")
	if n := l.SubscriptionCount("alice"); n != 2 {
		t.Fatalf("count after reusing an id = %d, want 2", n)
	}
	w.send(subscribeMsg("b", "SELECT * FROM app.messages", ""))
	if f := w.read(); f.msg["code"] != "SUBSCRIPTION_LIMIT_EXCEEDED" {
		t.Fatalf("third subscribe with one live and a limit of 2: %s", f.text)
	}
	// Unsubscribing ids it never had lowers the count all the same (not
	// below 0): the limit now lets through more than 2 live subscriptions.
	for _, id := range []string{"b", "ghost", "ghost", "ghost"} {
		w.send(`{"type":"unsubscribe","subscription_id":"` + id + `"}`)
	}
	w.sentinel() // the unsubscribes are handled
	if n := l.SubscriptionCount("alice"); n != 0 {
		t.Fatalf("count after 4 unsubscribes of unknown ids = %d, want 0", n)
	}
	for _, id := range []string{"b", "c"} {
		w.subscribe(id, "SELECT * FROM app.messages", "")
	}
	if conns := l.Conns(); len(conns) != 1 || len(conns[0].Subs) != 3 {
		t.Fatalf("live subscriptions %+v, want a, b, c over a limit of 2", conns)
	}
	// Closing the socket takes one away per subscription it holds.
	_ = w.c.Close(websocket.StatusNormalClosure, "")
	for deadline := time.Now().Add(ktWait); len(l.Conns()) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not close the socket")
		}
	}
	if n := l.SubscriptionCount("alice"); n != 0 {
		t.Fatalf("count after closing a socket holding 3 = %d, want 0", n)
	}
}

// Upstream's rate-limit caches forget an entry idle for 600 s
// (rate_limit.cache_ttl_seconds: jamals86/KalamDB:
// backend/crates/kalamdb-configs/src/config/defaults.rs); the subscription
// count is one of them (backend/crates/kalamdb-api/src/limiter/rate_limiter.rs).
func TestSubscriptionCountForgottenAfterIdle(t *testing.T) {
	l := newLive(t, kalamtest.WithSubscriptionLimits(1, 100), kalamtest.WithHeartbeatTimeout(24*time.Hour))
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("a", "SELECT * FROM app.messages", "")
	w.send(subscribeMsg("b", "SELECT * FROM app.messages", ""))
	if f := w.read(); f.msg["code"] != "SUBSCRIPTION_LIMIT_EXCEEDED" {
		t.Fatalf("second subscribe over a limit of 1: %s", f.text)
	}
	l.clock.Advance(599 * time.Second) // the refusal read the count: idle from there
	if n := l.SubscriptionCount("alice"); n != 1 {
		t.Fatalf("count 599 s after last use = %d, want 1", n)
	}
	l.clock.Advance(600 * time.Second) // SubscriptionCount used it too
	w.subscribe("b", "SELECT * FROM app.messages", "")
	if conns := l.Conns(); len(conns) != 1 || len(conns[0].Subs) != 2 {
		t.Fatalf("live subscriptions %+v, want a and b over a limit of 1", conns)
	}
}

// The connection guard keeps an address's request bucket, violations and
// ban in one cache entry with a 600 s time-to-idle
// (jamals86/KalamDB: backend/src/connection_guard.rs): an address that
// stays away 10 minutes comes back with no violations, so its next
// refusal does not ban it again.
func TestRequestGuardForgetsAnIdleAddress(t *testing.T) {
	s := newKT(t, kalamtest.WithRequestRateLimit(1)) // frozen clock: no refill
	remote := map[string]string{"X-Forwarded-For": "198.51.100.4"}
	get := func() string {
		r := doHTTP(t, "GET", s.URL+"/health", "", remote)
		if r.status != http.StatusTooManyRequests {
			return ""
		}
		return r.json(t)["error"].(string)
	}
	if got := get(); got != "" {
		t.Fatalf("first request: %s", got)
	}
	for i := range 10 {
		if got := get(); got != "RATE_LIMIT_EXCEEDED" {
			t.Fatalf("violation %d: %q", i+1, got)
		}
	}
	if got := get(); got != "IP_BANNED" {
		t.Fatalf("after 10 violations: %q, want IP_BANNED", got)
	}
	s.clock.Advance(600 * time.Second)
	if got := get(); got != "" {
		t.Fatalf("after 600 s away: %q, want a fresh bucket", got)
	}
	// Without the cache's expiry this would be violation 11, and a ban.
	for i := range 2 {
		if got := get(); got != "RATE_LIMIT_EXCEEDED" {
			t.Fatalf("refusal %d after coming back: %q, want RATE_LIMIT_EXCEEDED (no ban)", i+1, got)
		}
	}
}

// Upstream's token bucket adds whole tokens only, and restarts its refill
// period when it adds one, so the fraction of a token earned before a
// refill is lost (jamals86/KalamDB:
// backend/crates/kalamdb-api/src/limiter/token_bucket.rs).
func TestTokenBucketRefillsWholeTokens(t *testing.T) {
	s := newKT(t, kalamtest.WithAuthRateLimit(2)) // frozen clock, moved by hand
	login := func() int {
		return doHTTP(t, "POST", s.URL+"/v1/api/auth/login", `{"user":"alice","password":"`+alicePW+`"}`, nil).status
	}
	if a, b, c := login(), login(), login(); a != http.StatusOK || b != http.StatusOK || c != http.StatusTooManyRequests {
		t.Fatalf("a full bucket of 2: %d %d %d, want 200 200 429", a, b, c)
	}
	s.clock.Advance(750 * time.Millisecond) // 1.5 tokens earned: 1 added, the half lost
	if got := login(); got != http.StatusOK {
		t.Fatalf("after 750 ms: %d, want 200", got)
	}
	s.clock.Advance(250 * time.Millisecond) // half a token since that refill
	if got := login(); got != http.StatusTooManyRequests {
		t.Fatalf("250 ms after a refill that dropped half a token: %d, want 429", got)
	}
	s.clock.Advance(250 * time.Millisecond) // a whole token since that refill
	if got := login(); got != http.StatusOK {
		t.Fatalf("500 ms after the refill: %d, want 200", got)
	}
}
