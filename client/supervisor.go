package client

import (
	"context"
	"math/rand/v2"
	"net/url"
	"time"
)

// supervise keeps a socket up while one is wanted: it serves the current
// socket until it ends, then backs off and redials, calling the provider
// before every attempt. It is the only goroutine that dials after Connect.
// first, if set, is already registered (eager Connect). An attempt is a
// round over the nodes (connectRound): the backoff grows per round, never
// between the nodes of one.
func (c *Client) supervise(first *wsConn) {
	defer c.wg.Done()
	conn := first
	registered := first != nil
	attempt := 0              // failed rounds since the last success
	var holdOff time.Duration // the last failure's Retry-After
	for {
		if conn != nil {
			attempt, holdOff = 0, 0
			if !registered && !c.up(conn) {
				// Closed or disconnected while dialing: the socket never ran.
				conn.cancel()
				_ = conn.ws.CloseNow()
				if c.isClosed() {
					return
				}
				conn = nil
				continue
			}
			<-conn.done
			c.down(conn)
			conn, registered = nil, false
		}
		if !c.waitWant() {
			return
		}
		kicked := c.takeKick()
		if !kicked {
			delay := max(c.backoff(attempt), holdOff) // the server said how long to wait
			c.setState(StateReconnecting)
			c.emit(ReconnectScheduledEvent{Time: c.now(), Attempt: attempt + 1, Delay: delay, At: c.now().Add(delay)})
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-c.kick:
			case <-c.ctx.Done():
				t.Stop()
				return
			}
			t.Stop()
			if !c.wanted() {
				continue
			}
		}
		attempt++
		var err error
		conn, err = c.connectRound(c.ctx, "reconnect", attempt)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			c.setLastErr(err)
			holdOff = retryAfterOf(err)
			giveUp := c.o.reconnectAttempts > 0 && attempt >= c.o.reconnectAttempts
			c.emit(ErrorEvent{Time: c.now(), Err: err, Recoverable: !giveUp, Attempt: attempt})
			if giveUp {
				c.mu.Lock()
				c.want = false
				c.state = StateDisconnected
				close(c.gaveUpCh)
				c.gaveUpCh = make(chan struct{})
				c.mu.Unlock()
				c.failPending(err)
			}
		}
	}
}

// connectRound is one connection attempt: it dials the current node and,
// while nodes are found down (nodeDown), the next ones, each once, calling
// the provider before each dial (the SDK contract: authProvider before
// every connect, and a Basic login goes to the node being tried). It
// stops at the first socket up, or at an error another node would answer
// the same way (refused credentials). After a round in which every node
// was down, the current node is the one it started with, and the error
// names each node's failure.
func (c *Client) connectRound(ctx context.Context, trigger string, attempt int) (*wsConn, error) {
	if !c.everConnected() {
		trigger = "connect"
	}
	var (
		tried []*url.URL
		errs  []error
	)
	for {
		node := c.node()
		if c.everConnected() {
			c.setState(StateReconnecting)
		} else {
			c.setState(StateConnecting)
		}
		c.emit(ConnectingEvent{Time: c.now(), Attempt: attempt, URL: c.wsURLFor(node, c.compressOn())})
		auth, _, err := c.resolveAuth(ctx, trigger)
		if err == nil {
			var conn *wsConn
			if conn, err = c.dial(ctx, auth, node); err == nil {
				return conn, nil
			}
		}
		if ctx.Err() != nil || len(c.nodes) == 1 || !nodeDown(err) {
			return nil, err
		}
		tried, errs = append(tried, node), append(errs, err)
		c.leaveNode(node, err)
		if len(tried) == len(c.nodes) {
			return nil, allNodesDown(tried, errs)
		}
		// Said now, so the moves are visible; the round's own error
		// comes only if every node fails.
		c.emit(ErrorEvent{Time: c.now(), Err: err, Recoverable: true, Attempt: attempt})
	}
}

// leaveNode moves the client off node, found down with err, to the next.
func (c *Client) leaveNode(node *url.URL, err error) {
	c.mu.Lock()
	c.leftErr = err
	c.mu.Unlock()
	c.nextNode(node)
}

// backoff is min·2^attempt capped at max, jittered up to 20 % shorter so
// many clients do not reconnect in lockstep.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.o.reconnectMin
	for i := 0; i < attempt && d < c.o.reconnectMax; i++ {
		d *= 2
	}
	d = min(d, c.o.reconnectMax)
	return d - time.Duration(rand.Float64()*0.2*float64(d))
}

// waitWant blocks until a socket is wanted; false when the client closes.
func (c *Client) waitWant() bool {
	for {
		c.mu.Lock()
		want, closed := c.want, c.closed
		if !want && !closed && c.state != StateIdle {
			// A socket was wanted before: it ended, none is coming.
			c.state = StateDisconnected
		}
		c.mu.Unlock()
		if closed {
			return false
		}
		if want {
			return true
		}
		select {
		case <-c.kick:
			c.mu.Lock()
			c.want = true
			c.mu.Unlock()
			// Keep the kick meaningful: dial at once.
			select {
			case c.kick <- struct{}{}:
			default:
			}
		case <-c.ctx.Done():
			return false
		}
	}
}

