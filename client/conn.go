package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// wsConn is one authenticated WebSocket. Its read loop is the only reader;
// writes are serialised by wmu.
type wsConn struct {
	c        *Client
	id       uint64
	ws       *websocket.Conn
	ctx      context.Context // lives as long as the socket
	cancel   context.CancelFunc
	proto    Protocol
	token    string // access token this socket authenticated with
	compress bool   // gzip allowed (no compress=false) when dialed
	user     string
	role     string
	dec      decoder

	wmu    sync.Mutex
	lastIn atomic.Int64 // unix nanos of the last inbound frame of any kind

	done      chan struct{} // closed when the read loop ends
	endMu     sync.Mutex
	endErr    error  // why the socket ended
	endCode   int    // close code (-1 if none)
	endReason string // close reason
	local     bool   // we closed it
}

// wsURL returns the WebSocket URL for the next dial (no secrets in it).
func (c *Client) wsURL() string { return c.wsURLFor(c.compressOn()) }

func (c *Client) wsURLFor(compress bool) string {
	u := *c.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += "/v1/ws"
	q := url.Values{}
	if !compress {
		q.Set("compress", "false")
	}
	if c.o.serialization == "msgpack" && !c.o.messageAuth {
		q.Set("serialization", "msgpack")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// dial opens, authenticates and registers a socket with the credentials
// in use; the caller resolved them just before.
func (c *Client) dial(ctx context.Context) (*wsConn, error) {
	c.mu.Lock()
	auth := c.auth
	c.connIDs++
	id := c.connIDs
	c.mu.Unlock()

	compress := c.compressOn()
	target := c.wsURLFor(compress)
	hdr := http.Header{}
	if !c.o.messageAuth && auth.Kind() == AuthJWT {
		hdr.Set("Authorization", "Bearer "+auth.Token())
	}
	wc := &wsConn{c: c, id: id, done: make(chan struct{}), endCode: -1, compress: compress}
	wc.lastIn.Store(time.Now().UnixNano())
	dctx := ctx
	if c.o.httpTimeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, c.o.httpTimeout)
		defer cancel()
	}
	u, _ := url.Parse(target)
	upReq := &http.Request{Method: http.MethodGet, URL: u, Header: hdr}
	kind := "GET " + u.Path
	c.tapHTTPRequest(kind, upReq, nil)
	start := time.Now()
	ws, resp, err := websocket.Dial(dctx, target, &websocket.DialOptions{
		HTTPClient: c.wsHC,
		HTTPHeader: hdr,
		OnPingReceived: func(_ context.Context, p []byte) bool {
			wc.lastIn.Store(time.Now().UnixNano())
			c.tapControl(wc.id, Inbound, OpPing, p)
			c.tapControl(wc.id, Outbound, OpPong, p)
			return true
		},
		OnPongReceived: func(_ context.Context, p []byte) {
			wc.lastIn.Store(time.Now().UnixNano())
			c.tapControl(wc.id, Inbound, OpPong, p)
		},
	})
	status := 0
	var rh http.Header
	if resp != nil {
		status, rh = resp.StatusCode, resp.Header
	}
	c.tapHTTPResponse(kind, status, rh, nil, time.Since(start), err)
	if err != nil {
		return nil, c.dialError(target, status, err)
	}
	ws.SetReadLimit(readLimit)
	wc.ws = ws
	wc.ctx, wc.cancel = context.WithCancel(c.ctx)
	wc.dec.msgpack = c.o.serialization == "msgpack"

	wc.token = auth.Token()
	if err := wc.authenticate(ctx, auth); err != nil {
		wc.cancel()
		_ = ws.CloseNow()
		return nil, err
	}
	return wc, nil
}

