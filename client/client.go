package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kalamdash/kalamdash/redact"
)

// Client is a connection to one KalamDB server, or to one node at a time
// of a cluster: HTTP calls (login, refresh, me, sql, health) plus one
// multiplexed WebSocket carrying every subscription, kept alive and
// reconnected in the background. Given several nodes, a reconnect moves
// on to the next node when the current one is down (see Connect).
//
// Goroutines: a supervisor (dials, reconnects, emits lifecycle events);
// per socket a read loop (decodes, taps, routes frames, pages next_batch)
// and a keepalive loop; per subscription a pump that feeds its Events
// channel. Close stops them all before it returns.
//
// All methods are safe for concurrent use.
type Client struct {
	o      options
	nodes  []*url.URL              // every node, in the order tried; one for a single server
	base   atomic.Pointer[url.URL] // the current node, one of nodes: http(s)://host[:port][/prefix]
	hc     *http.Client
	wsHC   *http.Client // hc without Timeout, for the upgrade
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	userProvider bool // o.provider came from WithAuthProvider

	emitMu   sync.RWMutex // guards sends on events/tap against Close
	chClosed bool
	events   chan Event
	tap      chan Frame

	st counters

	mu        sync.Mutex
	auth      Auth       // credentials in use for HTTP and the next dial (never Basic)
	swap      *tokenSwap // a token standing in for the provider's answer (SwapToken)
	authed    bool       // auth was resolved (or set by Login/RefreshToken) at least once
	tokens    *Tokens    // last tokens obtained by this client
	state     ConnState
	conn      *wsConn
	connIDs   uint64
	upCount   int  // sockets authenticated so far
	want      bool // the supervisor keeps a socket up
	compress  bool // false: compress=false on the next dial
	subs      map[string]*Subscription
	closed    bool
	kick      chan struct{}
	upCh      chan struct{} // closed (and replaced) whenever a socket comes up
	gaveUpCh  chan struct{} // closed (and replaced) when reconnecting gives up
	lastErr   error
	subSerial uint64
	nodeIdx   int      // index of base in nodes
	lastNode  *url.URL // the node of the last socket that came up
	leftErr   error    // why the client last moved off a node (for FailoverEvent)

	refreshMu   sync.Mutex
	refreshCall *refreshCall
}

type counters struct {
	framesIn, framesOut, wireIn, decodedIn, wireOut atomic.Uint64
	reconnects, tapDrops, eventDrops, providerCalls atomic.Uint64
	httpRequests, decodeErrors, refreshCoalesced    atomic.Uint64
	tapSeq                                          atomic.Uint64
	rtt, lastKeepalive, connectedSince              atomic.Int64
	httpAnswered                                    atomic.Bool // some HTTP call got a KalamDB answer
}

