package client

// This file explains a WebSocket upgrade the server refused with a body of
// its own: 503 when it has no socket for us (shutting down, all
// performance.max_connections slots taken, or too many connections from
// one address) and 403 for an origin it does not allow.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
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

// upgradeRefusal describes a 503 or 403 answer to the upgrade from its
// body and headers; nil for any other status.
func upgradeRefusal(target string, status int, h http.Header, body []byte) *Error {
	text := strings.TrimSpace(string(body))
	switch status {
	case http.StatusServiceUnavailable:
		retry := ""
		if ra := h.Get("Retry-After"); ra != "" {
			retry = fmt.Sprintf(" (Retry-After: %s s)", ra)
		}
		wait := retryAfter(h, time.Now())
		var tm tooManyConnections
		if json.Unmarshal(body, &tm) == nil && tm.Error == "TOO_MANY_CONNECTIONS" {
			return &Error{Kind: KindUnreachable, Op: "connect", Status: status, Code: tm.Error, RetryAfter: wait,
				Message: fmt.Sprintf("%s refused the socket: too many connections from this address (%d of %d)%s", target, tm.Current, tm.Max, retry),
				hint:    "close other connections from this machine (or from the proxy in front of it); the dashboard keeps retrying"}
		}
		if text == "" {
			text = "no reason given"
		}
		return &Error{Kind: KindUnreachable, Op: "connect", Status: status, RetryAfter: wait,
			Message: fmt.Sprintf("%s refused the socket (503 %q)%s: the server is shutting down or all its WebSocket slots are taken", target, text, retry),
			hint:    "wait for the server to come back or free a slot (performance.max_connections); the dashboard keeps retrying"}
	case http.StatusForbidden:
		if text == "" {
			text = "no reason given"
		}
		return &Error{Kind: KindOther, Op: "connect", Status: status,
			Message: fmt.Sprintf("%s refused the upgrade (403 %q)", target, text),
			hint:    "the server checks the Origin header of WebSocket upgrades: allow this client's origin in its CORS settings"}
	}
	return nil
}
