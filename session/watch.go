package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// This file holds watched connections: another application's KalamDB
// connection, seen through kalamdash proxy. A watched Conn is a Conn like
// any other (frame log, token states, rotation history, stats,
// subscriptions), fed from the relay's observed frames instead of from a
// client of ours, and read-only: it has no client, so Refresh, Query,
// Subscribe and the rest say it is not connected.

// WatchOptions configure a Watcher.
type WatchOptions struct {
	// URL is the server the application's traffic is relayed to, shown as
	// each watched connection's URL.
	URL string
	// RevealSecrets keeps tokens and passwords in the frame logs in
	// clear; by default the log holds them redacted (client.RedactFrame).
	// The watcher itself always reads them, to decode the tokens' claims.
	RevealSecrets bool
}

// SocketEvent is an application's WebSocket opening or ending, as the
// relay reports it.
type SocketEvent struct {
	Time   time.Time
	ConnID uint64 // the socket's id, the ConnID of its frames
	Opened bool   // true for the socket's start, false for its end
	Client string // the application's address (host:port)
	// CompressOff says the upgrade went upstream with compress=false (the
	// application asked for it, or the relay forced it).
	CompressOff bool
	// CloseCode (-1 when the socket ended without a close frame),
	// CloseReason and Err describe the end.
	CloseCode   int
	CloseReason string
	Err         string
}

// Watcher turns what kalamdash proxy observes into watched connections of
// a Manager: one per application, made when the application first shows
// up and kept (disconnected) after its socket ends. Its methods are called
// by the relay one at a time, in the order it observed things.
//
// Which connection an observed thing belongs to is a guess the relay
// cannot make for certain (HTTP requests and sockets are separate TCP
// connections): a request presenting a token one of them obtained or
// presented goes to that one; a new socket goes to the connection whose
// socket from the same host ended (the application reconnecting), else to
// a new one; other requests go to the newest connection from their host.
type Watcher struct {
	m *Manager
	o WatchOptions

	mu       sync.Mutex
	parser   client.MessageParser
	conns    []*Conn          // watched, in opening order
	bySocket map[uint64]*Conn // live and ended sockets
	byAddr   map[string]*Conn // the application's TCP connections (host:port)
	n        int              // watched connections made so far
}

// watched is the state of a Conn that observes an application.
type watched struct {
	client   string // the application's address: its socket's, else its first request's
	host     string
	socket   uint64 // the live socket's id, 0 when none
	sockets  int    // sockets seen
	seq      uint64 // frames logged (the log's Seq)
	counters Counters
	// presented is the access token the live socket presented (its
	// authenticate message or upgrade's Bearer header), its fingerprint
	// the socket's token once auth_success arrives.
	presented string
	known     map[string]bool // fingerprints of every token seen
	reveal    bool
}

// NewWatcher returns a watcher adding connections to m.
func NewWatcher(m *Manager, o WatchOptions) *Watcher {
	return &Watcher{m: m, o: o, bySocket: map[uint64]*Conn{}, byAddr: map[string]*Conn{}}
}

// Conns returns the watched connections the user has not closed, in the
// order they appeared.
func (w *Watcher) Conns() []*Conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.forgetClosed()
	return append([]*Conn(nil), w.conns...)
}

// Socket applies an application socket's start or end.
func (w *Watcher) Socket(ev SocketEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Opened {
		c := w.byAddr[ev.Client]
		if c == nil || c.watch.socket != 0 || c.isClosed() {
			c = w.reconnecting(hostOf(ev.Client))
		}
		if c == nil {
			c = w.newConn(ev.Client)
		}
		w.remember(ev.Client, c)
		w.bySocket[ev.ConnID] = c
		c.socketOpened(ev)
		return
	}
	// The relay reports a socket's end after both its directions ended:
	// no frame of it follows.
	c := w.bySocket[ev.ConnID]
	delete(w.bySocket, ev.ConnID)
	if c != nil && !c.isClosed() {
		c.socketEnded(ev)
	}
}

// Frame applies one observed frame, in clear, from the application at
// address from (the host:port of the TCP connection it came on, or the
// socket's application).
func (w *Watcher) Frame(from string, f client.Frame) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.route(from, f)
	if c == nil {
		return
	}
	var msg *client.ServerMessage
	if f.ConnID != 0 && f.Direction == client.Inbound && f.Err == "" && len(f.Decoded) > 0 {
		msg, _ = w.parser.Parse(f.Decoded)
	}
	c.observe(f, msg)
}

