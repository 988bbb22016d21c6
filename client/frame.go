package client

import "time"

// Direction says which way a tapped frame or exchange travelled.
type Direction uint8

const (
	// Inbound is server → client.
	Inbound Direction = iota + 1
	// Outbound is client → server.
	Outbound
)

// String returns "in" or "out".
func (d Direction) String() string {
	switch d {
	case Inbound:
		return "in"
	case Outbound:
		return "out"
	}
	return "?"
}

// Opcode is the WebSocket frame opcode of a tapped frame, or OpHTTP for an
// HTTP exchange.
type Opcode uint8

// Opcodes of tapped frames.
const (
	OpText Opcode = iota + 1
	OpBinary
	OpPing
	OpPong
	OpClose
	OpHTTP
)

// String returns the opcode's lowercase name.
func (o Opcode) String() string {
	switch o {
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	case OpClose:
		return "close"
	case OpHTTP:
		return "http"
	}
	return "?"
}

// Encoding says how a frame's payload was encoded on the wire.
type Encoding uint8

// Encodings of tapped payloads.
const (
	EncNone        Encoding = iota // control frames
	EncJSON                        // plain JSON text
	EncGzipJSON                    // gzip-compressed JSON in a binary frame
	EncMsgpack                     // MessagePack in a binary frame
	EncGzipMsgpack                 // gzip-compressed MessagePack
)

// String returns the encoding's short name.
func (e Encoding) String() string {
	switch e {
	case EncJSON:
		return "json"
	case EncGzipJSON:
		return "gzip+json"
	case EncMsgpack:
		return "msgpack"
	case EncGzipMsgpack:
		return "gzip+msgpack"
	}
	return "-"
}

// Frame is one tapped WebSocket frame or HTTP exchange, as it crossed the
// wire. The tap hands out copies: consumers may keep them.
//
// Wire holds the bytes as sent (gzip, msgpack, or text); Decoded holds the
// JSON text after decompression and msgpack→JSON conversion. Secrets named
// by package redact (token and password fields, credential headers) are
// already replaced by redact.Marker in both unless the client was built
// with WithRevealSecrets.
type Frame struct {
	Seq            uint64 // tap sequence number, increasing per client; a gap means frames were dropped
	Time           time.Time
	Direction      Direction
	Opcode         Opcode
	Encoding       Encoding
	Type           string // message type ("change", "subscribe", "POST /v1/api/sql" for HTTP)
	SubscriptionID string
	Wire           []byte
	WireSize       int // len of the original wire payload (before redaction)
	Decoded        []byte
	DecodedSize    int
	CloseCode      int    // for OpClose
	CloseReason    string // for OpClose
	Status         int    // HTTP status for OpHTTP
	Duration       time.Duration
	ConnID         uint64 // which socket (increments on each reconnect); 0 for HTTP
	Err            string // what went wrong with the frame, if anything: undecodable, or an outbound frame not (surely) written
	Composed       bool   // written by hand and sent with SendText, not by the client's protocol code
}
