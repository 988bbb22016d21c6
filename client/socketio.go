package client

// This file holds a socket's frame I/O: decoding and tapping inbound
// frames, writing client messages, the read loop and closing.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// ingest accounts, decodes and taps one inbound frame and returns the
// parsed message, or nil (after an ErrorEvent) if it was malformed.
func (wc *wsConn) ingest(typ websocket.MessageType, data []byte) *ServerMessage {
	c := wc.c
	c.st.framesIn.Add(1)
	c.st.wireIn.Add(uint64(len(data)))
	text, enc, err := wc.dec.decode(typ, data)
	op := OpText
	if typ == websocket.MessageBinary {
		op = OpBinary
	}
	f := Frame{Direction: Inbound, Opcode: op, Encoding: enc, Wire: data, WireSize: len(data),
		Decoded: text, DecodedSize: len(text), ConnID: wc.id}
	var msg *ServerMessage
	if err == nil {
		c.st.decodedIn.Add(uint64(len(text)))
		msg, err = wc.dec.parser.Parse(text)
	}
	if msg != nil {
		f.Type, f.SubscriptionID = msg.Type, msg.SubscriptionID
	}
	if err != nil {
		c.st.decodeErrors.Add(1)
		f.Err = err.Error()
		c.tapFrame(f)
		c.emit(ErrorEvent{Time: c.now(), Recoverable: true,
			Err: &Error{Kind: KindProtocol, Op: "read", Message: fmt.Sprintf("undecodable %s frame (%d bytes) on socket %d", op, len(data), wc.id), Err: err}})
		return nil
	}
	c.tapFrame(f)
	return msg
}

func (c *Client) compressOn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.compress
}

// send writes one client message as a single JSON text frame.
func (wc *wsConn) send(ctx context.Context, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	var typ, sid string
	switch m := msg.(type) {
	case AuthenticateMessage:
		typ = m.Type
	case SubscribeMessage:
		typ, sid = m.Type, m.Subscription.ID
	case NextBatchMessage:
		typ, sid = m.Type, m.SubscriptionID
	case UnsubscribeMessage:
		typ, sid = m.Type, m.SubscriptionID
	case PingMessage:
		typ = m.Type
	}
	return wc.write(ctx, b, typ, sid, false)
}

// write sends b as one text frame and taps it (redacted) with its message
// type and subscription id; composed marks a frame the user wrote by hand
// (SendText).
//
// The frame is tapped before it is written, so the server's answer,
// tapped by the read loop, can never precede it in the tap. A write that
// fails is therefore told by a second frame right after it: the same
// frame without its payload, its Err saying the write failed. Amending
// the first is impossible (the tap hands out copies, maybe consumed
// already) and tapping only after the write would let answers overtake
// their requests; this way the tap stays append-only and in wire order.
func (wc *wsConn) write(ctx context.Context, b []byte, typ, sid string, composed bool) error {
	c := wc.c
	red := redactJSON(b, c.o.revealSecrets)
	f := Frame{Direction: Outbound, Opcode: OpText, Encoding: EncJSON, Type: typ, SubscriptionID: sid,
		Wire: red, WireSize: len(b), Decoded: red, DecodedSize: len(b), ConnID: wc.id, Composed: composed}
	c.tapFrame(f)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// No lock of ours is held across the write: coder/websocket
	// serialises concurrent writers itself.
	if err := wc.ws.Write(wctx, websocket.MessageText, b); err != nil {
		f.Wire, f.WireSize, f.Decoded, f.DecodedSize = nil, 0, nil, 0
		f.Err = WriteFailed + err.Error()
		c.tapFrame(f)
		return err
	}
	c.st.framesOut.Add(1)
	c.st.wireOut.Add(uint64(len(b)))
	return nil
}

// WriteFailed starts the Err of the frame tapped after an outbound frame
// whose write failed: that frame may never have reached the server.
const WriteFailed = "write failed: "

func (c *Client) tapControl(id uint64, dir Direction, op Opcode, payload []byte) {
	if dir == Inbound {
		c.st.framesIn.Add(1)
		c.st.wireIn.Add(uint64(len(payload)))
	} else {
		c.st.framesOut.Add(1)
		c.st.wireOut.Add(uint64(len(payload)))
	}
	p := append([]byte(nil), payload...)
	c.tapFrame(Frame{Direction: dir, Opcode: op, Encoding: EncNone, Type: op.String(), Wire: p,
		WireSize: len(p), ConnID: id})
}

