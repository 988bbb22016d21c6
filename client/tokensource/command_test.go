package tokensource_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/tokensource"
	"github.com/kalamdash/kalamdash/redact"
)

// TestCommandCalledOnEveryReconnect: with the cache off, the command runs
// for the first connect, for each of N reconnects and for RefreshAuth.
func TestCommandCalledOnEveryReconnect(t *testing.T) {
	srv := newServer(t)
	cmd := newCountedCommand(t, mintToken(t, "alice", time.Hour), "", tokensource.WithRefreshLead(0))
	c := connect(t, srv, cmd.Provider())
	if ev := waitConnected(t, c); ev.User != "alice" {
		t.Fatalf("connected as %q", ev.User)
	}
	const n = 4
	reconnectN(t, srv, c, n)
	if got := cmd.runs(t); got != 1+n {
		t.Fatalf("command ran %d times for 1 connect + %d reconnects", got, n)
	}
	if _, err := c.RefreshAuth(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := cmd.runs(t); got != 2+n {
		t.Fatalf("command ran %d times after RefreshAuth, want %d", got, 2+n)
	}
	for _, inv := range cmd.Invocations() {
		if !inv.OK() || inv.Cached || inv.Fingerprint == "" {
			t.Fatalf("unexpected invocation %+v", inv)
		}
	}
}

// TestCommandCachedWhileFresh: a token far from expiry is reused, so a
// flapping connection does not run the command again.
func TestCommandCachedWhileFresh(t *testing.T) {
	srv := newServer(t)
	cmd := newCountedCommand(t, mintToken(t, "alice", time.Hour), "")
	c := connect(t, srv, cmd.Provider())
	waitConnected(t, c)
	reconnectN(t, srv, c, 3)
	if got := cmd.runs(t); got != 1 {
		t.Fatalf("command ran %d times; want 1 (cached while fresh)", got)
	}
	cached := 0
	for _, inv := range cmd.Invocations() {
		if inv.Cached {
			cached++
		}
	}
	if cached != 3 {
		t.Fatalf("%d cached invocations, want 3", cached)
	}
	// RefreshAuth is an explicit request for new credentials: it runs
	// the command despite the fresh cache; the next reconnect is cached.
	if _, err := c.RefreshAuth(context.Background()); err != nil {
		t.Fatal(err)
	}
	reconnectN(t, srv, c, 1)
	if got := cmd.runs(t); got != 2 {
		t.Fatalf("command ran %d times after RefreshAuth + reconnect, want 2", got)
	}
	// Invalidate forces a run for any caller.
	cmd.Invalidate()
	reconnectN(t, srv, c, 1)
	if got := cmd.runs(t); got != 3 {
		t.Fatalf("command ran %d times after Invalidate + reconnect, want 3", got)
	}
}

// TestCommandCacheExpires: a token inside the refresh lead is renewed.
func TestCommandCacheExpires(t *testing.T) {
	now := time.Now()
	cmd := newCountedCommand(t, mintToken(t, "alice", 10*time.Minute), "", tokensource.WithRefreshLead(time.Minute),
		tokensource.WithCommandClock(func() time.Time { return now }))
	ctx := context.Background()
	for range 2 {
		if _, err := cmd.Provide(ctx); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(9*time.Minute + 30*time.Second) // inside the 1 min lead
	if _, err := cmd.Provide(ctx); err != nil {
		t.Fatal(err)
	}
	if got := cmd.runs(t); got != 2 {
		t.Fatalf("command ran %d times, want 2 (initial + renewal near expiry)", got)
	}
}

// TestCommandFailures: each failure mode says what happened, with stderr,
// and never the token.
func TestCommandFailures(t *testing.T) {
	dir := t.TempDir()
	tok := mintToken(t, "alice", time.Hour)
	cases := []struct {
		name, body string
		opts       []tokensource.CommandOption
		want       string
		transient  bool
	}{
		{"non-zero exit", "echo 'login required: run gcloud auth login' >&2; exit 3\n", nil, "exited with status 3: login required: run gcloud auth login", false},
		{"timeout", "sleep 5\n", []tokensource.CommandOption{tokensource.WithTimeout(100 * time.Millisecond)}, "timed out after 100ms", true},
		{"empty output", "true\n", nil, "printed no usable token: no token: the output is empty", false},
		{"not a JWT", "echo hello world\n", nil, "not a JWT", false},
		{"token echoed on stderr is redacted", "echo 'bad token " + tok + "' >&2; exit 1\n", nil, "bad token " + redact.Marker, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh := script(t, dir, "s"+string(rune('a'+i))+".sh", tc.body)
			cmd, err := tokensource.NewCommand(sh, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cmd.Provide(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatal("error message leaks the token")
			}
			if got := client.IsTransient(err); got != tc.transient {
				t.Fatalf("transient = %v, want %v", got, tc.transient)
			}
			inv := cmd.Invocations()
			if len(inv) != 1 || inv[0].OK() {
				t.Fatalf("invocations = %+v, want one failure", inv)
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		cmd, err := tokensource.NewCommand("kalamdash-no-such-command --flag")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Provide(context.Background()); err == nil || !strings.Contains(err.Error(), "not found on PATH") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad command line", func(t *testing.T) {
		if _, err := tokensource.NewCommand(`echo "unterminated`); err == nil || !strings.Contains(err.Error(), "unterminated") {
			t.Fatalf("err = %v", err)
		}
		if _, err := tokensource.NewCommand("   "); err == nil {
			t.Fatal("empty command accepted")
		}
	})
}

// TestCommandShellAndQuoting: arguments are split like a shell without
// running one, unless WithShell.
func TestCommandShellAndQuoting(t *testing.T) {
	tok := mintToken(t, "alice", time.Hour)
	cmd, err := tokensource.NewCommand(`printf '%s\n' "` + tok + `"`)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cmd.Provide(context.Background())
	if err != nil || a.Token() != tok {
		t.Fatalf("quoted args: err=%v", err)
	}
	sh, err := tokensource.NewCommand(`echo '{"token":"`+tok+`"}' | cat`, tokensource.WithShell())
	if err != nil {
		t.Fatal(err)
	}
	if a, err := sh.Provide(context.Background()); err != nil || a.Token() != tok {
		t.Fatalf("shell pipe: err=%v", err)
	}
	if s := sh.String(); strings.Contains(s, tok) {
		t.Fatalf("String() leaks arguments: %s", s)
	}
}
