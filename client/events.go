package client

import "time"

// Event is a connection lifecycle event delivered on Client.Events. The
// concrete types are ConnectingEvent, ConnectedEvent, AuthRefreshedEvent,
// DisconnectedEvent, ReconnectScheduledEvent, ErrorEvent,
// ProviderCalledEvent, SwapUsedEvent and FailoverEvent.
//
// Events are emitted by the connection supervisor goroutine (connecting,
// connected, disconnected, reconnect scheduled, provider called), by the
// socket's read loop (errors about frames) and by the goroutine calling
// RefreshAuth/Query (auth refreshed, provider called). Emission never
// blocks: when the channel is full the event is dropped and counted in
// Stats.EventDrops.
type Event interface{ isEvent() }

// ConnectingEvent: a WebSocket connection attempt starts.
type ConnectingEvent struct {
	Time    time.Time
	Attempt int    // 1 for the first attempt after a success or a Reconnect; every node dialed in one round over a cluster's nodes carries the round's number
	URL     string // WebSocket URL of the node dialed, without secrets
}

// ConnectedEvent: the socket is authenticated (auth_success received).
type ConnectedEvent struct {
	Time     time.Time
	User     string
	Role     string
	Protocol Protocol
	ConnID   uint64 // increments with every socket
	Resumed  int    // live subscriptions re-sent on this socket
	// TokenFingerprint identifies the access token this socket
	// authenticated with (Auth.Fingerprint form); SocketToken has the token.
	TokenFingerprint string
	URL              string // base URL of the node the socket is on
}

// FailoverEvent: a socket came up on another cluster node than the last
// socket: From was found down and the client moved to To. Emitted just
// before To's ConnectedEvent. The subscriptions resume on To from the
// _seq From assigned, which To does not share (SubEvent.PrevNode).
type FailoverEvent struct {
	Time     time.Time
	From, To string // base URLs of the nodes
	Cause    error  // why the client moved off From (nil if not known)
	Reason   string // Cause in a few words ("connection refused", "HTTP 503")
}

// AuthRefreshedEvent: credentials were swapped (RefreshAuth, RefreshToken,
// or re-authentication after TOKEN_EXPIRED).
type AuthRefreshedEvent struct {
	Time            time.Time
	Trigger         string // "refresh-auth", "refresh-token", "token-expired", "login"
	OldExpiry       time.Time
	NewExpiry       time.Time
	SocketUntouched bool // the live socket keeps its old authentication
	Err             error
}

// DisconnectedEvent: the socket closed or failed.
type DisconnectedEvent struct {
	Time      time.Time
	ConnID    uint64
	Code      int    // WebSocket close code, or -1 if the connection just broke
	Reason    string // close reason
	Err       error
	WillRetry bool
}

// ReconnectScheduledEvent: the next connection attempt waits Delay.
type ReconnectScheduledEvent struct {
	Time    time.Time
	Attempt int
	Delay   time.Duration
	At      time.Time
}

// ErrorEvent: something went wrong that did not fit another event
// (malformed frame, failed attempt, gave up reconnecting).
type ErrorEvent struct {
	Time        time.Time
	Err         error
	Recoverable bool
	Attempt     int // the connection attempt this error ended (as in ConnectingEvent), 0 for other errors
}

// SwapUsedEvent: a swapped token (SwapToken) stood in for the auth
// provider's answer.
type SwapUsedEvent struct {
	Time        time.Time
	Trigger     string // "connect", "reconnect", "refresh-auth", "token-expired", "failover"
	Fingerprint string // Auth.Fingerprint of the swapped token
	Ended       bool   // this use ended a once-only swap
}

// ProviderCalledEvent: the AuthProvider ran (once per call, retries
// included in Duration).
type ProviderCalledEvent struct {
	Time        time.Time
	Duration    time.Duration
	Trigger     string // "connect", "reconnect", "refresh-auth", "token-expired", "failover"
	Kind        AuthKind
	Err         error
	Fingerprint string // Auth.Fingerprint of the result
}

func (ConnectingEvent) isEvent()         {}
func (ConnectedEvent) isEvent()          {}
func (AuthRefreshedEvent) isEvent()      {}
func (DisconnectedEvent) isEvent()       {}
func (ReconnectScheduledEvent) isEvent() {}
func (ErrorEvent) isEvent()              {}
func (ProviderCalledEvent) isEvent()     {}
func (SwapUsedEvent) isEvent()           {}
func (FailoverEvent) isEvent()           {}

// ConnState is the state of a connection's WebSocket: the client runs it
// and package session reports it, with this one vocabulary.
type ConnState uint8

// Connection states. "Disconnected" is a socket that ended and none is
// coming until asked for (Reconnect, Subscribe); "closed" is only ever
// Close: final.
const (
	StateIdle         ConnState = iota // no socket wanted yet (lazy, before the first use)
	StateConnecting                    // the first attempt is under way: dial, authenticate
	StateConnected                     // authenticated: auth_success received
	StateReconnecting                  // lost; the next attempt is scheduled or under way
	StateDisconnected                  // ended and not retrying: Disconnect, refused, or gave up
	StateClosed                        // Close was called; final
)

// String returns the state's lower-case name.
func (s ConnState) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateDisconnected:
		return "disconnected"
	case StateClosed:
		return "closed"
	}
	return "?"
}

// Stats are cumulative counters of a Client.
type Stats struct {
	FramesIn, FramesOut uint64
	WireBytesIn         uint64 // bytes as received (gzip/msgpack)
	DecodedBytesIn      uint64 // bytes after decompression/conversion to JSON
	WireBytesOut        uint64
	Reconnects          uint64        // sockets opened after the first
	KeepaliveRTT        time.Duration // last WS ping → pong
	LastKeepalive       time.Time
	TapDrops            uint64
	EventDrops          uint64
	ProviderCalls       uint64
	HTTPRequests        uint64
	DecodeErrors        uint64
	ConnID              uint64
	ConnectedSince      time.Time
	RefreshCoalesced    uint64 // RefreshAuth calls that joined one already in flight
	Subscriptions       int    // live subscriptions registered on the client
}
