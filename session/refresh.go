package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Refresh refreshes the connection's credentials now (trigger manual) and
// returns the history entry it recorded. The error is the refresh's
// failure, also recorded in the entry.
func (c *Conn) Refresh(ctx context.Context) (Rotation, error) {
	return c.refresh(ctx, TriggerManual, 1, MethodAuto)
}

// RefreshWith is Refresh with a one-off method: MethodRefreshToken rotates
// through POST /v1/api/auth/refresh, MethodProvider asks the auth provider
// (login again, re-run the token command…), MethodAuto uses the
// connection's method (SetRefreshMethod).
func (c *Conn) RefreshWith(ctx context.Context, m RefreshMethod) (Rotation, error) {
	return c.refresh(ctx, TriggerManual, 1, m)
}

// scheduleLocked (re)arms the refresh timer from the policy, the tokens and
// the failure count. Called with c.mu held.
func (c *Conn) scheduleLocked() {
	c.gen++ // a timer already firing must not run a superseded schedule
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.next, c.nextTrigger = time.Time{}, 0
	if c.closed || c.cl == nil || c.policy.Kind == PolicyManual {
		return
	}
	now := c.clock.Now()
	var due time.Time
	var trig Trigger
	if c.failures > 0 {
		due, trig = c.retryAtLocked(), TriggerRetry
	} else {
		d, ok := c.policy.NextDue(c.lastRefresh, c.access)
		if !ok {
			return
		}
		due, trig = d, TriggerPeriodic
		if c.policy.Kind == PolicyBeforeExpiry {
			trig = TriggerBeforeExpiry
		}
		// Before-expiry deadlines can lie in the past: a lead longer than
		// the token's lifetime, or a refresh that brought back the same
		// token (a pasted JWT, a provider's cached token). Keep a minimum
		// gap after the last attempt (a tenth of the lifetime, backing off
		// while the token does not change) instead of looping.
		if c.policy.Kind == PolicyBeforeExpiry {
			gap := max(c.m.o.retryMin, c.access.Lifetime()/10)
			if c.unchanged > 0 {
				gap = c.backoffLocked(c.unchanged)
			}
			if floor := c.lastAttemptLocked().Add(gap); due.Before(floor) {
				due = floor
			}
		}
	}
	c.next, c.nextTrigger = due, trig
	attempt := c.failures + 1
	c.gen++
	gen := c.gen
	c.timer = c.clock.AfterFunc(due.Sub(now), func() { c.fire(gen, trig, attempt) })
}

// retryAtLocked is when the next retry after c.failures failures is due.
func (c *Conn) retryAtLocked() time.Time {
	return c.lastAttemptLocked().Add(c.backoffLocked(c.failures))
}

// backoffLocked is retryMin doubled per repetition after the first,
// capped at retryMax.
func (c *Conn) backoffLocked(n int) time.Duration {
	d := c.m.o.retryMin
	for i := 1; i < n && d < c.m.o.retryMax; i++ {
		d *= 2
	}
	return min(d, c.m.o.retryMax)
}

// lastAttemptLocked is when the last refresh attempt started.
func (c *Conn) lastAttemptLocked() time.Time {
	if n := len(c.history.items); n > 0 {
		return c.history.items[n-1].Time
	}
	return c.lastRefresh
}

// fire runs a scheduled refresh. It runs on the clock's goroutine (for a
// FakeClock: inside Advance), so scheduled refreshes finish before
// Advance returns.
func (c *Conn) fire(gen uint64, trig Trigger, attempt int) {
	c.mu.Lock()
	if c.closed || gen != c.gen {
		c.mu.Unlock()
		return
	}
	c.timer = nil
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.ctx, c.m.o.refreshTimeout)
	defer cancel()
	c.refresh(ctx, trig, attempt, MethodAuto)
}

