package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// This file holds steering: what a tab watching another application's
// connection (kalamdash proxy) can do to that connection, so the developer
// can watch the application recover. The keys work in every view of such
// a tab and are disabled (left out of help, and saying why) elsewhere.

// Steering drives the application connection a watched tab observes. The
// calls act on the proxy at once and never block on the network; each
// returns the notice for the footer: what happened and what to watch for.
type Steering interface {
	// CompressOffNext makes the application's next socket go upstream
	// with compress=false, so the server's frames on it are text.
	CompressOffNext() (string, error)
	// DropSocket cuts the application's open socket without a close
	// frame, as a broken network would.
	DropSocket() (string, error)
	// ToggleStall stops (or resumes) every byte between the application
	// and the server, without closing anything.
	ToggleStall() (string, error)
	// NextLatency steps the delay added to the application's traffic
	// through a cycle of values back to none.
	NextLatency() (string, error)
}

// SteerKeyMap holds the steering bindings of watched tabs.
type SteerKeyMap struct {
	CompressNext, Drop, Stall, Latency key.Binding
}

// DefaultSteerKeyMap returns the steering bindings.
func DefaultSteerKeyMap() SteerKeyMap {
	return SteerKeyMap{
		CompressNext: key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "app: compress off next socket")),
		Drop:         key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "app: drop its socket")),
		Stall:        key.NewBinding(key.WithKeys("Z"), key.WithHelp("Z", "app: stall/resume traffic")),
		Latency:      key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "app: add latency (cycle)")),
	}
}

// steerKeys returns k with its bindings disabled unless the connection
// can be steered.
func (can capabilities) steerKeys(k SteerKeyMap) SteerKeyMap {
	for _, b := range []*key.Binding{&k.CompressNext, &k.Drop, &k.Stall, &k.Latency} {
		b.SetEnabled(can.steering != nil)
	}
	return k
}

// steer runs the steering action msg presses on t, if it presses one; it
// reports whether it did (or said why it cannot).
func (m *Model) steer(t *tab, msg tea.KeyPressMsg) bool {
	k := t.can.steerKeys(m.steerKeys)
	if what, ok := pressedDisabled(msg, k.CompressNext, k.Drop, k.Stall, k.Latency); ok {
		m.say(true, "%s works only on an application watched through kalamdash proxy", what)
		return true
	}
	s := t.can.steering
	var act func() (string, error)
	switch {
	case key.Matches(msg, k.CompressNext):
		act = s.CompressOffNext
	case key.Matches(msg, k.Drop):
		act = s.DropSocket
	case key.Matches(msg, k.Stall):
		act = s.ToggleStall
	case key.Matches(msg, k.Latency):
		act = s.NextLatency
	default:
		return false
	}
	text, err := act()
	if err != nil {
		m.say(true, "%v", err)
	} else {
		m.say(false, "%s", text)
	}
	t.snap = t.conn.Snapshot()
	return true
}
