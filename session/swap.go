package session

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// TokenSwap describes a connection's active token swap: a JWT the user
// put in place of the auth provider's answer for HTTP calls and the next
// (re)connect (Conn.SwapToken).
type TokenSwap struct {
	Token TokenState // the swapped token, decoded; the token itself is not kept here
	Once  bool       // the swap ends after one connection attempt
	Since time.Time  // when it was swapped in
}

// SwapToken puts token in place of the auth provider's answer: HTTP calls
// use it at once and the next connection attempt authenticates with it,
// for seeing what the server does with a given token (expired, for
// another user, garbage — it is not checked, only decoded for display).
// With once the swap ends after that attempt, whatever the server
// answered; otherwise reconnects keep using it until ClearSwap. The live
// socket keeps its own authentication: Reconnect puts the token on the
// wire now.
//
// The swap is recorded in the rotation history (trigger swap), and so is
// every connection attempt made with it (method swap) with the server's
// answer: auth_success and the user, or the refusal explained.
func (c *Conn) SwapToken(token string, once bool) (Rotation, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return Rotation{}, errors.New("no token to swap in: paste one, or pick a candidate")
	}
	cl, err := c.client()
	if err != nil {
		return Rotation{}, err
	}
	ts := DecodeToken(token)
	c.mu.Lock()
	old := c.access
	c.mu.Unlock()
	cl.SwapToken(token, once)
	c.syncTokens()
	until := "until cleared"
	if once {
		until = "for the next connection attempt only"
	}
	r := Rotation{Time: c.clock.Now(), Trigger: TriggerSwap, Method: MethodSwap,
		OldExpiry: old.Claims.ExpiresAt, OldFingerprint: old.Fingerprint,
		NewExpiry: ts.Claims.ExpiresAt, NewFingerprint: ts.Fingerprint,
		SocketUntouched: cl.State() == client.StateConnected,
		Answer:          fmt.Sprintf("swapped in token %s (%s) %s; reconnect to put it on the wire", ts.Fingerprint, ts.Kind(), until)}
	c.mu.Lock()
	c.swap = &TokenSwap{Token: ts, Once: once, Since: r.Time}
	c.mu.Unlock()
	return c.recordSwap(r), nil
}

// ClearSwap ends the token swap: the provider's credentials are back for
// HTTP at once and for the next connection attempt (a connection waiting
// to retry after a refused swapped token retries now). It reports whether
// a swap was active, recording the end in the rotation history if so.
func (c *Conn) ClearSwap() (Rotation, bool, error) {
	cl, err := c.client()
	if err != nil {
		return Rotation{}, false, err
	}
	c.mu.Lock()
	old := c.access
	c.mu.Unlock()
	if !cl.ClearSwap() {
		c.mu.Lock()
		c.swap = nil
		c.mu.Unlock()
		return Rotation{}, false, nil
	}
	c.syncTokens()
	c.mu.Lock()
	c.swap = nil
	r := Rotation{Time: c.clock.Now(), Trigger: TriggerSwapCleared, Method: MethodSwap,
		OldExpiry: old.Claims.ExpiresAt, OldFingerprint: old.Fingerprint,
		NewExpiry: c.access.Claims.ExpiresAt, NewFingerprint: c.access.Fingerprint,
		Answer: "swap cleared: the provider's credentials are back"}
	c.mu.Unlock()
	return c.recordSwap(r), true, nil
}

// recordSwap appends r to the history without touching the refresh
// schedule: a swap is not a refresh.
func (c *Conn) recordSwap(r Rotation) Rotation {
	c.mu.Lock()
	c.rotID++
	r.ID, r.Attempt = c.rotID, 1
	c.history.add(r)
	c.mu.Unlock()
	c.m.emit(RotationRecordedEvent{Conn: c.name})
	return r
}

// swapUsed starts the history entry of a connection attempt made with the
// swapped token; the Connected or failed-attempt event that follows
// completes it with the server's answer. A once-only swap ends here.
func (c *Conn) swapUsed(e client.SwapUsedEvent) {
	c.mu.Lock()
	if e.Trigger == "connect" || e.Trigger == "reconnect" {
		r := Rotation{Time: c.clock.Now(), Trigger: TriggerReconnect, Method: MethodSwap,
			OldExpiry: c.access.Claims.ExpiresAt, OldFingerprint: c.access.Fingerprint, NewFingerprint: e.Fingerprint}
		if c.swap != nil && c.swap.Token.Fingerprint == e.Fingerprint {
			r.NewExpiry = c.swap.Token.Claims.ExpiresAt
		}
		c.pendingReconnect, c.pendingStart, c.pendingLogin = &r, e.Time, false
	}
	if e.Ended {
		c.swap = nil
	}
	c.mu.Unlock()
	if e.Ended {
		c.syncTokens() // the client restored the provider's credentials
	}
}

// swapAttemptFailed completes the pending swap entry with the error that
// ended its connection attempt; other pending entries are left alone.
func (c *Conn) swapAttemptFailed(err error) {
	c.mu.Lock()
	pr := c.pendingReconnect
	if pr == nil || pr.Method != MethodSwap {
		c.mu.Unlock()
		return
	}
	c.pendingReconnect = nil
	c.mu.Unlock()
	pr.Err, pr.Hint = errText(err), client.Hint(err)
	c.recordExternal(*pr)
}

// ExpiredCopy returns token with exp moved an hour before now and iat an
// hour before that, keeping every other claim, the header and the
// signature. The signature no longer matches: KalamDB checks it before
// exp, so it refuses the copy as forged ("Invalid credentials" either
// way), while the client still explains the refusal from the expired exp.
// Against a server whose secret is known (the demo), sign a real expired
// token instead.
func ExpiredCopy(token string, now time.Time) (string, error) {
	ts := DecodeToken(token)
	if !ts.Valid {
		return "", errors.New("the current token is not a JWT: there is nothing to copy")
	}
	exp, iat := now.Add(-time.Hour).Unix(), now.Add(-2*time.Hour).Unix()
	claims := append([]JWTField(nil), ts.Claims.All...)
	seen := map[string]bool{}
	for i, f := range claims {
		switch f.Name {
		case "exp":
			claims[i].Value, seen["exp"] = fmt.Sprint(exp), true
		case "iat":
			claims[i].Value, seen["iat"] = fmt.Sprint(iat), true
		}
	}
	if !seen["exp"] {
		claims = append(claims, JWTField{Name: "exp", Value: fmt.Sprint(exp)})
	}
	parts := strings.Split(token, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString(FieldsJSON(claims))
	return strings.Join(parts, "."), nil
}
