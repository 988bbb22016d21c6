package reliability_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

var update = flag.Bool("update", false, "rewrite testdata/bad-inputs.golden from the current messages")

// badWorld is everything the bad-input cases point the client at.
type badWorld struct {
	srv      *kalamtest.Server
	px       *kalamtest.Proxy // in front of srv, for network faults
	notKalam string           // plain net/http server: 404 everywhere
	html     string           // answers 502 with an HTML page, like a reverse proxy
	jsonish  string           // answers 200 JSON that is not KalamDB's
	tls      string           // an HTTPS server
	closed   string           // a port nothing listens on
	mute     string           // upgrades /v1/ws but never authenticates
}

// badCase is one bad input and how to provoke the error the user sees.
type badCase struct {
	name string
	run  func(ctx context.Context, w *badWorld) error
}

// TestBadInputCatalogue drives the client into every failure we know a
// user can meet and records, per case, the error kind, the message and
// the hint the user sees. The record is testdata/bad-inputs.golden: it is
// the troubleshooting catalogue, and a change of wording shows up here
// (rewrite it with go test ./reliability -run BadInput -update).
//
// Every case must fail with a described *client.Error (or surface one as
// an ErrorEvent) that never contains the password or a token.
func TestBadInputCatalogue(t *testing.T) {
	leakCheck(t)
	w := newBadWorld(t)
	var out strings.Builder
	out.WriteString("# case | kind | message | hint\n")
	for _, bc := range badCases() {
		ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
		err := bc.run(ctx, w)
		cancel()
		line := describeBad(t, bc.name, err, w)
		out.WriteString(line + "\n")
	}

	golden := filepath.Join("testdata", "bad-inputs.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if got := out.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("bad-input catalogue line %d changed:\n got %s\nwant %s", i+1, g, w)
			}
		}
		t.Log("if the new wording is intended: go test ./reliability -run BadInput -update")
	}
}

var (
	addrRE  = regexp.MustCompile(`(127\.0\.0\.1|\[::1\]|localhost):\d+`)
	tokenRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
)

// describeBad checks err and formats its catalogue line, with addresses
// replaced by ADDR so the record is stable.
func describeBad(t *testing.T, name string, err error, w *badWorld) string {
	t.Helper()
	if err == nil {
		t.Errorf("%s: the client reported no error; every bad input must give the user one", name)
		return name + " | (no error) | | "
	}
	msg := err.Error()
	for _, secret := range []string{alicePW, adminPW, "bob-secret-pw"} {
		if strings.Contains(msg, secret) {
			t.Errorf("%s: error reveals a password: %s", name, msg)
		}
	}
	if tokenRE.MatchString(msg) {
		t.Errorf("%s: error reveals a token: %s", name, msg)
	}
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Errorf("%s: error %T is not a *client.Error: %v", name, err, err)
		return name + " | ? | " + msg + " | "
	}
	if ce.Message == "" {
		t.Errorf("%s: error without a message: %v", name, err)
	}
	msg = addrRE.ReplaceAllString(msg, "ADDR")
	return fmt.Sprintf("%s | %s | %s | %s", name, ce.Kind, msg, client.Hint(err))
}

func newBadWorld(t *testing.T) *badWorld {
	t.Helper()
	srv, err := kalamtest.NewServer(
		kalamtest.WithUser("alice", alicePW, "user"),
		kalamtest.WithUser("bob", "bob-secret-pw", "user"),
		kalamtest.WithUser("admin", adminPW, "dba"),
		kalamtest.WithAuthRateLimit(1_000_000),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.MustExec("admin", "CREATE NAMESPACE IF NOT EXISTS app")
	srv.MustExec("admin", "CREATE TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')")
	px, err := kalamtest.NewProxy(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })

	serve := func(h http.Handler, tls bool) string {
		s := httptest.NewUnstartedServer(h)
		// The client's refusals make the server log handshake errors.
		s.Config.ErrorLog = log.New(io.Discard, "", 0)
		if tls {
			s.StartTLS()
		} else {
			s.Start()
		}
		t.Cleanup(s.Close)
		return s.URL
	}
	w := &badWorld{srv: srv, px: px}
	w.notKalam = serve(http.NotFoundHandler(), false)
	w.html = serve(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		rw.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(rw, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	}), false)
	w.jsonish = serve(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, `{"hello":"world"}`)
	}), false)
	w.tls = serve(http.NotFoundHandler(), true)
	w.mute = serve(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(rw, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for { // say nothing; read until the client gives up
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	}), false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.closed = "http://" + ln.Addr().String()
	_ = ln.Close()
	return w
}

