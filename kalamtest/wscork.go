package kalamtest

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// corkedConn is a /v1/ws socket's connection under coder/websocket. The
// library flushes after every message, one system call each; while the
// socket's writer has the connection corked, those writes gather in
// memory and uncork sends them with one call. So a writer that takes
// several notifications off its queue writes them together, as upstream
// does: actix-ws's response body encodes every message waiting in its
// session channel into one buffer, and actix writes that buffer at once
// (actix/actix-extras: actix-ws/src/stream.rs, StreamingBody). The wire
// is unchanged — one WebSocket message per notification.
//
// Writes from other goroutines (the library's pong and close frames) go
// into the same buffer while corked, in order, under mu.
//
// full says that since the writer last had nothing to write, a write
// found the socket full: the kernel's buffers toward the peer held all
// they could, so the reader was behind. A notification dropped then is
// the reader's; one dropped while full is false overflowed a queue the
// writer was not draining fast enough although the socket had room — the
// server's limit, not the reader's (FirehoseSubscriber.DroppedSocketFull).
type corkedConn struct {
	net.Conn
	full atomic.Bool

	mu     sync.Mutex
	corked bool
	buf    []byte
}

// corkSpill bounds what a corked connection holds: a larger batch is
// written in pieces of about this size (actix stops filling its write
// buffer at 32 KiB too).
const corkSpill = 32 << 10

// Write gathers p while corked, else writes it through.
func (c *corkedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= corkSpill {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// cork starts gathering writes.
func (c *corkedConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was gathered, within d, and stops gathering.
func (c *corkedConn) uncork(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	if len(c.buf) == 0 {
		return nil
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(d))
	err := c.flushLocked()
	_ = c.Conn.SetWriteDeadline(time.Time{})
	return err
}

func (c *corkedConn) flushLocked() error {
	err := writeNoting(c.Conn, c.buf, &c.full)
	if cap(c.buf) > 4*corkSpill {
		c.buf = nil // one large message: do not keep its buffer
	} else {
		c.buf = c.buf[:0]
	}
	return err
}

// corkingResponseWriter hands coder/websocket's Accept a corkedConn when
// it hijacks the HTTP connection.
type corkingResponseWriter struct {
	http.ResponseWriter
	conn *corkedConn
}

// Hijack takes the connection over and wraps it; the buffered writer the
// library writes frames through is rebuilt on the wrapper (the one
// net/http returns writes to the bare connection, and holds nothing yet).
func (w *corkingResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkedConn{Conn: c}
	return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(w.conn)), nil
}

// Unwrap lets http.ResponseController reach the original writer.
func (w *corkingResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
