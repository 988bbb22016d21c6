package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// mintFor signs an access token for user that the kalamtest server trusts,
// issued at now-age and valid for ttl.
func mintFor(t *testing.T, user, role string, age, ttl time.Duration) string {
	t.Helper()
	tok, err := mint.Token(kalamtest.DefaultJWTSecret, user, role, ttl, time.Now().Add(-age))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestSwappedExpiredTokenFailsReconnectUntilCleared: a swapped token is
// what the next socket authenticates with instead of the provider's
// answer. KalamDB refuses an expired one with auth_error "Invalid
// credentials" and close 1008 (protocol reference 3.3;
// jamals86/KalamDB backend/crates/kalamdb-api/src/ws/events/auth.rs), which
// the client explains from the token's exp; reconnects keep failing while
// the swap lasts, HTTP calls use it too, and clearing it recovers at once.
func TestSwappedExpiredTokenFailsReconnectUntilCleared(t *testing.T) {
	srv := newServer(t)
	prov := newCountingProvider(client.Basic("alice", alicePW))
	c := connect(t, srv, client.WithAuthProvider(prov.provide), client.WithReconnect(10*time.Millisecond, 200*time.Millisecond, 0))
	before := prov.calls.Load()

	expired := mintFor(t, "alice", "user", 3*time.Hour, time.Hour)
	c.SwapToken(expired, false)
	if fp, once := c.Swapped(); fp != client.JWT(expired).Fingerprint() || once {
		t.Errorf("Swapped() = %q, %v", fp, once)
	}
	if access, _ := c.Credentials(); access != expired {
		t.Error("the swapped token is not the one in use for HTTP")
	}
	if _, err := c.Query(ctxT(t), "SELECT 1"); !client.IsTokenExpired(err) && !client.IsAuthError(err) {
		t.Errorf("a query with the swapped expired token: %v", err)
	}

	ctx := ctxT(t)
	go func() { _ = c.Reconnect(ctx) }()
	used := waitEvent(t, c, func(e client.SwapUsedEvent) bool { return e.Trigger == "reconnect" })
	if used.Ended || used.Fingerprint != client.JWT(expired).Fingerprint() {
		t.Errorf("swap use %+v", used)
	}
	fail := waitEvent(t, c, func(e client.ErrorEvent) bool { return e.Attempt > 0 })
	var ce *client.Error
	if !errors.As(fail.Err, &ce) || ce.Code != client.CodeTokenExpired || !strings.Contains(ce.Message, "expired at") {
		t.Fatalf("reconnect with the swapped expired token: %v", fail.Err)
	}
	// Still swapped: the next attempt uses it again.
	waitEvent(t, c, func(e client.SwapUsedEvent) bool { return e.Trigger == "reconnect" })
	if c.State() == client.StateConnected {
		t.Fatal("connected with an expired token")
	}
	if n := prov.calls.Load(); n != before {
		t.Errorf("the provider was called %d times during the swap", n-before)
	}

	if !c.ClearSwap() {
		t.Error("ClearSwap found no swap")
	}
	up := waitEvent(t, c, func(e client.ConnectedEvent) bool { return true })
	if up.User != "alice" || up.TokenFingerprint == client.JWT(expired).Fingerprint() {
		t.Errorf("recovered as %+v", up)
	}
	if prov.calls.Load() == before {
		t.Error("the provider was not asked again after the swap was cleared")
	}
	if c.ClearSwap() {
		t.Error("a second ClearSwap found a swap")
	}
}

// TestSwapOnceServesOneAttempt: a once-only swap authenticates one socket
// — here as another user the server trusts — and then the provider's
// credentials are back for HTTP and the next reconnect.
func TestSwapOnceServesOneAttempt(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	aliceToken, _ := c.Credentials()
	admin := mintFor(t, "admin", "dba", 0, time.Hour)
	c.SwapToken(admin, true)
	if err := c.Reconnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	used := waitEvent(t, c, func(e client.SwapUsedEvent) bool { return true })
	if !used.Ended {
		t.Errorf("a once-only swap did not end with its use: %+v", used)
	}
	up := waitEvent(t, c, func(e client.ConnectedEvent) bool { return true })
	if up.User != "admin" || c.SocketToken() != admin {
		t.Errorf("socket authenticated as %q", up.User)
	}
	if fp, _ := c.Swapped(); fp != "" {
		t.Errorf("swap still active after its one use: %s", fp)
	}
	if access, _ := c.Credentials(); access != aliceToken {
		t.Error("HTTP does not use the provider's credentials again after the once-only swap")
	}
	if err := c.Reconnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if up := waitEvent(t, c, func(e client.ConnectedEvent) bool { return true }); up.User != "alice" {
		t.Errorf("second reconnect as %q, want alice again", up.User)
	}
}
