package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// wsConn is one authenticated WebSocket. Its read loop is the only reader;
// any goroutine may write (coder/websocket serialises writes).
type wsConn struct {
	c        *Client
	id       uint64
	node     *url.URL // the node dialed (one of Client.nodes)
	ws       *websocket.Conn
	ctx      context.Context // lives as long as the socket
	cancel   context.CancelFunc
	proto    Protocol
	token    string // access token this socket authenticated with
	compress bool   // gzip allowed (no compress=false) when dialed
	user     string
	role     string
	dec      decoder // read loop only
	rbuf     []byte  // read loop only: scratch buffer of readMessage

	lastIn       atomic.Int64 // unix nanos of the last inbound frame of any kind
	dialed       time.Time    // when the upgrade request went out: the server's silence clock starts no earlier
	awaitingPong atomic.Bool  // a keepalive Ping waits for its Pong

	done      chan struct{} // closed when the read loop ends
	endMu     sync.Mutex
	endErr    error  // why the socket ended
	endCode   int    // close code (-1 if none)
	endReason string // close reason
	local     bool   // we closed it
	sentCode  int    // the close code we sent: the peer's echo of it is not tapped
}

// wsURLFor returns the WebSocket URL of node (no secrets in it).
func (c *Client) wsURLFor(node *url.URL, compress bool) string {
	u := *node
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

// dial opens and authenticates a socket on node with auth, the
// credentials the caller resolved just before (resolveAuth).
func (c *Client) dial(ctx context.Context, auth Auth, node *url.URL) (*wsConn, error) {
	c.mu.Lock()
	c.connIDs++
	id := c.connIDs
	c.mu.Unlock()

	compress := c.compressOn()
	target := c.wsURLFor(node, compress)
	hdr := http.Header{}
	if !c.o.messageAuth && auth.Kind() == AuthJWT {
		hdr.Set("Authorization", "Bearer "+auth.Token())
	}
	wc := &wsConn{c: c, id: id, node: node, done: make(chan struct{}), endCode: -1, compress: compress}
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
	status, reason := 0, ""
	var rh http.Header
	var body []byte
	if resp != nil {
		status, rh = resp.StatusCode, resp.Header
		reason = strings.TrimPrefix(resp.Status, strconv.Itoa(status)+" ")
		if err != nil && resp.Body != nil {
			// A refused upgrade's body says why (coder/websocket keeps
			// the start of it readable).
			body, _ = io.ReadAll(io.LimitReader(resp.Body, maxRefusalBody))
		}
	}
	c.tapHTTPResponse(kind, status, rh, body, time.Since(start), err)
	if err != nil {
		return nil, c.dialError(target, status, reason, rh, body, err)
	}
	ws.SetReadLimit(readLimit)
	wc.ws, wc.dialed = ws, start
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
			return classifyNetErr("connect", wc.node.String(), err)
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
				e := refusedTokenError(auth.Token(), c.now(), reason, code)
				e.Err = err
				return e
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
			if kind == KindRateLimited {
				return &Error{Kind: kind, Op: "connect", Code: TypeAuthError, Message: "server refused the token: " + msg.Message}
			}
			return refusedTokenError(auth.Token(), c.now(), msg.Message, 0)
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