// everConnected reports whether any socket was authenticated before.
func (c *Client) everConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.upCount > 0
}

func (c *Client) wanted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.want && !c.closed
}

func (c *Client) takeKick() bool {
	select {
	case <-c.kick:
		return true
	default:
		return false
	}
}

func (c *Client) setLastErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// up registers a freshly authenticated socket, re-sends every live
// subscription (resuming from its last _seq) and announces the connection.
// It reports false if the client closed, or Disconnect was called, while
// the socket was being dialed.
func (c *Client) up(wc *wsConn) bool {
	c.mu.Lock()
	if c.closed || !c.want {
		c.mu.Unlock()
		return false
	}
	if wc.compress != c.compress {
		// SetCompression changed the setting during the dial: redial now.
		c.mu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
		return false
	}
	if c.upCount > 0 {
		c.st.reconnects.Add(1)
	}
	c.upCount++
	c.conn = wc
	c.state = StateConnected
	c.lastErr = nil
	prevNode, cause := c.lastNode, c.leftErr
	c.lastNode, c.leftErr = wc.node, nil
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	ch := c.upCh
	c.upCh = make(chan struct{})
	c.mu.Unlock()
	c.st.connectedSince.Store(time.Now().UnixNano())

	if prevNode != nil && prevNode != wc.node {
		ev := FailoverEvent{Time: c.now(), From: prevNode.String(), To: wc.node.String(), Cause: cause}
		if cause != nil {
			ev.Reason = nodeErrText(cause)
		}
		c.emit(ev)
	}
	wc.run()
	resumed := 0
	for _, s := range subs {
		if s.sendSubscribe(wc) {
			resumed++
		}
	}
	c.emit(ConnectedEvent{Time: c.now(), User: wc.user, Role: wc.role, Protocol: wc.proto, ConnID: wc.id, Resumed: resumed,
		TokenFingerprint: Fingerprint(wc.token), URL: wc.node.String()})
	close(ch)
	return true
}

// down unregisters an ended socket and reports why it ended.
func (c *Client) down(wc *wsConn) {
	wc.endMu.Lock()
	err, code, reason, local := wc.endErr, wc.endCode, wc.endReason, wc.local
	wc.endMu.Unlock()
	c.mu.Lock()
	if c.conn == wc {
		c.conn = nil
	}
	willRetry := c.want && !c.closed
	if !c.closed {
		if willRetry {
			c.state = StateReconnecting
		} else {
			c.state = StateDisconnected
		}
	}
	c.mu.Unlock()
	c.st.connectedSince.Store(0)
	var derr error
	if !local || willRetry {
		derr = err
	}
	c.emit(DisconnectedEvent{Time: c.now(), ConnID: wc.id, Code: code, Reason: reason, Err: derr, WillRetry: willRetry})
}

// Reconnect drops the current socket (if any) and connects again at once,
// calling the provider and resuming every subscription. It returns when
// the new socket is up, or with ctx's error.
func (c *Client) Reconnect(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	c.want = true
	conn := c.conn
	wait, gaveUp := c.upCh, c.gaveUpCh
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	if conn != nil {
		conn.close(1000, "client reconnect")
	}
	return c.waitUp(ctx, wait, gaveUp)
}

// waitUp waits for the socket generation wait to come up, or for the
// supervisor to give up (WithReconnect's maxAttempts).
func (c *Client) waitUp(ctx context.Context, wait, gaveUp chan struct{}) error {
	for {
		select {
		case <-wait:
			return nil
		case <-gaveUp:
			c.mu.Lock()
			last := c.lastErr
			c.mu.Unlock()
			return last
		case <-ctx.Done():
			c.mu.Lock()
			last := c.lastErr
			c.mu.Unlock()
			if last != nil {
				return last
			}
			return ctx.Err()
		case <-c.ctx.Done():
			return ErrClientClosed
		}
	}
}

// Disconnect closes the socket (code 1000) and stops reconnecting until
// Reconnect, Subscribe or SetCompression asks for a socket again.
// Subscriptions stay registered and resume then.
func (c *Client) Disconnect() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	c.want = false
	conn := c.conn
	c.mu.Unlock()
	c.takeKick()
	if conn != nil {
		conn.close(1000, "client disconnect")
	}
	return nil
}

// SetCompression switches compress=false on (disabled=true) or off for the
// next socket and, if one is live, drops it so the supervisor reconnects
// at once with the new setting (subscriptions resume). It does not wait.
func (c *Client) SetCompression(disabled bool) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	changed := c.compress == disabled
	c.compress = !disabled
	conn := c.conn
	if changed && conn != nil {
		c.want = true
	}
	c.mu.Unlock()
	if changed && conn != nil {
		select {
		case c.kick <- struct{}{}:
		default:
		}
		conn.close(1000, "client switching compression")
	}
	return nil
}

// ensureSocket asks for a socket (lazy mode) without waiting for it.
func (c *Client) ensureSocket() {
	c.mu.Lock()
	need := !c.want && !c.closed
	c.want = true
	c.mu.Unlock()
	if need {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}
