package client

import (
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// FrameDecoder turns the data frames of a socket this package did not
// open — an application's, seen by kalamdash proxy — into tapped Frames,
// decoded exactly as the client decodes its own: gzip and MessagePack
// inbound, with MessagePack switched on by the socket's auth_success as
// KalamDB negotiates it. One per socket; not safe for concurrent use.
//
// The frames it returns hold secrets in clear: the caller redacts them
// (RedactFrame) unless the user revealed secrets.
type FrameDecoder struct {
	dec        decoder
	user, role string
}

// NewFrameDecoder returns a decoder for one socket.
func NewFrameDecoder() *FrameDecoder { return &FrameDecoder{} }

// Auth returns the user and role of the socket's auth_success, empty
// until one was decoded.
func (d *FrameDecoder) Auth() (user, role string) { return d.user, d.role }

// MessagePack reports whether the socket negotiated MessagePack (its
// auth_success said so).
func (d *FrameDecoder) MessagePack() bool { return d.dec.msgpack }

// Decode returns the frame of one data message (op is OpText or OpBinary)
// that travelled in direction dir. Wire is payload itself, not a copy.
func (d *FrameDecoder) Decode(dir Direction, op Opcode, payload []byte) Frame {
	f := Frame{Direction: dir, Opcode: op, Wire: payload, WireSize: len(payload)}
	typ := websocket.MessageText
	if op == OpBinary {
		typ = websocket.MessageBinary
	}
	var err error
	if dir == Inbound {
		f.Decoded, f.Encoding, err = d.dec.decode(typ, payload)
		if err == nil {
			var msg *ServerMessage
			if msg, err = d.dec.parser.Parse(f.Decoded); msg != nil {
				f.Type, f.SubscriptionID = msg.Type, msg.SubscriptionID
				if msg.Type == TypeAuthSuccess {
					d.user, d.role = msg.User, msg.Role
					d.dec.msgpack = msg.Protocol != nil && msg.Protocol.Serialization == "msgpack"
				}
			}
		}
	} else {
		f.Decoded, f.Encoding, err = decodeClientMessage(typ, payload)
		if err == nil {
			f.Type, f.SubscriptionID, err = clientMessageKind(f.Decoded)
		}
	}
	f.DecodedSize = len(f.Decoded)
	if err != nil {
		f.Err = err.Error()
	}
	return f
}

// decodeClientMessage returns a client message's JSON text: KalamDB reads
// text frames as JSON and binary ones as MessagePack (gzip is only ever
// server → client).
func decodeClientMessage(typ websocket.MessageType, payload []byte) ([]byte, Encoding, error) {
	if typ == websocket.MessageText {
		if !utf8.Valid(payload) {
			return nil, EncJSON, errors.New("text frame is not valid UTF-8")
		}
		return payload, EncJSON, nil
	}
	out, err := msgpackToJSON(payload)
	return out, EncMsgpack, err
}

// clientMessageKind reads a client message's type and the subscription it
// names (subscribe carries it inside "subscription", the others at the
// top level).
func clientMessageKind(b []byte) (typ, subscriptionID string, err error) {
	var m struct {
		Type           string `json:"type"`
		SubscriptionID string `json:"subscription_id"`
		Subscription   *struct {
			ID string `json:"id"`
		} `json:"subscription"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return "", "", err
	}
	if m.Subscription != nil && m.SubscriptionID == "" {
		m.SubscriptionID = m.Subscription.ID
	}
	return m.Type, m.SubscriptionID, nil
}
