package session

import "time"

// Event is one typed session event. Every event names the connection it is
// about, so the UI can route it to that connection's panels.
type Event interface {
	// ConnName is the name of the connection the event concerns.
	ConnName() string
}

// ConnOpenedEvent: a connection was added to the manager.
type ConnOpenedEvent struct{ Conn string }

// ConnClosedEvent: a connection was closed and removed from the manager.
type ConnClosedEvent struct{ Conn string }

// StateChangedEvent: the connection state machine moved.
type StateChangedEvent struct {
	Conn     string
	From, To ConnState
	Detail   StateDetail
}

// TokenChangedEvent: the credentials in use changed (login, refresh,
// provider); Access/Refresh are decoded claims, never tokens.
type TokenChangedEvent struct {
	Conn            string
	Access, Refresh TokenState
}

// RotationRecordedEvent: a refresh attempt finished (successfully or not)
// and was appended to the rotation history.
type RotationRecordedEvent struct {
	Conn     string
	Rotation Rotation
}

// ProviderCalledEvent: the client called its auth provider.
type ProviderCalledEvent struct {
	Conn string
	Call ProviderCall
}

// FramesAppendedEvent: frames were added to the frame log. Coalesced: at
// most one per connection per pump interval (~50 ms), whatever the rate.
type FramesAppendedEvent struct {
	Conn   string
	Count  int    // frames appended since the previous FramesAppendedEvent
	LastID uint64 // ID of the newest frame in the log
}

// SubscriptionChangedEvent: a subscription's rows or status changed.
// Coalesced like FramesAppendedEvent.
type SubscriptionChangedEvent struct {
	Conn  string
	SubID string
}

// PolicyChangedEvent: the refresh policy or its schedule changed
// (NextRefresh/NextRetry moved).
type PolicyChangedEvent struct {
	Conn        string
	Policy      RefreshPolicy
	NextRefresh time.Time // zero: nothing scheduled
}

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
