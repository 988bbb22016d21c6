package session

import (
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// pumpBatch bounds how many tapped frames one log append takes.
const pumpBatch = 512

// start attaches cl and starts the goroutines that follow it: lifecycle
// events, the frame tap and the stats sampler.
func (c *Conn) start(cl *client.Client) {
	c.mu.Lock()
	c.cl = cl
	c.mu.Unlock()
	c.syncTokens()
	// What the client reported before it was attached (Connect's
	// Connecting and Connected; an attached client's history) is applied
	// first, in order. Setting the state from cl.State() and letting the
	// pump replay those older events afterwards moved a connected
	// connection back to Connecting behind a live socket.
	c.handleQueued(cl)
	// Events can be lost (a full buffer, or read by whoever built an
	// attached client): if none of them got the connection up, ask the
	// client where it is. Read it before taking c.mu: its getters take
	// its own lock.
	st, connID := cl.State(), cl.Stats().ConnID
	var socket TokenState
	if st == client.StateConnected {
		access, _ := cl.Credentials()
		socket = DecodeToken(access)
	}
	c.mu.Lock()
	if c.state == client.StateIdle || c.state == client.StateConnecting {
		if st == client.StateConnected {
			c.socket = socket
			c.setStateLocked(client.StateConnected, StateDetail{ConnID: connID})
		} else if st == client.StateConnecting || st == client.StateReconnecting {
			c.setStateLocked(client.StateConnecting, c.detail)
		}
	}
	c.lastRefresh = c.clock.Now()
	c.scheduleLocked()
	c.statsTimer = c.clock.AfterFunc(c.m.o.statsInterval, c.sampleStats)
	c.armLiveCheckLocked()
	c.mu.Unlock()
	c.wg.Add(2)
	go c.eventPump(cl)
	go c.framePump(cl)
}

// handleQueued applies the client's already queued events, without
// waiting for more. The pump is not running yet: nothing else takes them.
func (c *Conn) handleQueued(cl *client.Client) {
	events := cl.Events()
	for len(events) > 0 && c.handleNext(events, nil) {
	}
}

// sampleStats records one stats sample and re-arms itself on the clock.
func (c *Conn) sampleStats() {
	c.mu.Lock()
	cl := c.cl
	closed := c.closed
	c.mu.Unlock()
	if closed || (cl == nil && c.watch == nil) {
		return
	}
	var counters Counters
	if cl != nil {
		counters = countersOf(cl.Stats())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.watch != nil {
		counters = c.watch.counters
	}
	c.sampler.sample(c.clock.Now(), counters)
	c.statsTimer = c.clock.AfterFunc(c.m.o.statsInterval, c.sampleStats)
}

// framePump drains the client's frame tap into the log in batches,
// lingering after each (see pumpLinger), and emits at most one
// FramesAppended per pump interval.
func (c *Conn) framePump(cl *client.Client) {
	defer c.wg.Done()
	frames := cl.Frames()
	if frames == nil {
		return
	}
	pace := newPacer(c.m.o.pumpInterval)
	defer pace.stop()
	buf := make([]client.Frame, 0, pumpBatch)
	pending := 0
	flush := func() {
		if pending > 0 {
			c.m.emit(FramesAppendedEvent{Conn: c.name, Count: pending})
			pending = 0
		}
	}
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				flush()
				return
			}
			var open bool
			buf, open = takeWaiting(append(buf[:0], f), frames, pumpBatch)
			c.log.Append(buf...)
			pending += len(buf)
			clear(buf) // the log copied the payloads
			if pace.changed() {
				flush()
			}
			if open && len(buf) < pumpBatch {
				linger()
			}
		case <-pace.C():
			pace.fired()
			flush()
		case <-c.ctx.Done():
			flush()
			return
		}
	}
}

// takeWaiting appends to batch what ch holds right now, without waiting,
// until batch has max items; open is false when ch turned out closed. The
// pumps take a stream's backlog as one batch this way.
func takeWaiting[T any](batch []T, ch <-chan T, max int) (_ []T, open bool) {
	for len(batch) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return batch, false
			}
			batch = append(batch, v)
		default:
			return batch, true
		}
	}
	return batch, true
}

// eventPump follows the client's lifecycle events.
func (c *Conn) eventPump(cl *client.Client) {
	defer c.wg.Done()
	events := cl.Events()
	for c.handleNext(events, c.ctx.Done()) {
	}
}

// handleNext waits for the client's next event and applies it. It reports
// false once the client's channel or stop is closed.
func (c *Conn) handleNext(events <-chan client.Event, stop <-chan struct{}) bool {
	select {
	case ev, ok := <-events:
		if !ok {
			return false
		}
		c.handle(ev)
		return true
	case <-stop:
		return false
	}
}

