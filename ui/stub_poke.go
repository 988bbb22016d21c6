package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// This file gives the stub connection the hands-on testing capabilities
// (Composer, TokenSwapper) with canned answers in KalamDB's shapes, for
// tests and screenshots.

// SendText logs the frame as composed and answers it as KalamDB would in
// the simplest cases: an ack for a subscribe, nothing for ping and
// unsubscribe, and a 1011 close for anything else.
func (c *stubConn) SendText(_ context.Context, text string) error {
	now := c.now()
	var m struct {
		Type         string `json:"type"`
		Subscription struct {
			ID string `json:"id"`
		} `json:"subscription"`
	}
	_ = json.Unmarshal([]byte(text), &m)
	sent := textFrame(now, "out", m.Type, m.Subscription.ID, text)
	sent.ConnID, sent.Composed = c.snap.ConnID, true
	c.log.add(sent)
	at := now.Add(3 * time.Millisecond)
	switch m.Type {
	case "ping", "unsubscribe":
	case "subscribe":
		ack := fmt.Sprintf(`{"type":"subscription_ack","subscription_id":%q,"total_rows":0,"batch_control":{"batch_num":0,"has_more":false,"status":"ready","last_seq_id":null},"schema":[]}`, m.Subscription.ID)
		f := textFrame(at, "in", "subscription_ack", m.Subscription.ID, ack)
		f.ConnID = c.snap.ConnID
		c.log.add(f)
	default:
		reason := "Invalid message: unknown variant `" + m.Type + "`"
		c.log.add(Frame{Time: at, Dir: "in", Opcode: "close", Encoding: "-", CloseCode: 1011, CloseReason: reason, ConnID: c.snap.ConnID})
	}
	return nil
}

// stubTokens are the stub's swap candidates and what they decode to.
var stubTokens = []struct {
	cand SwapCandidate
	dec  DecodedToken
}{
	{SwapCandidate{Label: "expired copy of the current token", Token: "stub.expired.token"},
		DecodedToken{Valid: true, Fingerprint: "e0e0e0e0", Kind: "access", KindNote: "an access token", Subject: "admin",
			Header: []TokenField{{"alg", `"HS256"`}}, Claims: []TokenField{{"sub", `"admin"`}, {"exp", "1"}}, ExpiresAt: time.Unix(1, 0)}},
	{SwapCandidate{Label: "garbage (not a JWT)", Token: "this-is-not-a-jwt"},
		DecodedToken{Fingerprint: "9a9a9a9a", Kind: "not a JWT", Error: "not a decodable JWT: it has 1 part(s) separated by dots, a JWT has three"}},
}

// DecodeToken knows the stub's candidates; anything else is not a JWT.
func (c *stubConn) DecodeToken(token string) DecodedToken {
	for _, t := range stubTokens {
		if t.cand.Token == token {
			return t.dec
		}
	}
	return DecodedToken{Fingerprint: "00000000", Kind: "not a JWT", Error: "not a decodable JWT (the stub knows only its candidates)"}
}

// SwapCandidates returns the stub's candidates.
func (c *stubConn) SwapCandidates() []SwapCandidate {
	out := make([]SwapCandidate, len(stubTokens))
	for i, t := range stubTokens {
		out[i] = t.cand
	}
	return out
}

// SwapToken records the swap; with reconnect, an expired token is refused
// as KalamDB refuses it.
func (c *stubConn) SwapToken(_ context.Context, token string, once, reconnect bool) error {
	d := c.DecodeToken(token)
	c.snap.Token.Swap = &TokenSwapInfo{Fingerprint: d.Fingerprint, Kind: d.Kind, Subject: d.Subject, ExpiresAt: d.ExpiresAt, Once: once, Since: c.now()}
	c.snap.Rotations = append(c.snap.Rotations, Rotation{Time: c.now(), Trigger: "swap", Method: "swap", OK: true,
		NewFinger: d.Fingerprint, Answer: "swapped in token " + d.Fingerprint})
	if !reconnect {
		return nil
	}
	why := "it is not a JWT"
	if d.Valid {
		if d.ExpiresAt.After(c.now()) {
			c.snap.Rotations = append(c.snap.Rotations, Rotation{Time: c.now(), Trigger: "reconnect", Method: "swap", OK: true,
				NewFinger: d.Fingerprint, Answer: "auth_success as " + d.Subject})
			return nil
		}
		why = "it expired at " + d.ExpiresAt.UTC().Format(time.DateTime) + " UTC"
	}
	err := fmt.Errorf("connect: server refused the token (Invalid credentials): %s", why)
	c.snap.Rotations = append(c.snap.Rotations, Rotation{Time: c.now(), Trigger: "reconnect", Method: "swap", Err: err.Error(), NewFinger: d.Fingerprint})
	return err
}

// ClearSwap ends the stub's swap.
func (c *stubConn) ClearSwap(context.Context) error {
	if c.snap.Token.Swap == nil {
		return fmt.Errorf("no token is swapped in")
	}
	c.snap.Token.Swap = nil
	c.snap.Rotations = append(c.snap.Rotations, Rotation{Time: c.now(), Trigger: "swap cleared", Method: "swap", OK: true, Answer: "swap cleared"})
	return nil
}
