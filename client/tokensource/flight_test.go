package tokensource_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/tokensource"
	"github.com/kalamdash/kalamdash/internal/testkit"
)

// gated is a token command that records each run, then blocks until the
// test creates its release file: a slow identity provider whose pace the
// test controls, without sleeping in the test itself.
type gated struct {
	*countedCommand
	release string
}

func newGated(t *testing.T, opts ...tokensource.CommandOption) *gated {
	t.Helper()
	c := newCountedCommand(t, mintToken(t, "alice", time.Hour),
		`while [ ! -e "$DIR/release" ]; do sleep 0.01; done`+"\n", opts...)
	g := &gated{countedCommand: c, release: filepath.Join(c.dir, "release")}
	// Never leave a command blocked behind a failed test.
	t.Cleanup(func() { g.open(t) })
	return g
}

// open lets every run, current and future, print its token.
func (g *gated) open(t *testing.T) {
	t.Helper()
	testkit.WriteFile(t, g.release, "")
}

// wantCachedAfter requires the command to have run n times, and one more
// call to be answered from the cache without another run.
func (g *gated) wantCachedAfter(t *testing.T, n int) {
	t.Helper()
	if got := g.runs(t); got != n {
		t.Fatalf("command ran %d times, want %d", got, n)
	}
	if _, err := g.Provide(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := g.runs(t); got != n {
		t.Fatalf("command ran %d times after a call the cache should answer, want %d", got, n)
	}
}

// shut makes the next runs block again.
func (g *gated) shut(t *testing.T) {
	t.Helper()
	if err := os.Remove(g.release); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	auth client.Auth
	err  error
}

// provide calls Provide in the background and delivers its result.
func (g *gated) provide(ctx context.Context) <-chan result {
	out := make(chan result, 1)
	go func() {
		a, err := g.Provide(ctx)
		out <- result{a, err}
	}()
	return out
}

func recv(t *testing.T, what string, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return result{}
	}
}

// TestCommandConcurrentCallersShareOneRun: callers arriving while the
// command runs wait for that run instead of starting their own, and all get
// its token.
func TestCommandConcurrentCallersShareOneRun(t *testing.T) {
	g := newGated(t)
	first := g.provide(context.Background())
	testkit.Eventually(t, "the command started", func() bool { return g.runs(t) == 1 })
	second := g.provide(context.Background())
	third := g.provide(context.Background())
	testkit.Eventually(t, "three callers wait", func() bool { return tokensource.Waiting(g.Command) == 3 })
	g.open(t)
	for i, ch := range []<-chan result{first, second, third} {
		r := recv(t, "a token", ch)
		if r.err != nil || r.auth.Token() != g.tok {
			t.Fatalf("caller %d: err=%v, token matches=%v", i, r.err, r.auth.Token() == g.tok)
		}
	}
	if n := g.runs(t); n != 1 {
		t.Fatalf("command ran %d times for 3 concurrent callers, want 1", n)
	}
	if inv := g.Invocations(); len(inv) != 1 || !inv[0].OK() || inv[0].Cached {
		t.Fatalf("invocations = %+v, want the one shared run", inv)
	}
}

// TestCommandCallerGivesUp: a caller whose context ends returns at once
// with its context's error, whether it started the run or joined it; the
// run goes on and answers the caller that still waits.
func TestCommandCallerGivesUp(t *testing.T) {
	for _, leaderGivesUp := range []bool{false, true} {
		name := map[bool]string{false: "joined caller", true: "caller that started the run"}[leaderGivesUp]
		t.Run(name, func(t *testing.T) {
			g := newGated(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var quitter, stayer <-chan result
			if leaderGivesUp {
				quitter = g.provide(ctx)
				testkit.Eventually(t, "the command started", func() bool { return g.runs(t) == 1 })
				stayer = g.provide(context.Background())
			} else {
				stayer = g.provide(context.Background())
				testkit.Eventually(t, "the command started", func() bool { return g.runs(t) == 1 })
				quitter = g.provide(ctx)
			}
			testkit.Eventually(t, "two callers wait", func() bool { return tokensource.Waiting(g.Command) == 2 })
			cancel()
			// The command is still blocked: the quitter cannot have been
			// answered by it.
			r := recv(t, "the cancelled caller", quitter)
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("cancelled caller: err = %v, want context.Canceled", r.err)
			}
			if n := tokensource.Waiting(g.Command); n != 1 {
				t.Fatalf("%d callers wait after one gave up, want 1", n)
			}
			g.open(t)
			if r := recv(t, "the remaining caller", stayer); r.err != nil || r.auth.Token() != g.tok {
				t.Fatalf("remaining caller: err=%v", r.err)
			}
			// The shared run's token is cached for the next caller.
			g.wantCachedAfter(t, 1)
		})
	}
}