// Connect validates rawURL (http, https, ws or wss; a path prefix is kept),
// resolves credentials (calling the provider, exchanging Basic for a JWT),
// and, unless WithLazyConnect(true), opens and authenticates the WebSocket.
// An eager Connect fails if that first socket cannot be opened; reconnects
// after that happen in the background.
//
// rawURL may list the nodes of a cluster separated by commas (ParseNodes).
// Login, HTTP calls and the WebSocket then go to one node at a time, the
// first at start. When a connection attempt finds the node down (refused,
// reset, hung up, timed out, 5xx), the next node is tried at once, the
// provider running again for it; the reconnect backoff applies only after
// a round in which every node failed. A socket that comes up on another
// node than the last one is announced by a FailoverEvent, and its
// subscriptions resume there with their last _seq — which that node
// assigned differently (see SubEvent.PrevNode).
func Connect(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if len(o.errs) > 0 {
		return nil, &Error{Kind: KindOther, Op: "connect", Message: "invalid option", Err: o.errs[0]}
	}
	if o.provider != nil && o.staticAuth != nil {
		return nil, &Error{Kind: KindOther, Op: "connect", Message: "WithAuth and WithAuthProvider are exclusive; use only WithAuthProvider"}
	}
	nodes, err := parseNodes(rawURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		o:        o,
		nodes:    nodes,
		compress: !o.disableCompress,
		subs:     map[string]*Subscription{},
		kick:     make(chan struct{}, 1),
		upCh:     make(chan struct{}),
		gaveUpCh: make(chan struct{}),
		events:   make(chan Event, o.eventBuffer),
	}
	c.base.Store(nodes[0])
	if o.tapBuffer > 0 {
		c.tap = make(chan Frame, o.tapBuffer)
	}
	c.userProvider = o.provider != nil
	if o.staticAuth != nil {
		a := *o.staticAuth
		c.o.provider = func(context.Context) (Auth, error) { return a, nil }
	}
	if err := c.buildHTTP(); err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())

	var first *wsConn
	if o.lazy {
		if _, _, err := c.resolveAuth(ctx, "connect"); err != nil {
			// A lazy client may start while the server is down: it
			// resolves again before the first request or socket. Anything
			// else (wrong password, broken provider) fails now.
			if !(isTransient(err) || isTransient(errors.Unwrap(err))) {
				c.cancel()
				c.closeChannels()
				return nil, err
			}
			c.setLastErr(err)
			c.emit(ErrorEvent{Time: c.now(), Err: err, Recoverable: true})
		}
	} else if first, err = c.connectRound(ctx, "connect", 1); err != nil {
		c.cancel()
		c.closeChannels()
		return nil, err
	}
	c.mu.Lock()
	c.want = !o.lazy
	c.mu.Unlock()
	if first != nil {
		// Register the socket before returning, so State() is Connected
		// and Subscribe uses it at once.
		c.up(first)
	}
	c.wg.Add(1)
	go c.supervise(first)
	return c, nil
}

func (c *Client) buildHTTP() error {
	if c.o.httpClient != nil {
		c.hc = c.o.httpClient
	} else {
		tlsCfg, err := c.o.tlsClientConfig()
		if err != nil {
			return &Error{Kind: KindTLS, Op: "connect", Message: "bad TLS settings", Err: err}
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsCfg
		tr.ForceAttemptHTTP2 = false // KalamDB clients speak HTTP/1.1; the upgrade needs it
		c.hc = &http.Client{Transport: tr, Timeout: c.o.httpTimeout}
	}
	ws := *c.hc
	ws.Timeout = 0
	c.wsHC = &ws
	return nil
}

// shownURL is raw as messages quote it: without the password of its
// userinfo or the values of secret query parameters (package redact). A
// URL is refused for carrying credentials, and the message that says so
// reaches stderr and the screen.
func shownURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") { // "user:pw@host" parses as scheme "user"
		return strings.TrimPrefix(redact.URL("http://"+raw), "http://")
	}
	return redact.URL(raw)
}

// parseBaseURL accepts http(s):// and ws(s):// URLs, keeps a path prefix
// (for servers behind a proxy) and drops a trailing /v1/ws or /v1/api.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, &Error{Kind: KindOther, Op: "connect", Message: "empty server URL; try http://127.0.0.1:8080"}
	}
	shown := shownURL(raw)
	if !strings.Contains(raw, "://") {
		return nil, &Error{Kind: KindOther, Op: "connect", Message: fmt.Sprintf("URL %q has no scheme; did you mean http://%s?", shown, shown)}
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error quotes the whole URL, credentials included
		}
		return nil, &Error{Kind: KindOther, Op: "connect", Message: fmt.Sprintf("cannot parse server URL %q", shown), Err: err}
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, &Error{Kind: KindOther, Op: "connect", Message: fmt.Sprintf("unsupported URL scheme %q; use http://, https://, ws:// or wss://", u.Scheme)}
	}
	if u.Host == "" {
		return nil, &Error{Kind: KindOther, Op: "connect", Message: fmt.Sprintf("URL %q has no host", shown)}
	}
	if u.User != nil {
		return nil, &Error{Kind: KindOther, Op: "connect", Message: "credentials in the URL are not used; pass them as Basic auth instead"}
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, &Error{Kind: KindOther, Op: "connect", Message: fmt.Sprintf("port %s in %q is out of range (1–65535)", port, shown)}
		}
	}
	p := strings.TrimRight(u.Path, "/")
	for _, suffix := range []string{"/v1/ws", "/v1/api", "/v1"} {
		p = strings.TrimSuffix(p, suffix)
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = p, "", "", ""
	return u, nil
}

