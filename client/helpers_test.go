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
	"github.com/kalamdash/kalamdash/internal/testkit"
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
	srv := testkit.Start(t, alicePW, adminPW, opts...)
	testkit.CreateTables(t, srv, "messages")
	return srv
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

// lazyClient is a client that opens no socket until asked (HTTP calls
// only, such as Login and Query), closed when the test ends.
func lazyClient(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.Connect(ctxT(t), url, client.WithLazyConnect(true))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitEvent reads client events until one of type T satisfies match
// (nil: any of type T).
func waitEvent[T client.Event](t *testing.T, c *client.Client, match func(T) bool) T {
	t.Helper()
	ev := testkit.Receive(t, c.Events(), fmt.Sprintf("%T", *new(T)), func(ev client.Event) bool {
		e, ok := ev.(T)
		return ok && (match == nil || match(e))
	})
	return ev.(T)
}

// subscribe starts the live query sql on c, failing the test if it is
// refused.
func subscribe(t *testing.T, c *client.Client, sql string, opts ...client.SubOption) *client.Subscription {
	t.Helper()
	s, err := c.Subscribe(ctxT(t), sql, opts...)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", sql, err)
	}
	return s
}

// nextSub reads the next subscription event.
func nextSub(t *testing.T, s *client.Subscription) client.SubEvent {
	t.Helper()
	return testkit.Receive(t, s.Events(), "a subscription event", nil)
}

// waitFrame reads tapped frames until match returns true for one.
func waitFrame(t *testing.T, c *client.Client, match func(client.Frame) bool) client.Frame {
	t.Helper()
	return testkit.Receive(t, c.Frames(), "a frame", match)
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

// nextRowIDs reads subscription events until they have carried at least n
// rows, and returns those rows' ids in order.
func nextRowIDs(t *testing.T, s *client.Subscription, n int) []string {
	t.Helper()
	var ids []string
	for len(ids) < n {
		for _, r := range nextSub(t, s).Rows {
			ids = append(ids, rowID(t, r))
		}
	}
	return ids
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
