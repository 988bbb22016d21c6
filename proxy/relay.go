package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Options configure a Relay.
type Options struct {
	// TLS is the configuration for an https:// upstream (a profile's CA
	// file or insecure option, see client.TLSConfig); nil means the
	// system's roots.
	TLS *tls.Config
	// RevealSecrets hands the observer tokens and passwords in clear;
	// by default they are redacted as the client's tap redacts its own.
	RevealSecrets bool
	// OnFrame receives every relayed frame and HTTP exchange, in the
	// order each direction relayed them, one call at a time (Seq
	// increases by one per call), with the address of the application
	// it came from or went to (host:port of the application's TCP
	// connection: its socket's for socket frames, the request's for HTTP
	// exchanges). It is called from the relay's goroutines and holds up
	// every direction until it returns: it must not block.
	OnFrame func(from string, f client.Frame)
	// OnConn receives an event when an application's WebSocket opens
	// through the relay and when it ends.
	OnConn func(ConnEvent)
	// Via is a host:port the relay dials instead of the upstream's own,
	// with TLS still verifying the upstream's name: a TCP fault proxy in
	// front of the upstream (kalamtest.Proxy), so the application's
	// traffic can be stalled or slowed. Empty dials the upstream.
	Via string
}

// ConnEvent is an application's WebSocket opening or ending.
type ConnEvent struct {
	Time time.Time
	// ConnID is the socket's id, the ConnID of its frames.
	ConnID uint64
	// Opened is true for the socket's start, false for its end.
	Opened bool
	// Client is the application's address (host:port).
	Client string
	// Target is the upstream ws:// or wss:// URL the socket was relayed
	// to, with the application's query (KalamDB takes no credentials in
	// it).
	Target string
	// CompressForcedOff says the relay rewrote this upgrade to
	// compress=false (CompressOffNext).
	CompressForcedOff bool
	// User and Role are what the socket authenticated as (its
	// auth_success), empty until then.
	User, Role string
	// CloseCode and CloseReason are the first close frame's, on the end
	// event; CloseCode is -1 when the socket ended without one.
	CloseCode   int
	CloseReason string
	// Frames counts the socket's observed frames, on the end event.
	Frames int
	// Err says why the relay itself ended the socket or could not open
	// it, if it did.
	Err string
}

// Relay relays an application's KalamDB traffic to the upstream server and
// observes it. It is an http.Handler: serve it on the address the
// application connects to.
type Relay struct {
	upstream *url.URL
	o        Options
	rp       *httputil.ReverseProxy

	// emitMu orders the observer's calls: sequence numbers and times
	// increase in the order frames reach it, across sockets.
	emitMu      sync.Mutex
	seq         uint64
	socketIDs   atomic.Uint64
	compressOff atomic.Bool

	mu      sync.Mutex
	sockets map[*liveSocket]struct{}
	wg      sync.WaitGroup
}

// New returns a relay to upstream, an http(s) or ws(s) URL of a KalamDB
// server (its path, if any, prefixes every relayed path).
func New(upstream string, o Options) (*Relay, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", upstream, err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return nil, fmt.Errorf("upstream %q: want an http://, https://, ws:// or wss:// URL", upstream)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("upstream %q has no host", upstream)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("upstream %q: give only scheme, host, port and path", upstream)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	r := &Relay{upstream: u, o: o, sockets: map[*liveSocket]struct{}{}}
	r.rp = r.reverseProxy()
	return r, nil
}

// Upstream returns the server the relay forwards to.
func (r *Relay) Upstream() string { return r.upstream.String() }

// CompressOffNext makes the next WebSocket upgrade relayed carry
// compress=false, whatever the application asked for: that socket's
// server frames are text. Later upgrades are relayed unchanged again.
func (r *Relay) CompressOffNext() { r.compressOff.Store(true) }

// ServeHTTP relays one request: a WebSocket upgrade to the upstream's
// socket, anything else through the reverse proxy.
func (r *Relay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if isUpgrade(req) {
		r.relaySocket(w, req)
		return
	}
	r.relayHTTP(w, req)
}

// Close ends every relayed socket abruptly and waits for their goroutines.
// The caller shuts its http.Server down first, so no new one starts.
func (r *Relay) Close() error {
	r.Drop()
	r.wg.Wait()
	return nil
}

// Drop cuts every relayed socket at once, without a close frame, as a
// broken network would: each application sees its socket end (1006) and
// reconnects through the relay.
func (r *Relay) Drop() int {
	r.mu.Lock()
	live := make([]*liveSocket, 0, len(r.sockets))
	for s := range r.sockets {
		live = append(live, s)
	}
	r.mu.Unlock()
	for _, s := range live {
		s.cut(errors.New("dropped by kalamdash proxy"))
	}
	return len(live)
}

// DropConn cuts one relayed socket, the one with the given ConnID, as
// Drop cuts them all. It reports whether that socket was open.
func (r *Relay) DropConn(id uint64) bool {
	r.mu.Lock()
	var s *liveSocket
	for ls := range r.sockets {
		if ls.id == id {
			s = ls
		}
	}
	r.mu.Unlock()
	if s == nil {
		return false
	}
	s.cut(errors.New("dropped by kalamdash proxy"))
	return true
}

// emit stamps f, from the application at from, and hands it to the
// observer, redacted unless revealed.
func (r *Relay) emit(from string, f client.Frame) {
	if r.o.OnFrame == nil {
		return
	}
	if !r.o.RevealSecrets {
		f = client.RedactFrame(f)
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.seq++
	f.Seq, f.Time = r.seq, time.Now()
	r.o.OnFrame(from, f)
}

func (r *Relay) connEvent(ev ConnEvent) {
	if r.o.OnConn != nil {
		ev.Time = time.Now()
		r.o.OnConn(ev)
	}
}

// dial opens a connection to the upstream, TLS when it is https.
func (r *Relay) dial(ctx context.Context) (net.Conn, error) {
	c, err := r.dialTCP(ctx)
	if err != nil || r.upstream.Scheme != "https" {
		return c, err
	}
	cfg := r.tlsConfig()
	cfg.NextProtos = []string{"http/1.1"} // an upgrade is HTTP/1.1 only
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// dialTCP opens the TCP connection to the upstream's host and port.
func (r *Relay) dialTCP(ctx context.Context) (net.Conn, error) {
	addr := r.upstream.Host
	if r.o.Via != "" {
		addr = r.o.Via
	} else if r.upstream.Port() == "" {
		port := "80"
		if r.upstream.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(r.upstream.Hostname(), port)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// tlsConfig is a fresh copy of the upstream's TLS configuration, with
// the server name of the upstream's host.
func (r *Relay) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if r.o.TLS != nil {
		cfg = r.o.TLS.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = r.upstream.Hostname()
	}
	return cfg
}

// target returns the upstream URL of a relayed request: the upstream's
// scheme, host and path prefix with the request's path and query.
func (r *Relay) target(req *http.Request) *url.URL {
	u := *r.upstream
	u.Path = r.upstream.Path + req.URL.Path
	u.RawPath = ""
	if req.URL.RawPath != "" {
		u.RawPath = r.upstream.EscapedPath() + req.URL.RawPath
	}
	u.RawQuery = req.URL.RawQuery
	return &u
}

// isUpgrade reports whether req asks for a WebSocket.
func isUpgrade(req *http.Request) bool {
	return headerHasToken(req.Header, "Connection", "upgrade") && headerHasToken(req.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
