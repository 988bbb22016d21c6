package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

func TestConnTokenCountdownAndPhases(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	t0 := e.clock.Now()
	s := c.Snapshot()
	if s.Access.Claims.Subject != "alice" || s.Access.Claims.Role != "user" || s.Access.Claims.TokenType != "access" ||
		s.Access.Claims.Issuer != "kalamdb" {
		t.Fatalf("access claims %+v", s.Access.Claims)
	}
	if s.Refresh.Claims.TokenType != "refresh" || !s.Refresh.Claims.ExpiresAt.Equal(t0.Add(testRefreshTTL)) {
		t.Fatalf("refresh claims %+v", s.Refresh.Claims)
	}
	steps := []struct {
		advance time.Duration
		phase   Phase
		left    time.Duration
		outlive bool
	}{
		{0, PhaseFresh, 100 * time.Second, false},
		{80*time.Second - 1, PhaseFresh, 20*time.Second + 1, false},
		{1, PhaseExpiringSoon, 20 * time.Second, false},
		{20 * time.Second, PhaseInLeeway, 0, false},
		{Leeway, PhaseInLeeway, -Leeway, false},
		{1, PhaseDead, -Leeway - 1, true},
	}
	for i, st := range steps {
		e.clock.Advance(st.advance)
		s := c.Snapshot()
		if got := s.Phase(); got != st.phase {
			t.Errorf("step %d (t0+%v): phase %v, want %v", i, s.Now.Sub(t0), got, st.phase)
		}
		if got := s.Access.Remaining(s.Now); got != st.left {
			t.Errorf("step %d: remaining %v, want %v", i, got, st.left)
		}
		if s.SocketOutlivedToken != st.outlive {
			t.Errorf("step %d: socket outlived token = %v", i, s.SocketOutlivedToken)
		}
	}
	// The server never re-checks the socket: it is still up.
	if s := c.Snapshot(); s.State != client.StateConnected || s.Refresh.Phase(s.Now) != PhaseFresh {
		t.Errorf("state %v, refresh phase %v", s.State, s.Refresh.Phase(s.Now))
	}
	// A refresh gives a fresh access token; the socket keeps the old one.
	r, err := c.Refresh(context.Background())
	if err != nil || !r.OK() || r.Trigger != TriggerManual || r.Method != MethodRefreshToken || !r.SocketUntouched {
		t.Fatalf("refresh %+v, %v", r, err)
	}
	s = c.Snapshot()
	if s.Phase() != PhaseFresh || !s.SocketOutlivedToken || s.Socket.Fingerprint == s.Access.Fingerprint {
		t.Errorf("after refresh: phase %v, outlived %v", s.Phase(), s.SocketOutlivedToken)
	}
}

func TestRefreshWithMethod(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	e.clock.Advance(time.Second)
	r, err := c.RefreshWith(context.Background(), MethodProvider)
	if err != nil || r.Method != MethodProvider || !r.OK() {
		t.Fatalf("provider: %+v %v", r, err)
	}
	e.clock.Advance(time.Second)
	r, err = c.RefreshWith(context.Background(), MethodRefreshToken)
	if err != nil || r.Method != MethodRefreshToken || !r.OK() || r.NewFingerprint == r.OldFingerprint {
		t.Fatalf("refresh token: %+v %v", r, err)
	}
	// A pasted JWT has nothing to refresh with: the error says so.
	tok, _ := c.Client().Credentials()
	j, err := e.m.Open(context.Background(), Profile{Name: "pasted", URL: e.srv.URL, Auth: AuthJWT, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	// Asking for a pasted JWT again gives the same token: recorded as unchanged.
	r, err = j.Refresh(context.Background())
	if err != nil || !r.OK() || !r.Unchanged || r.Method != MethodProvider {
		t.Errorf("pasted jwt refresh: %+v %v", r, err)
	}
	if s := j.Snapshot(); s.Access.Claims.Subject != "alice" || s.Refresh.Present {
		t.Errorf("pasted: %+v", s.Access)
	}
	if _, err := j.RefreshWith(context.Background(), MethodRefreshToken); err == nil || !strings.Contains(err.Error(), "no refresh token") {
		t.Errorf("refresh-token flow without one: %v", err)
	}
	// Manual rotation: paste another token.
	e.clock.Advance(time.Second)
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok2, _ := c.Client().Credentials()
	r, err = j.SetToken(context.Background(), tok2)
	if err != nil || r.Unchanged || r.NewFingerprint != client.Fingerprint(tok2) {
		t.Errorf("SetToken: %+v %v", r, err)
	}
	if _, err := j.SetToken(context.Background(), "not-a-jwt"); err == nil {
		t.Error("garbage token accepted")
	}
	if _, err := c.SetToken(context.Background(), tok2); err == nil {
		t.Error("SetToken on a password connection accepted")
	}
}
