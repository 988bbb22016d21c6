package kalamtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy is a loopback TCP proxy that sits between a client and a server and
// misbehaves on demand, like a bad network would. It listens on 127.0.0.1 on
// an ephemeral port and forwards every accepted connection to its target.
//
// Faults can be switched at any moment, also while traffic flows; each setter
// documents whether it applies to connections that already exist, to new
// ones, or to both. Heal removes every standing fault. The zero fault state
// forwards bytes unchanged and as fast as the sockets allow.
//
// A Proxy is safe for concurrent use. Close stops it and ends every goroutine
// it started.
type Proxy struct {
	target string // host:port dialled for every accepted connection
	scheme string // scheme of URL(); "http" unless the target was a URL
	addr   string // host:port the proxy listens on, stable across SetRefuse

	mu       sync.Mutex
	ln       net.Listener // nil while refusing or after Close
	refusing bool
	closed   bool
	f        faults
	wake     chan struct{} // closed and replaced whenever f changes
	conns    map[*proxyConn]struct{}

	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	accepted atomic.Int64
	bytes    [2]atomic.Int64 // indexed by ProxyDirection
}

// faults is the standing fault configuration read by every pipe.
type faults struct {
	latency   time.Duration
	jitter    time.Duration
	rate      int64 // bytes per second per direction; 0 = unlimited
	blackhole bool
	dropAfter int64 // bytes before a new connection is cut; 0 = never
}

// ProxyDirection names one direction of the traffic through a Proxy.
type ProxyDirection int

const (
	// ToServer is the direction from the client to the server.
	ToServer ProxyDirection = iota
	// ToClient is the direction from the server to the client.
	ToClient
)

// String returns "to-server" or "to-client".
func (d ProxyDirection) String() string {
	switch d {
	case ToServer:
		return "to-server"
	case ToClient:
		return "to-client"
	}
	return fmt.Sprintf("ProxyDirection(%d)", int(d))
}

// ProxyStats counts what went through a Proxy since it started.
type ProxyStats struct {
	// Accepted is the number of client connections accepted.
	Accepted int64
	// Active is the number of connections currently open.
	Active int
	// BytesToServer and BytesToClient are the bytes delivered in each
	// direction (bytes swallowed by a fault are not counted).
	BytesToServer, BytesToClient int64
}

// NewProxy starts a proxy in front of target, which is either "host:port" or
// a URL such as a Server's URL ("http://127.0.0.1:8080"; the port defaults
// from the scheme). Connections to Addr are forwarded to target. The target
// does not have to be up: connections accepted while it is down are reset.
func NewProxy(target string) (*Proxy, error) {
	host, scheme, err := proxyTarget(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kalamtest: proxy cannot listen on loopback: %w", err)
	}
	p := &Proxy{
		target: host,
		scheme: scheme,
		addr:   ln.Addr().String(),
		ln:     ln,
		wake:   make(chan struct{}),
		conns:  make(map[*proxyConn]struct{}),
		done:   make(chan struct{}),
	}
	p.wg.Add(1)
	go p.serve(ln)
	return p, nil
}

// proxyTarget turns NewProxy's argument into a dialable host:port and the
// scheme URL() should report.
func proxyTarget(target string) (hostport, scheme string, err error) {
	if !strings.Contains(target, "://") {
		if _, _, err := net.SplitHostPort(target); err != nil {
			return "", "", fmt.Errorf("kalamtest: proxy target %q is neither host:port nor a URL: %w", target, err)
		}
		return target, "http", nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", "", fmt.Errorf("kalamtest: proxy target %q is not a valid URL: %w", target, err)
	}
	if u.Hostname() == "" {
		return "", "", fmt.Errorf("kalamtest: proxy target %q has no host", target)
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http", "ws":
			port = "80"
		case "https", "wss":
			port = "443"
		default:
			return "", "", fmt.Errorf("kalamtest: proxy target %q has no port and scheme %q has no default", target, u.Scheme)
		}
	}
	return net.JoinHostPort(u.Hostname(), port), u.Scheme, nil
}

// Addr returns the proxy's listening address, "127.0.0.1:port". It stays the
// same for the proxy's whole life, also across SetRefuse.
func (p *Proxy) Addr() string { return p.addr }

// URL returns the proxy's address as a URL with the target's scheme
// ("http://127.0.0.1:port" when the target was given as host:port), ready to
// hand to a client in place of the server's URL.
func (p *Proxy) URL() string { return p.scheme + "://" + p.addr }

// Target returns the host:port the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Stats returns the proxy's counters.
func (p *Proxy) Stats() ProxyStats {
	p.mu.Lock()
	active := len(p.conns)
	p.mu.Unlock()
	return ProxyStats{
		Accepted:      p.accepted.Load(),
		Active:        active,
		BytesToServer: p.bytes[ToServer].Load(),
		BytesToClient: p.bytes[ToClient].Load(),
	}
}

// Close stops listening, closes every connection and waits for all of the
// proxy's goroutines to end. It is safe to call more than once.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	ln := p.ln
	p.ln = nil
	conns := p.snapshotLocked()
	close(p.done)
	p.mu.Unlock()

	var err error
	if ln != nil {
		err = ln.Close()
	}
	for _, c := range conns {
		c.teardown(false)
	}
	p.wg.Wait()
	return err
}

// serve accepts connections on ln until it is closed.
func (p *Proxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or similar: back off briefly instead of
			// spinning, as net/http does.
			select {
			case <-p.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		p.accepted.Add(1)
		p.handle(nc.(*net.TCPConn))
	}
}

// handle registers an accepted connection and starts forwarding it.
func (p *Proxy) handle(client *net.TCPConn) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &proxyConn{p: p, client: client, done: make(chan struct{}), cancel: cancel}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		cancel()
		_ = client.Close()
		return
	}
	budget := int64(-1)
	if p.f.dropAfter > 0 {
		budget = p.f.dropAfter
	}
	c.budget.Store(budget)
	p.conns[c] = struct{}{}
	p.wg.Add(1)
	p.mu.Unlock()
	go c.run(ctx)
}

// remove forgets a torn-down connection.
func (p *Proxy) remove(c *proxyConn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// snapshotLocked returns the open connections; p.mu must be held.
func (p *Proxy) snapshotLocked() []*proxyConn {
	out := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	return out
}

// state returns the current faults and a channel closed when they change.
func (p *Proxy) state() (faults, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.f, p.wake
}

// update changes the faults under the lock and wakes every waiting pipe so
// it re-reads them; it returns the connections open at that moment.
func (p *Proxy) update(change func(f *faults)) []*proxyConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	change(&p.f)
	close(p.wake)
	p.wake = make(chan struct{})
	return p.snapshotLocked()
}
