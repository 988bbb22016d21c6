package tokensource_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/tokensource"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const secret = "tokensource-test-secret-0123456789"

// newServer starts a kalamtest server that accepts tokens minted with
// secret for users alice and bob.
func newServer(t *testing.T) *kalamtest.Server {
	t.Helper()
	srv, err := kalamtest.NewServer(
		kalamtest.WithJWTSecret(secret),
		kalamtest.WithUser("alice", "alice-pw", "user"),
		kalamtest.WithUser("bob", "bob-pw", "user"),
		kalamtest.WithAuthRateLimit(100000),
	)
	if err != nil {
		t.Fatalf("kalamtest.NewServer: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func mintToken(t *testing.T, user string, ttl time.Duration) string {
	t.Helper()
	tok, err := mint.Token(secret, user, "user", ttl, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// countedCommand is a real token command for a test: a shell script in
// its own directory that counts each run in a file, runs wait (shell, may
// be empty), then prints tok.
type countedCommand struct {
	*tokensource.Command
	dir string
	tok string
}

// newCountedCommand writes tok and the script and makes the command with
// opts; $DIR names the script's directory in wait.
func newCountedCommand(t *testing.T, tok, wait string, opts ...tokensource.CommandOption) *countedCommand {
	t.Helper()
	dir := t.TempDir()
	testkit.WriteFile(t, filepath.Join(dir, "token"), tok)
	sh := script(t, dir, "token.sh", `echo run >> "$DIR/count"`+"\n"+wait+`cat "$DIR/token"`+"\n")
	cmd, err := tokensource.NewCommand(sh, append([]tokensource.CommandOption{tokensource.WithEnv("DIR=" + dir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &countedCommand{Command: cmd, dir: dir, tok: tok}
}

// runs is how many times the command has started.
func (c *countedCommand) runs(t *testing.T) int {
	t.Helper()
	return countLines(t, filepath.Join(c.dir, "count"))
}

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return 0
		}
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func connect(t *testing.T, srv *kalamtest.Server, p client.AuthProvider) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, srv.URL,
		client.WithAuthProvider(p),
		client.WithReconnect(10*time.Millisecond, 100*time.Millisecond, 0),
		client.WithEventBuffer(4096),
		client.WithTapBuffer(65536),
	)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitConnected reads events until the next ConnectedEvent.
func waitConnected(t *testing.T, c *client.Client) client.ConnectedEvent {
	t.Helper()
	ev := testkit.Receive(t, c.Events(), "ConnectedEvent", func(ev client.Event) bool {
		_, ok := ev.(client.ConnectedEvent)
		return ok
	})
	return ev.(client.ConnectedEvent)
}

// reconnectN drops the socket n times, waiting for each reconnection.
func reconnectN(t *testing.T, srv *kalamtest.Server, c *client.Client, n int) {
	t.Helper()
	for range n {
		if srv.DropAll() == 0 {
			t.Fatal("DropAll found no socket to drop")
		}
		waitConnected(t, c)
	}
}
