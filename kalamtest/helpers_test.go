package kalamtest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/internal/fixtures"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// ktWait bounds how long a test waits for something that must happen; it
// is never the thing asserted.
const ktWait = 10 * time.Second

// newFakeClock returns a clock that moves only when told, standing at a
// fixed instant.
func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 5, 4, 20, 0, 0, 418263517, time.UTC))
}

const (
	alicePW = "Secret123!"
	bobPW   = "BobPass123!"
)

// ktServer is a server with alice (user) and bob (user), root configured,
// a fake clock and a fast checker.
type ktServer struct {
	*kalamtest.Server
	clock *testkit.Clock
}

// ktOptions are newKT's users, clock and checker.
func ktOptions(clk *testkit.Clock) []kalamtest.Option {
	return []kalamtest.Option{
		kalamtest.WithClock(clk.Now),
		kalamtest.WithCheckInterval(5 * time.Millisecond),
		kalamtest.WithUserEmail("alice", alicePW, "user", "alice@example.com"),
		kalamtest.WithUser("bob", bobPW, "user"),
		kalamtest.WithUser("ops", "OpsPass123!", "dba"),
		kalamtest.WithRootPassword("RootPass123!"),
	}
}

func newKT(t testing.TB, opts ...kalamtest.Option) *ktServer {
	t.Helper()
	clk := newFakeClock()
	srv, err := kalamtest.NewServer(append(ktOptions(clk), opts...)...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &ktServer{Server: srv, clock: clk}
}

// httpResp is a decoded HTTP answer.
type httpResp struct {
	status int
	header http.Header
	body   []byte
}

func (r httpResp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func doHTTP(t testing.TB, method, url string, body string, hdr map[string]string) httpResp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResp{status: res.StatusCode, header: res.Header, body: b}
}

type tokens struct{ access, refresh string }

func (s *ktServer) login(t testing.TB, user, pw string) tokens {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"user": user, "password": pw})
	r := doHTTP(t, "POST", s.URL+"/v1/api/auth/login", string(body), nil)
	if r.status != 200 {
		t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
	m := r.json(t)
	return tokens{access: m["access_token"].(string), refresh: m["refresh_token"].(string)}
}

func (s *ktServer) sql(t testing.TB, tok, sql string) httpResp {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sql})
	return doHTTP(t, "POST", s.URL+"/v1/api/sql", string(body), map[string]string{"Authorization": "Bearer " + tok})
}

// mustSQL runs SQL over HTTP and fails the test unless it succeeds.
func (s *ktServer) mustSQL(t testing.TB, tok, sql string) map[string]any {
	t.Helper()
	r := s.sql(t, tok, sql)
	if r.status != 200 {
		t.Fatalf("sql %q: %d %s", sql, r.status, r.body)
	}
	return r.json(t)
}

// wsc is a test WebSocket client.
type wsc struct {
	t   testing.TB
	c   *websocket.Conn
	ctx context.Context
}

// frame is one received server frame, decoded.
type frame struct {
	binary bool
	raw    []byte // as on the wire
	text   []byte // JSON after gunzip
	msg    map[string]any
}

func (s *ktServer) dial(t testing.TB, query string, hdr http.Header) (*wsc, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	u := s.WSURL()
	if query != "" {
		u += "?" + query
	}
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return nil, resp, err
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsc{t: t, c: c, ctx: ctx}, resp, nil
}

func (s *ktServer) mustDial(t testing.TB, query string, hdr http.Header) *wsc {
	t.Helper()
	w, _, err := s.dial(t, query, hdr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return w
}

// dialAuthed dials with header auth and consumes auth_success.
func (s *ktServer) dialAuthed(t testing.TB, tok, query string) *wsc {
	t.Helper()
	w := s.mustDial(t, query, http.Header{"Authorization": {"Bearer " + tok}})
	f := w.read()
	if f.msg["type"] != "auth_success" {
		t.Fatalf("want auth_success, got %s", f.text)
	}
	return w
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func (w *wsc) send(v any) {
	w.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		if s, isStr := v.(string); isStr {
			b = []byte(s)
		} else {
			var err error
			if b, err = json.Marshal(v); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(w.ctx, ktWait)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

// readErr reads one data frame, gunzipping binary frames.
func (w *wsc) readErr(d time.Duration) (frame, error) {
	ctx, cancel := context.WithTimeout(w.ctx, d)
	defer cancel()
	typ, b, err := w.c.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	f := frame{binary: typ == websocket.MessageBinary, raw: b, text: b}
	if f.binary {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return f, err
		}
		if f.text, err = io.ReadAll(zr); err != nil {
			return f, err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(f.text))
	dec.UseNumber()
	if err := dec.Decode(&f.msg); err != nil {
		return f, err
	}
	return f, nil
}

func (w *wsc) read() frame {
	w.t.Helper()
	f, err := w.readErr(ktWait)
	if err != nil {
		w.t.Fatalf("read: %v (frame %q)", err, f.text)
	}
	return f
}

// subscribe sends a subscribe message (see subscribeMsg) and returns the
// server's subscription_ack, failing the test on anything else.
func (w *wsc) subscribe(id, sql, options string) frame {
	w.t.Helper()
	w.send(subscribeMsg(id, sql, options))
	return w.readType("subscription_ack")
}

// readType reads one frame and checks its type.
func (w *wsc) readType(typ string) frame {
	w.t.Helper()
	f := w.read()
	if f.msg["type"] != typ {
		w.t.Fatalf("want %s, got %s", typ, f.text)
	}
	return f
}

// expectClose reads until the server's close frame and checks it.
func (w *wsc) expectClose(code websocket.StatusCode, reason string) {
	w.t.Helper()
	for {
		f, err := w.readErr(ktWait)
		if err == nil {
			w.t.Fatalf("want close %d %q, got frame %s", code, reason, f.text)
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			w.t.Fatalf("want close %d %q, got %v", code, reason, err)
		}
		if ce.Code != code || ce.Reason != reason {
			w.t.Fatalf("want close %d %q, got %d %q", code, reason, ce.Code, ce.Reason)
		}
		return
	}
}

// expectCloseFixture expects the close described by a ws-close-*.json
// fixture.
func (w *wsc) expectCloseFixture(name string) {
	w.t.Helper()
	fix := fixtures.Load(w.t, name).(map[string]any)
	w.expectClose(websocket.StatusCode(mustJSONNumber(w.t, fix["code"])), fix["reason"].(string))
}

// sentinel proves that nothing was sent in between: it sends a subscribe
// with a blank id, which the server always answers with an error frame,
// and requires that answer to be the very next frame. The server handles
// a socket's messages in order and writes replies in order.
func (w *wsc) sentinel() {
	w.t.Helper()
	w.send(`{"type":"subscribe","subscription":{"id":" ","sql":"SELECT 1"}}`)
	f := w.read()
	id := f.msg["subscription_id"]
	if f.msg["type"] != "error" || (id != "invalid_subscription" && id != "subscribe") {
		w.t.Fatalf("want only the sentinel reply, got %s", f.text)
	}
}

func mustJSONNumber(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("want JSON integer, got %T %v", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("want int64, got %v", n)
	}
	return i
}