// route picks the connection f belongs to (see Watcher), nil for a frame
// of a socket whose connection the user closed. A WebSocket
// upgrade goes to a connection without an open socket, as the socket it
// opens will (Socket), so the token its header presents is that
// connection's.
func (w *Watcher) route(from string, f client.Frame) *Conn {
	if f.ConnID != 0 {
		if c := w.bySocket[f.ConnID]; c != nil {
			if c.isClosed() {
				return nil // the user stopped watching this socket's tab
			}
			return c
		}
	}
	upgrade := f.Opcode == client.OpHTTP && f.Direction == client.Outbound && isUpgrade(f.Type)
	fits := func(c *Conn) bool { return !c.isClosed() && (!upgrade || c.watch.socket == 0) }
	if f.Opcode == client.OpHTTP && f.Direction == client.Outbound {
		if tok := bearer(f.Wire); tok != "" {
			fp := client.Fingerprint(tok)
			for _, c := range w.conns {
				if c.watch.known[fp] && fits(c) {
					w.remember(from, c)
					return c
				}
			}
		}
	}
	if c := w.byAddr[from]; c != nil && fits(c) {
		return c
	}
	host := hostOf(from)
	var c *Conn
	if upgrade {
		c = w.reconnecting(host)
	} else {
		for i := len(w.conns) - 1; i >= 0 && c == nil; i-- {
			if w.conns[i].watch.host == host && !w.conns[i].isClosed() {
				c = w.conns[i]
			}
		}
	}
	if c == nil {
		c = w.newConn(from)
	}
	w.remember(from, c)
	return c
}

// remember routes what comes from addr to c from now on.
func (w *Watcher) remember(addr string, c *Conn) {
	if len(w.byAddr) >= maxAddrs {
		// An application opening TCP connection after connection: forget
		// the old ones (the host and token rules still route them).
		clear(w.byAddr)
	}
	w.byAddr[addr] = c
}

// maxAddrs bounds the application TCP connections a Watcher remembers.
const maxAddrs = 4096

// isUpgrade reports whether an HTTP exchange of kind ("GET /v1/ws") is a
// WebSocket upgrade: KalamDB's socket path, under any prefix.
func isUpgrade(kind string) bool {
	return strings.HasPrefix(kind, "GET ") && strings.HasSuffix(kind, "/ws")
}

// reconnecting returns the connection from host whose socket ended most
// recently and has none open, or nil.
func (w *Watcher) reconnecting(host string) *Conn {
	for i := len(w.conns) - 1; i >= 0; i-- {
		c := w.conns[i]
		if c.watch.host == host && c.watch.socket == 0 && !c.isClosed() {
			return c
		}
	}
	return nil
}

// newConn adds a watched connection for the application at addr.
func (w *Watcher) newConn(addr string) *Conn {
	w.forgetClosed()
	c := newConn(w.m, Profile{URL: w.o.URL, Auth: AuthNone})
	c.watch = &watched{client: addr, host: hostOf(addr), known: map[string]bool{}, reveal: w.o.RevealSecrets}
	// The names are the watcher's own and never reused, but the user may
	// have opened a connection under one: the next free one is taken
	// then (a connection not listed would have no tab yet get frames).
	for {
		w.n++
		c.name = fmt.Sprintf("app-%d", w.n)
		c.profile.Name = c.name
		if w.m.add(c) == nil {
			break
		}
	}
	c.mu.Lock()
	if !c.closed {
		c.statsTimer = c.clock.AfterFunc(c.m.o.statsInterval, c.sampleStats)
	}
	c.mu.Unlock()
	w.conns = append(w.conns, c)
	return c
}

// forgetClosed drops the connections the user closed from the routing
// tables, so they are not kept for good. The frames of a socket still open
// keep going nowhere: bySocket holds it until the socket ends.
func (w *Watcher) forgetClosed() {
	w.conns = slices.DeleteFunc(w.conns, (*Conn).isClosed)
	for addr, c := range w.byAddr {
		if c.isClosed() {
			delete(w.byAddr, addr)
		}
	}
}

// hostOf is addr's host, addr itself when it has no port.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// isClosed reports whether the user closed the connection: a watched one
// then gets nothing more (the application's next socket opens a new one).
func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Watched reports whether the connection observes another application
// (kalamdash proxy) rather than running a client of its own.
func (c *Conn) Watched() bool { return c.watch != nil }

// socketOpened starts following a new socket of the application.
func (c *Conn) socketOpened(ev SocketEvent) {
	c.mu.Lock()
	ws := c.watch
	ws.client, ws.host = ev.Client, hostOf(ev.Client)
	ws.socket = ev.ConnID
	ws.sockets++
	if ws.sockets > 1 {
		ws.counters.Reconnects++
	}
	c.compression = !ev.CompressOff
	sev := c.setStateLocked(client.StateConnecting, StateDetail{Attempt: ws.sockets, ConnID: ev.ConnID})
	c.mu.Unlock()
	c.m.emit(sev)
}

