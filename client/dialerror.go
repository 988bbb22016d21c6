package client

// This file explains a WebSocket upgrade that failed: from the status,
// headers and body the server (or something in between) answered with —
// 503 when it has no socket for us (shutting down, all
// performance.max_connections slots taken, or too many connections from
// one address), 429 when this address sent too many requests or is
// banned, 403 for an origin it does not allow, 404/400/426 for a wrong
// address or a proxy (KalamDB answers 400 to an upgrade missing headers)
// — or from the network error when nothing answered.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// maxRefusalBody bounds what is read of a refused upgrade's body.
const maxRefusalBody = 1 << 10

// tooManyConnections is the per-address refusal's JSON body.
type tooManyConnections struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Current int    `json:"current"`
	Max     int    `json:"max"`
}

// dialError explains a failed upgrade; status is 0 when nothing answered,
// reason the status line's text after the code.
func (c *Client) dialError(target string, status int, reason string, h http.Header, body []byte, err error) error {
	switch {
	case status == http.StatusServiceUnavailable:
		return noSocket(target, h, body)
	case status == http.StatusTooManyRequests:
		return throttled(target, h, body)
	case status == http.StatusForbidden:
		return &Error{Kind: KindOther, Op: "connect", Status: status,
			Message: fmt.Sprintf("%s refused the upgrade (403 %q)", target, refusalText(body)),
			hint:    "the server checks the Origin header of WebSocket upgrades: allow this client's origin in its CORS settings"}
	case status == http.StatusNotFound:
		return &Error{Kind: KindNotKalamDB, Op: "connect", Status: status, Message: fmt.Sprintf("%s answered 404: wrong path prefix, or not a KalamDB server", target), Err: err}
	case status == http.StatusUpgradeRequired || status == http.StatusBadRequest && (c.st.httpAnswered.Load() || actixRefusals[reason]):
		// The server wanted an upgrade it did not get (KalamDB's actix
		// answers 400 naming the missing header, coder/websocket 426), and
		// the scheme is right (the same address answered HTTP in JSON, or
		// the reason is actix's): something in between dropped or mangled
		// the Upgrade/Connection/Sec-WebSocket-* headers.
		said := ""
		if actixRefusals[reason] {
			said = fmt.Sprintf(" (%q)", reason)
		}
		return &Error{Kind: KindNotKalamDB, Op: "connect", Status: status, hint: upgradeHint,
			// No Err: the library's text only repeats the status.
			Message: fmt.Sprintf("%s answered HTTP %d%s to the WebSocket upgrade: a proxy in between does not forward WebSockets", target, status, said)}
	case status == http.StatusBadRequest && strings.HasPrefix(target, "ws://"):
		return &Error{Kind: KindNotKalamDB, Op: "connect", Status: status, Message: "upgrade answered HTTP 400: if the server uses TLS, use https:// or wss://", Err: err}
	case status != 0 && status != http.StatusSwitchingProtocols:
		return &Error{Kind: KindNotKalamDB, Op: "connect", Status: status, Message: fmt.Sprintf("upgrade answered HTTP %d, not a WebSocket: not KalamDB?", status), Err: err}
	}
	return classifyNetErr("connect", target, err)
}

// actixRefusals are the reason phrases of the 400s with which KalamDB's
// actix refuses a request for /v1/ws that is not a complete WebSocket
// upgrade; this client always sends one, so such an answer means that
// something in between took headers out (actix/actix-web:
// actix-http/src/ws/mod.rs, From<HandshakeError> for Response). Only these
// known phrases are quoted back: a reason phrase is the server's text.
var actixRefusals = map[string]bool{
	"No WebSocket Upgrade header found":    true,
	"No Connection upgrade":                true,
	"WebSocket version header is required": true,
	"Unsupported WebSocket version":        true,
	"Handshake error":                      true,
}

// noSocket describes a 503 answer to the upgrade: the per-address guard's
// JSON, or the registry's plain "Server shutting down".
func noSocket(target string, h http.Header, body []byte) *Error {
	retry := ""
	if ra := h.Get("Retry-After"); ra != "" {
		retry = fmt.Sprintf(" (Retry-After: %s s)", ra)
	}
	wait := retryAfter(h, time.Now())
	var tm tooManyConnections
	if json.Unmarshal(body, &tm) == nil && tm.Error == "TOO_MANY_CONNECTIONS" {
		return &Error{Kind: KindUnreachable, Op: "connect", Status: http.StatusServiceUnavailable, Code: tm.Error, RetryAfter: wait,
			Message: fmt.Sprintf("%s refused the socket: too many connections from this address (%d of %d)%s", target, tm.Current, tm.Max, retry),
			hint:    "close other connections from this machine (or from the proxy in front of it); the dashboard keeps retrying"}
	}
	return &Error{Kind: KindUnreachable, Op: "connect", Status: http.StatusServiceUnavailable, RetryAfter: wait,
		Message: fmt.Sprintf("%s refused the socket (503 %q)%s: the server is shutting down or all its WebSocket slots are taken", target, refusalText(body), retry),
		hint:    "wait for the server to come back or free a slot (performance.max_connections); the dashboard keeps retrying"}
}