func (c *Client) tapClose(id uint64, dir Direction, code int, reason string) {
	c.tapFrame(closeFrame(id, dir, code, reason, time.Time{}))
}

// closeFrame is the tapped frame of a close with code and reason; a zero
// at is stamped when tapped.
func closeFrame(id uint64, dir Direction, code int, reason string, at time.Time) Frame {
	return Frame{Time: at, Direction: dir, Opcode: OpClose, Encoding: EncNone, Type: "close", ConnID: id,
		CloseCode: code, CloseReason: reason, Wire: []byte(reason), WireSize: len(reason) + 2}
}

// run starts the socket's read and keepalive loops.
func (wc *wsConn) run() {
	c := wc.c
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		wc.readLoop()
	}()
	go func() {
		defer c.wg.Done()
		wc.keepalive()
	}()
}

// readLoop reads the socket and processes each frame: decodes, taps and
// dispatches it. A frame is processed right on the reader when nothing is
// waiting for the processor goroutine — most frames: waking a second
// goroutine per frame costs more CPU than parsing one (bench/RESULTS.md) —
// and handed to the processor when it is still busy with earlier frames
// (they keep their order) or when the frame is gzip, whose inflating then
// overlaps reading the next one. The hand-off is bounded: a processor that
// falls behind stops the reader, and TCP pushes back on the server. The
// close is reported after the last frame was processed.
func (wc *wsConn) readLoop() {
	c := wc.c
	defer close(wc.done)
	defer wc.cancel()
	// Reads take no context (see readMessage): the socket's context
	// closes the connection instead, once, which ends a blocked read.
	stop := context.AfterFunc(wc.ctx, func() { _ = wc.ws.CloseNow() })
	defer stop()
	frames := make(chan rawFrame, readAhead)
	processed := make(chan struct{})
	// queued counts frames handed to the processor and not yet processed.
	// Only this loop raises it, so when it reads 0 every frame before
	// this one is done and the next may be processed here, in order.
	var queued atomic.Int64
	process := func(typ websocket.MessageType, data []byte) {
		if msg := wc.ingest(typ, data); msg != nil {
			c.dispatch(wc, msg)
		}
	}
	go func() {
		defer close(processed)
		for f := range frames {
			process(f.typ, f.data)
			queued.Add(-1)
		}
	}()
	for {
		typ, data, err := wc.readMessage()
		if err != nil {
			close(frames)
			<-processed
			code, reason := closeInfo(err)
			tapDir, tapReason := Inbound, reason
			if errors.Is(err, websocket.ErrMessageTooBig) {
				code, reason, tapReason, err = wc.tooBig(err)
				tapDir = Outbound
				c.emit(ErrorEvent{Time: c.now(), Recoverable: true, Err: err})
			}
			wc.endMu.Lock()
			if wc.endErr == nil {
				wc.endErr, wc.endCode, wc.endReason = err, code, reason
			}
			// The peer's echo of our own close (same code; servers may
			// drop the reason) is not tapped; any other close is the
			// server's own, tapped even when we were closing too: it may
			// have arrived first (then ours was never written) or
			// crossed ours on the wire.
			echo := wc.local && tapDir == Inbound && code == wc.sentCode
			wc.endMu.Unlock()
			if code >= 0 && !echo {
				c.tapClose(wc.id, tapDir, code, tapReason)
			}
			_ = wc.ws.CloseNow()
			return
		}
		wc.lastIn.Store(time.Now().UnixNano())
		if queued.Load() == 0 && !isGzip(typ, data) {
			process(typ, data)
			continue
		}
		queued.Add(1)
		frames <- rawFrame{typ, data}
	}
}

