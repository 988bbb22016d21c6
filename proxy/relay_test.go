package proxy_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/proxy"
)

// rowCounter counts the rows a subscription delivered.
func rowCounter(s *client.Subscription) func() int {
	var n int
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	go func() {
		for ev := range s.Events() {
			<-mu
			n += len(ev.Rows)
			mu <- struct{}{}
		}
	}()
	return func() int {
		<-mu
		defer func() { mu <- struct{}{} }()
		return n
	}
}

// session runs one application session against url: log in, a query, a
// subscription with a compressed initial batch, live inserts, an
// unsubscribe and a close. It returns the client's tap (secrets in clear).
func session(t *testing.T, url string, opts ...client.Option) []client.Frame {
	t.Helper()
	ctx := ctxT(t)
	c, err := client.Connect(ctx, url, append([]client.Option{client.WithAuth(client.Basic("alice", alicePW)),
		client.WithRevealSecrets(true), client.WithTapBuffer(1 << 16)}, opts...)...)
	if err != nil {
		t.Fatalf("Connect %s: %v", url, err)
	}
	tap, _ := drainTap(c)
	if _, err := c.Query(ctx, "SELECT id, body FROM app.messages WHERE id < 5"); err != nil {
		t.Fatalf("query: %v", err)
	}
	s, err := c.Subscribe(ctx, "SELECT * FROM app.messages", client.WithSubscriptionID("sub-1"))
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	rows := rowCounter(s)
	waitFor(t, "the initial rows", func() bool { return rows() >= 40 })
	return finish(t, c, tap, s, rows)
}

// finish writes live rows, waits for them, unsubscribes and closes.
func finish(t *testing.T, c *client.Client, tap <-chan []client.Frame, s *client.Subscription, rows func() int) []client.Frame {
	t.Helper()
	if err := s.Unsubscribe(ctxT(t)); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return <-tap
}

// TestRelayFramesByteForByte: an application (the project's client)
// talking to kalamtest through the relay receives and sends exactly the
// frames the relay observed on the other side — payloads byte for byte,
// same opcodes — in every wire mode; the relay decodes them as the client
// does; and the session is the same frame for frame as a direct one.
func TestRelayFramesByteForByte(t *testing.T) {
	modes := map[string][]client.Option{
		"gzip json":    nil,
		"uncompressed": {client.WithDisableCompression(true)},
		"msgpack":      {client.WithSerialization("msgpack")},
		"message auth": {client.WithMessageAuth()},
	}
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			insert(t, srv, 1, 41)
			_, url, obs := startRelay(t, srv.URL, proxy.Options{RevealSecrets: true})

			app := session(t, url, opts...)
			waitFor(t, "the relay to report the socket's end", func() bool { return len(obs.ended()) == 1 })
			relayed, _ := obs.snapshot()

			for _, dir := range []client.Direction{client.Outbound, client.Inbound} {
				got, want := wsData(relayed, dir), wsData(app, dir)
				if len(got) != len(want) {
					t.Fatalf("%s: relay observed %d data frames, the application's tap %d", dir, len(got), len(want))
				}
				for i := range want {
					g, w := got[i], want[i]
					if g.Opcode != w.Opcode || !bytes.Equal(g.Wire, w.Wire) {
						t.Fatalf("%s frame %d: relay %s %q, application %s %q", dir, i, g.Opcode, g.Wire, w.Opcode, w.Wire)
					}
					if g.Encoding != w.Encoding || g.Type != w.Type || g.SubscriptionID != w.SubscriptionID || !bytes.Equal(g.Decoded, w.Decoded) {
						t.Errorf("%s frame %d decoded differently: relay %s %s %q %s, client %s %s %q %s", dir, i,
							g.Encoding, g.Type, g.SubscriptionID, g.Decoded, w.Encoding, w.Type, w.SubscriptionID, w.Decoded)
					}
				}
			}
			if name != "uncompressed" && !hasOpcode(app, client.OpBinary) {
				t.Errorf("no binary frame in the %s session: the comparison did not cover one", name)
			}
			checkHTTPAnswers(t, relayed, app)

			direct := session(t, srv.URL, opts...)
			if g, w := shape(app), shape(direct); g != w {
				t.Errorf("the session through the relay differs from a direct one:\nrelay:  %s\ndirect: %s", g, w)
			}
		})
	}
}

func hasOpcode(frames []client.Frame, op client.Opcode) bool {
	for _, f := range frames {
		if f.Opcode == op {
			return true
		}
	}
	return false
}

// checkHTTPAnswers: every HTTP answer the application got is one the
// relay observed, status and body byte for byte.
func checkHTTPAnswers(t *testing.T, relayed, app []client.Frame) {
	t.Helper()
	var got, want []string
	for _, f := range relayed {
		if f.Opcode == client.OpHTTP && f.Direction == client.Inbound {
			got = append(got, fmt.Sprintf("%s %d %q", f.Type, f.Status, f.Decoded))
		}
	}
	for _, f := range app {
		if f.Opcode == client.OpHTTP && f.Direction == client.Inbound {
			want = append(want, fmt.Sprintf("%s %d %q", f.Type, f.Status, f.Decoded))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("HTTP answers:\nrelay:       %v\napplication: %v", got, want)
	}
}

// shape is a session's data frames as direction, opcode and message type.
func shape(frames []client.Frame) string {
	var b bytes.Buffer
	for _, f := range frames {
		if (f.Opcode == client.OpText || f.Opcode == client.OpBinary) && f.Type != client.TypePing {
			fmt.Fprintf(&b, "%s:%s:%s ", f.Direction, f.Opcode, f.Type)
		}
	}
	return b.String()
}
