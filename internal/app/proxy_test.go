package app

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// watchEnv is kalamdash proxy's dashboard side over a kalamtest server:
// the relay (with its fault proxy) on a loopback port, the watcher it
// feeds and the backend that turns watched applications into tabs.
type watchEnv struct {
	srv *kalamtest.Server
	mgr *session.Manager
	pw  *ProxyWatch
	b   *Backend
	url string // where the application connects
}

const watchAlicePW = "alice-watch-pw"

func newWatchEnv(t *testing.T, o ProxyOptions, mgrOpts []session.ManagerOption, srvOpts ...kalamtest.Option) *watchEnv {
	t.Helper()
	srv := testkit.Start(t, watchAlicePW, "admin-watch-pw", append([]kalamtest.Option{kalamtest.WithNotifyQueue(1 << 12)}, srvOpts...)...)
	testkit.CreateTables(t, srv, "messages")
	mgr := session.NewManager(append([]session.ManagerOption{session.WithPumpInterval(5 * time.Millisecond)}, mgrOpts...)...)
	pw, err := NewProxyWatch(mgr, srv.URL, o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: pw.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	b := NewProxyBackend(mgr, pw, nil)
	t.Cleanup(func() {
		_ = hs.Close()
		_ = pw.Close()
		_ = b.Close()
	})
	return &watchEnv{srv: srv, mgr: mgr, pw: pw, b: b, url: "http://" + ln.Addr().String()}
}

// app connects an application, our own client as a separate program would
// use it, through the proxy as alice, revealing secrets in its own tap so
// its frames compare with the watched log's as they crossed the wire.
func (e *watchEnv) app(t *testing.T, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := []client.Option{client.WithAuth(client.Basic("alice", watchAlicePW)), client.WithRevealSecrets(true),
		client.WithTapBuffer(1 << 14), client.WithReconnect(10*time.Millisecond, 50*time.Millisecond, 0)}
	c, err := client.Connect(ctx, e.url, append(base, opts...)...)
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// opened waits for the backend to open the watched application's tab.
func (e *watchEnv) opened(t *testing.T) (ui.Conn, *session.Conn) {
	t.Helper()
	ev := testkit.Receive(t, e.b.Events(), "the watched application's tab", func(ev ui.Event) bool { return ev.Kind == ui.EventOpened })
	sc, ok := e.mgr.Conn(ev.ConnID)
	if ev.Conn == nil || !ok || !sc.Watched() {
		t.Fatalf("EventOpened %+v: conn %v, watched session conn %v", ev, ev.Conn, ok)
	}
	return ev.Conn, sc
}

// subscribeMessages makes the application subscribe to app.messages as
// "msgs", taking its events as an application would.
func subscribeMessages(t *testing.T, app *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := app.Subscribe(ctx, "SELECT * FROM app.messages", client.WithSubscriptionID("msgs"))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range sub.Events() {
		}
	}()
}

// tapCollector drains an application's frame tap.
type tapCollector struct {
	mu     sync.Mutex
	frames []client.Frame
}

func collect(c *client.Client) *tapCollector {
	tc := &tapCollector{}
	go func() {
		for f := range c.Frames() {
			tc.mu.Lock()
			tc.frames = append(tc.frames, f)
			tc.mu.Unlock()
		}
	}()
	return tc
}

// dataFrames renders the text and binary frames of frames, one line per
// frame with its direction, opcode, encoding, type, subscription and
// decoded payload: what the application and the watched log must agree on.
func dataFrames(frames []client.Frame) []string {
	var out []string
	for _, f := range frames {
		if f.Opcode != client.OpText && f.Opcode != client.OpBinary {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s", f.Direction, f.Opcode, f.Encoding, f.Type, f.SubscriptionID, f.Decoded))
	}
	return out
}

func logged(c *session.Conn) []client.Frame {
	st := c.Log().Stats()
	var out []client.Frame
	for id := st.FirstID; id != 0 && id <= st.LastID; id++ {
		if e, ok := c.Log().Get(id); ok {
			out = append(out, e.Frame)
		}
	}
	return out
}

func (tc *tapCollector) snapshot() []client.Frame {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([]client.Frame(nil), tc.frames...)
}

// TestWatchedApplicationFramesTokensAndRows: an application connects
// through the proxy, subscribes, refreshes its token and sees rows
// inserted, updated and deleted. Its tab appears by itself, named after
// its address and user; its frame log holds exactly the data frames the
// application sent and received (both directions, decoded as it decoded
// them); its token panel has the login's claims and records the refresh
// as a rotation; and its subscription's rows follow every change.
func TestWatchedApplicationFramesTokensAndRows(t *testing.T) {
	e := newWatchEnv(t, ProxyOptions{RevealSecrets: true}, nil)
	testkit.Insert(t, e.srv, 1, 4, "before")
	app := e.app(t)
	tap := collect(app)
	tab, sc := e.opened(t)
	subscribeMessages(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Tokens: what the application's login obtained, with its claims.
	access, refresh := app.Credentials()
	snap := testkit.Poll(t, "the login's tokens on the watched tab", sc.Snapshot, func(s session.ConnSnapshot) bool {
		return s.Access.Fingerprint == client.Fingerprint(access) && s.State == client.StateConnected
	})
	if snap.Refresh.Fingerprint != client.Fingerprint(refresh) || snap.Access.Claims.Role != "user" || snap.Access.Claims.ExpiresAt.IsZero() {
		t.Fatalf("watched tokens: access %+v refresh %+v", snap.Access, snap.Refresh)
	}
	if snap.Socket.Fingerprint != snap.Access.Fingerprint || snap.Detail.User != "alice" {
		t.Fatalf("socket token %q (want the login's %q), user %q", snap.Socket.Fingerprint, snap.Access.Fingerprint, snap.Detail.User)
	}
	if len(snap.History) != 1 || snap.History[0].Trigger != session.TriggerAppLogin || snap.History[0].NewFingerprint != snap.Access.Fingerprint {
		t.Fatalf("rotation history after the login: %+v", snap.History)
	}
	if name := tab.Snapshot().Name; !strings.HasPrefix(name, "127.0.0.1:") || !strings.HasSuffix(name, " alice") {
		t.Fatalf("tab name %q: want the application's address and its user", name)
	}
	if _, ok := tab.(ui.Controls); ok {
		t.Fatal("a watched tab offers Controls: it must be read-only")
	}
	if _, ok := tab.(ui.SQL); ok {
		t.Fatal("a watched tab offers SQL: it must be read-only")
	}

	// The application refreshes: a rotation with the new token. (Tokens
	// issued within the same second are the same token: wait for the
	// next one, so the refresh brings a new one.)
	testkit.Eventually(t, "the second after the login", func() bool { return time.Now().Unix() > snap.Access.Claims.IssuedAt.Unix() })
	toks, err := app.RefreshToken(ctx, refresh)
	if err != nil {
		t.Fatal(err)
	}
	snap = testkit.Poll(t, "the refresh as a rotation", sc.Snapshot, func(s session.ConnSnapshot) bool {
		return len(s.History) == 2
	})
	if r := snap.History[1]; r.Trigger != session.TriggerAppRefresh || r.NewFingerprint != client.Fingerprint(toks.AccessToken) ||
		r.OldFingerprint != client.Fingerprint(access) {
		t.Fatalf("refresh rotation %+v", r)
	}
	if snap.Refresh.Fingerprint != client.Fingerprint(toks.RefreshToken) {
		t.Fatal("the refresh answer's refresh token is not the watched one")
	}

	// Rows: the initial load, then an insert, an update and a delete.
	rowsOf := func() map[string]string {
		out := map[string]string{}
		for _, r := range sc.SubRows("msgs", 0, 100) {
			if r.Change != session.ChangeDelete {
				out[r.Key] = fmt.Sprint(r.Values["body"])
			}
		}
		return out
	}
	testkit.Poll(t, "the initial rows", rowsOf, func(m map[string]string) bool { return len(m) == 3 && m["2"] == "before-2" })
	testkit.Insert(t, e.srv, 4, 5, "live")
	testkit.Poll(t, "the inserted row", rowsOf, func(m map[string]string) bool { return m["4"] == "live-4" })
	if _, err := e.srv.Exec("alice", "UPDATE app.messages SET body = 'edited' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "the updated row", rowsOf, func(m map[string]string) bool { return m["2"] == "edited" })
	if _, err := e.srv.Exec("alice", "DELETE FROM app.messages WHERE id = 3"); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "the deleted row gone", rowsOf, func(m map[string]string) bool { _, ok := m["3"]; return !ok && len(m) == 3 })
	s, _ := sc.Subscription("msgs")
	if s.SQL != "SELECT * FROM app.messages" || s.Status != session.SubReady || s.Inserts != 1 || s.Updates != 1 || s.Deletes != 1 {
		t.Fatalf("watched subscription %+v", s)
	}
	rows, total := tab.(ui.LiveRows).SubRows("msgs", ui.RowQuery{ByKey: true}, 0, 10)
	if total < 3 || len(rows) < 3 {
		t.Fatalf("the tab pages %d of %d rows", len(rows), total)
	}

	// Frames: the watched log holds what the application sent and
	// received, in each direction in order.
	for _, dir := range []client.Direction{client.Outbound, client.Inbound} {
		only := func(fs []client.Frame) []client.Frame {
			var out []client.Frame
			for _, f := range fs {
				if f.Direction == dir {
					out = append(out, f)
				}
			}
			return out
		}
		testkit.Poll(t, "the watched log to hold the application's "+dir.String()+" frames", func() [2][]string {
			return [2][]string{dataFrames(only(tap.snapshot())), dataFrames(only(logged(sc)))}
		}, func(v [2][]string) bool { return len(v[0]) > 0 && strings.Join(v[0], "\n") == strings.Join(v[1], "\n") })
	}
}

// TestWatchedApplicationSteering drives the application's connection from
// its tab: compression off for its next socket, then a drop. The
// application reconnects and re-authenticates through the proxy, on the
// same tab: a second socket, a reconnect counted, its subscription
// resumed, and the new socket's server frames are text.
func TestWatchedApplicationSteering(t *testing.T) {
	var recorded tapCollector // what a recording (--record) receives
	e := newWatchEnv(t, ProxyOptions{OnFrame: func(_ string, f client.Frame) {
		recorded.mu.Lock()
		recorded.frames = append(recorded.frames, f)
		recorded.mu.Unlock()
	}}, nil)
	app := e.app(t)
	tab, sc := e.opened(t)
	subscribeMessages(t, app)
	first := testkit.Poll(t, "the first socket connected", sc.Snapshot, func(s session.ConnSnapshot) bool {
		return s.State == client.StateConnected && s.LiveSocket != 0
	})
	if first.Detail.Compression != "gzip" {
		t.Fatalf("first socket negotiated %q, want gzip", first.Detail.Compression)
	}
	// KalamDB gzips messages of 512 bytes and more: a long row's change
	// is binary on a compressing socket, text on one with compress=false.
	long := strings.Repeat("x", 2048)
	changeOf := func(id string) func() (client.Frame, bool) {
		return func() (client.Frame, bool) {
			for _, f := range logged(sc) {
				if f.Type == client.TypeChange && bytes.Contains(f.Decoded, []byte(`"`+id+`"`)) {
					return f, true
				}
			}
			return client.Frame{}, false
		}
	}
	waitChange := func(id string) client.Frame {
		t.Helper()
		var f client.Frame
		testkit.Eventually(t, "the change of row "+id, func() bool {
			var ok bool
			f, ok = changeOf(id)()
			return ok
		})
		return f
	}
	if _, err := e.srv.Exec("alice", "INSERT INTO app.messages (id, body) VALUES (1, $1)", long); err != nil {
		t.Fatal(err)
	}
	if f := waitChange("1"); f.Opcode != client.OpBinary || f.Encoding != client.EncGzipJSON || f.ConnID != first.LiveSocket {
		t.Fatalf("long change on the first socket: %s %s on socket %d", f.Opcode, f.Encoding, f.ConnID)
	}

	steer := tab.(ui.Steering)
	if msg, err := steer.CompressOffNext(); err != nil || !strings.Contains(msg, "compress=false") {
		t.Fatalf("CompressOffNext: %q, %v", msg, err)
	}
	msg, err := steer.DropSocket()
	if err != nil || !strings.Contains(msg, "reconnect") {
		t.Fatalf("DropSocket: %q, %v", msg, err)
	}
	second := testkit.Poll(t, "the application back on a new socket", sc.Snapshot, func(s session.ConnSnapshot) bool {
		return s.State == client.StateConnected && s.LiveSocket != 0 && s.LiveSocket != first.LiveSocket
	})
	// (A header-authenticated socket's auth_success names the default
	// protocol; compress=false on its upgrade is what turns gzip off.)
	if second.Stats.Reconnects != 1 || second.Compression {
		t.Fatalf("after the drop: reconnects %d, compression requested %v", second.Stats.Reconnects, second.Compression)
	}
	testkit.Poll(t, "the subscription resumed on the new socket", func() session.SubSnapshot {
		s, _ := sc.Subscription("msgs")
		return s
	}, func(s session.SubSnapshot) bool { return s.Resumes == 1 && s.Status == session.SubReady })
	if _, err := e.srv.Exec("alice", "INSERT INTO app.messages (id, body) VALUES (2, $1)", long); err != nil {
		t.Fatal(err)
	}
	if f := waitChange("2"); f.Opcode != client.OpText || f.Encoding != client.EncJSON || f.ConnID != second.LiveSocket {
		t.Fatalf("long change after the flip: %s %s on socket %d (want text on %d)", f.Opcode, f.Encoding, f.ConnID, second.LiveSocket)
	}
	// Secrets stay out of the watched log and the recording unless
	// revealed (the watcher read them: the token panel has the claims).
	rec := recorded.snapshot()
	if len(rec) < len(logged(sc)) {
		t.Fatalf("the recording got %d frames, the log %d", len(rec), len(logged(sc)))
	}
	for _, f := range append(logged(sc), rec...) {
		for _, tok := range []string{"access_token\":\"ey", "Bearer ey", watchAlicePW} {
			if bytes.Contains(f.Wire, []byte(tok)) || bytes.Contains(f.Decoded, []byte(tok)) {
				t.Fatalf("frame %s %s holds a secret (%q):\n%s", f.Direction, f.Type, tok, f.Wire)
			}
		}
	}
	if second.Access.Claims.Subject != "alice" {
		t.Fatalf("the token panel lacks the claims the watcher read: subject %q", second.Access.Claims.Subject)
	}
	// Stall and latency step the fault proxy and say so.
	for _, step := range []func() (string, error){steer.ToggleStall, steer.ToggleStall, steer.NextLatency} {
		if msg, err := step(); err != nil || msg == "" {
			t.Fatalf("steering step: %q, %v", msg, err)
		}
	}
}

// TestWatchedApplicationsAuthenticateAndOutliveTokens: an application
// that authenticates with an authenticate message has that token as its
// socket's; when the token is long dead the socket, still open, is
// flagged as having outlived it. When the user closes its tab, its frames
// stop there and its reconnect opens a tab anew. A second application on the same host,
// connecting with a pasted JWT in its upgrade's Bearer header while the
// first one's socket is open, gets a tab of its own, with that token as
// presented (a rotation of its own).
func TestWatchedApplicationsAuthenticateAndOutliveTokens(t *testing.T) {
	clk := session.NewFakeClock(time.Now())
	e := newWatchEnv(t, ProxyOptions{}, []session.ManagerOption{session.WithClock(clk)}, kalamtest.WithAccessTTL(2*time.Minute))
	app := e.app(t, client.WithMessageAuth())
	_, sc := e.opened(t)
	access, _ := app.Credentials()
	snap := testkit.Poll(t, "the authenticated socket", sc.Snapshot, func(s session.ConnSnapshot) bool {
		return s.State == client.StateConnected && s.Socket.Fingerprint == client.Fingerprint(access)
	})
	var sawAuthenticate bool
	for _, f := range logged(sc) {
		sawAuthenticate = sawAuthenticate || (f.Direction == client.Outbound && f.Type == client.TypeAuthenticate)
	}
	if !sawAuthenticate || len(snap.History) != 1 || snap.SocketOutlivedToken {
		t.Fatalf("authenticate logged %v, history %+v, outlived %v", sawAuthenticate, snap.History, snap.SocketOutlivedToken)
	}
	clk.Advance(2*time.Minute + session.Leeway + time.Second)
	if s := sc.Snapshot(); !s.SocketOutlivedToken || s.State != client.StateConnected {
		t.Fatalf("past exp+leeway: outlived %v in state %s", s.SocketOutlivedToken, s.State)
	}

	// The user closes the first application's tab: its frames stop
	// there, and when it reconnects it opens a tab anew.
	live, logLen := sc.Snapshot().LiveSocket, sc.Log().Stats().Appended
	if err := watchedTab(t, e.b, sc.Name()).Close(); err != nil {
		t.Fatal(err)
	}
	if !e.pw.relay.DropConn(live) {
		t.Fatal("the first application's socket was not open")
	}
	_, sc3 := e.opened(t)
	if sc3 == sc {
		t.Fatal("the reconnect went to the tab that was closed")
	}
	if slices.Contains(e.pw.Watcher().Conns(), sc) {
		t.Fatal("the watcher still routes to the closed tab")
	}
	testkit.Poll(t, "the reopened tab connected", sc3.Snapshot, func(s session.ConnSnapshot) bool { return s.State == client.StateConnected })
	if n := sc.Log().Stats().Appended; n != logLen {
		t.Fatalf("the closed tab got %d more frames", n-logLen)
	}

	other := e.app(t, client.WithAuth(client.JWT(access)))
	tab2, sc2 := e.opened(t)
	if sc2 == sc || sc2 == sc3 {
		t.Fatal("the second application joined the first one's tab")
	}
	snap2 := testkit.Poll(t, "the second application's socket", sc2.Snapshot, func(s session.ConnSnapshot) bool {
		return s.State == client.StateConnected && s.Socket.Fingerprint == client.Fingerprint(access)
	})
	if len(snap2.History) != 1 || snap2.History[0].Trigger != session.TriggerAppPresented || snap2.History[0].Method != session.MethodObserved {
		t.Fatalf("second application's rotations %+v", snap2.History)
	}
	if !strings.HasSuffix(tab2.Snapshot().Name, " alice") {
		t.Fatalf("second tab %q", tab2.Snapshot().Name)
	}
	other.Close()
	testkit.Poll(t, "the second application's tab to show it closed", sc2.Snapshot, func(s session.ConnSnapshot) bool {
		return s.State == client.StateDisconnected && s.LiveSocket == 0
	})
	if _, ok := e.mgr.Conn(sc2.Name()); !ok {
		t.Fatal("a closed application's tab left the dashboard")
	}
}

// An application whose watched name the user already gave a connection of
// their own gets the next free name, listed with a tab, rather than a
// connection no tab shows that keeps getting frames.
func TestWatchedApplicationNameTaken(t *testing.T) {
	e := newWatchEnv(t, ProxyOptions{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	own, err := e.mgr.Open(ctx, session.Profile{Name: "app-1", URL: e.srv.URL, User: "alice", Password: watchAlicePW})
	if err != nil {
		t.Fatal(err)
	}
	app := e.app(t)
	subscribeMessages(t, app)
	_, sc := e.opened(t)
	if sc == own || sc.Name() == own.Name() {
		t.Fatalf("the application's connection is named %q like the user's own", sc.Name())
	}
	if got, ok := e.mgr.Conn(sc.Name()); !ok || got != sc {
		t.Fatalf("the application's connection %q is not listed", sc.Name())
	}
	testkit.Poll(t, "the application's subscription on its tab", sc.Snapshot, func(s session.ConnSnapshot) bool {
		return len(s.Subs) == 1 && s.State == client.StateConnected
	})
	if n := len(own.Snapshot().Subs); n != 0 {
		t.Fatalf("the user's own connection got the application's %d subscriptions", n)
	}
}

// watchedTab is the UI connection of the watched connection name.
func watchedTab(t *testing.T, b *Backend, name string) ui.Conn {
	t.Helper()
	c, _ := b.watched(name)
	if c == nil {
		t.Fatalf("%s is not a watched connection", name)
	}
	return c
}
