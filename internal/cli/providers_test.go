package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// TestTokenSourcesFileNotice: a token-file provider reads the file, and a
// rotation on disk becomes a notice offering a refresh on that connection.
func TestTokenSourcesFileNotice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	mint := func(user string) string {
		tok, err := kalamtest.MintToken("secret", user, "user", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if err := os.WriteFile(path, []byte(mint("alice")), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := newTokenSources()
	defer ts.Close()
	notices := make(chan ui.Event, 4)
	ts.notify = func(ev ui.Event) { notices <- ev }
	p, err := ts.provider(session.Profile{Name: "conn-a", Auth: session.AuthTokenFile, TokenFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := p(context.Background()); err != nil || a.Token() == "" {
		t.Fatalf("provider: %v", err)
	}
	if err := os.WriteFile(path, []byte(mint("bob")), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-notices:
		if ev.ConnID != "conn-a" || ev.Kind != ui.EventNotice || !strings.Contains(ev.Text, "token file changed") || !strings.Contains(ev.Hint, "press R") {
			t.Fatalf("notice = %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice for the rotated token file")
	}
}

// TestTokenSourcesCommand: the token-command mode runs the profile's
// command; a bad command line is refused when the connection opens.
func TestTokenSourcesCommand(t *testing.T) {
	ts := newTokenSources()
	defer ts.Close()
	tok, err := kalamtest.MintToken("secret", "alice", "user", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := ts.provider(session.Profile{Auth: session.AuthTokenCommand, TokenCommand: "printf '%s' " + tok})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := p(context.Background()); err != nil || a.Token() != tok {
		t.Fatalf("provider: %v", err)
	}
	if _, err := ts.provider(session.Profile{Auth: session.AuthTokenCommand, TokenCommand: `echo "oops`}); err == nil {
		t.Fatal("unterminated quote accepted")
	}
	if got := credentialSource(session.Profile{Auth: session.AuthTokenCommand, TokenCommand: "gcloud auth print-identity-token --secret x"}); got != "token command gcloud" {
		t.Fatalf("credentialSource = %q", got)
	}
}
