package kalamtest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
)

// rawUpgrade sends one request for /v1/ws with exactly these header lines
// over a fresh TCP connection and returns the answer, its body read.
func rawUpgrade(t *testing.T, s *ktServer, method string, lines ...string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	req := method + " /v1/ws HTTP/1.1\r\nHost: " + strings.TrimPrefix(s.URL, "http://") + "\r\n"
	for _, l := range lines {
		req += l + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %v: %v", method, lines, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, ""
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %v: body: %v", method, lines, err)
	}
	return resp, string(body)
}

// A request for /v1/ws that is not a proper upgrade gets actix's refusal:
// 400 with the failed check's reason phrase and no body, the checks in
// actix's order (actix/actix-web: actix-http/src/ws/mod.rs verify_handshake
// and From<HandshakeError> for Response; actix-http/src/h1/decoder.rs for
// what counts as "Connection: upgrade"), reached through actix-ws's handle
// from upstream's handler (jamals86/KalamDB:
// backend/crates/kalamdb-api/src/ws/handler.rs).
func TestWSHandshakeRefusals(t *testing.T) {
	s := newKT(t)
	const (
		up      = "Upgrade: websocket"
		conn    = "Connection: Upgrade"
		v13     = "Sec-WebSocket-Version: 13"
		key     = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
		refused = http.StatusBadRequest
	)
	for _, tc := range []struct {
		name   string
		lines  []string
		status int
		reason string
	}{
		{"no headers", nil, refused, "No WebSocket Upgrade header found"},
		{"other upgrade", []string{"Upgrade: h2c", conn, v13, key}, refused, "No WebSocket Upgrade header found"},
		{"only the first Upgrade counts", []string{"Upgrade: h2c", up, conn, v13, key}, refused, "No WebSocket Upgrade header found"},
		{"no Connection", []string{up, v13, key}, refused, "No Connection upgrade"},
		{"Connection keep-alive", []string{up, "Connection: keep-alive", v13, key}, refused, "No Connection upgrade"},
		{"close beats upgrade", []string{up, "Connection: Upgrade, close", v13, key}, refused, "No Connection upgrade"},
		{"no version", []string{up, conn, key}, refused, "WebSocket version header is required"},
		{"version 12", []string{up, conn, "Sec-WebSocket-Version: 12", key}, refused, "Unsupported WebSocket version"},
		{"no key", []string{up, conn, v13}, refused, "Handshake error"},
		{"upgrade", []string{up, conn, v13, key}, http.StatusSwitchingProtocols, "Switching Protocols"},
		{"token lists, any case", []string{"Upgrade: WebSocket", "Connection: keep-alive, upgrade", v13, key}, http.StatusSwitchingProtocols, "Switching Protocols"},
		{"draft version 8", []string{up, conn, "Sec-WebSocket-Version: 8", key}, http.StatusSwitchingProtocols, "Switching Protocols"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawUpgrade(t, s, "GET", tc.lines...)
			if want := fmt.Sprintf("%d %s", tc.status, tc.reason); resp.Status != want {
				t.Errorf("status %q, want %q", resp.Status, want)
			}
			if body != "" {
				t.Errorf("body %q, want none", body)
			}
		})
	}
}

// KalamDB's own checks come first: shutdown, then origin, then a registry
// slot, and only then the handshake (jamals86/KalamDB:
// backend/crates/kalamdb-api/src/ws/handler.rs). The route admits only
// GET (#[get("/ws")]), so another method finds no route at all.
func TestWSHandshakeComesAfterKalamDBChecks(t *testing.T) {
	origin := newKT(t, kalamtest.WithAllowedOrigins("http://localhost:5173"))
	if resp, body := rawUpgrade(t, origin, "GET", "Origin: http://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin without upgrade: %s %q, want the origin's 403", resp.Status, body)
	}
	full := newKT(t, kalamtest.WithMaxConnections(0))
	if resp, body := rawUpgrade(t, full, "GET"); resp.StatusCode != http.StatusServiceUnavailable || body != "Server shutting down" {
		t.Errorf("full registry without upgrade: %s %q, want 503 Server shutting down", resp.Status, body)
	}
	s := newKT(t)
	for _, method := range []string{"POST", "HEAD", "PUT"} {
		if resp, _ := rawUpgrade(t, s, method, "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Content-Length: 0"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s /v1/ws: %s, want 404 (no route)", method, resp.Status)
		}
	}
}
