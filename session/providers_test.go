package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// TestTokenFileRotationIsANotice: a token-file connection authenticates
// with the file's token, and a token rotated on disk becomes a NoticeEvent
// on that connection offering a refresh.
func TestTokenFileRotationIsANotice(t *testing.T) {
	e := newEnv(t)
	path := e.tokenFile("alice")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.m.Open(ctx, Profile{Name: "filed", URL: e.srv.URL, Auth: AuthTokenFile, TokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "connected as the file's alice", func() bool {
		s := c.Snapshot()
		return s.State == client.StateConnected && s.Detail.User == "alice"
	})
	e.clock.Advance(time.Second) // a token minted in another second differs
	e.writeToken(path, "bob")
	if n := notice(t, e.m, "filed"); n.Level != NoticeInfo || !strings.Contains(n.Text, "token file changed") || !strings.Contains(n.Hint, "press R") {
		t.Fatalf("notice = %+v", n)
	}
}

// TestNewAuthProvider: every auth mode builds the provider a client
// without a Manager needs; the token command's token is the one used, and
// a profile lacking what its mode needs is refused with what to fix.
func TestNewAuthProvider(t *testing.T) {
	e := newEnv(t)
	tok := e.mint("alice")
	pr, err := NewAuthProvider(Profile{Auth: AuthTokenCommand, TokenCommand: "printf '%s' " + tok})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := pr(context.Background()); err != nil || a.Token() != tok {
		t.Fatalf("token command provider: %v", err)
	}
	if pr, err := NewAuthProvider(Profile{Auth: AuthNone}); pr != nil || err != nil {
		t.Errorf("none: %v, %v", pr != nil, err)
	}
	for _, bad := range []struct {
		p    Profile
		want string
	}{
		{Profile{Auth: AuthTokenCommand, TokenCommand: `echo "oops`}, "quote"},
		{Profile{Auth: AuthPassword, User: "alice"}, "needs a password"},
		{Profile{Auth: AuthJWT}, "needs a token"},
	} {
		if _, err := NewAuthProvider(bad.p); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want an error about %q", bad.p, err, bad.want)
		}
	}
}
