package client_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"go.uber.org/goleak"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	srv, err := kalamtest.NewServer(kalamtest.WithUser("alice", alicePW, "user"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Connect(ctxT(t), srv.URL, client.WithAuth(client.Basic("alice", alicePW)),
		client.WithReconnect(time.Millisecond, 5*time.Millisecond, 3), client.WithEventBuffer(1024))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = srv.Close()
	last := waitEvent[client.ErrorEvent](t, c, func(e client.ErrorEvent) bool { return !e.Recoverable })
	if !client.IsUnreachable(last.Err) {
		t.Fatalf("final error %v", last.Err)
	}
	testkit.Eventually(t, "client disconnected after giving up", func() bool { return c.State() == client.StateDisconnected })
	// Reconnect tries again and reports the failure once it gives up.
	if err := c.Reconnect(ctxT(t)); !client.IsUnreachable(err) {
		t.Fatalf("Reconnect against a dead server: %v", err)
	}
}

func TestTapDropsWhenConsumerIsSlow(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 5, "x")
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithTapBuffer(2))
	s := subscribe(t, c, "SELECT * FROM app.messages")
	nextSub(t, s)
	nextSub(t, s)
	// Nobody reads Frames: the protocol still works, the tap counts drops.
	testkit.Insert(t, srv, 10, 20, "y")
	for range 10 {
		if ev := nextSub(t, s); ev.Kind != client.SubInsert {
			t.Fatalf("got %s", ev.Kind)
		}
	}
	if c.TapDrops() == 0 || c.Stats().TapDrops != c.TapDrops() {
		t.Fatalf("tap drops = %d", c.TapDrops())
	}
	if n := len(takeFrames(c)); n != 2 {
		t.Fatalf("tap holds %d frames, want its capacity 2", n)
	}
}

func TestTapDisabled(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithTapBuffer(0))
	if c.Frames() != nil {
		t.Fatal("Frames() should be nil with WithTapBuffer(0)")
	}
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Fatal(err)
	}
}

func TestMessageAuthWithMsgpack(t *testing.T) {
	srv := newServer(t)
	testkit.Insert(t, srv, 0, 3, "m")
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithMessageAuth(), client.WithSerialization("msgpack"))
	ev := waitEvent[client.ConnectedEvent](t, c, nil)
	if ev.Protocol.Serialization != "msgpack" || ev.User != "alice" || ev.Role != "user" {
		t.Fatalf("connected %+v", ev)
	}
	s := subscribe(t, c, "SELECT * FROM app.messages")
	nextSub(t, s)
	if b := nextSub(t, s); len(b.Rows) != 3 {
		t.Fatalf("batch %+v", b)
	}
}

