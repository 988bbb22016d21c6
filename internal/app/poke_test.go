package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/ui"
)

// TestBackendComposesAndSwapsOnTheDemoServer: the live connection offers
// the hands-on capabilities; a composed frame is logged marked composed
// (the inspector's ✎), the demo server's candidates are real tokens it
// signs, and swapping in the expired one makes the reconnect fail with the
// expired-token explanation until the swap is cleared.
func TestBackendComposesAndSwapsOnTheDemoServer(t *testing.T) {
	b, srv := newDemoBackend(t)
	c := openDemo(t, b, srv, ui.LoginRequest{Name: "demo", Auth: "password", User: "demo", Password: "demo"})
	testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
	comp, ok := c.(ui.Composer)
	if !ok {
		t.Fatal("a live connection is not a ui.Composer")
	}
	swap, ok := c.(ui.TokenSwapper)
	if !ok {
		t.Fatal("a live connection is not a ui.TokenSwapper")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := comp.SendText(ctx, `{"type":"ping"}`); err != nil {
		t.Fatal(err)
	}
	src := c.Frames()
	deadline := time.Now().Add(20 * time.Second)
	for found := false; !found; {
		for _, f := range src.Page(ui.FrameFilter{Dir: "out"}, 0, src.Len(ui.FrameFilter{Dir: "out"})) {
			found = found || (f.Composed && f.Type == "ping")
		}
		if time.Now().After(deadline) {
			t.Fatal("the composed ping is not in the frame log marked composed")
		}
		time.Sleep(10 * time.Millisecond)
	}

	cands := swap.SwapCandidates()
	var expired, admin string
	for _, cd := range cands {
		switch {
		case strings.HasPrefix(cd.Label, "expired copy"):
			expired = cd.Token
		case strings.Contains(cd.Label, "for admin"):
			admin = cd.Token
		}
	}
	if expired == "" || admin == "" {
		t.Fatalf("candidates %+v lack the expired copy or admin's token", cands)
	}
	if d := swap.DecodeToken(expired); !d.Valid || d.Subject != "demo" || !d.ExpiresAt.Before(time.Now()) || d.Kind != "access" {
		t.Errorf("expired candidate decodes as %+v", d)
	}

	err := swap.SwapToken(ctx, expired, false, true)
	if err == nil || !strings.Contains(err.Error(), "expired at") {
		t.Fatalf("swap + reconnect with an expired token: %v", err)
	}
	s := testkit.Poll(t, "the swap and its refusal in the Token view", c.Snapshot, func(s ui.Snapshot) bool {
		for _, r := range s.Rotations {
			if r.Method == "swap" && r.Trigger == "reconnect" && !r.OK {
				return s.Token.Swap != nil
			}
		}
		return false
	})
	if s.Token.Swap.Subject != "demo" || s.Token.Swap.Once {
		t.Errorf("swap info %+v", s.Token.Swap)
	}
	if err := swap.ClearSwap(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "reconnected after clearing the swap", c.Snapshot, func(s ui.Snapshot) bool {
		return s.State == "connected" && s.Token.Swap == nil && s.User == "demo"
	})

	if err := swap.SwapToken(ctx, admin, true, true); err != nil {
		t.Fatalf("swap in admin's fresh token once: %v", err)
	}
	testkit.Poll(t, "the socket authenticated as admin", c.Snapshot, func(s ui.Snapshot) bool {
		return s.State == "connected" && s.User == "admin" && s.Token.Swap == nil
	})
}
