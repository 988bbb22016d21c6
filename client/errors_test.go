package client_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/redact"
)

func TestConnectErrorsSayWhatHappened(t *testing.T) {
	// A port with nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close()

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>router admin</body></html>"))
	}))
	defer html.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	srv := newServer(t)

	cases := []struct {
		name string
		url  string
		auth client.Auth
		is   func(error) bool
		text string
	}{
		{"unreachable", deadURL, client.Basic("alice", alicePW), client.IsUnreachable, "is the server running"},
		{"html", html.URL, client.Basic("alice", alicePW), client.IsNotKalamDB, "not a KalamDB server? got text/html"},
		{"404", notFound.URL, client.Basic("alice", alicePW), client.IsNotKalamDB, "404"},
		{"https against http", strings.Replace(srv.URL, "http://", "https://", 1), client.Basic("alice", alicePW), client.IsTLS, "speaks plain HTTP"},
		{"wrong password", srv.URL, client.Basic("alice", "nope"), client.IsAuthError, "wrong user or password"},
		{"bad token on socket", srv.URL, client.JWT("not.a.jwt"), client.IsAuthError, "refused the token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.auth
			_, err := client.Connect(ctxT(t), tc.url, client.WithAuthProvider(func(context.Context) (client.Auth, error) { return a, nil }),
				client.WithProviderRetry(1, 0, 0), client.WithQueryRetries(0))
			if err == nil || !tc.is(err) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want an error containing %q", err, tc.text)
			}
			if client.Hint(err) == "" {
				t.Fatalf("no hint for %v", err)
			}
			if strings.Contains(err.Error(), alicePW) {
				t.Fatal("error message leaks the password")
			}
		})
	}
}

func TestBadURLs(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://host", "http://user:pw@host"} {
		if _, err := client.Connect(context.Background(), u, client.WithLazyConnect(true)); err == nil {
			t.Errorf("Connect(%q) succeeded", u)
		}
	}
	c, err := client.Connect(context.Background(), "ws://127.0.0.1:1/v1/ws", client.WithLazyConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.URL() != "http://127.0.0.1:1" {
		t.Fatalf("URL() = %q", c.URL())
	}
}

func TestQueryTypedResultsAndSQLErrors(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithLazyConnect(true))
	ctx := ctxT(t)
	res, err := c.Query(ctx, "INSERT INTO app.messages (id, body) VALUES ($1, $2)", 9007199254740993, "big")
	if err != nil {
		t.Fatal(err)
	}
	if res.Results[0].RowCount != 1 {
		t.Fatalf("insert result %+v", res.Results[0])
	}
	res, err = c.Query(ctx, "SELECT id, body FROM app.messages")
	if err != nil {
		t.Fatal(err)
	}
	r := res.Results[0]
	if len(r.Rows) != 1 || r.Rows[0][0] != "9007199254740993" || r.Columns()[1] != "body" || r.AsUser != "alice" {
		t.Fatalf("select result %+v", r)
	}
	_, err = c.Query(ctx, "SELEC nonsense")
	if !client.IsSQLError(err) {
		t.Fatalf("bad SQL: %v", err)
	}
	var e *client.Error
	if !asError(err, &e) || e.Code == "" || e.Status != 400 {
		t.Fatalf("bad SQL error fields: %+v", e)
	}
	h, err := c.Health(ctx)
	if err != nil || h.Status != "healthy" {
		t.Fatalf("health %+v %v", h, err)
	}
}

