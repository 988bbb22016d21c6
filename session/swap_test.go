package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// lastRotation returns the newest history entry matching ok.
func lastRotation(c *Conn, ok func(Rotation) bool) (Rotation, bool) {
	h := c.Snapshot().History
	for i := len(h) - 1; i >= 0; i-- {
		if ok(h[i]) {
			return h[i], true
		}
	}
	return Rotation{}, false
}

// TestSwappedExpiredTokenFailsReconnectAndClearingRecovers: a swapped
// expired token makes the next reconnect fail — KalamDB answers auth_error
// "Invalid credentials" and closes with 1008 (protocol reference 3.3;
// jamals86/KalamDB backend/crates/kalamdb-api/src/ws/events/auth.rs) — and
// the rotation history and the connection state say it expired; clearing
// the swap reconnects with the provider's credentials.
func TestSwappedExpiredTokenFailsReconnectAndClearingRecovers(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	before := c.Snapshot().Access.Fingerprint
	expired := mintToken(t, kalamtest.DefaultJWTSecret, "alice", "user", time.Minute, e.clock.Now().Add(-time.Hour))
	r, err := c.SwapToken(expired, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Trigger != TriggerSwap || r.NewFingerprint != client.Fingerprint(expired) || r.OldFingerprint != before || !r.OK() {
		t.Errorf("swap entry %+v", r)
	}
	s := c.Snapshot()
	if s.Swap == nil || s.Swap.Once || s.Swap.Token.Claims.Subject != "alice" || s.Access.Fingerprint != client.Fingerprint(expired) {
		t.Fatalf("after the swap: swap %+v, access %s", s.Swap, s.Access.Fingerprint)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reconnected := make(chan error, 1)
	go func() { reconnected <- c.Reconnect(ctx) }()
	var refused Rotation
	eventually(t, "the swapped token's refusal in the history", func() bool {
		var ok bool
		refused, ok = lastRotation(c, func(r Rotation) bool { return r.Method == MethodSwap && r.Trigger == TriggerReconnect })
		return ok && !refused.OK()
	})
	if !strings.Contains(refused.Err, "Invalid credentials") || !strings.Contains(refused.Err, "expired at") || refused.Hint == "" {
		t.Errorf("refusal entry %+v does not explain the expiry", refused)
	}
	eventually(t, "the state saying why reconnecting fails", func() bool {
		s := c.Snapshot()
		return s.State == client.StateReconnecting && strings.Contains(s.Detail.Err, "expired at")
	})

	if _, ok, err := c.ClearSwap(); err != nil || !ok {
		t.Fatalf("ClearSwap: %v %v", ok, err)
	}
	if err := <-reconnected; err != nil {
		t.Fatalf("reconnect after clearing the swap: %v", err)
	}
	e.waitState(c, client.StateConnected)
	s = c.Snapshot()
	if s.Swap != nil || s.Access.Fingerprint == client.Fingerprint(expired) || s.Socket.Fingerprint == client.Fingerprint(expired) {
		t.Errorf("after clearing: swap %+v access %s socket %s", s.Swap, s.Access.Fingerprint, s.Socket.Fingerprint)
	}
	if _, ok := lastRotation(c, func(r Rotation) bool { return r.Trigger == TriggerSwapCleared }); !ok {
		t.Error("clearing the swap is not in the history")
	}
	if _, ok, _ := c.ClearSwap(); ok {
		t.Error("a second ClearSwap found a swap")
	}
}

// TestSwapOnceForAnotherUser: a once-only swap with a token minted for
// another user authenticates one socket as that user, the history records
// the server's auth_success, and the provider's credentials are back
// afterwards.
func TestSwapOnceForAnotherUser(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	aliceAccess := c.Snapshot().Access.Fingerprint
	bob := mintToken(t, kalamtest.DefaultJWTSecret, "bob", "dba", time.Hour, e.clock.Now())
	if _, err := c.SwapToken(bob, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "socket authenticated as bob", func() bool {
		s := c.Snapshot()
		return s.State == client.StateConnected && s.Detail.User == "bob"
	})
	var used Rotation
	eventually(t, "the swapped token's answer in the history", func() bool {
		var ok bool
		used, ok = lastRotation(c, func(r Rotation) bool { return r.Method == MethodSwap && r.Trigger == TriggerReconnect })
		return ok
	})
	if !used.OK() || used.Answer != "auth_success as bob (dba)" || used.NewFingerprint != client.Fingerprint(bob) {
		t.Errorf("entry %+v", used)
	}
	s := c.Snapshot()
	if s.Swap != nil || s.Access.Fingerprint != aliceAccess || s.Socket.Claims.Subject != "bob" {
		t.Errorf("after the one use: swap %+v, access %s (alice's %s), socket sub %q", s.Swap, s.Access.Fingerprint, aliceAccess, s.Socket.Claims.Subject)
	}
}

func TestSwapTokenRefusesNothingButEmpty(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	if _, err := c.SwapToken("  ", false); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("empty swap: %v", err)
	}
	r, err := c.SwapToken("garbage", true)
	if err != nil || !strings.Contains(r.Answer, "(not a JWT) for the next connection attempt only") {
		t.Errorf("garbage swap: %+v %v", r, err)
	}
}

// TestExpiredCopyKeepsEverythingButTheTimes: the copy says the same as the
// token apart from exp and iat, keeps header and signature (which then no
// longer match: a server refuses it as forged), and garbage has no copy.
func TestExpiredCopyKeepsEverythingButTheTimes(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	tok := rawJWT(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"alice","exp":2000003600,"iat":2000000000,"role":"user","token_type":"access"}`)
	cp, err := ExpiredCopy(tok, now)
	if err != nil {
		t.Fatal(err)
	}
	orig, dup := DecodeToken(tok), DecodeToken(cp)
	if dup.Claims.Subject != "alice" || dup.Kind() != TokenAccess || !dup.Claims.ExpiresAt.Equal(now.Add(-time.Hour)) ||
		!dup.Claims.IssuedAt.Equal(now.Add(-2*time.Hour)) || dup.Phase(now) != PhaseDead {
		t.Errorf("copy decodes as %+v", dup.Claims)
	}
	if names := func(ts TokenState) (s []string) {
		for _, f := range ts.Claims.All {
			s = append(s, f.Name)
		}
		return s
	}; strings.Join(names(dup), ",") != strings.Join(names(orig), ",") {
		t.Errorf("claims reordered: %v vs %v", names(dup), names(orig))
	}
	po, pc := strings.Split(tok, "."), strings.Split(cp, ".")
	if po[0] != pc[0] || po[2] != pc[2] || po[1] == pc[1] {
		t.Error("the copy must keep header and signature and change only the payload")
	}
	if _, err := ExpiredCopy("garbage", now); err == nil {
		t.Error("garbage has an expired copy")
	}
}
