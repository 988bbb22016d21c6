package proxy

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/kalamdash/kalamdash/client"
)

// socket is one relayed WebSocket: the application's connection, the
// upstream's, and what was observed on them.
type socket struct {
	r    *Relay
	id   uint64
	conn ConnEvent // the opened event, updated as the socket goes

	mu     sync.Mutex
	frames int
	closed bool // a close frame was seen (CloseCode and CloseReason are set)
}

// direction is the observing state of one direction of a socket: the
// message being reassembled from its fragments and its decoder.
type direction struct {
	s   *socket
	dir client.Direction
	dec *client.FrameDecoder

	msgOp      byte   // opcode of the message in progress, 0 when none
	msgDeflate bool   // its first frame had RSV1 (permessage-deflate)
	msg        []byte // its payload so far
	msgTooBig  bool   // a fragment was too large to observe
}

func (s *socket) direction(dir client.Direction) *direction {
	return &direction{s: s, dir: dir, dec: client.NewFrameDecoder()}
}

// observe turns relayed frames into tapped ones: control frames at once,
// data messages when their last fragment has been relayed.
func (d *direction) observe(f *wsFrame) {
	switch f.opcode {
	case opPing, opPong:
		op := client.OpPing
		if f.opcode == opPong {
			op = client.OpPong
		}
		p := f.unmasked()
		d.emit(client.Frame{Direction: d.dir, Opcode: op, Encoding: client.EncNone, Type: op.String(),
			Wire: p, WireSize: int(f.length)})
		return
	case opClose:
		d.emit(d.closeFrame(f))
		return
	case opText, opBinary:
		d.msgOp, d.msgDeflate, d.msg, d.msgTooBig = f.opcode, f.rsv1, nil, false
	case opContinuation:
		if d.msgOp == 0 {
			d.emit(client.Frame{Direction: d.dir, Opcode: client.OpBinary, WireSize: int(f.length),
				Err: "continuation frame without a message to continue"})
			return
		}
	default:
		d.emit(client.Frame{Direction: d.dir, Opcode: client.OpBinary, WireSize: int(f.length),
			Err: fmt.Sprintf("frame with reserved opcode %#x", f.opcode)})
		return
	}
	if f.payload == nil || len(d.msg)+len(f.payload) > maxObservedPayload {
		d.msgTooBig = true
		d.msg = nil
	} else if !d.msgTooBig {
		d.msg = append(d.msg, f.unmasked()...)
	}
	if f.fin {
		d.message()
	}
}

// message taps the message reassembled so far and resets.
func (d *direction) message() {
	op := client.OpText
	if d.msgOp == opBinary {
		op = client.OpBinary
	}
	var fr client.Frame
	switch {
	case d.msgTooBig:
		fr = client.Frame{Direction: d.dir, Opcode: op,
			Err: fmt.Sprintf("message over %d MiB: relayed, not decoded", maxObservedPayload>>20)}
	case d.msgDeflate:
		fr = client.Frame{Direction: d.dir, Opcode: op, Wire: d.msg, WireSize: len(d.msg),
			Err: "compressed with permessage-deflate: relayed, not decoded"}
	default:
		fr = d.dec.Decode(d.dir, op, d.msg)
		if d.dir == client.Inbound {
			if user, role := d.dec.Auth(); user != "" {
				d.s.authenticated(user, role)
			}
		}
	}
	d.msgOp, d.msg, d.msgTooBig, d.msgDeflate = 0, nil, false, false
	d.emit(fr)
}

// closeFrame is the tapped frame of a close, shaped as the client taps its
// own: Wire holds the reason, WireSize the whole payload.
func (d *direction) closeFrame(f *wsFrame) client.Frame {
	p := f.unmasked()
	code, reason := 1005, "" // 1005: the close carried no status code (RFC 6455 §7.1.5)
	var problem string
	switch {
	case len(p) == 1:
		problem = "close payload of 1 byte (a status code takes 2)"
	case len(p) >= 2:
		code, reason = int(binary.BigEndian.Uint16(p)), string(p[2:])
		if !utf8.ValidString(reason) {
			problem = "close reason is not valid UTF-8"
		}
	}
	d.s.sawClose(code, reason)
	return client.Frame{Direction: d.dir, Opcode: client.OpClose, Encoding: client.EncNone, Type: "close",
		CloseCode: code, CloseReason: reason, Wire: []byte(reason), WireSize: int(f.length), Err: problem}
}

func (d *direction) emit(f client.Frame) {
	f.ConnID = d.s.id
	d.s.mu.Lock()
	d.s.frames++
	d.s.mu.Unlock()
	d.s.r.emit(d.s.conn.Client, f)
}

// authenticated records the user the socket authenticated as.
func (s *socket) authenticated(user, role string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn.User, s.conn.Role = user, role
}

// sawClose records the first close frame of the socket.
func (s *socket) sawClose(code int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.conn.CloseCode, s.conn.CloseReason = code, reason
	}
}

// closedEvent is the event of the socket's end.
func (s *socket) closedEvent() ConnEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := s.conn
	ev.Opened = false
	ev.Frames = s.frames
	if !s.closed {
		ev.CloseCode = -1
	}
	return ev
}
