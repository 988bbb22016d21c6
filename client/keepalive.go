package client

// This file holds liveness: the periodic keepalive and on-demand Ping.

import (
	"context"
	"fmt"
	"time"
)

// Keepalive defaults. KalamDB closes a socket that sent nothing for more
// than 10 s (websocket.client_timeout_secs, checked every 5 s). The official
// native client pings every 9.003 s counted from its previous ping, so the
// gap the server sees is the interval whatever the round trip; 9 s does the
// same (upstream link/link-common/src/connection/shared/reconnect.rs and
// websocket.rs; backend/crates/kalamdb-live/src/manager/connections_manager.rs).
const (
	DefaultKeepalive   = 9 * time.Second
	DefaultPongTimeout = 5 * time.Second
)

// keepalive sends a WS Ping plus an app ping every interval, each timed
// from the previous send and never from a Pong, so a slow round trip does
// not widen the gap between the frames the server receives. The first is
// timed from the upgrade request, the socket's first send: with header
// auth the client sends nothing else after it, and the server's silence
// clock starts when the upgrade reaches it, so timing the first ping from
// the 101 instead would add a whole round trip to the gap (11 s behind a
// 1 s link, over KalamDB's 10 s). Each Ping's answer is awaited on the
// side (awaitPong) under its own timeout.
func (wc *wsConn) keepalive() {
	c := wc.c
	if c.o.keepalive <= 0 {
		return
	}
	timer := time.NewTimer(max(c.o.keepalive-time.Since(wc.dialed), 0))
	defer timer.Stop()
	for {
		select {
		case <-wc.ctx.Done():
			return
		case <-timer.C:
			timer.Reset(c.o.keepalive)
		}
		sent := time.Now()
		_ = wc.send(wc.ctx, PingMessage{Type: TypePing})
		// One Pong wait at a time: a Ping still unanswered has its own
		// deadline, and the app ping above already kept the server's
		// heartbeat fed.
		if !wc.awaitingPong.CompareAndSwap(false, true) {
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer wc.awaitingPong.Store(false)
			wc.awaitPong(sent)
		}()
	}
}

// awaitPong sends a WS Ping and waits for its Pong up to the pong timeout
// (0: for as long as the socket lives). A socket from which nothing at all
// arrived within that time is dead: it is failed, and the supervisor
// reconnects. Any other inbound frame since the ping also proves it alive,
// as in the official client.
func (wc *wsConn) awaitPong(sent time.Time) {
	c := wc.c
	ctx, cancel := wc.ctx, context.CancelFunc(func() {})
	if c.o.pongTimeout > 0 {
		ctx, cancel = context.WithTimeout(wc.ctx, c.o.pongTimeout)
	}
	c.tapControl(wc.id, Outbound, OpPing, nil)
	err := wc.ws.Ping(ctx)
	cancel()
	if wc.ctx.Err() != nil {
		return
	}
	if err == nil {
		c.st.rtt.Store(int64(time.Since(sent)))
		c.st.lastKeepalive.Store(time.Now().UnixNano())
		return
	}
	if wc.lastIn.Load() >= sent.UnixNano() {
		return // no pong, but the socket is carrying data: alive
	}
	wc.fail(&Error{Kind: KindTimeout, Op: "keepalive", Message: fmt.Sprintf("no frame from the server within %s of a ping: connection dead", c.o.pongTimeout)})
}

// Ping sends a WebSocket Ping on the live socket now and returns the
// round-trip time to its Pong (also recorded as Stats.KeepaliveRTT). It
// fails if no socket is up.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	c.mu.Lock()
	wc := c.conn
	c.mu.Unlock()
	if wc == nil {
		return 0, &Error{Kind: KindClosed, Op: "ping", Message: "no live socket (state " + c.State().String() + ")"}
	}
	sent := time.Now()
	c.tapControl(wc.id, Outbound, OpPing, nil)
	if err := wc.ws.Ping(ctx); err != nil {
		return 0, classifyNetErr("ping", c.URL(), err)
	}
	rtt := time.Since(sent)
	c.st.rtt.Store(int64(rtt))
	c.st.lastKeepalive.Store(time.Now().UnixNano())
	return rtt, nil
}
