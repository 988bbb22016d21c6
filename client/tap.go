package client

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Frames returns the frame tap: every WebSocket frame in both directions
// (text, binary, ping, pong, close) and every HTTP exchange, as copies
// with secrets redacted (unless WithRevealSecrets). The channel is bounded
// (WithTapBuffer); when it is full, frames are dropped from the tap —
// never from the protocol — and counted in TapDrops. It is nil if the tap
// is disabled, and closed by Close.
func (c *Client) Frames() <-chan Frame { return c.tap }

// TapDrops returns how many frames the tap dropped because its consumer
// was slow.
func (c *Client) TapDrops() uint64 { return c.st.tapDrops.Load() }

// tapFrame hands f to the tap without blocking.
func (c *Client) tapFrame(f Frame) {
	if c.tap == nil {
		return
	}
	if f.Time.IsZero() {
		f.Time = c.now() // before the lock: an injected clock is user code
	}
	c.emitMu.RLock()
	defer c.emitMu.RUnlock()
	if c.chClosed {
		return
	}
	f.Seq = c.st.tapSeq.Add(1)
	select {
	case c.tap <- f:
	default:
		c.st.tapDrops.Add(1)
	}
}

// secretJSON matches the string values of secret keys in JSON text. A
// regexp (not decode/encode) keeps the frame byte-for-byte as sent apart
// from the secret itself.
var secretJSON = regexp.MustCompile(`("(?:token|access_token|refresh_token|password|root_password|jwt_secret)"\s*:\s*)"(?:[^"\\]|\\.)*"`)

// redactJSON returns b with secret values replaced, or b itself when
// reveal is set or nothing matched. It never modifies b.
func redactJSON(b []byte, reveal bool) []byte {
	if reveal || len(b) == 0 || !secretJSON.Match(b) {
		return b
	}
	return secretJSON.ReplaceAll(b, []byte(`${1}"`+Redacted+`"`))
}

var secretHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Set-Cookie": true, "Proxy-Authorization": true}

// headerText renders headers sorted, redacting secret values (keeping the
// auth scheme so "Bearer" vs "Basic" stays visible).
func headerText(h http.Header, reveal bool) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			if secretHeaders[http.CanonicalHeaderKey(k)] && !reveal {
				if scheme, _, ok := strings.Cut(v, " "); ok && http.CanonicalHeaderKey(k) != "Set-Cookie" && http.CanonicalHeaderKey(k) != "Cookie" {
					v = scheme + " " + Redacted
				} else if name, _, ok := strings.Cut(v, "="); ok {
					v = name + "=" + Redacted
				} else {
					v = Redacted
				}
			}
			fmt.Fprintf(&sb, "%s: %s\r\n", k, v)
		}
	}
	return sb.String()
}

func (c *Client) tapHTTPRequest(kind string, req *http.Request, body []byte) {
	if c.tap == nil {
		return
	}
	reveal := c.o.revealSecrets
	var w bytes.Buffer
	fmt.Fprintf(&w, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.URL.Host)
	w.WriteString(headerText(req.Header, reveal))
	w.WriteString("\r\n")
	red := redactJSON(body, reveal)
	w.Write(red)
	c.tapFrame(Frame{Direction: Outbound, Opcode: OpHTTP, Encoding: EncJSON, Type: kind,
		Wire: w.Bytes(), WireSize: len(body), Decoded: bytes.Clone(red), DecodedSize: len(body)})
}

func (c *Client) tapHTTPResponse(kind string, status int, h http.Header, body []byte, d time.Duration, err error) {
	if c.tap == nil {
		return
	}
	reveal := c.o.revealSecrets
	f := Frame{Direction: Inbound, Opcode: OpHTTP, Encoding: EncJSON, Type: kind, Status: status, Duration: d,
		WireSize: len(body), DecodedSize: len(body)}
	if err != nil {
		f.Err = err.Error()
	}
	if status != 0 {
		var w bytes.Buffer
		fmt.Fprintf(&w, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
		w.WriteString(headerText(h, reveal))
		w.WriteString("\r\n")
		red := redactJSON(body, reveal)
		w.Write(red)
		f.Wire = w.Bytes()
		f.Decoded = bytes.Clone(red)
	}
	c.tapFrame(f)
}
