package client_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
)

// headerStripper is a TCP relay to target that takes the Upgrade and
// Connection lines out of each request head it forwards, as a proxy that
// does not speak WebSockets does, and relays everything else byte for
// byte, so the server's status line arrives as sent. It returns the
// relay's http:// URL.
func headerStripper(t *testing.T, target string) string {
	t.Helper()
	return "http://" + testkit.ServeTCP(t, func(c net.Conn) { stripAndRelay(c, target) })
}

func stripAndRelay(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	br := bufio.NewReader(c)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		name, _, _ := strings.Cut(strings.ToLower(line), ":")
		if name != "upgrade" && name != "connection" {
			head.WriteString(line)
		}
		if line == "\r\n" {
			break
		}
	}
	if _, err := io.WriteString(up, head.String()); err != nil {
		return
	}
	go func() { _, _ = io.Copy(up, br) }()
	_, _ = io.Copy(c, up)
}

// KalamDB answers an upgrade whose Upgrade header a proxy removed with
// actix's 400 "No WebSocket Upgrade header found" (kalamtest does as
// upstream: jamals86/KalamDB backend/crates/kalamdb-api/src/ws/handler.rs →
// actix-http/src/ws/mod.rs). That reason alone says the scheme is right,
// even when no HTTP call went first (a token goes straight to the socket),
// so the client blames the proxy, not TLS.
func TestUpgradeRefusedForMissingHeadersBlamesTheProxy(t *testing.T) {
	srv := newServer(t)
	boot := lazyClient(t, srv.URL)
	tok, err := boot.Login(ctxT(t), "alice", alicePW)
	if err != nil {
		t.Fatal(err)
	}
	relay := headerStripper(t, strings.TrimPrefix(srv.URL, "http://"))
	a := client.JWT(tok.AccessToken)
	_, err = client.Connect(ctxT(t), relay, client.WithAuthProvider(func(context.Context) (client.Auth, error) { return a, nil }),
		client.WithProviderRetry(1, 0, 0), client.WithQueryRetries(0))
	want := `answered HTTP 400 ("No WebSocket Upgrade header found") to the WebSocket upgrade: a proxy in between does not forward WebSockets`
	if err == nil || !client.IsNotKalamDB(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
	if h := client.Hint(err); !strings.Contains(h, "Upgrade and Connection headers") {
		t.Errorf("hint %q does not point at the proxy's headers", h)
	}
}