// socketEnded records the end of one of the application's sockets.
func (c *Conn) socketEnded(ev SocketEvent) {
	c.mu.Lock()
	if c.watch.socket != ev.ConnID {
		c.mu.Unlock()
		return // an older socket, already replaced
	}
	c.watch.socket = 0
	d := c.detail
	d.CloseCode, d.CloseReason, d.Err = ev.CloseCode, ev.CloseReason, ev.Err
	if d.CloseCode < 0 {
		d.CloseCode = CloseAbnormal
	}
	d.Hint = "the application may reconnect through the proxy: its next socket shows here"
	sev := c.setStateLocked(client.StateDisconnected, d)
	c.mu.Unlock()
	c.m.emit(sev)
}

// observe logs one observed frame and applies what it says to the token
// states, the connection state and the subscriptions. msg is f's server
// message, when f is a decoded one.
func (c *Conn) observe(f client.Frame, msg *client.ServerMessage) {
	c.learnTokens(f)
	logged := f
	if !c.watch.reveal {
		logged = client.RedactFrame(f)
	}
	c.mu.Lock()
	ws := c.watch
	ws.seq++
	logged.Seq = ws.seq
	if f.ConnID != 0 {
		if f.Direction == client.Inbound {
			ws.counters.FramesIn++
			ws.counters.WireBytesIn += uint64(f.WireSize)
			ws.counters.DecodedBytesIn += uint64(f.DecodedSize)
		} else {
			ws.counters.FramesOut++
			ws.counters.WireBytesOut += uint64(f.WireSize)
		}
	}
	c.mu.Unlock()
	c.log.Append(logged)
	c.m.emit(FramesAppendedEvent{Conn: c.name, Count: 1})
	if f.ConnID == 0 || f.Err != "" {
		return
	}
	if f.Direction == client.Outbound {
		c.observeRequest(f)
		return
	}
	if msg != nil {
		c.observeServer(f, msg)
	}
}

// observeRequest applies an application message: subscribe and
// unsubscribe shape its subscriptions.
func (c *Conn) observeRequest(f client.Frame) {
	switch f.Type {
	case client.TypeSubscribe:
		var m client.SubscribeMessage
		if json.Unmarshal(f.Decoded, &m) != nil || m.Subscription.ID == "" {
			return
		}
		now := c.clock.Now()
		c.mu.Lock()
		if t := c.subs[m.Subscription.ID]; t != nil {
			// The application subscribing again under the same id: a
			// resume after a reconnect, or a new query replacing the old.
			t.snap.SQL, t.snap.Status, t.snap.Updated = m.Subscription.SQL, SubPending, now
		} else {
			t := newLiveTable(m.Subscription.ID, m.Subscription.SQL, c.m.o.liveRowCap, now)
			t.opts = observedOptions(m.Subscription.Options)
			t.partial = partialLoad(t.opts)
			c.subs[t.snap.ID] = t
			c.subOrder = append(c.subOrder, t.snap.ID)
		}
		c.mu.Unlock()
	case client.TypeUnsubscribe:
		c.mu.Lock()
		if t := c.subs[f.SubscriptionID]; t != nil {
			t.snap.Status = SubClosed
			t.note("closed", "the application unsubscribed", c.clock.Now())
		}
		c.mu.Unlock()
	default:
		return
	}
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
}

// observedOptions are the SubscribeOptions an observed subscribe carried.
func observedOptions(o *client.SubscriptionOptions) SubscribeOptions {
	if o == nil {
		return SubscribeOptions{NoInitialData: true}
	}
	so := SubscribeOptions{BatchSize: o.BatchSize, LastRows: o.LastRows}
	if o.From != nil {
		so.From = *o.From
	}
	return so
}

// observeServer applies a server message: auth_success connects the
// watched connection; subscription messages fill its live tables through
// the client's own reading of them (client.SubEventOf).
func (c *Conn) observeServer(f client.Frame, m *client.ServerMessage) {
	switch m.Type {
	case client.TypeAuthSuccess:
		c.mu.Lock()
		d := StateDetail{Attempt: c.detail.Attempt, ConnID: f.ConnID, User: m.User, Role: m.Role}
		if m.Protocol != nil {
			d.Compression, d.Serialization = m.Protocol.Compression, m.Protocol.Serialization
			c.serial = m.Protocol.Serialization
		}
		if c.watch.presented != "" {
			c.socket = DecodeToken(c.watch.presented)
		} else {
			c.socket = c.access
		}
		sev := c.setStateLocked(client.StateConnected, d)
		c.mu.Unlock()
		c.m.emit(sev)
		return
	case client.TypeAuthError:
		c.mu.Lock()
		d := c.detail
		d.Err, d.Hint = "the server refused the application's token: "+m.Message, "the application should obtain a new token (login or refresh) and reconnect"
		sev := c.setStateLocked(c.state, d)
		c.mu.Unlock()
		c.m.emit(sev)
		return
	}
	ev, ok, err := client.SubEventOf(m)
	if err != nil {
		c.notice(NoticeWarn, err.Error(), "")
		return
	}
	if !ok {
		return
	}
	now := c.clock.Now()
	c.mu.Lock()
	t := c.subs[ev.SubscriptionID]
	if t == nil {
		// Subscribed before the proxy saw it (or by a message it could
		// not read): the table starts here.
		t = newLiveTable(ev.SubscriptionID, "", c.m.o.liveRowCap, now)
		c.subs[t.snap.ID] = t
		c.subOrder = append(c.subOrder, t.snap.ID)
	}
	if ev.Kind == client.SubAck {
		ev.Resumed = t.ackConn != 0 && t.ackConn != f.ConnID
		t.ackConn = f.ConnID
	}
	t.apply(ev, now)
	c.mu.Unlock()
	c.m.emit(SubscriptionChangedEvent{Conn: c.name})
}