func (c *Client) dialError(target string, status int, err error) error {
	switch {
	case status == http.StatusNotFound:
		return &Error{Kind: KindNotKalamDB, Op: "connect", Status: status, Message: fmt.Sprintf("%s answered 404: wrong path prefix, or not a KalamDB server", target), Err: err}
	case status == http.StatusForbidden:
		return &Error{Kind: KindOther, Op: "connect", Status: status, Message: "upgrade refused (403): origin not allowed?", Err: err}
	case status == http.StatusServiceUnavailable:
		return &Error{Kind: KindUnreachable, Op: "connect", Status: status, Message: "server refused the socket (503): shutting down or full", Err: err}
	case status == http.StatusBadRequest && c.base.Scheme == "http":
		return &Error{Kind: KindNotKalamDB, Op: "connect", Status: status, Message: "upgrade answered HTTP 400: if the server uses TLS, use https:// or wss://", Err: err}
	case status != 0 && status != http.StatusSwitchingProtocols:
		return &Error{Kind: KindNotKalamDB, Op: "connect", Status: status, Message: fmt.Sprintf("upgrade answered HTTP %d, not a WebSocket: not KalamDB?", status), Err: err}
	}
	return classifyNetErr("connect", target, err)
}

// authenticate waits for auth_success (header auth) or sends the
// authenticate message first (message auth).
func (wc *wsConn) authenticate(ctx context.Context, auth Auth) error {
	c := wc.c
	if c.o.messageAuth {
		if auth.Kind() != AuthJWT {
			return &Error{Kind: KindAuth, Op: "connect", Message: "message authentication needs a JWT; the provider returned " + auth.Kind().String()}
		}
		compression := "gzip"
		if !wc.compress {
			compression = "none"
		}
		msg := AuthenticateMessage{Type: TypeAuthenticate, Method: "jwt", Token: auth.Token(),
			Protocol: &Protocol{Serialization: c.o.serialization, Compression: compression}}
		if err := wc.send(ctx, msg); err != nil {
			return classifyNetErr("connect", c.URL(), err)
		}
	}
	actx := ctx
	if c.o.authTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, c.o.authTimeout)
		defer cancel()
	}
	for {
		typ, data, err := wc.ws.Read(actx)
		if err != nil {
			code, reason := closeInfo(err)
			if code >= 0 {
				c.tapClose(wc.id, Inbound, code, reason)
			}
			if code == int(websocket.StatusPolicyViolation) {
				return &Error{Kind: KindAuth, Op: "connect", Status: code, Message: "server refused the token: " + reason, Err: err}
			}
			if actx.Err() != nil && ctx.Err() == nil && auth.Kind() == AuthNone {
				return &Error{Kind: KindAuth, Op: "connect", Message: fmt.Sprintf("no credentials: KalamDB never authenticates an anonymous socket (no auth_success within %s); configure a user or token", c.o.authTimeout), Err: err}
			}
			if actx.Err() != nil && ctx.Err() == nil {
				return &Error{Kind: KindTimeout, Op: "connect", Message: fmt.Sprintf("no auth_success within %s", c.o.authTimeout), Err: err}
			}
			return &Error{Kind: KindUnreachable, Op: "connect", Status: code, Message: "socket closed during authentication" + reasonSuffix(reason), Err: err}
		}
		msg := wc.ingest(typ, data)
		if msg == nil {
			continue
		}
		switch msg.Type {
		case TypeAuthSuccess:
			wc.user, wc.role = msg.User, msg.Role
			if msg.Protocol != nil {
				wc.proto = *msg.Protocol
				wc.dec.msgpack = msg.Protocol.Serialization == "msgpack"
			}
			return nil
		case TypeAuthError:
			kind := KindAuth
			if strings.Contains(msg.Message, "Too many") {
				kind = KindRateLimited
			}
			return &Error{Kind: kind, Op: "connect", Code: TypeAuthError, Message: "server refused the token: " + msg.Message}
		}
	}
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

// closeInfo extracts a close code and reason; code -1 if err is no close.
func closeInfo(err error) (int, string) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code), ce.Reason
	}
	return -1, ""
}

