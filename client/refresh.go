package client

import (
	"context"
	"time"
)

// RefreshResult reports what RefreshAuth did.
type RefreshResult struct {
	Ran             bool      // false: no provider configured, nothing happened
	Kind            AuthKind  // what the provider returned
	Tokens          *Tokens   // set when Basic was exchanged via login
	OldExpiry       time.Time // access-token expiry before (zero if unknown)
	NewExpiry       time.Time // and after
	SocketUntouched bool      // a live socket keeps its old authentication: the server never re-checks it
	Coalesced       bool      // this call joined one already in flight
}

type refreshCall struct {
	done chan struct{}
	res  RefreshResult
	err  error
}

// RefreshAuth re-runs the provider (logging in if it returns Basic) and
// swaps the credentials used for HTTP and the next (re)connect. Concurrent
// calls share one provider call. The live socket is left alone — KalamDB
// checks a socket's token only when it authenticates — which the result
// states in SocketUntouched; call Reconnect to put new credentials on the
// wire. Without a provider it does nothing (Ran is false).
func (c *Client) RefreshAuth(ctx context.Context) (RefreshResult, error) {
	if !c.userProvider {
		return RefreshResult{}, nil
	}
	c.refreshMu.Lock()
	call := c.refreshCall
	leader := call == nil
	if leader {
		call = &refreshCall{done: make(chan struct{})}
		c.refreshCall = call
	} else {
		c.st.refreshCoalesced.Add(1)
	}
	c.refreshMu.Unlock()

	if leader {
		c.mu.Lock()
		closed := c.closed
		if !closed {
			c.wg.Add(1)
		}
		c.mu.Unlock()
		if closed {
			call.err = ErrClientClosed
			c.refreshMu.Lock()
			c.refreshCall = nil
			c.refreshMu.Unlock()
			close(call.done)
			return RefreshResult{}, ErrClientClosed
		}
		// Run on the client's context so one caller giving up does not
		// fail the others sharing this call.
		go func() {
			defer c.wg.Done()
			call.res, call.err = c.refreshOnce()
			c.refreshMu.Lock()
			c.refreshCall = nil
			c.refreshMu.Unlock()
			close(call.done)
		}()
	}
	select {
	case <-call.done:
		res := call.res
		res.Coalesced = !leader
		return res, call.err
	case <-ctx.Done():
		return RefreshResult{}, &Error{Kind: KindTimeout, Op: "refresh-auth", Message: "gave up waiting for the provider", Err: ctx.Err()}
	}
}

func (c *Client) refreshOnce() (RefreshResult, error) {
	ctx := c.ctx
	if c.o.httpTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*c.o.httpTimeout)
		defer cancel()
	}
	res := RefreshResult{Ran: true, OldExpiry: c.currentExpiry()}
	a, toks, err := c.resolveAuth(ctx, "refresh-auth")
	res.SocketUntouched = c.socketUp()
	if err != nil {
		c.emit(AuthRefreshedEvent{Time: c.now(), Trigger: "refresh-auth", OldExpiry: res.OldExpiry, Err: err, SocketUntouched: res.SocketUntouched})
		return res, err
	}
	res.Kind = AuthJWT
	if toks != nil {
		res.Kind, res.Tokens = AuthBasic, toks
		res.NewExpiry = toks.ExpiresAt
	}
	if a.Kind() == AuthNone {
		res.Kind = AuthNone
	}
	if res.NewExpiry.IsZero() {
		res.NewExpiry = tokenExpiry(a.Token())
	}
	c.emit(AuthRefreshedEvent{Time: c.now(), Trigger: "refresh-auth", OldExpiry: res.OldExpiry, NewExpiry: res.NewExpiry, SocketUntouched: res.SocketUntouched})
	return res, nil
}