// TestCommandStoppedWhenNobodyWaits: when the only caller gives up, the
// command is stopped, the history says why, and the next caller starts a
// run of its own.
func TestCommandStoppedWhenNobodyWaits(t *testing.T) {
	g := newGated(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := g.provide(ctx)
	testkit.Eventually(t, "the command started", func() bool { return g.runs(t) == 1 })
	cancel()
	if r := recv(t, "the cancelled caller", ch); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	testkit.Eventually(t, "the stopped run is recorded", func() bool { return len(g.Invocations()) == 1 })
	if inv := g.Invocations()[0]; inv.OK() || !strings.Contains(inv.Err.Error(), "every caller gave up") {
		t.Fatalf("invocation = %+v, want a run stopped because nobody waited", inv)
	}
	g.open(t)
	a, err := g.Provide(context.Background())
	if err != nil || a.Token() != g.tok {
		t.Fatalf("next caller: err=%v", err)
	}
	if n := g.runs(t); n != 2 {
		t.Fatalf("command ran %d times, want 2 (stopped run + a new one)", n)
	}
	// A caller whose context has already ended does not start the command.
	if _, err := g.Provide(ctx); err != nil {
		t.Fatalf("fresh cache should answer even a cancelled caller: %v", err)
	}
	g.Invalidate()
	if _, err := g.Provide(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := g.runs(t); n != 2 {
		t.Fatalf("command ran %d times for a cancelled caller, want 2", n)
	}
}

// TestCommandInvalidateDuringRun: Invalidate returns while the command is
// still blocked, and the next caller starts a run of its own instead of
// taking the token of a run that began before the invalidation.
func TestCommandInvalidateDuringRun(t *testing.T) {
	g := newGated(t)
	first := g.provide(context.Background())
	testkit.Eventually(t, "the command started", func() bool { return g.runs(t) == 1 })
	returned := make(chan struct{})
	go func() {
		g.Invalidate()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(15 * time.Second):
		g.open(t)
		t.Fatal("Invalidate waited for the running command")
	}
	second := g.provide(context.Background())
	testkit.Eventually(t, "a second run started", func() bool { return g.runs(t) == 2 })
	g.open(t)
	for i, ch := range []<-chan result{first, second} {
		if r := recv(t, "a token", ch); r.err != nil || r.auth.Token() != g.tok {
			t.Fatalf("caller %d: err=%v", i, r.err)
		}
	}
	// The second run's token is cached.
	g.wantCachedAfter(t, 2)
}

// TestCommandForcedCallersShareOneRun: through real clients, two
// RefreshAuth calls (which skip the cache) and the reconnects that follow
// a dropped socket (which would use it) all join the one run in flight
// rather than running the command one after another.
func TestCommandForcedCallersShareOneRun(t *testing.T) {
	srv := newServer(t)
	g := newGated(t)
	g.open(t)
	a := connect(t, srv, g.Provider())
	waitConnected(t, a)
	b := connect(t, srv, g.Provider())
	waitConnected(t, b)
	if n := g.runs(t); n != 1 {
		t.Fatalf("command ran %d times for two connects, want 1 (cached)", n)
	}
	g.shut(t)
	refreshed := make(chan error, 2)
	for _, c := range []*client.Client{a, b} {
		go func() {
			_, err := c.RefreshAuth(context.Background())
			refreshed <- err
		}()
	}
	testkit.Eventually(t, "both refreshes wait for one run", func() bool { return tokensource.Waiting(g.Command) == 2 })
	if srv.DropAll() == 0 {
		t.Fatal("DropAll found no socket to drop")
	}
	testkit.Eventually(t, "the reconnects join the run too", func() bool { return tokensource.Waiting(g.Command) == 4 })
	g.open(t)
	for range 2 {
		if err := testkit.Receive(t, refreshed, "RefreshAuth", nil); err != nil {
			t.Fatalf("RefreshAuth: %v", err)
		}
	}
	waitConnected(t, a)
	waitConnected(t, b)
	if n := g.runs(t); n != 2 {
		t.Fatalf("command ran %d times, want 2 (connect + one shared forced run)", n)
	}
}