func TestTapRedactsSecrets(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithMessageAuth())
	access, refresh := c.Credentials()
	if _, err := c.RefreshToken(ctxT(t), refresh); err != nil {
		t.Fatal(err)
	}
	access2, refresh2 := c.Credentials()
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Fatal(err)
	}
	frames := takeFrames(c)
	sawAuthMsg := false
	for _, f := range frames {
		if s := containsAny(f.Wire, alicePW, access, refresh, access2, refresh2); s != "" {
			t.Fatalf("secret in tapped %s %s frame wire", f.Direction, f.Type)
		}
		if s := containsAny(f.Decoded, alicePW, access, refresh, access2, refresh2); s != "" {
			t.Fatalf("secret in tapped %s %s frame decoded", f.Direction, f.Type)
		}
		if f.Type == client.TypeAuthenticate {
			sawAuthMsg = true
			if !bytes.Contains(f.Wire, []byte(`"token":"`+redact.Marker+`"`)) {
				t.Fatalf("authenticate frame not redacted: %s", f.Wire)
			}
		}
	}
	if !sawAuthMsg {
		t.Fatal("message auth: no authenticate frame tapped")
	}

	// With reveal, the secrets are visible (for token-rotation debugging).
	r := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithRevealSecrets(true))
	tok, _ := r.Credentials()
	f := waitFrame(t, r, func(f client.Frame) bool { return f.Type == "GET /v1/ws" && f.Direction == client.Outbound })
	if !bytes.Contains(f.Wire, []byte("Bearer "+tok)) {
		t.Fatal("reveal: Bearer token not visible in the upgrade frame")
	}
}

func TestKeepaliveDetectsDeadSocketAndReconnects(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)),
		client.WithKeepalive(50*time.Millisecond, 100*time.Millisecond))
	waitFrame(t, c, func(f client.Frame) bool { return f.Opcode == client.OpPong && f.Direction == client.Inbound })
	testkit.Eventually(t, "keepalive RTT recorded", func() bool { return c.Stats().KeepaliveRTT > 0 })
	// Silent until the client gives the socket up: a stall of fixed length
	// could end before a starved keepalive goroutine ever looked.
	srv.Stall(time.Hour)
	d := waitEvent[client.DisconnectedEvent](t, c, nil)
	srv.Stall(0)
	if !d.WillRetry || d.Err == nil || !strings.Contains(d.Err.Error(), "keepalive") && !strings.Contains(d.Err.Error(), "dead") {
		t.Fatalf("disconnect %+v", d)
	}
	waitEvent[client.ConnectedEvent](t, c, nil)
}

func TestMalformedFramesBecomeErrorEvents(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	s := subscribe(t, c, "SELECT * FROM app.messages")
	srv.SendRaw(nil, client.OpText, []byte("{not json"))
	srv.SendRaw(nil, client.OpBinary, []byte{0x1f, 0x8b, 0, 1, 2, 3})
	srv.SendRaw(nil, client.OpBinary, []byte("plain binary"))
	for range 3 {
		e := waitEvent[client.ErrorEvent](t, c, nil)
		var ce *client.Error
		if !e.Recoverable || !asError(e.Err, &ce) || ce.Kind != client.KindProtocol {
			t.Fatalf("error event %+v", e)
		}
	}
	// The socket still works.
	testkit.Insert(t, srv, 1, 2, "after garbage")
	for {
		if ev := nextSub(t, s); ev.Kind == client.SubInsert {
			break
		}
	}
	if c.Stats().DecodeErrors != 3 {
		t.Fatalf("decode errors = %d", c.Stats().DecodeErrors)
	}
}

func TestLazyConnectDisconnectReconnect(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithLazyConnect(true))
	if c.State() != client.StateIdle || len(srv.Conns()) != 0 {
		t.Fatalf("lazy: state %s, %d server conns", c.State(), len(srv.Conns()))
	}
	s := subscribe(t, c, "SELECT * FROM app.messages")
	if c.State() != client.StateConnected {
		t.Fatalf("state after Subscribe = %s", c.State())
	}
	if err := c.Disconnect(); err != nil {
		t.Fatal(err)
	}
	d := waitEvent[client.DisconnectedEvent](t, c, nil)
	if d.WillRetry || d.Code != 1000 {
		t.Fatalf("disconnect event %+v", d)
	}
	testkit.Eventually(t, "client disconnected", func() bool { return c.State() == client.StateDisconnected })
	if err := c.Reconnect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for {
		if ev := nextSub(t, s); ev.Kind == client.SubAck && ev.Resumed {
			break
		}
	}
}