// URL returns the base URL (http or https, without secrets) of the server,
// or of the cluster node the client uses now: the one its socket is on,
// or the next it will dial.
func (c *Client) URL() string { return c.node().String() }

func (c *Client) now() time.Time { return c.o.now() }

// emit delivers ev without blocking; it is dropped and counted when the
// Events channel is full or closed.
func (c *Client) emit(ev Event) {
	c.emitMu.RLock()
	defer c.emitMu.RUnlock()
	if c.chClosed {
		return
	}
	select {
	case c.events <- ev:
	default:
		c.st.eventDrops.Add(1)
	}
}

// Events returns the channel of connection lifecycle events. It is
// bounded (WithEventBuffer) and closed by Close.
func (c *Client) Events() <-chan Event { return c.events }

// State returns the WebSocket's current state.
func (c *Client) State() ConnState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Client) setState(s ConnState) {
	c.mu.Lock()
	if c.state != StateClosed {
		c.state = s
	}
	c.mu.Unlock()
}

// Credentials returns the access and refresh tokens in use ("" if none).
// They are secrets: the session decodes their claims, nobody logs them.
func (c *Client) Credentials() (access, refresh string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	access = c.auth.Token()
	if c.tokens != nil && c.tokens.AccessToken == access {
		refresh = c.tokens.RefreshToken
	}
	return access, refresh
}

// SocketToken returns the access token the live socket authenticated
// with ("" when no socket is up). After RefreshAuth it differs from
// Credentials until the next reconnect: KalamDB never re-checks a live
// socket's token. It is a secret.
func (c *Client) SocketToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return ""
	}
	return c.conn.token
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats {
	s := Stats{
		FramesIn:         c.st.framesIn.Load(),
		FramesOut:        c.st.framesOut.Load(),
		WireBytesIn:      c.st.wireIn.Load(),
		DecodedBytesIn:   c.st.decodedIn.Load(),
		WireBytesOut:     c.st.wireOut.Load(),
		Reconnects:       c.st.reconnects.Load(),
		KeepaliveRTT:     time.Duration(c.st.rtt.Load()),
		TapDrops:         c.st.tapDrops.Load(),
		EventDrops:       c.st.eventDrops.Load(),
		ProviderCalls:    c.st.providerCalls.Load(),
		HTTPRequests:     c.st.httpRequests.Load(),
		DecodeErrors:     c.st.decodeErrors.Load(),
		RefreshCoalesced: c.st.refreshCoalesced.Load(),
	}
	if t := c.st.lastKeepalive.Load(); t != 0 {
		s.LastKeepalive = time.Unix(0, t)
	}
	if t := c.st.connectedSince.Load(); t != 0 {
		s.ConnectedSince = time.Unix(0, t)
	}
	c.mu.Lock()
	if c.conn != nil {
		s.ConnID = c.conn.id
	}
	s.Subscriptions = len(c.subs)
	c.mu.Unlock()
	return s
}

// Close closes the socket (code 1000), stops every goroutine, ends every
// subscription's Events channel, then closes Events and Frames. It is
// idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.state = StateClosed
	conn := c.conn
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.subs = map[string]*Subscription{}
	c.mu.Unlock()

	if conn != nil {
		// Let the close frame reach the server before cancelling: the
		// cancel ends the read loop, which cuts the socket, and a server
		// would then see 1006 instead of this 1000 (at most a second when
		// the server does not answer).
		<-conn.close(1000, "client closed")
	}
	c.cancel()
	for _, s := range subs {
		s.finish(ErrClientClosed)
	}
	c.wg.Wait()
	if c.o.httpClient == nil {
		// Our own transport: its idle keep-alive connections would
		// otherwise keep two goroutines each alive after Close.
		c.hc.CloseIdleConnections()
	}
	c.closeChannels()
	return nil
}

func (c *Client) closeChannels() {
	c.emitMu.Lock()
	defer c.emitMu.Unlock()
	if c.chClosed {
		return
	}
	c.chClosed = true
	close(c.events)
	if c.tap != nil {
		close(c.tap)
	}
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