// handle applies one client event to the state machine and histories.
func (c *Conn) handle(ev client.Event) {
	now := c.clock.Now()
	switch e := ev.(type) {
	case client.ConnectingEvent:
		c.mu.Lock()
		to, d := client.StateConnecting, c.detail
		if c.state == client.StateReconnecting {
			to = client.StateReconnecting
		}
		d.Attempt, d.RetryAt, d.RetryDelay = e.Attempt, time.Time{}, 0
		sev := c.setStateLocked(to, d)
		c.mu.Unlock()
		c.m.emit(sev)

	case client.ConnectedEvent:
		c.syncTokens()
		cl := c.Client()
		socketToken := cl.SocketToken()
		if client.Fingerprint(socketToken) != e.TokenFingerprint {
			// The socket is gone already; the credentials in use are the
			// best guess (they differ only after a once-only swap).
			socketToken, _ = cl.Credentials()
		}
		c.mu.Lock()
		c.socket = DecodeToken(socketToken)
		d := StateDetail{Attempt: c.detail.Attempt, User: e.User, Role: e.Role, ConnID: e.ConnID, Resumed: e.Resumed,
			Compression: e.Protocol.Compression, Serialization: e.Protocol.Serialization}
		sev := c.setStateLocked(client.StateConnected, d)
		pr := c.pendingReconnect
		c.pendingReconnect = nil
		if pr != nil && pr.Method == MethodSwap {
			pr.NewFingerprint = e.TokenFingerprint
			pr.Answer = fmt.Sprintf("auth_success as %s (%s)", e.User, e.Role)
		} else if pr != nil {
			pr.NewExpiry, pr.NewFingerprint = c.access.Claims.ExpiresAt, c.access.Fingerprint
			// Latency: from asking for credentials to the authenticated
			// socket (provider, login, dial, auth), on the client's clock.
			if !c.pendingStart.IsZero() && e.Time.After(c.pendingStart) {
				pr.Latency = e.Time.Sub(c.pendingStart)
			}
		}
		c.mu.Unlock()
		c.m.emit(sev)
		// A password provider logged in again: a rotation. The same pasted
		// JWT handed out again is not.
		if pr != nil && (pr.NewFingerprint != pr.OldFingerprint || c.pendingLogin || pr.Method == MethodSwap) {
			c.recordExternal(*pr)
		}

	case client.DisconnectedEvent:
		c.mu.Lock()
		to := client.StateDisconnected
		if e.WillRetry {
			to = client.StateReconnecting
		}
		d := c.detail
		d.CloseCode, d.CloseReason = closeCodeOf(e), e.Reason
		d.Err, d.Hint = errText(e.Err), client.Hint(e.Err)
		d.RetryAt, d.RetryDelay = time.Time{}, 0
		sev := c.setStateLocked(to, d)
		pr := c.pendingReconnect
		c.pendingReconnect = nil
		c.mu.Unlock()
		c.m.emit(sev)
		if pr != nil {
			pr.Err = "reconnect failed: " + closeText(e)
			c.recordExternal(*pr)
		}

	case client.ReconnectScheduledEvent:
		c.mu.Lock()
		d := c.detail
		d.Attempt, d.RetryAt, d.RetryDelay = e.Attempt, e.At, e.Delay
		sev := c.setStateLocked(client.StateReconnecting, d)
		c.mu.Unlock()
		c.m.emit(sev)

	case client.ErrorEvent:
		if e.Attempt > 0 {
			// A failed connection attempt: the state says why until the
			// next attempt succeeds.
			c.mu.Lock()
			d := c.detail
			d.Err, d.Hint = errText(e.Err), client.Hint(e.Err)
			sev := c.setStateLocked(c.state, d)
			c.mu.Unlock()
			c.m.emit(sev)
			c.swapAttemptFailed(e.Err)
		}
		level := NoticeWarn
		if !e.Recoverable {
			level = NoticeError
		}
		c.notice(level, errText(e.Err), client.Hint(e.Err))

	case client.AuthRefreshedEvent:
		c.syncTokens()
		// refresh-auth / refresh-token are this session's own calls,
		// recorded by refresh(); record what the client did by itself.
		if e.Trigger == "refresh-auth" || e.Trigger == "refresh-token" {
			return
		}
		c.mu.Lock()
		r := Rotation{Time: now, Trigger: ParseTrigger(e.Trigger), Method: MethodClient,
			OldExpiry: e.OldExpiry, NewExpiry: e.NewExpiry, SocketUntouched: e.SocketUntouched,
			NewFingerprint: c.access.Fingerprint}
		c.mu.Unlock()
		if e.Err != nil {
			r.Err, r.Hint, r.NewFingerprint = errText(e.Err), client.Hint(e.Err), ""
		}
		c.recordExternal(r)

	case client.SwapUsedEvent:
		c.swapUsed(e)

	case client.FailoverEvent:
		c.failedOver(e)

	case client.ProviderCalledEvent:
		call := ProviderCall{Time: now, Duration: e.Duration, Kind: e.Kind.String(), Fingerprint: e.Fingerprint, Err: errText(e.Err)}
		c.mu.Lock()
		c.providers.add(call)
		var done *Rotation
		if e.Trigger == "reconnect" {
			r := Rotation{Time: now, Trigger: TriggerReconnect, Method: MethodProvider, Latency: e.Duration,
				OldExpiry: c.access.Claims.ExpiresAt, OldFingerprint: c.access.Fingerprint}
			if e.Err != nil {
				r.Err, r.Hint = errText(e.Err), client.Hint(e.Err)
				done = &r
			} else {
				c.pendingReconnect = &r // completed by the next Connected/Disconnected
				c.pendingStart = e.Time.Add(-e.Duration)
				c.pendingLogin = e.Kind == client.AuthBasic
			}
		}
		c.mu.Unlock()
		c.m.emit(ProviderCalledEvent{Conn: c.name})
		if done != nil {
			c.recordExternal(*done)
		}
	}
}

// CloseAbnormal is the close code of a socket that broke without a close
// frame: RFC 6455 reserves 1006 for it, and browsers and the close-code
// hints call it that too.
const CloseAbnormal = 1006

// closeCodeOf is e's close code, CloseAbnormal when there was none.
func closeCodeOf(e client.DisconnectedEvent) int {
	if e.Code < 0 {
		return CloseAbnormal
	}
	return e.Code
}

func closeText(e client.DisconnectedEvent) string {
	switch {
	case e.Err != nil:
		return errText(e.Err)
	case e.Reason != "":
		return e.Reason
	}
	return "connection closed"
}
