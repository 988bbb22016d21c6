package reliability_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// TestServerFullScenario: the server's WebSocket registry is full
// (performance.max_connections, here 1), so upgrades are answered 503
// "Server shutting down". A client that connects then is told so with a
// described error; a client that loses its socket while another takes the
// last slot keeps retrying through the 503s, and once the slot frees it
// reconnects and its subscription resumes with every row exactly once.
func TestServerFullScenario(t *testing.T) {
	e := newEnv(t, envConfig{noConnect: true, serverOpts: []kalamtest.Option{kalamtest.WithMaxConnections(1)}})

	// Phase 1: the registry is full before the client ever connects.
	squat := e.squat()
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	c, err := client.Connect(ctx, e.srv.URL, client.WithAuth(client.Basic("alice", alicePW)),
		client.WithHTTPTimeout(httpTimeout), client.WithReconnect(backoffMin, backoffMax, 0))
	if err == nil {
		_ = c.Close()
		t.Fatal("Connect succeeded while the server had no free slot")
	}
	check503(t, err)
	squat.release(t)

	// Phase 2: connected and subscribed; the socket drops while another
	// client takes the only slot.
	errs := e.connectRecording(envConfig{})
	sub := e.subscribe("messages")
	all := e.insert("messages", 5)
	e.waitRows("the first rows", sub, all)

	if err := e.px.SetRefuse(true); err != nil {
		t.Fatal(err)
	}
	if n := e.srv.DropAll(); n != 1 {
		t.Fatalf("DropAll cut %d sockets, want the client's one", n)
	}
	squat = e.squat() // polls until the client's slot is back
	all = append(all, e.insert("messages", 5)...)
	if err := e.px.SetRefuse(false); err != nil {
		t.Fatal(err)
	}
	e.waitFor("two refused reconnects", func() bool { return len(errs.of(http.StatusServiceUnavailable)) >= 2 }, nil)
	for _, err := range errs.of(http.StatusServiceUnavailable) {
		check503(t, err)
	}
	if s := e.c.State(); s == client.StateConnected {
		t.Fatalf("client state %v while the server is full", s)
	}

	squat.release(t)
	e.waitConnected(2)
	all = append(all, e.insert("messages", 5)...)
	e.waitDeliveredOnce("every row after the slot freed", sub, all)
}

// check503 asserts err is the client's described refusal of a full server.
func check503(t *testing.T, err error) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || !client.IsUnreachable(err) {
		t.Fatalf("want an unreachable *client.Error with status 503, got %#v (%v)", err, err)
	}
	t.Logf("the user sees: %v (hint: %s)", err, client.Hint(err))
	if !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q does not name the 503", err)
	}
}

// squatter is a raw socket holding a server slot.
type squatter struct{ c *websocket.Conn }

// squat dials the server directly until an upgrade succeeds, i.e. until a
// slot is free, and holds it.
func (e *env) squat() *squatter {
	e.t.Helper()
	var sq *squatter
	e.waitFor("a free server slot", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), httpTimeout)
		defer cancel()
		c, _, err := websocket.Dial(ctx, strings.Replace(e.srv.URL, "http", "ws", 1)+"/v1/ws", nil)
		if err != nil {
			return false
		}
		sq = &squatter{c: c}
		return true
	}, nil)
	e.t.Cleanup(func() { _ = sq.c.CloseNow() })
	return sq
}

func (sq *squatter) release(t *testing.T) {
	t.Helper()
	if err := sq.c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("closing the squatting socket: %v", err)
	}
}

// errorLog keeps the errors of the client's ErrorEvents.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

// of returns the recorded errors that carry HTTP status code.
func (l *errorLog) of(code int) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []error
	for _, err := range l.errs {
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status == code {
			out = append(out, err)
		}
	}
	return out
}

// connectRecording is connect, with the ErrorEvents' errors recorded on
// the way to the event log.
func (e *env) connectRecording(cfg envConfig) *errorLog {
	e.t.Helper()
	c := e.dial(cfg)
	log := &errorLog{}
	tee := make(chan client.Event, 1<<10)
	go func() {
		defer close(tee)
		for ev := range c.Events() {
			if x, ok := ev.(client.ErrorEvent); ok {
				log.mu.Lock()
				log.errs = append(log.errs, x.Err)
				log.mu.Unlock()
			}
			tee <- ev
		}
	}()
	e.log = newEventLog(tee)
	e.t.Cleanup(func() {
		_ = c.Close()
		e.log.wait()
	})
	return log
}
