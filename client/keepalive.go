package client

// This file holds liveness: the periodic keepalive and on-demand Ping.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// keepalive sends a WS Ping plus an app ping every interval (up to 20 %
// earlier) and declares the socket dead if nothing arrives within the pong
// timeout.
func (wc *wsConn) keepalive() {
	c := wc.c
	if c.o.keepalive <= 0 {
		return
	}
	for {
		d := c.o.keepalive - time.Duration(rand.Float64()*0.2*float64(c.o.keepalive))
		if sleepCtx(wc.ctx, d) != nil {
			return
		}
		sent := time.Now()
		c.tapControl(wc.id, Outbound, OpPing, nil)
		_ = wc.send(wc.ctx, PingMessage{Type: TypePing})
		pctx, cancel := context.WithTimeout(wc.ctx, c.o.pongTimeout)
		err := wc.ws.Ping(pctx)
		cancel()
		if wc.ctx.Err() != nil {
			return
		}
		if err == nil {
			rtt := time.Since(sent)
			c.st.rtt.Store(int64(rtt))
			c.st.lastKeepalive.Store(time.Now().UnixNano())
			continue
		}
		if wc.lastIn.Load() >= sent.UnixNano() {
			continue // no pong, but the socket is carrying data: alive
		}
		wc.fail(&Error{Kind: KindTimeout, Op: "keepalive", Message: fmt.Sprintf("no frame from the server within %s of a ping: connection dead", c.o.pongTimeout)})
		return
	}
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
