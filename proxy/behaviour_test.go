package proxy_test

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/proxy"
	"github.com/kalamdash/kalamdash/redact"
)

// connect opens the project's client through url as alice.
func connect(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Connect(ctxT(t), url, append([]client.Option{client.WithAuth(client.Basic("alice", alicePW)),
		client.WithReconnect(10_000_000, 100_000_000, 0)}, opts...)...)
	if err != nil {
		t.Fatalf("Connect through the relay: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRelayPassesCloseCodes: the server's close code and reason reach the
// application as sent, and the socket's end event carries them with the
// client address and the user it authenticated as.
func TestRelayPassesCloseCodes(t *testing.T) {
	srv := newServer(t)
	_, url, obs := startRelay(t, srv.URL, proxy.Options{})
	c := connect(t, url, client.WithTapBuffer(1<<10))
	_, tap := drainTap(c)
	waitFor(t, "the socket's open event", func() bool { _, evs := obs.snapshot(); return len(evs) >= 1 })
	if n := srv.CloseConns(4001, "relay test: goodbye"); n != 1 {
		t.Fatalf("server closed %d sockets, want 1", n)
	}
	waitFor(t, "the socket's end event", func() bool { return len(obs.ended()) >= 1 })
	end := obs.ended()[0]
	if end.CloseCode != 4001 || end.CloseReason != "relay test: goodbye" || end.User != "alice" || end.Role != "user" ||
		!strings.HasPrefix(end.Client, "127.0.0.1:") || end.ConnID != 1 {
		t.Errorf("end event %+v: want close 4001 with its reason, alice (user) from 127.0.0.1", end)
	}
	// The client taps the close after the relay relayed it: wait for it.
	var appClose *client.Frame
	waitFor(t, "the application's close", func() bool {
		for _, f := range tap() {
			if f.Opcode == client.OpClose && f.Direction == client.Inbound {
				appClose = &f
				return true
			}
		}
		return false
	})
	if appClose == nil || appClose.CloseCode != 4001 || appClose.CloseReason != "relay test: goodbye" {
		t.Errorf("the application saw close %+v, want 4001 \"relay test: goodbye\"", appClose)
	}
}

// echoed is what the echo upstream received.
type echoed struct {
	Method, URI, Host, Body string
	Header                  http.Header
}

// TestRelayPassesRequestsUnchanged: method, path, query, headers
// (Authorization, Origin, the application's own X-Forwarded-For) and body
// reach the upstream; its status, headers and body reach the
// application. A refused upgrade comes back as the upstream refused it.
func TestRelayPassesRequestsUnchanged(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Reply", "teapot")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_ = json.NewEncoder(w).Encode(echoed{r.Method, r.RequestURI, r.Host, string(body), r.Header})
	}))
	t.Cleanup(upstream.Close)
	_, url, obs := startRelay(t, upstream.URL, proxy.Options{})

	for _, upgrade := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/api/sql?a=1&b=%2F", strings.NewReader(`{"sql":"SELECT 1"}`))
		if upgrade {
			req, _ = http.NewRequest(http.MethodGet, url+"/v1/ws?compress=false&x=y", nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		}
		req.Header.Set("Authorization", "Bearer app-token-123")
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("X-Forwarded-For", "10.1.2.3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("request through the relay: %v", err)
		}
		var got echoed
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("decode the echo: %v", err)
		}
		if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Reply") != "teapot" {
			t.Errorf("upgrade=%v: answer %d X-Reply=%q, want 418 teapot", upgrade, resp.StatusCode, resp.Header.Get("X-Reply"))
		}
		wantURI, wantBody := "/v1/api/sql?a=1&b=%2F", `{"sql":"SELECT 1"}`
		if upgrade {
			wantURI, wantBody = "/v1/ws?compress=false&x=y", ""
		}
		if got.URI != wantURI || got.Body != wantBody || got.Header.Get("Authorization") != "Bearer app-token-123" ||
			got.Header.Get("Origin") != "https://app.example" || got.Header.Get("X-Forwarded-For") != "10.1.2.3" ||
			got.Host != strings.TrimPrefix(upstream.URL, "http://") {
			t.Errorf("upgrade=%v: upstream received %+v", upgrade, got)
		}
		if upgrade && (got.Header.Get("Sec-WebSocket-Key") != "dGhlIHNhbXBsZSBub25jZQ==" || got.Header.Get("Upgrade") != "websocket") {
			t.Errorf("the upgrade's WebSocket headers did not reach the upstream: %v", got.Header)
		}
	}
	// Observed, and redacted: the token is not in the requests the relay
	// reported (the echo's answer repeats it as data).
	frames, events := obs.snapshot()
	if len(frames) != 4 {
		t.Errorf("relay observed %d HTTP frames, want 4 (two requests, two answers)", len(frames))
	}
	for _, f := range frames {
		if f.Direction == client.Outbound && strings.Contains(string(f.Wire), "app-token-123") {
			t.Errorf("the Authorization token is in an observed frame: %q", f.Wire)
		}
		if f.Direction == client.Outbound && !strings.Contains(string(f.Wire), "Authorization: Bearer "+redact.Marker) {
			t.Errorf("observed request without its (redacted) Authorization header: %q", f.Wire)
		}
	}
	if len(events) != 1 || events[0].Opened || !strings.Contains(events[0].Err, "418") {
		t.Errorf("events %+v: want one for the refused upgrade, saying 418", events)
	}
}