func TestCallsAfterCloseFail(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	s := subscribe(t, c, "SELECT * FROM app.messages")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range s.Events() {
	}
	if _, ok := <-c.Events(); ok {
		// drain: events emitted before Close may still be buffered
		for range c.Events() {
		}
	}
	if _, err := c.Subscribe(context.Background(), "SELECT * FROM app.messages"); err == nil {
		t.Fatal("Subscribe after Close succeeded")
	}
	if err := c.Reconnect(context.Background()); err == nil {
		t.Fatal("Reconnect after Close succeeded")
	}
	if c.State() != client.StateClosed {
		t.Fatalf("state %s", c.State())
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestAnonymousSocketSaysWhy(t *testing.T) {
	srv := newServer(t)
	_, err := client.Connect(ctxT(t), srv.URL, client.WithAuthTimeout(200*time.Millisecond))
	if !client.IsAuthError(err) || client.Hint(err) == "" {
		t.Fatalf("anonymous connect: %v", err)
	}
	// Over HTTP the server's own refusal comes back typed.
	c := lazyClient(t, srv.URL)
	_, err = c.Query(ctxT(t), "SELECT * FROM app.messages")
	var e *client.Error
	if !asError(err, &e) || e.Code != "MISSING_AUTHORIZATION" || !client.IsAuthError(err) {
		t.Fatalf("anonymous query: %v", err)
	}
}

func TestGzipBombIsCapped(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zero := make([]byte, 1<<20)
	for range 65 { // 65 MiB of zeros, ~65 KiB on the wire
		_, _ = zw.Write(zero)
	}
	_ = zw.Close()
	srv.SendRaw(nil, client.OpBinary, buf.Bytes())
	e := waitEvent[client.ErrorEvent](t, c, nil)
	if !strings.Contains(e.Err.Error(), "64 MiB") || !e.Recoverable {
		t.Fatalf("gzip bomb: %+v", e)
	}
	if c.State() != client.StateConnected {
		t.Fatalf("state %s after a refused frame", c.State())
	}
}

// TestCloseLeavesNoGoroutines closes a busy client while its server keeps
// running: nothing of the client (sockets, keep-alive HTTP connections,
// pumps) may survive.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	srv := newServer(t)
	ignore := goleak.IgnoreCurrent()
	c, err := client.Connect(ctxT(t), srv.URL, client.WithAuthProvider(newCountingProvider(client.Basic("alice", alicePW)).provide),
		client.WithKeepalive(20*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, c, "SELECT * FROM app.messages")
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RefreshAuth(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	_ = s
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, ignore)
}

// TestLazyClientStartsWhileServerIsDown: a lazy client can be created
// while its server is unreachable and works once the server is back.
func TestLazyClientStartsWhileServerIsDown(t *testing.T) {
	srv := newServer(t)
	srv.RefuseFor(time.Hour)
	p := newCountingProvider(client.Basic("alice", alicePW))
	c, err := client.Connect(ctxT(t), srv.URL, client.WithAuthProvider(p.provide), client.WithLazyConnect(true),
		client.WithProviderRetry(1, 0, 0), client.WithQueryRetries(0))
	if err != nil {
		t.Fatalf("lazy Connect with the server down: %v", err)
	}
	defer c.Close()
	e := waitEvent[client.ErrorEvent](t, c, nil)
	if !client.IsUnreachable(e.Err) || !e.Recoverable {
		t.Fatalf("startup error event %+v", e)
	}
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); !client.IsUnreachable(err) {
		t.Fatalf("query while down: %v", err)
	}
	srv.RefuseFor(0)
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Fatalf("query once the server is back: %v", err)
	}
	if err := c.Reconnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func TestManualPing(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithLazyConnect(true))
	if _, err := c.Ping(ctxT(t)); err == nil {
		t.Fatal("Ping without a socket succeeded")
	}
	if err := c.Reconnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	rtt, err := c.Ping(ctxT(t))
	if err != nil || rtt <= 0 || c.Stats().KeepaliveRTT != rtt {
		t.Fatalf("Ping = %s, %v", rtt, err)
	}
	waitFrame(t, c, func(f client.Frame) bool { return f.Opcode == client.OpPong && f.Direction == client.Inbound })
}

// TestCloseSendsItsCloseFrame: Close lets the close frame reach the server
// before it ends the socket, so the server sees 1000 "client closed" and
// not a socket cut without one (1006). The relay of `kalamdash proxy` saw
// this first: Close cancelled the read loop, which cut the socket while
// the close frame was still being written.
func TestCloseSendsItsCloseFrame(t *testing.T) {
	var log testkit.SyncBuffer
	srv := newServer(t, kalamtest.WithLogWriter(&log))
	for i := range 5 { // the race lost most runs; five make it plain
		c, err := client.Connect(ctxT(t), srv.URL, client.WithAuth(client.Basic("alice", alicePW)))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		want := "client_close=1000"
		testkit.Eventually(t, "the server logged the socket's end", func() bool {
			return strings.Count(log.String(), `msg="ws close"`) == i+1
		})
		if got := strings.Count(log.String(), want); got != i+1 {
			t.Fatalf("after %d Close calls the server saw %d close frames (want %q on each):\n%s", i+1, got, want, log.String())
		}
	}
}
