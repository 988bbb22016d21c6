package session

import "time"

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