// TestCompressOffNext: after CompressOffNext the application's next
// socket is upgraded with compress=false, so a batch that was a gzip
// binary frame is now text; the socket after it is relayed unchanged.
func TestCompressOffNext(t *testing.T) {
	srv := newServer(t)
	insert(t, srv, 1, 41)
	relay, url, obs := startRelay(t, srv.URL, proxy.Options{})
	c := connect(t, url)
	subscribe := func(id string) {
		t.Helper()
		s, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", client.WithSubscriptionID(id))
		if err != nil {
			t.Fatalf("subscribe %s: %v", id, err)
		}
		rows := rowCounter(s)
		waitFor(t, id+"'s rows", func() bool { return rows() >= 40 })
		if err := s.Unsubscribe(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	subscribe("first")
	relay.CompressOffNext()
	relay.Drop()
	waitFor(t, "the second socket", func() bool { return c.State() == client.StateConnected && len(obs.ended()) == 1 })
	subscribe("second")
	relay.Drop()
	waitFor(t, "the third socket", func() bool { return c.State() == client.StateConnected && len(obs.ended()) == 2 })
	subscribe("third")
	_ = c.Close()
	waitFor(t, "the third socket's end", func() bool { return len(obs.ended()) == 3 })

	frames, events := obs.snapshot()
	batches := map[uint64]client.Opcode{}
	for _, f := range frames {
		if f.Type == "initial_data_batch" {
			batches[f.ConnID] = f.Opcode
		}
	}
	if batches[1] != client.OpBinary || batches[2] != client.OpText || batches[3] != client.OpBinary {
		t.Errorf("initial batches by socket %v: want binary (gzip), text (compress=false), binary again", batches)
	}
	forced := map[uint64]bool{}
	for _, ev := range events {
		if ev.Opened {
			forced[ev.ConnID] = ev.CompressForcedOff
			if strings.Contains(ev.Target, "compress=false") != ev.CompressForcedOff {
				t.Errorf("socket %d: target %s, forced off %v", ev.ConnID, ev.Target, ev.CompressForcedOff)
			}
		}
	}
	if !forced[2] || forced[1] || forced[3] {
		t.Errorf("compress forced off by socket %v, want the second only", forced)
	}
	for _, ev := range obs.ended()[:2] {
		if ev.CloseCode != -1 || !strings.Contains(ev.Err, "dropped") {
			t.Errorf("dropped socket's end %+v: want no close frame (-1) and the drop as its reason", ev)
		}
	}
}

// TestRelayTLSUpstream: the relay reaches a TLS upstream with the CA file
// a profile names (client.TLSConfig), and refuses one it cannot verify.
func TestRelayTLSUpstream(t *testing.T) {
	srv := newServer(t)
	insert(t, srv, 1, 5)
	u, _ := url.Parse(srv.URL)
	front := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(u))
	t.Cleanup(front.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, err := client.TLSConfig(client.WithCAFile(caFile))
	if err != nil {
		t.Fatal(err)
	}
	_, url, _ := startRelay(t, front.URL, proxy.Options{TLS: cfg})
	c := connect(t, url)
	s, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages")
	if err != nil {
		t.Fatalf("subscribe through the relay to TLS: %v", err)
	}
	rows := rowCounter(s)
	waitFor(t, "the rows over TLS", func() bool { return rows() == 4 })

	_, untrusted, obs := startRelay(t, front.URL, proxy.Options{})
	_, err = client.Connect(ctxT(t), untrusted, client.WithAuth(client.Basic("alice", alicePW)), client.WithReconnect(10_000_000, 100_000_000, 1))
	if err == nil {
		t.Fatal("connected through a relay that cannot verify the upstream's certificate")
	}
	frames, _ := obs.snapshot()
	var sawCert bool
	for _, f := range frames {
		sawCert = sawCert || strings.Contains(f.Err, "certificate")
	}
	if !sawCert {
		t.Errorf("no observed exchange says the certificate was refused: %v", err)
	}
}