// ingest accounts, decodes and taps one inbound frame and returns the
// parsed message, or nil (after an ErrorEvent) if it was malformed.
func (wc *wsConn) ingest(typ websocket.MessageType, data []byte) *ServerMessage {
	c := wc.c
	wc.lastIn.Store(time.Now().UnixNano())
	c.st.framesIn.Add(1)
	c.st.wireIn.Add(uint64(len(data)))
	text, enc, err := wc.dec.decode(typ, data)
	op := OpText
	if typ == websocket.MessageBinary {
		op = OpBinary
	}
	f := Frame{Direction: Inbound, Opcode: op, Encoding: enc, Wire: data, WireSize: len(data),
		Decoded: text, DecodedSize: len(text), ConnID: wc.id}
	var msg *ServerMessage
	if err == nil {
		c.st.decodedIn.Add(uint64(len(text)))
		msg, err = parseServerMessage(text)
	}
	if msg != nil {
		f.Type, f.SubscriptionID = msg.Type, msg.SubscriptionID
	}
	if err != nil {
		c.st.decodeErrors.Add(1)
		f.Err = err.Error()
		c.tapFrame(f)
		c.emit(ErrorEvent{Time: c.now(), Recoverable: true,
			Err: &Error{Kind: KindProtocol, Op: "read", Message: fmt.Sprintf("undecodable %s frame (%d bytes) on socket %d", op, len(data), wc.id), Err: err}})
		return nil
	}
	c.tapFrame(f)
	return msg
}

func (c *Client) compressOn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.compress
}

// send writes one client message as a single JSON text frame.
func (wc *wsConn) send(ctx context.Context, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	var typ, sid string
	switch m := msg.(type) {
	case AuthenticateMessage:
		typ = m.Type
	case SubscribeMessage:
		typ, sid = m.Type, m.Subscription.ID
	case NextBatchMessage:
		typ, sid = m.Type, m.SubscriptionID
	case UnsubscribeMessage:
		typ, sid = m.Type, m.SubscriptionID
	case PingMessage:
		typ = m.Type
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	wc.wmu.Lock()
	err = wc.ws.Write(wctx, websocket.MessageText, b)
	wc.wmu.Unlock()
	c := wc.c
	red := redactJSON(b, c.o.revealSecrets)
	f := Frame{Direction: Outbound, Opcode: OpText, Encoding: EncJSON, Type: typ, SubscriptionID: sid,
		Wire: red, WireSize: len(b), Decoded: red, DecodedSize: len(b), ConnID: wc.id}
	if err != nil {
		f.Err = err.Error()
	} else {
		c.st.framesOut.Add(1)
		c.st.wireOut.Add(uint64(len(b)))
	}
	c.tapFrame(f)
	return err
}

func (c *Client) tapControl(id uint64, dir Direction, op Opcode, payload []byte) {
	if dir == Inbound {
		c.st.framesIn.Add(1)
		c.st.wireIn.Add(uint64(len(payload)))
	} else {
		c.st.framesOut.Add(1)
		c.st.wireOut.Add(uint64(len(payload)))
	}
	p := append([]byte(nil), payload...)
	c.tapFrame(Frame{Direction: dir, Opcode: op, Encoding: EncNone, Type: op.String(), Wire: p,
		WireSize: len(p), ConnID: id})
}

func (c *Client) tapClose(id uint64, dir Direction, code int, reason string) {
	c.tapFrame(Frame{Direction: dir, Opcode: OpClose, Encoding: EncNone, Type: "close", ConnID: id,
		CloseCode: code, CloseReason: reason, Wire: []byte(reason), WireSize: len(reason) + 2})
}

// run starts the socket's read and keepalive loops.
func (wc *wsConn) run() {
	c := wc.c
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		wc.readLoop()
	}()
	go func() {
		defer c.wg.Done()
		wc.keepalive()
	}()
}

