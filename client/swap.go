package client

// tokenSwap is a token the user put in place of the auth provider's
// answer (SwapToken).
type tokenSwap struct {
	token string
	once  bool
	saved Auth // the credentials in use without the swap, restored when it ends
}

// SwapToken makes token the credentials of HTTP calls at once and of the
// next connection attempt, instead of what the auth provider would answer.
// It is a testing tool, for seeing what the server and the client do with
// a given token — expired, for another user, signed by another issuer, or
// not a JWT at all: the token is not checked, and it is sent as given.
//
// With once, the swap ends after that one connection attempt, whatever the
// server answered, and the provider is asked again for the next one;
// without, it lasts until ClearSwap (reconnects keep using it). A new
// SwapToken replaces an active swap. The live socket is not touched:
// KalamDB checks a socket's token only when it authenticates, so call
// Reconnect to put the token on the wire now. Each use is announced with a
// SwapUsedEvent.
func (c *Client) SwapToken(token string, once bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	saved := c.auth
	if c.swap != nil {
		saved = c.swap.saved
	}
	c.swap = &tokenSwap{token: token, once: once, saved: saved}
	c.auth = JWT(token)
	c.authed = true
}

// ClearSwap ends a token swap: HTTP calls go back at once to the
// credentials in use before it (or obtained since), and the next
// connection attempt asks the provider again. A connection waiting to
// retry after a refused swapped token retries now. It reports whether a
// swap was active.
func (c *Client) ClearSwap() bool {
	c.mu.Lock()
	sw := c.swap
	if sw != nil {
		c.swap = nil
		c.auth = sw.saved
	}
	retry := sw != nil && c.conn == nil && c.want && !c.closed
	c.mu.Unlock()
	if retry {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return sw != nil
}

// Swapped returns the fingerprint (Auth.Fingerprint form) of the swapped
// token and whether the swap ends after one connection attempt; fp is ""
// when no swap is active.
func (c *Client) Swapped() (fp string, once bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.swap == nil {
		return "", false
	}
	return Fingerprint(c.swap.token), c.swap.once
}

// swappedAuth returns the swapped token as the credentials for trigger,
// ending a once-only swap when trigger is a connection attempt; ok is
// false without a swap. The provider is not called.
func (c *Client) swappedAuth(trigger string) (a Auth, ok bool) {
	c.mu.Lock()
	sw := c.swap
	if sw == nil {
		c.mu.Unlock()
		return Auth{}, false
	}
	a = JWT(sw.token)
	ended := sw.once && (trigger == "connect" || trigger == "reconnect")
	if ended {
		c.swap, c.auth = nil, sw.saved
	}
	c.mu.Unlock()
	c.emit(SwapUsedEvent{Time: c.now(), Trigger: trigger, Fingerprint: a.Fingerprint(), Ended: ended})
	return a, true
}

// setAuthLocked makes a the credentials in use, or, while a swap is
// active, the ones the swap will restore. Called with c.mu held.
func (c *Client) setAuthLocked(a Auth) {
	if c.swap != nil {
		c.swap.saved = a
		return
	}
	c.auth = a
}
