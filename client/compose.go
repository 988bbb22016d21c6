package client

import (
	"context"
	"encoding/json"
	"fmt"
)

// MaxComposedFrame bounds a frame sent with SendText. KalamDB's own limit
// is lower (1 MiB answers MESSAGE_TOO_LARGE, and a frame over 64 KiB most
// likely kills the socket), so testing those limits stays possible.
const MaxComposedFrame = 4 << 20

// SendText writes text, exactly as given, as one WebSocket text frame on
// the live socket, and taps it marked Composed. It is for poking the
// server by hand: the text need not be valid JSON nor a message KalamDB
// knows, and the server's answer (an error frame, an ack, a close with
// 1011 for what it cannot parse) arrives in the tap like any other frame.
//
// The client does not track what is sent this way: a composed subscribe
// creates no Subscription (its frames are tapped, not delivered), although
// one reusing the id of a live Subscription is answered into it. It fails
// when no socket is up; it never dials one.
func (c *Client) SendText(ctx context.Context, text string) error {
	if len(text) > MaxComposedFrame {
		return &Error{Kind: KindOther, Op: "send", Message: fmt.Sprintf("the frame is %d bytes; composed frames are limited to %d", len(text), MaxComposedFrame)}
	}
	c.mu.Lock()
	closed, wc, state := c.closed, c.conn, c.state
	c.mu.Unlock()
	switch {
	case closed:
		return ErrClientClosed
	case wc == nil:
		return &Error{Kind: KindClosed, Op: "send", Message: fmt.Sprintf("no socket is up (%s): send again once it is connected", state)}
	}
	typ, sid := peekMessage([]byte(text))
	if err := wc.write(ctx, []byte(text), typ, sid, true); err != nil {
		return classifyNetErr("send", c.URL(), err)
	}
	return nil
}

// peekMessage reads the type and subscription id of a client message for
// the tap, leniently: a member of the wrong type is skipped, and text that
// is not a JSON object yields "", "".
func peekMessage(b []byte) (typ, sid string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return "", ""
	}
	str := func(raw json.RawMessage) string {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	typ, sid = str(m["type"]), str(m["subscription_id"])
	if sid == "" {
		var sub map[string]json.RawMessage
		if json.Unmarshal(m["subscription"], &sub) == nil {
			sid = str(sub["id"])
		}
	}
	return typ, sid
}