// Observed token sources, for the rotation history.
const (
	loginKind   = "POST /v1/api/auth/login"
	refreshKind = "POST /v1/api/auth/refresh"
)

// learnTokens reads the tokens f carries: a login or refresh answer's
// access and refresh tokens, an authenticate message's token, a request's
// Bearer header (a refresh request's is the refresh token).
func (c *Conn) learnTokens(f client.Frame) {
	switch {
	case f.Opcode == client.OpHTTP && f.Direction == client.Inbound && f.Status == 200 && (f.Type == loginKind || f.Type == refreshKind):
		var ans struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(f.Decoded, &ans) != nil || ans.AccessToken == "" {
			return
		}
		trig := TriggerAppLogin
		if f.Type == refreshKind {
			trig = TriggerAppRefresh
		}
		c.sawTokens(ans.AccessToken, ans.RefreshToken, trig)
	case f.Opcode == client.OpHTTP && f.Direction == client.Outbound:
		tok := bearer(f.Wire)
		if tok == "" {
			return
		}
		if f.Type == refreshKind {
			c.sawTokens("", tok, TriggerAppPresented)
			return
		}
		c.sawTokens(tok, "", TriggerAppPresented)
		if isUpgrade(f.Type) {
			c.mu.Lock()
			c.watch.presented = tok // header authentication of the upgrade
			c.mu.Unlock()
		}
	case f.Direction == client.Outbound && f.Type == client.TypeAuthenticate:
		var m client.AuthenticateMessage
		if json.Unmarshal(f.Decoded, &m) != nil || m.Token == "" {
			return
		}
		c.sawTokens(m.Token, "", TriggerAppPresented)
		c.mu.Lock()
		c.watch.presented = m.Token
		c.mu.Unlock()
	}
}

// sawTokens makes access (and refresh, when not empty) the connection's
// tokens. A new access token is a rotation: the application obtained it
// (login, refresh) or presented one the watcher had not seen.
func (c *Conn) sawTokens(access, refresh string, trig Trigger) {
	now := c.clock.Now()
	c.mu.Lock()
	ws := c.watch
	var changed bool
	var r *Rotation
	if refresh != "" && client.Fingerprint(refresh) != c.refreshTS.Fingerprint {
		c.refreshTS = DecodeToken(refresh)
		ws.known[c.refreshTS.Fingerprint] = true
		changed = true
	}
	obtained := trig == TriggerAppLogin || trig == TriggerAppRefresh
	if same := client.Fingerprint(access) == c.access.Fingerprint; access != "" && (!same || obtained) {
		old := c.access
		c.access = DecodeToken(access)
		seen := ws.known[c.access.Fingerprint]
		ws.known[c.access.Fingerprint] = true
		changed = changed || !same
		// A login or refresh is a rotation even when the server handed
		// out the same token again (issued within the same second); a
		// token presented is one only the first time it is seen.
		if !seen || obtained {
			method := MethodObserved
			switch trig {
			case TriggerAppLogin:
				method = MethodProvider
			case TriggerAppRefresh:
				method = MethodRefreshToken
			}
			r = &Rotation{Time: now, Trigger: trig, Method: method, OldExpiry: old.Claims.ExpiresAt, NewExpiry: c.access.Claims.ExpiresAt,
				OldFingerprint: old.Fingerprint, NewFingerprint: c.access.Fingerprint, Unchanged: same}
		}
	}
	if changed {
		c.lastRefresh = now
	}
	c.mu.Unlock()
	if changed {
		c.m.emit(TokenChangedEvent{Conn: c.name})
	}
	if r != nil {
		c.recordExternal(*r)
	}
}

// bearer is the token of an Authorization: Bearer header in an HTTP
// exchange's text (its request line and headers), "" when none.
func bearer(exchange []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(exchange))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // the body follows
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "Authorization") {
			continue
		}
		scheme, tok, ok := strings.Cut(strings.TrimSpace(value), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}