// connectBad opens a client with the given credentials and options. Its
// HTTP and auth timeouts are generous (a loaded machine under -race must
// not turn a refusal into a timeout), yet below each case's waitDeadline
// so a hang is still reported as the client's own error; the cases about
// a timeout set a short one themselves.
func connectBad(ctx context.Context, url string, a client.Auth, opts ...client.Option) (*client.Client, error) {
	base := []client.Option{
		client.WithAuthProvider(func(context.Context) (client.Auth, error) { return a, nil }),
		client.WithHTTPTimeout(waitDeadline / 2), client.WithAuthTimeout(waitDeadline / 2),
		client.WithQueryRetries(0), client.WithReconnect(10*time.Millisecond, 50*time.Millisecond, 1),
		client.WithProviderRetry(1, 0, 0),
	}
	return client.Connect(ctx, url, append(base, opts...)...)
}

// connectFails expects Connect to fail and returns its error.
func connectFails(ctx context.Context, url string, a client.Auth, opts ...client.Option) error {
	c, err := connectBad(ctx, url, a, opts...)
	if err == nil {
		_ = c.Close()
	}
	return err
}

// alice is Basic alice credentials.
var alice = client.Basic("alice", alicePW)

// eventAfter connects eagerly to srv, lets inject provoke something on
// the live socket, and returns the first ErrorEvent's error (or a
// disconnect's, if the socket dies instead). If the client says nothing,
// a marker frame sent right behind the injected one (frames are handled
// in order) tells when, and eventAfter returns nil: the case then fails.
func eventAfter(ctx context.Context, w *badWorld, inject func()) error {
	c, err := connectBad(ctx, w.srv.URL, alice)
	if err != nil {
		return err
	}
	defer c.Close()
	inject()
	return firstErrorBeforeMarker(ctx, w, c)
}

// marker is a frame the client reports as an undecodable 8-byte text
// frame (it is not JSON).
const marker = "#marker#"