// refresh performs one refresh attempt, records it, updates the failure
// count and reschedules.
func (c *Conn) refresh(ctx context.Context, trig Trigger, attempt int, override RefreshMethod) (Rotation, error) {
	cl, err := c.client()
	if err != nil {
		return Rotation{}, err
	}
	c.syncTokens()
	c.mu.Lock()
	c.refreshing = true
	old := c.access
	method := c.method
	if override != MethodAuto && override != MethodClient {
		method = override
	}
	if method == MethodAuto {
		method = MethodProvider
		if c.refreshTS.Valid && c.refreshTS.Phase(c.clock.Now()) != PhaseDead && !c.lastFailAuth {
			method = MethodRefreshToken
		}
	}
	start := c.clock.Now()
	spare := c.spareRefresh
	c.mu.Unlock()

	wall := time.Now() // latency is real elapsed time, whatever the clock
	var untouched bool
	switch method {
	case MethodRefreshToken:
		_, refreshTok := cl.Credentials()
		if refreshTok == "" {
			refreshTok = spare
		}
		if refreshTok == "" {
			err = errors.New("no refresh token held (this connection did not log in with a password): use the provider method")
			break
		}
		var toks *client.Tokens
		toks, err = cl.RefreshToken(ctx, refreshTok)
		untouched = cl.State() == client.StateConnected
		if err == nil {
			c.mu.Lock()
			c.spareRefresh = "" // the client holds the rotated pair now
			if c.pasted != nil {
				c.pasted.set(toks.AccessToken) // reconnects must not go back to the old JWT
			}
			c.mu.Unlock()
		}
	default:
		var res client.RefreshResult
		res, err = cl.RefreshAuth(ctx)
		untouched = res.SocketUntouched
		if err == nil && !res.Ran {
			err = errors.New("no auth provider configured: nothing to refresh with (pasted tokens cannot be refreshed; log in with a password or use a token command)")
		}
	}
	latency := time.Since(wall)
	c.syncTokens()

	c.mu.Lock()
	c.refreshing = false
	c.rotID++
	r := Rotation{
		ID: c.rotID, Time: start, Trigger: trig, Method: method, Attempt: attempt, Latency: latency,
		OldExpiry: old.Claims.ExpiresAt, OldFingerprint: old.Fingerprint, SocketUntouched: untouched,
	}
	if err != nil {
		r.Err, r.Hint = errText(err), client.Hint(err)
		c.failures++
		c.lastFailAuth = method == MethodRefreshToken && client.IsAuthError(err)
	} else {
		r.NewExpiry, r.NewFingerprint = c.access.Claims.ExpiresAt, c.access.Fingerprint
		r.Unchanged = r.NewFingerprint == r.OldFingerprint
		if r.Unchanged {
			c.unchanged++
		} else {
			c.unchanged = 0
		}
		c.failures = 0
		c.lastFailAuth = false
		c.lastRefresh = c.clock.Now()
	}
	c.history.add(r)
	c.scheduleLocked() // a no-op under the manual policy: no automatic retries
	pev := c.policyEventLocked()
	c.mu.Unlock()
	c.m.emit(RotationRecordedEvent{Conn: c.name})
	c.m.emit(pev)
	return r, err
}

// SetToken replaces the pasted JWT of a jwt-mode connection and makes the
// client use it (trigger manual, method provider): manual token rotation.
// The live socket keeps its original authentication until it reconnects.
func (c *Conn) SetToken(ctx context.Context, token string) (Rotation, error) {
	c.mu.Lock()
	h := c.pasted
	c.mu.Unlock()
	if h == nil {
		return Rotation{}, errors.New("this connection does not use a pasted JWT (auth mode jwt)")
	}
	if ts := DecodeToken(token); !ts.Valid {
		return Rotation{}, fmt.Errorf("that is not a JWT (%s)", ts.DecodeError)
	}
	h.set(token)
	return c.refresh(ctx, TriggerManual, 1, MethodProvider)
}

// recordExternal appends a rotation the client did by itself (reconnect
// re-login, 401 re-authentication).
func (c *Conn) recordExternal(r Rotation) {
	c.mu.Lock()
	c.rotID++
	r.ID = c.rotID
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	c.history.add(r)
	if r.OK() {
		c.lastRefresh = c.clock.Now()
		if c.policy.Kind == PolicyPeriodic && c.failures == 0 {
			c.scheduleLocked() // a periodic timer restarts from any rotation
		}
	}
	c.mu.Unlock()
	c.m.emit(RotationRecordedEvent{Conn: c.name})
}

// errText renders an error for history and notices. Client errors never
// contain secrets (the client redacts them).
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
