package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/proxy"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// This file is the dashboard side of kalamdash proxy: the relay feeds a
// session.Watcher, whose watched connections become tabs that steer the
// application's connection through the relay and a fault proxy.

// ProxyOptions configure a ProxyWatch.
type ProxyOptions struct {
	// TLS is the upstream's TLS configuration (proxy.Options.TLS).
	TLS *tls.Config
	// RevealSecrets keeps tokens and passwords in the frame logs and in
	// what OnFrame receives; by default both are redacted.
	RevealSecrets bool
	// OnFrame and OnConn receive what the relay observes too (a
	// recording); OnFrame's frames are redacted unless RevealSecrets.
	OnFrame func(from string, f client.Frame)
	OnConn  func(proxy.ConnEvent)
}

// ProxyWatch relays an application's traffic to upstream, through a fault
// proxy so it can be stalled or slowed, and shows every application as a
// watched connection of mgr.
type ProxyWatch struct {
	relay   *proxy.Relay
	faults  *kalamtest.Proxy
	watcher *session.Watcher

	mu      sync.Mutex
	stalled bool
	latency int // index into latencySteps
}

// latencySteps is the cycle of the latency steering key.
var latencySteps = []time.Duration{0, 250 * time.Millisecond, time.Second, 3 * time.Second}

// NewProxyWatch starts the fault proxy to upstream and returns the relay
// around it; serve Handler on the address the application connects to,
// and Close it when done.
func NewProxyWatch(mgr *session.Manager, upstream string, o ProxyOptions) (*ProxyWatch, error) {
	faults, err := kalamtest.NewProxy(upstream)
	if err != nil {
		return nil, err
	}
	w := session.NewWatcher(mgr, session.WatchOptions{URL: upstream, RevealSecrets: o.RevealSecrets})
	pw := &ProxyWatch{faults: faults, watcher: w}
	// The relay hands the watcher tokens in clear (it decodes their
	// claims); the logs and OnFrame get them redacted unless revealed.
	relay, err := proxy.New(upstream, proxy.Options{TLS: o.TLS, RevealSecrets: true, Via: faults.Addr(),
		OnFrame: func(from string, f client.Frame) {
			w.Frame(from, f)
			if o.OnFrame != nil {
				if !o.RevealSecrets {
					f = client.RedactFrame(f)
				}
				o.OnFrame(from, f)
			}
		},
		OnConn: func(ev proxy.ConnEvent) {
			w.Socket(socketEvent(ev))
			if o.OnConn != nil {
				o.OnConn(ev)
			}
		}})
	if err != nil {
		faults.Close()
		return nil, err
	}
	pw.relay = relay
	return pw, nil
}

// socketEvent is the session's view of a relayed socket's start or end.
func socketEvent(ev proxy.ConnEvent) session.SocketEvent {
	return session.SocketEvent{Time: ev.Time, ConnID: ev.ConnID, Opened: ev.Opened, Client: ev.Client,
		CompressOff: ev.CompressForcedOff || compressOff(ev.Target),
		CloseCode:   ev.CloseCode, CloseReason: ev.CloseReason, Err: ev.Err}
}

// compressOff reports whether a socket's upstream URL asks for
// compress=false.
func compressOff(target string) bool {
	u, err := url.Parse(target)
	return err == nil && u.Query().Get("compress") == "false"
}

// Handler is the relay: serve it where the application connects.
func (p *ProxyWatch) Handler() http.Handler { return p.relay }

// Upstream is the server the relay forwards to.
func (p *ProxyWatch) Upstream() string { return p.relay.Upstream() }

// Watcher returns the watcher the relay feeds.
func (p *ProxyWatch) Watcher() *session.Watcher { return p.watcher }

// Close ends every relayed socket and the fault proxy. The caller shuts
// its http.Server down first.
func (p *ProxyWatch) Close() error {
	return errors.Join(p.relay.Close(), p.faults.Close())
}

// watchedConn is a tab watching an application through kalamdash proxy:
// the read-only core of a live connection (its snapshot, frames and rows)
// and steering (ui.Steering), nothing that sends as the application.
type watchedConn struct {
	live *conn
	pw   *ProxyWatch
}

var (
	_ ui.Conn     = watchedConn{}
	_ ui.LiveRows = watchedConn{}
	_ ui.Steering = watchedConn{}
)

func (w watchedConn) ID() string             { return w.live.ID() }
func (w watchedConn) Frames() ui.FrameSource { return w.live.Frames() }
func (w watchedConn) Close() error           { return w.live.Close() }

// SubRows implements ui.LiveRows.
func (w watchedConn) SubRows(id string, q ui.RowQuery, offset, n int) ([]ui.Row, int) {
	return w.live.SubRows(id, q, offset, n)
}

// Snapshot is the live connection's, named after the application: its
// address and the user it authenticated as.
func (w watchedConn) Snapshot() ui.Snapshot {
	cs := w.live.c.Snapshot()
	s := w.live.snapshotOf(cs)
	s.Name = cs.Client
	if s.User != "" {
		s.Name += " " + s.User
	}
	s.Token.Kind = "observed"
	s.Token.Source = "what the application obtained or presented, seen through kalamdash proxy (read-only)"
	return s
}

// CompressOffNext implements ui.Steering.
func (w watchedConn) CompressOffNext() (string, error) {
	w.pw.relay.CompressOffNext()
	return "compress=false on the next socket through the proxy: D drops this one, and the app's next one should carry text frames", nil
}

// DropSocket implements ui.Steering.
func (w watchedConn) DropSocket() (string, error) {
	id := w.live.c.Snapshot().LiveSocket
	if id == 0 || !w.pw.relay.DropConn(id) {
		return "", errors.New("the application has no open socket to drop")
	}
	return fmt.Sprintf("dropped socket #%d (1006, no close frame): the app should reconnect and re-authenticate on this tab", id), nil
}

// ToggleStall implements ui.Steering.
func (w watchedConn) ToggleStall() (string, error) {
	p := w.pw
	p.mu.Lock()
	p.stalled = !p.stalled
	on := p.stalled
	p.mu.Unlock()
	p.faults.SetBlackhole(on)
	if on {
		return "stalled: no byte passes, sockets stay open; does the app's keepalive notice? · Z resumes", nil
	}
	return "resumed: held traffic flows again", nil
}

// NextLatency implements ui.Steering.
func (w watchedConn) NextLatency() (string, error) {
	p := w.pw
	p.mu.Lock()
	p.latency = (p.latency + 1) % len(latencySteps)
	d := latencySteps[p.latency]
	p.mu.Unlock()
	p.faults.SetLatency(d, 0)
	if d == 0 {
		return "latency removed", nil
	}
	return fmt.Sprintf("%s added each way to the apps' traffic: watch their round trips and timeouts · T steps on", d), nil
}
