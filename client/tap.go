package client

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/redact"
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

// headerText renders headers sorted, redacting secret values unless
// reveal (redact.Header keeps the auth scheme, so "Bearer" vs "Basic"
// stays visible).
func headerText(h http.Header, reveal bool) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		for _, v := range h[k] {
			if !reveal {
				v = redact.Header(k, v)
			}
			fmt.Fprintf(&sb, "%s: %s\r\n", k, v)
		}
	}
	return sb.String()
}

// redactJSON returns b with the values of secret keys replaced, or b
// itself when reveal is set or nothing matched. It never modifies b.
func redactJSON(b []byte, reveal bool) []byte {
	if reveal {
		return b
	}
	return redact.JSON(b)
}

func (c *Client) tapHTTPRequest(kind string, req *http.Request, body []byte) {
	if c.tap == nil {
		return
	}
	c.tapFrame(HTTPRequestFrame(kind, req, body, c.o.revealSecrets))
}

func (c *Client) tapHTTPResponse(kind string, status int, h http.Header, body []byte, d time.Duration, err error) {
	if c.tap == nil {
		return
	}
	c.tapFrame(HTTPResponseFrame(kind, status, h, body, d, err, c.o.revealSecrets))
}

// HTTPRequestFrame is the tapped frame of an HTTP request of the given
// kind ("POST /v1/api/auth/login"): its request line, headers and body,
// secrets redacted unless reveal. kalamdash proxy taps the requests it
// relays with it, so they read like the client's own.
func HTTPRequestFrame(kind string, req *http.Request, body []byte, reveal bool) Frame {
	var w bytes.Buffer
	host := req.URL.Host
	if host == "" {
		host = req.Host
	}
	fmt.Fprintf(&w, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), host)
	w.WriteString(headerText(req.Header, reveal))
	w.WriteString("\r\n")
	red := redactJSON(body, reveal)
	w.Write(red)
	return Frame{Direction: Outbound, Opcode: OpHTTP, Encoding: EncJSON, Type: kind,
		Wire: w.Bytes(), WireSize: len(body), Decoded: bytes.Clone(red), DecodedSize: len(body)}
}

// HTTPResponseFrame is the tapped frame of the answer to a request of the
// given kind: status 0 and err when no answer came, else its status line,
// headers and body, secrets redacted unless reveal.
func HTTPResponseFrame(kind string, status int, h http.Header, body []byte, d time.Duration, err error, reveal bool) Frame {
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
	return f
}
