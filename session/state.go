package session

import "time"

// ConnState is the state of a connection's WebSocket, as the session sees
// it from the client's lifecycle events.
type ConnState uint8

// Connection states.
const (
	StateIdle         ConnState = iota // created, not yet connecting
	StateConnecting                    // dialling / authenticating
	StateConnected                     // auth_success received, socket open
	StateReconnecting                  // lost; a reconnect is scheduled (see StateDetail.RetryAt)
	StateDisconnected                  // closed and not retrying (auth refused, Disconnect, gave up)
	StateClosed                        // Close was called; final
)

// String returns the state's lowercase name.
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

// StateDetail carries what the UI shows next to the state.
type StateDetail struct {
	Since         time.Time     // when the state was entered
	Attempt       int           // connect/reconnect attempt number
	RetryAt       time.Time     // Reconnecting: when the next attempt starts (countdown target)
	RetryDelay    time.Duration // Reconnecting: the delay chosen
	CloseCode     int           // last close code (0 if none; CloseAbnormal when the socket broke without one)
	CloseReason   string        // last close reason
	Err           string        // last error text (redacted)
	Hint          string        // what to try next
	User, Role    string        // from auth_success
	ConnID        uint64        // socket number, increments on reconnect
	Resumed       int           // subscriptions resumed after the last reconnect
	Compression   string        // negotiated: "gzip" | "none"
	Serialization string        // negotiated: "json" | "msgpack"
}