func (wc *wsConn) readLoop() {
	c := wc.c
	defer close(wc.done)
	defer wc.cancel()
	for {
		typ, data, err := wc.ws.Read(wc.ctx)
		if err != nil {
			code, reason := closeInfo(err)
			wc.endMu.Lock()
			if wc.endErr == nil {
				wc.endErr, wc.endCode, wc.endReason = err, code, reason
			}
			local := wc.local
			wc.endMu.Unlock()
			if code >= 0 && !local {
				c.tapClose(wc.id, Inbound, code, reason)
			}
			_ = wc.ws.CloseNow()
			return
		}
		if msg := wc.ingest(typ, data); msg != nil {
			c.dispatch(wc, msg)
		}
	}
}

// close sends a close frame and ends the socket; the read loop returns.
func (wc *wsConn) close(code int, reason string) {
	wc.endMu.Lock()
	first := !wc.local && wc.endErr == nil
	if first {
		wc.local = true
		wc.endErr = &Error{Kind: KindClosed, Op: "close", Status: code, Message: reason}
		wc.endCode, wc.endReason = code, reason
	}
	wc.endMu.Unlock()
	if !first {
		return
	}
	c := wc.c
	c.tapClose(wc.id, Outbound, code, reason)
	// Close waits for the peer's answer (up to 5 s in coder/websocket);
	// don't make the caller wait, and cut the socket after a second if the
	// peer never answers. Tracked so Close outlives it.
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.AfterFunc(time.Second, func() { _ = wc.ws.CloseNow() })
		defer t.Stop()
		_ = wc.ws.Close(websocket.StatusCode(code), reason)
	}()
}

// fail ends the socket because of a local error (keepalive timeout).
func (wc *wsConn) fail(err error) {
	wc.endMu.Lock()
	if wc.endErr == nil {
		wc.endErr = err
	}
	wc.endMu.Unlock()
	_ = wc.ws.CloseNow()
}

// keepalive sends a WS Ping plus an app ping every interval (up to 20 %
// earlier) and declares the socket dead if nothing arrives within the pong
// timeout.
func (wc *wsConn) keepalive() {
	c := wc.c
	if c.o.keepalive <= 0 {
		return
	}
	for {
		d := c.o.keepalive - time.Duration(rand.Float64()*0.2*float64(c.o.keepalive))
		if sleepCtx(wc.ctx, d) != nil {
			return
		}
		sent := time.Now()
		c.tapControl(wc.id, Outbound, OpPing, nil)
		_ = wc.send(wc.ctx, PingMessage{Type: TypePing})
		pctx, cancel := context.WithTimeout(wc.ctx, c.o.pongTimeout)
		err := wc.ws.Ping(pctx)
		cancel()
		if wc.ctx.Err() != nil {
			return
		}
		if err == nil {
			rtt := time.Since(sent)
			c.st.rtt.Store(int64(rtt))
			c.st.lastKeepalive.Store(time.Now().UnixNano())
			continue
		}
		if wc.lastIn.Load() >= sent.UnixNano() {
			continue // no pong, but the socket is carrying data: alive
		}
		wc.fail(&Error{Kind: KindTimeout, Op: "keepalive", Message: fmt.Sprintf("no frame from the server within %s of a ping: connection dead", c.o.pongTimeout)})
		return
	}
}

// Ping sends a WebSocket Ping on the live socket now and returns the
// round-trip time to its Pong (also recorded as Stats.KeepaliveRTT). It
// fails if no socket is up.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	wc := c.conn
	c.mu.Unlock()
	if wc == nil {
		return 0, &Error{Kind: KindClosed, Op: "ping", Message: "no live socket (state " + c.State().String() + ")"}
	}
	sent := time.Now()
	c.tapControl(wc.id, Outbound, OpPing, nil)
	if err := wc.ws.Ping(ctx); err != nil {
		return 0, classifyNetErr("ping", c.URL(), err)
	}
	rtt := time.Since(sent)
	c.st.rtt.Store(int64(rtt))
	c.st.lastKeepalive.Store(time.Now().UnixNano())
	return rtt, nil
}
