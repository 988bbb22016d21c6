package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	alicePW = "alice-secret-pw"
	adminPW = "admin-secret-pw"
)

// newServer starts a kalamtest server with users alice (user) and admin
// (dba), generous rate limits, and a table app.messages owned per user.
func newServer(t *testing.T, opts ...kalamtest.Option) *kalamtest.Server {
	t.Helper()
	base := []kalamtest.Option{
		kalamtest.WithUser("alice", alicePW, "user"),
		kalamtest.WithUser("admin", adminPW, "dba"),
		kalamtest.WithAuthRateLimit(100000),
		kalamtest.WithMessageRateLimit(100000),
	}
	srv, err := kalamtest.NewServer(append(base, opts...)...)
	if err != nil {
		t.Fatalf("kalamtest.NewServer: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.MustExec("admin", "CREATE NAMESPACE IF NOT EXISTS app")
	srv.MustExec("admin", "CREATE TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')")
	return srv
}

// insert writes rows [from, to) as alice.
func insert(t *testing.T, srv *kalamtest.Server, from, to int, body string) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := srv.Exec("alice", "INSERT INTO app.messages (id, body) VALUES ($1, $2)", i, fmt.Sprintf("%s-%d", body, i)); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
}

// countingProvider returns Basic alice credentials and counts calls.
type countingProvider struct {
	calls atomic.Int64
	mu    sync.Mutex
	auth  client.Auth
	gate  chan struct{} // if non-nil, calls after the first block until it is closed
	first chan struct{} // closed when a gated call starts
	once  sync.Once
}

func newCountingProvider(a client.Auth) *countingProvider { return &countingProvider{auth: a} }

func (p *countingProvider) set(a client.Auth) {
	p.mu.Lock()
	p.auth = a
	p.mu.Unlock()
}

func (p *countingProvider) provide(ctx context.Context) (client.Auth, error) {
	n := p.calls.Add(1)
	if p.gate != nil && n > 1 {
		p.once.Do(func() { close(p.first) })
		select {
		case <-p.gate:
		case <-ctx.Done():
			return client.Auth{}, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.auth, nil
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fastOpts keeps reconnects and keepalives quick for tests.
func fastOpts() []client.Option {
	return []client.Option{
		client.WithReconnect(10*time.Millisecond, 100*time.Millisecond, 0),
		client.WithEventBuffer(4096),
	}
}

func connect(t *testing.T, srv *kalamtest.Server, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Connect(ctxT(t), srv.URL, append(fastOpts(), opts...)...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitEvent reads client events until match returns true.
func waitEvent[T client.Event](t *testing.T, c *client.Client, match func(T) bool) T {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("events channel closed while waiting for %T", *new(T))
			}
			if e, ok := ev.(T); ok && (match == nil || match(e)) {
				return e
			}
		case <-deadline.C:
			var zero T
			t.Fatalf("timed out waiting for %T", zero)
			return zero
		}
	}
}

// nextSub reads the next subscription event.
func nextSub(t *testing.T, s *client.Subscription) client.SubEvent {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatal("subscription events closed")
		}
		return ev
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for a subscription event")
	}
	return client.SubEvent{}
}

// drainFrames collects tapped frames until match returns true for one.
func waitFrame(t *testing.T, c *client.Client, match func(client.Frame) bool) client.Frame {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				t.Fatal("frames channel closed")
			}
			if match(f) {
				return f
			}
		case <-deadline.C:
			t.Fatal("timed out waiting for a frame")
			return client.Frame{}
		}
	}
}

// takeFrames returns the frames currently buffered in the tap.
func takeFrames(c *client.Client) []client.Frame {
	var out []client.Frame
	for {
		select {
		case f, ok := <-c.Frames():
			if !ok {
				return out
			}
			out = append(out, f)
		default:
			return out
		}
	}
}

func rowID(t *testing.T, r client.Row) string {
	t.Helper()
	return fmt.Sprint(r["id"])
}

func containsAny(b []byte, secrets ...string) string {
	for _, s := range secrets {
		if s != "" && strings.Contains(string(b), s) {
			return s
		}
	}
	return ""
}

// eventually polls cond every millisecond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