func TestServerShutdownIsReportedAndRetried(t *testing.T) {
	srv, err := kalamtest.NewServer(kalamtest.WithUser("alice", alicePW, "user"))
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	_ = srv.Close()
	d := waitEvent[client.DisconnectedEvent](t, c, nil)
	if d.Code != 1001 || d.Reason != "Server shutting down" || !d.WillRetry {
		t.Fatalf("disconnect %+v", d)
	}
	e := waitEvent[client.ErrorEvent](t, c, nil)
	if !client.IsUnreachable(e.Err) || !e.Recoverable {
		t.Fatalf("reconnect error %+v", e)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(context.Background(), "SELECT 1"); err == nil {
		t.Fatal("query after Close succeeded")
	}
}

func TestQueryMiddlewareRefusalsAreTyped(t *testing.T) {
	limited := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"RATE_LIMIT_EXCEEDED","message":"Too many requests","retry_after_seconds":1}`))
	}))
	defer limited.Close()
	c, err := client.Connect(ctxT(t), limited.URL, client.WithLazyConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Query(ctxT(t), "SELECT * FROM app.messages")
	var e *client.Error
	if !client.IsRateLimited(err) || !asError(err, &e) || e.Code != "RATE_LIMIT_EXCEEDED" || !strings.Contains(e.Message, "retry after 1") {
		t.Fatalf("429 from middleware: %v", err)
	}
}

func TestQueryRetriesOnlyIdempotentStatements(t *testing.T) {
	srv := newServer(t)
	boot := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithLazyConnect(true))
	token, _ := boot.Credentials()
	// RefuseFor refuses new TCP connections only, so start a client with
	// no pooled connection: a JWT needs no login.
	srv.RefuseFor(time.Hour)
	c := connect(t, srv, client.WithAuth(client.JWT(token)), client.WithLazyConnect(true), client.WithQueryRetries(2))
	before := c.Stats().HTTPRequests
	if _, err := c.Query(ctxT(t), "INSERT INTO app.messages (id, body) VALUES (1, 'x')"); !client.IsUnreachable(err) {
		t.Fatalf("insert while refused: %v", err)
	}
	if n := c.Stats().HTTPRequests - before; n != 1 {
		t.Fatalf("INSERT was sent %d times, want 1 (never retried)", n)
	}
	before = c.Stats().HTTPRequests
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); !client.IsUnreachable(err) {
		t.Fatalf("select while refused: %v", err)
	}
	if n := c.Stats().HTTPRequests - before; n != 3 {
		t.Fatalf("SELECT was sent %d times, want 3 (1 + 2 retries)", n)
	}
	srv.RefuseFor(0)
	if _, err := c.Query(ctxT(t), "SELECT * FROM app.messages"); err != nil {
		t.Fatal(err)
	}
}

// TestProxyDroppingUpgradeIsNamed: behind a proxy that forwards HTTP but
// drops the Upgrade/Connection headers, the login works and the upgrade
// is answered with a plain HTTP error. The error names the proxy and the
// hint says which headers it must pass, instead of "not KalamDB?".
func TestProxyDroppingUpgradeIsNamed(t *testing.T) {
	proxy := testkit.RewritingProxy(t, newServer(t).URL, func(r *http.Request) {
		r.Header.Del("Upgrade")
		r.Header.Del("Connection")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Connect(ctx, proxy, client.WithAuth(client.Basic("alice", alicePW)))
	if err == nil {
		t.Fatal("connected through a proxy that drops the upgrade")
	}
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status == 0 {
		t.Fatalf("error %v (%T), want a *client.Error with the upgrade's status", err, err)
	}
	if !strings.Contains(err.Error(), "proxy in between does not forward WebSockets") {
		t.Errorf("error %q does not name the proxy", err)
	}
	if h := client.Hint(err); !strings.Contains(h, "Upgrade and Connection headers") {
		t.Errorf("hint %q does not say which headers the proxy must pass", h)
	}
}

// TestReconnectHonoursRetryAfter: a server that refuses the socket with
// Retry-After is not asked again sooner, however short the backoff.
func TestReconnectHonoursRetryAfter(t *testing.T) {
	srv, err := kalamtest.NewServer(kalamtest.WithUser("alice", alicePW, "user"), kalamtest.WithMaxConnectionsPerIP(1))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Every request seems to come from one outside address (trusted from
	// a loopback proxy), so the guard counts them together.
	proxy := testkit.RewritingProxy(t, srv.URL, func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "203.0.113.9")
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first, err := client.Connect(ctx, proxy, client.WithAuth(client.Basic("alice", alicePW)))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	second, err := client.Connect(ctx, proxy, client.WithAuth(client.Basic("alice", alicePW)),
		client.WithLazyConnect(true), client.WithReconnect(10*time.Millisecond, 50*time.Millisecond, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	go func() { _, _ = second.Subscribe(ctx, "SELECT * FROM app.messages") }()
	for {
		select {
		case ev := <-second.Events():
			if e, ok := ev.(client.ErrorEvent); ok && retryAfterOf(e.Err) == 0 {
				t.Fatalf("the refusal %v carries no Retry-After", e.Err)
			}
			if r, ok := ev.(client.ReconnectScheduledEvent); ok && r.Attempt >= 2 {
				if r.Delay < 5*time.Second {
					t.Fatalf("reconnect scheduled in %s after a refusal with Retry-After: 5", r.Delay)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no reconnect scheduled after the refused socket")
		}
	}
}

func retryAfterOf(err error) time.Duration {
	var e *client.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// TestThrottledUpgradeIsExplainedAndWaited: KalamDB's connection
// protection checks the WebSocket upgrade like any request from a
// non-loopback client address (jamals86/KalamDB: backend/src/middleware.rs,
// wrapped around every route in backend/src/lifecycle.rs;
// backend/src/connection_guard.rs). Its 429s are a rate limit or a ban
// with a wait, not "not KalamDB?", and the reconnect waits at least the
// Retry-After, however short the backoff.
func TestThrottledUpgradeIsExplainedAndWaited(t *testing.T) {
	for _, tc := range []struct {
		code, words string
		violations  int // refusals of the address before the socket drops
		wait        time.Duration
	}{
		{"RATE_LIMIT_EXCEEDED", "too many requests from this address (retry after 1 s)", 0, time.Second},
		{"IP_BANNED", "this address is banned for sending too many requests (retry after 300 s)", 10, 300 * time.Second},
	} {
		t.Run(tc.code, func(t *testing.T) {
			// A frozen server clock: the address's one request per second
			// never refills, so the limit is exact.
			frozen := time.Now()
			srv := newServer(t, kalamtest.WithClock(func() time.Time { return frozen }), kalamtest.WithRequestRateLimit(1))
			// Only upgrades come from an outside address (a loopback
			// proxy's X-Forwarded-For, which KalamDB trusts); logins stay
			// loopback, which the middleware exempts.
			const outside = "203.0.113.9"
			proxy := testkit.RewritingProxy(t, srv.URL, func(r *http.Request) {
				if r.URL.Path == "/v1/ws" {
					r.Header.Set("X-Forwarded-For", outside)
				}
			})
			c, err := client.Connect(ctxT(t), proxy, append(fastOpts(), client.WithAuth(client.Basic("alice", alicePW)))...)
			if err != nil {
				t.Fatal(err) // the first upgrade takes the address's one token
			}
			t.Cleanup(func() { _ = c.Close() })
			for range tc.violations {
				resp, err := http.DefaultClient.Do(forwardedFrom(t, srv.URL+"/health", outside))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusTooManyRequests {
					t.Fatalf("request over the limit answered %d", resp.StatusCode)
				}
			}
			srv.DropAll()

			ev := waitEvent(t, c, func(e client.ErrorEvent) bool { return client.IsRateLimited(e.Err) })
			var e *client.Error
			if !errors.As(ev.Err, &e) || e.Code != tc.code || e.Status != http.StatusTooManyRequests || e.RetryAfter != tc.wait {
				t.Fatalf("refusal %v: want %s with a wait of %s", ev.Err, tc.code, tc.wait)
			}
			if !strings.Contains(e.Error(), tc.words) || strings.Contains(e.Error(), "KalamDB") {
				t.Errorf("refusal reads %q, want %q", e.Error(), tc.words)
			}
			if client.Hint(e) == "" || !ev.Recoverable {
				t.Errorf("hint %q, recoverable %v", client.Hint(e), ev.Recoverable)
			}
			r := waitEvent[client.ReconnectScheduledEvent](t, c, nil)
			if r.Delay < tc.wait {
				t.Fatalf("reconnect scheduled in %s after a refusal with Retry-After %s", r.Delay, tc.wait)
			}
		})
	}
}

// forwardedFrom is a GET of url that the server takes as coming from ip.
func forwardedFrom(t *testing.T, url, ip string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", ip)
	return req
}
