package session

import "github.com/kalamdash/kalamdash/client"

// Frame is a tapped WebSocket frame or HTTP exchange: client.Frame, named
// here because the frame log stores and returns it. The dashboard never
// sees it: the adapter copies each page into the ui's own Frame.
type Frame = client.Frame

// Direction is a frame's direction (alias of client.Direction).
type Direction = client.Direction

// Opcode is a frame's opcode (alias of client.Opcode).
type Opcode = client.Opcode

// Encoding is a frame payload's encoding (alias of client.Encoding).
type Encoding = client.Encoding

// Client constants, named here for the frame log's callers (Filter).
const (
	Inbound  = client.Inbound
	Outbound = client.Outbound

	OpText   = client.OpText
	OpBinary = client.OpBinary
	OpPing   = client.OpPing
	OpPong   = client.OpPong
	OpClose  = client.OpClose
	OpHTTP   = client.OpHTTP

	EncNone        = client.EncNone
	EncJSON        = client.EncJSON
	EncGzipJSON    = client.EncGzipJSON
	EncMsgpack     = client.EncMsgpack
	EncGzipMsgpack = client.EncGzipMsgpack
)

// Entry is one frame in a FrameLog with its stable ID (1, 2, … in append
// order; IDs are never reused, evicted IDs simply stop resolving).
type Entry struct {
	ID uint64
	Frame
}
