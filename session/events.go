package session

import (
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Event is one typed session event: a notice that something changed on a
// connection. Every event names the connection it is about, so the UI can
// route it; what changed is read from the connection's Snapshot (or its
// Log, Subscription), so events carry only what a consumer acts on: the
// new state, how many frames arrived, a notice's words.
type Event interface {
	// ConnName is the name of the connection the event concerns.
	ConnName() string
}

// ConnOpenedEvent: a connection was added to the manager.
type ConnOpenedEvent struct{ Conn string }

// ConnClosedEvent: a connection was closed and removed from the manager.
type ConnClosedEvent struct{ Conn string }

// StateChangedEvent: the connection state machine moved from From to To;
// Detail is why (the close code and reason as they were at that moment: a
// snapshot taken later may already show the next state's).
type StateChangedEvent struct {
	Conn     string
	From, To client.ConnState
	Detail   StateDetail
}

// TokenChangedEvent: the credentials in use changed (login, refresh,
// provider); ConnSnapshot.Access and Refresh hold their claims.
type TokenChangedEvent struct{ Conn string }

// RotationRecordedEvent: a refresh attempt finished (successfully or not)
// and was appended to the rotation history (ConnSnapshot.History).
type RotationRecordedEvent struct{ Conn string }

// ProviderCalledEvent: the client called its auth provider
// (ConnSnapshot.Providers).
type ProviderCalledEvent struct{ Conn string }

// FramesAppendedEvent: frames were added to the frame log. Coalesced: at
// most one per connection per pump interval (~50 ms), whatever the rate.
type FramesAppendedEvent struct {
	Conn  string
	Count int // frames appended since the previous FramesAppendedEvent
}

// SubscriptionChangedEvent: a subscription's rows or status changed
// (Conn.Subscription). Coalesced like FramesAppendedEvent.
type SubscriptionChangedEvent struct{ Conn string }

// PolicyChangedEvent: the refresh policy or its schedule changed
// (ConnSnapshot.Policy, NextRefresh).
type PolicyChangedEvent struct{ Conn string }

// NoticeEvent is a one-off message for the status line: an error the user
// should see (with a hint) or information.
type NoticeEvent struct {
	Conn  string
	Level NoticeLevel
	Text  string
	Hint  string // what to try next, may be empty
	Time  time.Time
}

// NoticeLevel ranks a NoticeEvent.
type NoticeLevel uint8

// Notice levels.
const (
	NoticeInfo NoticeLevel = iota
	NoticeWarn
	NoticeError
)

// ConnName implements Event.
func (e ConnOpenedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e ConnClosedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e StateChangedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e TokenChangedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e RotationRecordedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e ProviderCalledEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e FramesAppendedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e SubscriptionChangedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e PolicyChangedEvent) ConnName() string { return e.Conn }

// ConnName implements Event.
func (e NoticeEvent) ConnName() string { return e.Conn }
