package client_test

import (
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// TestKeepaliveNotHeldBackBySlowPong: with a round trip far longer than
// the keepalive interval, the client keeps sending keepalives on its own
// schedule while the first Pong is still on its way. The official client
// times each ping from the previous send, never from the Pong
// (upstream link/link-common/src/connection/shared/reconnect.rs); a
// client that waits for the Pong first leaves interval + RTT between the
// frames the server receives, which the server's 10 s heartbeat limit
// punishes on slow links (issue 13).
func TestKeepaliveNotHeldBackBySlowPong(t *testing.T) {
	srv := newServer(t)
	px, err := kalamtest.NewProxy(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	// A short latency for the handshake, then a long one: every
	// keepalive's Pong takes at least six seconds to come back (a chunk
	// already on its way takes the new latency too), over a hundred
	// keepalive intervals.
	px.SetLatency(200*time.Millisecond, 0)
	c, err := client.Connect(ctxT(t), px.URL(), append(fastOpts(),
		client.WithAuthProvider(newCountingProvider(client.Basic("alice", alicePW)).provide),
		client.WithKeepalive(50*time.Millisecond, time.Minute))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	px.SetLatency(3*time.Second, 0)

	appPings := 0
	deadline := time.After(20 * time.Second)
	for {
		select {
		case f := <-c.Frames():
			switch {
			case f.Direction == client.Outbound && f.Opcode == client.OpText && f.Type == client.TypePing:
				appPings++
				if appPings == 3 {
					return // three keepalives before any Pong came back
				}
			case f.Direction == client.Inbound && f.Opcode == client.OpPong:
				t.Fatalf("a Pong arrived after only %d keepalive(s): the next keepalive waited for it", appPings)
			}
		case <-deadline:
			t.Fatalf("only %d keepalive(s) seen", appPings)
		}
	}
}