// guardRefusal is the JSON body of KalamDB's connection-protection 429s.
type guardRefusal struct {
	Error             string `json:"error"`
	Message           string `json:"message"`
	RetryAfterSeconds int    `json:"retry_after_seconds"`
}

// throttled describes a 429 answer to the upgrade. KalamDB's
// connection-protection middleware checks the upgrade like any request
// (jamals86/KalamDB: backend/src/middleware.rs, backend/src/connection_guard.rs):
// RATE_LIMIT_EXCEEDED when the address sends more than its requests per
// second, IP_BANNED once it has been refused ten times or more.
func throttled(target string, h http.Header, body []byte) *Error {
	wait := retryAfter(h, time.Now())
	var g guardRefusal
	_ = json.Unmarshal(body, &g)
	if wait == 0 && g.RetryAfterSeconds > 0 {
		wait = min(time.Duration(g.RetryAfterSeconds)*time.Second, maxRetryAfter)
	}
	e := &Error{Kind: KindRateLimited, Op: "connect", Status: http.StatusTooManyRequests, Code: g.Error, RetryAfter: wait, hint: guardHint(g.Error)}
	switch g.Error {
	case "IP_BANNED":
		e.Message = target + " refused the socket: this address is banned for sending too many requests"
	case "RATE_LIMIT_EXCEEDED":
		e.Message = target + " refused the socket: too many requests from this address"
	default:
		e.Code = ""
		e.Message = fmt.Sprintf("%s refused the socket: rate limited (429 %q)", target, refusalText(body))
	}
	if wait > 0 {
		e.Message += fmt.Sprintf(" (retry after %d s)", int(wait.Seconds()))
	}
	return e
}

// guardHint is the advice for a refusal by KalamDB's connection
// protection, by its code ("" for other codes). A ban lasts 300 s per ten
// refusals, up to 30 minutes, though the answer always says 300 s.
func guardHint(code string) string {
	switch code {
	case "IP_BANNED":
		return "wait, then retry: a ban lasts 5 minutes, longer after repeated bans (up to 30); reconnects wait at least the Retry-After"
	case "RATE_LIMIT_EXCEEDED":
		return "slow down, then retry: the server allows each address so many requests per second, and ten refusals get it banned; reconnects wait at least the Retry-After"
	}
	return ""
}

// refusalText is a refusal's body as text, or says there was none.
func refusalText(body []byte) string {
	if t := strings.TrimSpace(string(body)); t != "" {
		return t
	}
	return "no reason given"
}

// upgradeHint is the advice for a WebSocket upgrade that a peer cut off or
// answered without a proper handshake: typically a proxy that forwards
// HTTP but not WebSockets.
const upgradeHint = "check that proxies in between pass the Upgrade and Connection headers (WebSockets), and that the server is running"

// wsDialCause returns what a coder/websocket dial error wraps, without the
// library's "failed to WebSocket dial: failed to send handshake request: "
// prefixes: the handshake request's own error (Get "…/v1/ws": EOF), or the
// handshake violation. ok is false for any other error.
func wsDialCause(err error) (cause error, ok bool) {
	if !strings.HasPrefix(err.Error(), "failed to WebSocket dial: ") {
		return nil, false
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue, true
	}
	if inner := errors.Unwrap(err); inner != nil {
		return inner, true
	}
	return nil, false
}

// classifyUpgradeErr classifies the cause of a failed WebSocket dial. A
// connection cut during the upgrade, or an upgrade answer that is not a
// WebSocket handshake, says so and points at proxies.
func classifyUpgradeErr(op, target string, cause error) *Error {
	if strings.HasPrefix(cause.Error(), "WebSocket protocol violation") {
		return &Error{Kind: KindNotKalamDB, Op: op, Err: cause, hint: upgradeHint,
			Message: fmt.Sprintf("%s answered the WebSocket upgrade without a valid handshake", target)}
	}
	e := classifyNetErr(op, target, cause)
	switch {
	case e.Kind != KindUnreachable:
	case errors.Is(cause, io.EOF), errors.Is(cause, io.ErrUnexpectedEOF):
		e.Message = fmt.Sprintf("%s closed the connection during the WebSocket upgrade: a proxy that does not forward WebSockets, or the server crashed", target)
		e.hint = upgradeHint
	case errors.Is(cause, syscall.ECONNRESET):
		e.Message = fmt.Sprintf("%s reset the connection during the WebSocket upgrade: a proxy that does not forward WebSockets, or the server crashed", target)
		e.hint = upgradeHint
	}
	return e
}