// firstErrorBeforeMarker sends the marker frame behind whatever is queued
// on c's socket and returns the first error c reports (an ErrorEvent, or
// the disconnect if the socket dies), or nil if the marker's own report
// comes first.
func firstErrorBeforeMarker(ctx context.Context, w *badWorld, c *client.Client) error {
	w.srv.SendRaw(nil, client.OpText, []byte(marker))
	for {
		select {
		case ev := <-c.Events():
			switch x := ev.(type) {
			case client.ErrorEvent:
				if strings.Contains(x.Err.Error(), fmt.Sprintf("text frame (%d bytes)", len(marker))) {
					return nil
				}
				return x.Err
			case client.DisconnectedEvent:
				if x.Err != nil {
					return x.Err
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("neither the injected frame nor the marker produced an event")
		}
	}
}

func badCases() []badCase {
	return []badCase{
		{"empty URL", func(ctx context.Context, _ *badWorld) error {
			return connectFails(ctx, "", alice)
		}},
		{"URL without scheme", func(ctx context.Context, _ *badWorld) error {
			return connectFails(ctx, "127.0.0.1:8080", alice)
		}},
		{"unsupported scheme", func(ctx context.Context, _ *badWorld) error {
			return connectFails(ctx, "ftp://127.0.0.1:8080", alice)
		}},
		{"URL without host", func(ctx context.Context, _ *badWorld) error {
			return connectFails(ctx, "http://", alice)
		}},
		{"malformed URL", func(ctx context.Context, _ *badWorld) error {
			return connectFails(ctx, "http://[::1", alice)
		}},
		{"nothing listening on the port", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.closed, alice)
		}},
		{"https URL, plain HTTP server", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, strings.Replace(w.srv.URL, "http://", "https://", 1), alice)
		}},
		{"http URL, HTTPS server", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, strings.Replace(w.tls, "https://", "http://", 1), alice)
		}},
		{"self-signed certificate", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.tls, alice)
		}},
		{"not KalamDB (404 everywhere)", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.notKalam, alice)
		}},
		{"HTML error page from a proxy", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.html, alice)
		}},
		{"JSON that is not KalamDB", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.jsonish, alice)
		}},
		{"wrong password", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.srv.URL, client.Basic("alice", "not-the-password"))
		}},
		{"unknown user", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.srv.URL, client.Basic("mallory", "whatever"))
		}},
		{"locked account", func(ctx context.Context, w *badWorld) error {
			for range 6 {
				_ = connectFails(ctx, w.srv.URL, client.Basic("bob", "wrong"))
			}
			return connectFails(ctx, w.srv.URL, client.Basic("bob", "bob-secret-pw"))
		}},
		{"garbage token", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.srv.URL, client.JWT("not-a-jwt"))
		}},
		{"expired token", func(ctx context.Context, w *badWorld) error {
			tok, err := login(ctx, w, "alice", alicePW)
			if err != nil {
				return err
			}
			w.srv.ExpireTokens()
			return connectFails(ctx, w.srv.URL, client.JWT(tok.AccessToken))
		}},
		{"refresh token used as access token", func(ctx context.Context, w *badWorld) error {
			tok, err := login(ctx, w, "alice", alicePW)
			if err != nil {
				return err
			}
			return connectFails(ctx, w.srv.URL, client.JWT(tok.RefreshToken))
		}},
		{"expired token on a query", func(ctx context.Context, w *badWorld) error {
			tok, err := login(ctx, w, "alice", alicePW)
			if err != nil {
				return err
			}
			c, err := connectBad(ctx, w.srv.URL, client.JWT(tok.AccessToken), client.WithLazyConnect(true))
			if err != nil {
				return err
			}
			defer c.Close()
			w.srv.ExpireTokens()
			_, err = c.Query(ctx, "SELECT * FROM app.messages")
			return err
		}},
		{"server closes mid-handshake", func(ctx context.Context, w *badWorld) error {
			tok, err := login(ctx, w, "alice", alicePW)
			if err != nil {
				return err
			}
			w.px.SetDropAfter(64) // inside the upgrade request
			defer w.px.SetDropAfter(0)
			return connectFails(ctx, w.px.URL(), client.JWT(tok.AccessToken))
		}},
		{"server silent (blackhole)", func(ctx context.Context, w *badWorld) error {
			w.px.SetBlackhole(true)
			defer w.px.SetBlackhole(false)
			return connectFails(ctx, w.px.URL(), alice, client.WithHTTPTimeout(300*time.Millisecond))
		}},
		{"no auth_success after the upgrade", func(ctx context.Context, w *badWorld) error {
			return connectFails(ctx, w.mute, client.JWT("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"), client.WithAuthTimeout(time.Second))
		}},
		{"corrupt gzip frame", func(ctx context.Context, w *badWorld) error {
			return eventAfter(ctx, w, func() {
				w.srv.SendRaw(nil, client.OpBinary, []byte{0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef})
			})
		}},
		{"binary frame that is not gzip", func(ctx context.Context, w *badWorld) error {
			return eventAfter(ctx, w, func() { w.srv.SendRaw(nil, client.OpBinary, []byte("plain bytes")) })
		}},
		{"invalid UTF-8 text frame", func(ctx context.Context, w *badWorld) error {
			return eventAfter(ctx, w, func() { w.srv.SendRaw(nil, client.OpText, []byte("{\"type\":\"\xff\xfe\"}")) })
		}},
		{"text frame that is not JSON", func(ctx context.Context, w *badWorld) error {
			return eventAfter(ctx, w, func() { w.srv.SendRaw(nil, client.OpText, []byte("<html>oops</html>")) })
		}},
		{"server error frame for no subscription", func(ctx context.Context, w *badWorld) error {
			return eventAfter(ctx, w, func() {
				w.srv.SendRaw(nil, client.OpText, []byte(`{"type":"error","subscription_id":"protocol","code":"UNSUPPORTED_DATA","message":"Binary not supported"}`))
			})
		}},
		{"subscription without namespace", func(ctx context.Context, w *badWorld) error {
			return subscribeFails(ctx, w, "SELECT * FROM messages")
		}},
		{"subscription to a missing table", func(ctx context.Context, w *badWorld) error {
			return subscribeFails(ctx, w, "SELECT * FROM app.nope")
		}},
		{"invalid SQL query", func(ctx context.Context, w *badWorld) error {
			return queryFails(ctx, w, "SELEC nothing")
		}},
		{"query on a missing table", func(ctx context.Context, w *badWorld) error {
			return queryFails(ctx, w, "SELECT * FROM app.nope")
		}},
	}
}

