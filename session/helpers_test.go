package session

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// env is a kalamtest server and a manager sharing one fake clock, so token
// iat/exp, phases and scheduling all follow Advance.
type env struct {
	t     testing.TB
	clock *FakeClock
	srv   *kalamtest.Server
	m     *Manager
}

const (
	testAccessTTL  = 100 * time.Second
	testRefreshTTL = 1000 * time.Second
)

func newEnv(t testing.TB, opts ...ManagerOption) *env {
	t.Helper()
	return newEnvServer(t, nil, opts...)
}

// newEnvServer is newEnv with extra server options (applied last, so they
// win over the defaults).
func newEnvServer(t testing.TB, srvOpts []kalamtest.Option, opts ...ManagerOption) *env {
	t.Helper()
	// Whole seconds: JWT iat/exp are seconds, so boundaries line up exactly.
	clk := NewFakeClock(time.Unix(time.Now().Unix(), 0))
	srv, err := kalamtest.NewServer(append(append(fakeClockServer(clk),
		kalamtest.WithUser("alice", "alice-pw", "user"),
		kalamtest.WithUser("bob", "bob-pw", "dba"),
		kalamtest.WithAccessTTL(testAccessTTL),
		kalamtest.WithRefreshTTL(testRefreshTTL),
		// Write bursts must reach the log whole: the server's default
		// 128-deep notification queue legitimately drops under load, and
		// that is the reliability suite's subject, not this package's.
		kalamtest.WithNotifyQueue(1<<16),
	), srvOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	base := []ManagerOption{WithClock(clk), WithPumpInterval(5 * time.Millisecond),
		WithClientOptions(client.WithReconnect(10*time.Millisecond, 50*time.Millisecond, 0))}
	m := NewManager(append(base, opts...)...)
	e := &env{t: t, clock: clk, srv: srv, m: m}
	t.Cleanup(func() {
		m.CloseAll()
		srv.Close()
	})
	return e
}

// fakeClockServer makes clk the server's clock for what the tests step
// through (token iat/exp, validation, lockout) and keeps it away from the
// limits that mean real time: the fake clock jumps minutes ahead, or stands
// still, while real sockets connect, authenticate and talk. Without this a
// jump during a reconnect's handshake closes it for an auth timeout, a jump
// closes an idle socket for its heartbeat, and a frozen clock never refills
// the per-connection message and per-IP auth buckets.
func fakeClockServer(clk *FakeClock) []kalamtest.Option {
	return []kalamtest.Option{
		kalamtest.WithClock(clk.Now),
		kalamtest.WithAuthTimeout(1000 * time.Hour),
		kalamtest.WithHeartbeatTimeout(1000 * time.Hour),
		kalamtest.WithMessageRateLimit(0),
		kalamtest.WithAuthRateLimit(0),
	}
}

func (e *env) open(name, user, pw string) *Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := e.m.Open(ctx, Profile{Name: name, URL: e.srv.URL, User: user, Password: pw})
	if err != nil {
		e.t.Fatalf("open %s: %v", name, err)
	}
	e.waitState(c, client.StateConnected)
	return c
}

// eventually polls cond until it holds (testkit.Eventually).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, what, cond)
}

func (e *env) waitState(c *Conn, s client.ConnState) {
	e.t.Helper()
	eventually(e.t, "state "+s.String(), func() bool { return c.Snapshot().State == s })
}

// notice waits for the manager's first NoticeEvent on connection conn,
// passing over other events.
func notice(t *testing.T, m *Manager, conn string) NoticeEvent {
	t.Helper()
	deadline := time.After(testkit.Deadline)
	for {
		select {
		case ev, ok := <-m.Events():
			if !ok {
				t.Fatal("events closed before a notice")
			}
			if n, ok := ev.(NoticeEvent); ok && n.Conn == conn {
				t.Logf("notice: %s — %s", n.Text, n.Hint)
				return n
			}
		case <-deadline:
			t.Fatalf("no notice on %s within %v", conn, testkit.Deadline)
		}
	}
}

// mintToken signs a token as a kalamtest server with secret would, issued
// at iat, or fails the test.
func mintToken(t testing.TB, secret, user, role string, ttl time.Duration, iat time.Time) string {
	t.Helper()
	tok, err := mint.Token(secret, user, role, ttl, iat)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mint signs a one-hour user token for user at the fake clock's now with
// kalamtest's default secret.
func (e *env) mint(user string) string {
	e.t.Helper()
	return mintToken(e.t, kalamtest.DefaultJWTSecret, user, "user", time.Hour, e.clock.Now())
}

// tokenFile writes a freshly minted token of user into a new file (0600)
// and returns its path, for a token-file profile.
func (e *env) tokenFile(user string) string {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), "token")
	e.writeToken(path, user)
	return path
}

// writeToken writes a freshly minted token of user to path (0600), as a
// sidecar that rotates a token file does.
func (e *env) writeToken(path, user string) {
	e.t.Helper()
	testkit.WriteFile(e.t, path, e.mint(user))
}