// isGzip reports whether a frame is a gzip member (a binary frame with
// gzip's magic bytes).
func isGzip(typ websocket.MessageType, data []byte) bool {
	return typ == websocket.MessageBinary && len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

// tooBig describes the end of a socket that received a frame over the
// read limit. The library has closed it with 1009 itself (its reason,
// "read limited at N bytes", is what went on the wire and what the tap
// shows); the socket ends with that close and says why, not a bare 1006.
func (wc *wsConn) tooBig(readErr error) (code int, reason, wireReason string, err error) {
	code, reason = int(websocket.StatusMessageTooBig), fmt.Sprintf("frame over the %d MiB read limit", readLimit>>20)
	wireReason = reason
	if _, wire, ok := strings.Cut(readErr.Error(), websocket.ErrMessageTooBig.Error()+": "); ok {
		wireReason = wire
	}
	err = &Error{Kind: KindProtocol, Op: "read", Status: code, Err: websocket.ErrMessageTooBig, hint: tooBigHint,
		Message: fmt.Sprintf("socket %d received a %s; closed with %d", wc.id, reason, code)}
	return code, reason, wireReason, err
}

// readAhead is how many frames the reader may get ahead of processing.
const readAhead = 128

// rawFrame is a frame as read, before decoding.
type rawFrame struct {
	typ  websocket.MessageType
	data []byte
}

// Read-buffer bounds: the socket's scratch buffer starts at a typical
// frame's size and is dropped after a frame larger than maxKeptReadBuffer,
// so one huge frame does not pin its memory for the socket's lifetime.
const (
	initialReadBuffer = 4 << 10
	maxKeptReadBuffer = 1 << 20
)

// readMessage reads one message into the socket's reused scratch buffer
// and returns an exact-size copy (the tap and the frame log keep it).
// websocket.Conn.Read would io.ReadAll into a fresh slice that grows from
// 512 bytes: five allocations and copies for a 2 KB frame.
//
// It reads without a context: given one that can end, coder/websocket arms
// and disarms a context.AfterFunc for every message, which costs more than
// reading a small frame; readLoop closes the socket when its context ends.
func (wc *wsConn) readMessage() (websocket.MessageType, []byte, error) {
	typ, r, err := wc.ws.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	buf := wc.rbuf[:0]
	if buf == nil {
		buf = make([]byte, 0, initialReadBuffer)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, err
		}
	}
	if cap(buf) <= maxKeptReadBuffer {
		wc.rbuf = buf
	} else {
		wc.rbuf = nil
	}
	return typ, append([]byte{}, buf...), nil
}

// close sends a close frame and ends the socket; the read loop returns.
// The handshake runs in the background; the returned channel is closed
// when it is over (the peer answered, or the socket was cut after a
// second without an answer). A socket already ending returns a closed
// channel.
func (wc *wsConn) close(code int, reason string) <-chan struct{} {
	done := make(chan struct{})
	wc.endMu.Lock()
	first := !wc.local && wc.endErr == nil
	if first {
		wc.local = true
		wc.endErr = &Error{Kind: KindClosed, Op: "close", Status: code, Message: reason}
		wc.endCode, wc.endReason = code, reason
		wc.sentCode = code
	}
	wc.endMu.Unlock()
	if !first {
		close(done)
		return done
	}
	c := wc.c
	start := c.now()
	// Close waits for the peer's answer (up to 5 s in coder/websocket);
	// don't make the caller wait, and cut the socket after a second if the
	// peer never answers. Tracked so Close outlives it.
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(done)
		t := time.AfterFunc(time.Second, func() { _ = wc.ws.CloseNow() })
		defer t.Stop()
		err := wc.ws.Close(websocket.StatusCode(code), reason)
		// The close frame is tapped once the library is done with it:
		// when the server's close arrived first (just before this call,
		// ahead of the read loop noticing) or the socket was already
		// cut, the library was closing already, reports net.ErrClosed
		// and wrote nothing of ours — the read loop taps the server's
		// close instead. When the server's close arrives while ours is
		// being written, coder/websocket does not say which went first:
		// ours is tapped, marked as possibly never written. Tapped after
		// the handshake, the frame keeps the time it was sent; frames
		// that arrived during the handshake precede it in the tap.
		if errors.Is(err, net.ErrClosed) {
			return
		}
		f := closeFrame(wc.id, Outbound, code, reason, start)
		if theirs := websocket.CloseStatus(err); theirs != -1 && int(theirs) != code {
			f.Err = fmt.Sprintf("crossed the server's close %d: may never have been written", theirs)
		}
		c.tapFrame(f)
	}()
	return done
}

// fail ends the socket because of a local error (keepalive timeout).
func (wc *wsConn) fail(err error) {
	wc.endMu.Lock()
	if wc.endErr == nil {
		wc.endErr = err
	}
	wc.endMu.Unlock()
	_ = wc.ws.CloseNow()
}