// login gets tokens straight from the server (not through the proxy).
func login(ctx context.Context, w *badWorld, user, pw string) (*client.Tokens, error) {
	c, err := client.Connect(ctx, w.srv.URL, client.WithLazyConnect(true))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Login(ctx, user, pw)
}

func subscribeFails(ctx context.Context, w *badWorld, sql string) error {
	c, err := connectBad(ctx, w.srv.URL, alice)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.Subscribe(ctx, sql)
	if err == nil {
		_ = s.Unsubscribe(ctx)
	}
	return err
}

func queryFails(ctx context.Context, w *badWorld, sql string) error {
	c, err := connectBad(ctx, w.srv.URL, alice, client.WithLazyConnect(true))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Query(ctx, sql)
	return err
}

// Not every odd input is an error. A message of a type the client does
// not know is skipped, for forward compatibility (a newer server may send
// more), and stays visible in the frame tap; the socket carries on.
func TestUnknownMessageTypeIsSkipped(t *testing.T) {
	leakCheck(t)
	w := newBadWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	c, err := connectBad(ctx, w.srv.URL, alice)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w.srv.SendRaw(nil, client.OpText, []byte(`{"type":"surprise"}`))
	if err := firstErrorBeforeMarker(ctx, w, c); err != nil {
		t.Fatalf("a message of unknown type: %v, want it skipped", err)
	}
	// Frames are tapped as they are read, so the skipped one is in the
	// tap ahead of the marker.
	for {
		select {
		case f := <-c.Frames():
			if f.Direction == client.Inbound && f.Type == "surprise" {
				if c.State() != client.StateConnected {
					t.Fatalf("state %s after the skipped message, want connected", c.State())
				}
				return
			}
			if string(f.Wire) == marker {
				t.Fatal("the message of unknown type is not in the frame tap")
			}
		case <-ctx.Done():
			t.Fatal("the frame tap ended before the marker")
		}
	}
}

// The client's clock only schedules its own refreshes: 48 h ahead, its
// queries still work (the dashboard shows the skew; see session's
// ClockSkew).
func TestClientClockAheadStillQueries(t *testing.T) {
	leakCheck(t)
	w := newBadWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	c, err := connectBad(ctx, w.srv.URL, alice, client.WithClock(func() time.Time { return time.Now().Add(48 * time.Hour) }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Query(ctx, "SELECT * FROM app.messages"); err != nil {
		t.Fatalf("query with the clock 48 h ahead: %v", err)
	}
}
