package bench

import (
	"context"
	"errors"
	"reflect"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// UIBackend is a ui.Backend over one session.FrameLog and nothing else:
// the dashboard's inspector on the real log (with its filter indexes), so
// the UI can be measured at log sizes a stub cannot reach. Its frames come
// through the dashboard's own adapter (app.FrameSource).
type UIBackend struct {
	Log    *session.FrameLog
	events chan ui.Event
}

// NewUIBackend returns a backend whose single connection shows log.
func NewUIBackend(log *session.FrameLog) *UIBackend {
	return &UIBackend{Log: log, events: make(chan ui.Event, 16)}
}

// ConnID is the ID of the backend's connection.
const ConnID = "bench"

// Open returns the connection whatever the request.
func (b *UIBackend) Open(context.Context, ui.LoginRequest) (ui.Conn, error) {
	return uiConn{b}, nil
}

// Profiles returns none.
func (b *UIBackend) Profiles() []ui.Profile { return nil }

// Events returns the event channel (see CaptureEvents).
func (b *UIBackend) Events() <-chan ui.Event { return b.events }

// Redact implements ui.Backend with package redact, as the dashboard does.
func (b *UIBackend) Redact(text []byte) []byte { return redact.Text(text) }

// NewUIModel builds a dashboard of w×h on b, logged in to its connection
// with the inspector showing, and returns it with the message Update
// receives when n frames arrived in one coalescing window (captured once
// from the model's own event command, so it can be replayed).
func NewUIModel(b *UIBackend, w, h, n int) (ui.Model, tea.Msg, error) {
	m := ui.New(b, ui.WithoutTicks(), ui.WithLogin(ui.LoginDefaults{URL: "http://127.0.0.1:1", User: "bench", Password: "x"}))
	// The first event waits in the channel, so the Init command that
	// follows the event stream returns it at once (after its window).
	b.events <- ui.Event{ConnID: ConnID, Kind: ui.EventFrames, Count: n}
	b.events <- ui.Event{ConnID: ConnID, Kind: ui.EventStats}
	var framesMsg tea.Msg
	var run func(cmd tea.Cmd, depth int)
	run = func(cmd tea.Cmd, depth int) {
		if cmd == nil || depth > 4 {
			return
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- cmd() }()
		var msg tea.Msg
		select {
		case msg = <-done:
		case <-time.After(500 * time.Millisecond):
			return // a timer or terminal query: not needed here
		}
		switch msg := msg.(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				run(c, depth+1)
			}
		default:
			if framesMsg == nil && isEventsMsg(msg) {
				framesMsg = msg
				return
			}
			tm, next := m.Update(msg)
			m = tm.(ui.Model)
			run(next, depth+1)
		}
	}
	run(m.Init(), 0)
	tm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m = tm.(ui.Model)
	tm, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	m = tm.(ui.Model)
	run(cmd, 0)
	if framesMsg == nil {
		return m, nil, errors.New("ui: the event command never returned the queued events")
	}
	return m, framesMsg, nil
}

// isEventsMsg recognises the UI's coalesced events message (unexported)
// by elimination: it is a slice of ui.Event.
func isEventsMsg(msg tea.Msg) bool {
	t := reflect.TypeOf(msg)
	return t != nil && t.Kind() == reflect.Slice && t.Elem() == reflect.TypeFor[ui.Event]()
}

// uiConn is the backend's one connection: read-only (ui.Conn alone), as
// the benchmarks only page frames.
type uiConn struct{ b *UIBackend }

func (c uiConn) ID() string { return ConnID }

func (c uiConn) Snapshot() ui.Snapshot {
	st := c.b.Log.Stats()
	return ui.Snapshot{Name: ConnID, URL: "http://127.0.0.1:1", User: "bench", Role: "dba", State: "connected",
		Stats: ui.Stats{LogLen: st.Len, Evicted: int64(st.Evicted), FramesIn: int64(st.Appended)}}
}

func (c uiConn) Frames() ui.FrameSource { return app.FrameSource{Log: c.b.Log} }

func (uiConn) Close() error { return nil }
