package proxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/proxy"
)

// TestRelayFragmentsPingsAndCloses: a message sent in fragments, a ping
// and its pong, and a close code the relay does not know all cross it as
// they were sent — the relay never answers a ping itself — and the
// observer gets the message reassembled. The upstream is a plain
// WebSocket echo, so the frames are the test's own.
func TestRelayFragmentsPingsAndCloses(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		typ, msg, err := ws.Read(r.Context())
		if err != nil {
			return
		}
		_ = ws.Write(r.Context(), typ, msg)
		// Stay until the peer closes, answering its pings.
		_, _, _ = ws.Read(r.Context())
	}))
	t.Cleanup(upstream.Close)
	_, url, obs := startRelay(t, upstream.URL, proxy.Options{})

	ctx := ctxT(t)
	ws, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/v1/ws", nil)
	if err != nil {
		t.Fatalf("dial through the relay: %v", err)
	}
	defer ws.CloseNow()
	w, err := ws.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{`{"type":"ping",`, `"note":"in`, ` three frames"}`} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Read the echo in a goroutine: the library reads pongs only while a
	// reader runs.
	echoed := make(chan string, 1)
	go func() {
		_, msg, _ := ws.Read(context.Background())
		echoed <- string(msg)
		_, _, _ = ws.Read(context.Background())
	}()
	if got := <-echoed; got != `{"type":"ping","note":"in three frames"}` {
		t.Fatalf("echo through the relay: %q", got)
	}
	if err := ws.Ping(ctx); err != nil {
		t.Fatalf("ping through the relay: %v", err)
	}
	if err := ws.Close(4321, "unknown to the relay"); err != nil {
		t.Logf("close: %v", err) // the echo server may answer with 1006
	}
	waitFor(t, "the socket's end", func() bool { return len(obs.ended()) == 1 })

	frames, _ := obs.snapshot()
	var got []string
	for _, f := range frames {
		if f.Opcode == client.OpHTTP {
			continue
		}
		s := f.Direction.String() + " " + f.Opcode.String()
		switch f.Opcode {
		case client.OpText:
			s += " " + string(f.Decoded)
		case client.OpClose:
			s += " " + f.CloseReason
		}
		got = append(got, s)
	}
	want := []string{
		`out text {"type":"ping","note":"in three frames"}`,
		`in text {"type":"ping","note":"in three frames"}`,
		"out ping", "in pong",
		"out close unknown to the relay",
	}
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("observed:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range frames {
		if f.Opcode == client.OpClose && f.Direction == client.Outbound && f.CloseCode != 4321 {
			t.Errorf("close code %d crossed the relay, want 4321", f.CloseCode)
		}
	}
}
