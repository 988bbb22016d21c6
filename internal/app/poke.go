package app

import (
	"context"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// This file adapts the hands-on testing calls (ui.Composer,
// ui.TokenSwapper) to session.Conn.

// SendText implements ui.Composer.
func (c *conn) SendText(ctx context.Context, text string) error { return c.c.SendText(ctx, text) }

// swapReconnectWait bounds how long a swap with reconnect waits for the
// socket: long enough for the server's answer to the first attempt, short
// enough that a refused token is reported while the user watches (the
// connection keeps retrying in the background).
const swapReconnectWait = 5 * time.Second

// SwapToken implements ui.TokenSwapper.
func (c *conn) SwapToken(ctx context.Context, token string, once, reconnect bool) error {
	if _, err := c.c.SwapToken(token, once); err != nil {
		return err
	}
	if !reconnect {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, swapReconnectWait)
	defer cancel()
	return c.c.Reconnect(ctx)
}

// ClearSwap implements ui.TokenSwapper.
func (c *conn) ClearSwap(context.Context) error {
	if _, ok, err := c.c.ClearSwap(); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("no token is swapped in")
		}
		return err
	}
	return nil
}

// DecodeToken implements ui.TokenSwapper.
func (c *conn) DecodeToken(token string) ui.DecodedToken {
	return decodedToken(session.DecodeToken(token))
}

func decodedToken(ts session.TokenState) ui.DecodedToken {
	d := ui.DecodedToken{Valid: ts.Valid, Error: ts.DecodeError, Fingerprint: ts.Fingerprint,
		Kind: ts.Kind().String(), KindNote: ts.Kind().Explain(), Subject: ts.Claims.Subject,
		IssuedAt: ts.Claims.IssuedAt, ExpiresAt: ts.Claims.ExpiresAt, NotBefore: ts.Claims.NotBefore,
		Problems: ts.Problems}
	for _, f := range ts.Header.All {
		d.Header = append(d.Header, ui.TokenField{Name: f.Name, Value: f.Value})
	}
	for _, f := range ts.Claims.All {
		d.Claims = append(d.Claims, ui.TokenField{Name: f.Name, Value: f.Value})
	}
	return d
}

// garbage is the swap candidate that is not a JWT at all.
var garbage = ui.SwapCandidate{Label: "garbage (not a JWT)", Token: "this-is-not-a-jwt"}

// accessToken returns the access token in use ("" before the client has one).
func (c *conn) accessToken() string {
	if cl := c.c.Client(); cl != nil {
		access, _ := cl.Credentials()
		return access
	}
	return ""
}

// SwapCandidates implements ui.TokenSwapper: an expired copy of the
// current token (its signature then broken, which the label says) and
// garbage. demoConn offers properly signed tokens instead.
func (c *conn) SwapCandidates() []ui.SwapCandidate {
	var out []ui.SwapCandidate
	if tok, err := session.ExpiredCopy(c.accessToken(), time.Now()); err == nil {
		out = append(out, ui.SwapCandidate{Label: "expired copy of the current token (signature broken: a real server refuses it as forged first)", Token: tok})
	}
	return append(out, garbage)
}

// SwapCandidates implements ui.TokenSwapper on the demo server, whose
// secret signs real tokens: an expired token for the current user,
// garbage, and a fresh token for every other user.
func (c demoConn) SwapCandidates() []ui.SwapCandidate {
	now := time.Now()
	sub := session.DecodeToken(c.accessToken()).Claims.Subject
	var out []ui.SwapCandidate
	if tok, err := c.srv.IssueToken(sub, now.Add(-2*time.Hour), time.Hour); err == nil {
		out = append(out, ui.SwapCandidate{Label: "expired copy of the current token (" + sub + ", expired 1h ago, signed by the demo server)", Token: tok})
	}
	out = append(out, garbage)
	for _, u := range c.srv.Users() {
		if u == sub {
			continue
		}
		if tok, err := c.srv.IssueToken(u, now, 10*time.Minute); err == nil {
			out = append(out, ui.SwapCandidate{Label: "fresh 10-minute token for " + u + " (demo server)", Token: tok})
		}
	}
	return out
}

// swapInfo describes an active swap for the Token view (nil: none).
func swapInfo(s *session.TokenSwap) *ui.TokenSwapInfo {
	if s == nil {
		return nil
	}
	return &ui.TokenSwapInfo{Fingerprint: s.Token.Fingerprint, Kind: s.Token.Kind().String(), Subject: s.Token.Claims.Subject,
		ExpiresAt: s.Token.Claims.ExpiresAt, Once: s.Once, Since: s.Since}
}

var (
	_ ui.Composer     = (*conn)(nil)
	_ ui.TokenSwapper = (*conn)(nil)
	_ ui.TokenSwapper = demoConn{}
)
