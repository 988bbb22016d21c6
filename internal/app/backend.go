package app

import (
	"context"
	"fmt"
	"log"
	"strings"
	"sync"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// Backend implements ui.Backend over a session.Manager: the live dashboard.
type Backend struct {
	mgr      *session.Manager
	demo     *kalamtest.Server // nil unless the embedded demo server runs
	profiles []session.Profile
	proxy    *ProxyWatch // kalamdash proxy's relay, nil unless watching applications
	events   chan ui.Event
	stop     chan struct{}
	wg       sync.WaitGroup
}

// NewBackend returns the dashboard's backend over mgr, offering profiles
// in the login form. demo is the embedded demo server, or nil: connections
// to it get its fault controls and the demo subscriptions. It starts the
// goroutine that turns session events into ui events (session events are
// already coalesced; the ui coalesces again per 50 ms); Close stops it.
func NewBackend(mgr *session.Manager, demo *kalamtest.Server, profiles []session.Profile) *Backend {
	return startBackend(&Backend{mgr: mgr, demo: demo, profiles: profiles})
}

// startBackend makes b's channels and starts its pump.
func startBackend(b *Backend) *Backend {
	b.events, b.stop = make(chan ui.Event, 1024), make(chan struct{})
	b.wg.Add(1)
	go b.pump()
	return b
}

// NewProxyBackend is NewBackend for kalamdash proxy's dashboard: every
// application pw sees connect becomes a tab by itself (ui.EventOpened),
// watched and steerable; n still opens connections of the user's own.
func NewProxyBackend(mgr *session.Manager, pw *ProxyWatch, profiles []session.Profile) *Backend {
	return startBackend(&Backend{mgr: mgr, proxy: pw, profiles: profiles})
}

// watched returns the tab of the watched connection named name, or nil
// when it is not one; known reports whether the manager lists name at all.
func (b *Backend) watched(name string) (tab ui.Conn, known bool) {
	if b.proxy == nil {
		return nil, false
	}
	c, ok := b.mgr.Conn(name)
	if !ok || !c.Watched() {
		return nil, ok
	}
	return watchedConn{live: &conn{c: c, mgr: b.mgr}, pw: b.proxy}, true
}

func (b *Backend) pump() {
	defer b.wg.Done()
	in := b.mgr.Events()
	// Connections looked up: true for watched ones, announced to the UI;
	// false for the user's own, so their events cost no lookup each.
	seen := map[string]bool{}
	for {
		select {
		case <-b.stop:
			return
		case ev, ok := <-in:
			if !ok {
				return
			}
			u := ui.Event{ConnID: ev.ConnName(), Kind: ui.EventState}
			if name := ev.ConnName(); b.proxy != nil {
				// Any event of a watched connection announces it first:
				// the UI learns of its tab only so, and the manager may
				// have dropped its ConnOpenedEvent under a flood. A name
				// the manager does not list yet is looked up again.
				var c ui.Conn
				if _, looked := seen[name]; !looked {
					var known bool
					if c, known = b.watched(name); known {
						seen[name] = c != nil
					}
				}
				if c != nil {
					select {
					case b.events <- ui.Event{ConnID: name, Kind: ui.EventOpened, Conn: c}:
					case <-b.stop:
						return
					}
				}
			}
			switch e := ev.(type) {
			case session.FramesAppendedEvent:
				u.Kind, u.Count = ui.EventFrames, e.Count
			case session.TokenChangedEvent, session.PolicyChangedEvent:
				u.Kind = ui.EventToken
			case session.RotationRecordedEvent:
				u.Kind = ui.EventRotation
			case session.SubscriptionChangedEvent:
				u.Kind = ui.EventRows
			case session.NoticeEvent:
				u.Kind, u.Text, u.Hint, u.Err = ui.EventNotice, e.Text, e.Hint, e.Level != session.NoticeInfo
			case session.ConnOpenedEvent:
				if seen[e.Conn] {
					continue // announced above
				}
			}
			select {
			case b.events <- u:
			default:
				// The UI is behind; events are only hints (it re-reads
				// snapshots every second), so dropping one loses nothing.
			}
		}
	}
}

// Close stops the pump and closes every connection.
func (b *Backend) Close() error {
	close(b.stop)
	err := b.mgr.CloseAll()
	b.wg.Wait()
	return err
}

// Events implements ui.Backend.
func (b *Backend) Events() <-chan ui.Event { return b.events }

// Redact implements ui.Backend with package redact.
func (b *Backend) Redact(text []byte) []byte { return redact.Text(text) }

// Profiles implements ui.Backend.
func (b *Backend) Profiles() []ui.Profile {
	out := make([]ui.Profile, 0, len(b.profiles))
	for _, p := range b.profiles {
		out = append(out, ui.Profile{Name: p.Name, URL: p.URL, Auth: string(p.Mode()), User: p.User,
			TokenCommand: p.TokenCommand, TokenFile: p.TokenFile, NoCompress: p.NoCompress, Serialization: p.Serialization, CacheToken: p.CacheToken})
	}
	return out
}

// hintError carries client.Hint(err) to the login form.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Hint() string  { return e.hint }
func (e hintError) Unwrap() error { return e.err }

// Open implements ui.Backend: it opens the profile the login form's
// request describes (session.Profile.Merge) under a unique tab name.
func (b *Backend) Open(ctx context.Context, req ui.LoginRequest) (ui.Conn, error) {
	var saved session.Profile
	for _, sp := range b.profiles {
		if req.Profile != "" && sp.Name == req.Profile {
			saved = sp
		}
	}
	p := saved.Merge(session.Profile{Name: req.Name, URL: req.URL, Auth: session.AuthMode(req.Auth), User: req.User,
		Password: req.Password, Token: req.Token, TokenCommand: req.TokenCommand, TokenFile: req.TokenFile,
		NoCompress: req.NoCompress, Serialization: req.Serialization})
	p.Name = uniqueName(b.mgr, p.Name)
	c, err := b.mgr.Open(ctx, p)
	if err != nil {
		return nil, hintError{err: err, hint: client.Hint(err)}
	}
	demo := b.demo != nil && strings.TrimRight(req.URL, "/") == strings.TrimRight(b.demo.URL, "/")
	c.SetEmbedded(demo)
	if demo {
		// A live dashboard from the first Enter: subscribe to the demo
		// tables the embedded server keeps writing to.
		for _, q := range demoSubscriptions {
			if _, err := c.Subscribe(ctx, q.sql, session.SubscribeOptions{ID: q.id}); err != nil {
				log.Printf("demo subscription %q: %v", q, err)
			}
		}
	}
	live := &conn{c: c, mgr: b.mgr}
	if demo {
		return demoConn{conn: live, srv: b.demo}, nil
	}
	return live, nil
}

// uniqueName returns name, or name#2, #3… when mgr has a connection by
// that name already.
func uniqueName(mgr *session.Manager, name string) string {
	if name == "" {
		name = "conn"
	}
	taken := func(n string) bool { _, ok := mgr.Conn(n); return ok }
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s#%d", name, i); !taken(n) {
			return n
		}
	}
}

// demoSubscriptions are started on connections to the embedded demo server.
var demoSubscriptions = []struct{ id, sql string }{
	{"metrics", "SELECT * FROM demo.metrics"},
	{"messages", "SELECT * FROM demo.messages"},
}
