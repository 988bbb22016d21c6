package proxy_test

import (
	"context"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/proxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	alicePW = "alice-relay-pw-1"
	adminPW = "admin-relay-pw-1"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testkit.Deadline)
	t.Cleanup(cancel)
	return ctx
}

// newServer starts a kalamtest server with alice and admin and a per-user
// table app.messages.
func newServer(t *testing.T, opts ...kalamtest.Option) *kalamtest.Server {
	t.Helper()
	srv := testkit.Start(t, alicePW, adminPW, opts...)
	testkit.CreateTables(t, srv, "messages")
	return srv
}

// insert writes rows [from, to) as alice, with bodies long enough that a
// batch of a few dozen is gzip-compressed.
func insert(t *testing.T, srv *kalamtest.Server, from, to int) {
	t.Helper()
	testkit.Insert(t, srv, from, to, "a body long enough to make a batch worth compressing")
}

// observed is what a relay reported: its frames and connection events.
type observed struct {
	mu     sync.Mutex
	frames []client.Frame
	events []proxy.ConnEvent
}

func (o *observed) frame(_ string, f client.Frame) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.frames = append(o.frames, f)
}

func (o *observed) conn(ev proxy.ConnEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, ev)
}

func (o *observed) snapshot() ([]client.Frame, []proxy.ConnEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]client.Frame(nil), o.frames...), append([]proxy.ConnEvent(nil), o.events...)
}

// ended returns the end events reported so far.
func (o *observed) ended() []proxy.ConnEvent {
	_, evs := o.snapshot()
	var out []proxy.ConnEvent
	for _, ev := range evs {
		if !ev.Opened {
			out = append(out, ev)
		}
	}
	return out
}

// startRelay serves a relay to upstream on a loopback port and returns
// it, its URL and what it observes.
func startRelay(t *testing.T, upstream string, o proxy.Options) (*proxy.Relay, string, *observed) {
	t.Helper()
	obs := &observed{}
	o.OnFrame, o.OnConn = obs.frame, obs.conn
	r, url := testkit.ServeRelay(t, upstream, o)
	return r, url, obs
}

// waitFor waits until cond holds (testkit.Eventually).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, what, cond)
}

// drainTap collects a client's tap until it is closed (by Close), which
// sends everything on the channel returned. So far is what it collected
// up to now.
func drainTap(c *client.Client) (all <-chan []client.Frame, soFar func() []client.Frame) {
	out := make(chan []client.Frame, 1)
	var mu sync.Mutex
	var frames []client.Frame
	go func() {
		for f := range c.Frames() {
			mu.Lock()
			frames = append(frames, f)
			mu.Unlock()
		}
		out <- frames
	}()
	return out, func() []client.Frame {
		mu.Lock()
		defer mu.Unlock()
		return append([]client.Frame(nil), frames...)
	}
}

// wsData keeps a socket's data frames (text, binary) of direction dir.
func wsData(frames []client.Frame, dir client.Direction) []client.Frame {
	var out []client.Frame
	for _, f := range frames {
		if f.Direction == dir && (f.Opcode == client.OpText || f.Opcode == client.OpBinary) {
			out = append(out, f)
		}
	}
	return out
}
