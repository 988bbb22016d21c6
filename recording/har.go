package recording

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) with the
// Chrome DevTools extension for WebSockets: an entry per socket with
// "_resourceType": "websocket" and "_webSocketMessages". Fields starting
// with "_" are extensions the spec allows; DevTools reads the two above.

// HARFile is the top-level HAR object.
type HARFile struct {
	Log HARLog `json:"log"`
}

// HARLog is the HAR "log" object.
type HARLog struct {
	Version string     `json:"version"`
	Creator HARCreator `json:"creator"`
	Pages   []HARPage  `json:"pages"`
	Entries []HAREntry `json:"entries"`
	Comment string     `json:"comment,omitempty"`
}

// HARCreator names the exporting tool.
type HARCreator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// HARPage is one page (kalamdash writes one per recording).
type HARPage struct {
	StartedDateTime string         `json:"startedDateTime"`
	ID              string         `json:"id"`
	Title           string         `json:"title"`
	PageTimings     HARPageTimings `json:"pageTimings"`
}

// HARPageTimings are required by the spec; kalamdash has none (-1).
type HARPageTimings struct {
	OnContentLoad float64 `json:"onContentLoad"`
	OnLoad        float64 `json:"onLoad"`
}

// HAREntry is one HTTP exchange or one WebSocket.
type HAREntry struct {
	Pageref           string       `json:"pageref,omitempty"`
	StartedDateTime   string       `json:"startedDateTime"`
	Time              float64      `json:"time"` // ms
	Request           HARRequest   `json:"request"`
	Response          HARResponse  `json:"response"`
	Cache             struct{}     `json:"cache"`
	Timings           HARTimings   `json:"timings"`
	Comment           string       `json:"comment,omitempty"`
	ResourceType      string       `json:"_resourceType,omitempty"`
	WebSocketMessages []HARMessage `json:"_webSocketMessages,omitempty"`
	Error             string       `json:"_error,omitempty"`
}

// HARRequest is a HAR request.
type HARRequest struct {
	Method      string         `json:"method"`
	URL         string         `json:"url"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []HARNameValue `json:"cookies"`
	Headers     []HARNameValue `json:"headers"`
	QueryString []HARNameValue `json:"queryString"`
	PostData    *HARPostData   `json:"postData,omitempty"`
	HeadersSize int            `json:"headersSize"`
	BodySize    int            `json:"bodySize"`
}

// HARResponse is a HAR response.
type HARResponse struct {
	Status      int            `json:"status"`
	StatusText  string         `json:"statusText"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []HARNameValue `json:"cookies"`
	Headers     []HARNameValue `json:"headers"`
	Content     HARContent     `json:"content"`
	RedirectURL string         `json:"redirectURL"`
	HeadersSize int            `json:"headersSize"`
	BodySize    int            `json:"bodySize"`
}

// HARNameValue is a header, cookie or query parameter.
type HARNameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// HARPostData is a request body.
type HARPostData struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
}

// HARContent is a response body.
type HARContent struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"` // "base64" for binary text
}

// HARTimings are an entry's phases in ms (-1: not applicable).
type HARTimings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl"`
}

// HARMessage is one WebSocket message in Chrome's shape.
type HARMessage struct {
	Type   string  `json:"type"`   // "send" or "receive"
	Time   float64 `json:"time"`   // Unix time in seconds
	Opcode int     `json:"opcode"` // 1 text, 2 binary (data is base64)
	Data   string  `json:"data"`
	// Decoded is the decoded JSON of a binary (gzip or MessagePack) frame,
	// a kalamdash extension so the HAR stays readable.
	Decoded string `json:"_decoded,omitempty"`
	// Composed marks a message written by hand in the frame composer
	// rather than by the client's protocol code (a kalamdash extension).
	Composed bool `json:"_composed,omitempty"`
	// Error is what went wrong with the message: an inbound frame that
	// did not decode, or a send whose write failed (so it may never have
	// reached the server). A kalamdash extension.
	Error string `json:"_error,omitempty"`
}

// HAR converts a recording to HAR 1.2: one entry per HTTP exchange
// (request and response paired by kind, in order) and one per WebSocket
// connection with its text and binary messages. Control frames (ping,
// pong, close) have no place in DevTools' shape and are left out; the
// close code and reason go in the entry's comment. The recording's
// redaction carries over as is.
func HAR(rec *Recording, toolVersion string) *HARFile {
	h := &HARFile{Log: HARLog{Version: "1.2", Creator: HARCreator{Name: "kalamdash", Version: toolVersion},
		Pages: []HARPage{}, Entries: []HAREntry{}}}
	if toolVersion == "" {
		h.Log.Creator.Version = rec.Header.ToolVersion
	}
	if rec.Header.SecretsRevealed {
		h.Log.Comment = "recorded with --reveal-secrets: holds tokens and passwords in clear"
	}
	started := rec.Header.StartedAt
	if started.IsZero() && len(rec.Frames) > 0 {
		started = rec.Frames[0].Time
	}
	h.Log.Pages = append(h.Log.Pages, HARPage{StartedDateTime: harTime(started), ID: "page_1",
		Title: "kalamdash recording of " + rec.Header.ServerURL, PageTimings: HARPageTimings{OnContentLoad: -1, OnLoad: -1}})

	base, _ := url.Parse(rec.Header.ServerURL)
	pending := map[string][]client.Frame{} // HTTP requests by kind, oldest first
	sockets := map[uint64]*HAREntry{}
	var socketOrder []uint64
	var upgrade *HAREntry // last 101 exchange not yet given to a socket
	type timed struct {
		t time.Time
		e HAREntry
	}
	var entries []timed

	for _, f := range rec.Frames {
		switch {
		case f.Opcode == client.OpHTTP && f.Direction == client.Outbound:
			pending[f.Type] = append(pending[f.Type], f)
		case f.Opcode == client.OpHTTP:
			var req *client.Frame
			if q := pending[f.Type]; len(q) > 0 {
				req, pending[f.Type] = &q[0], q[1:]
			}
			he := httpEntry(base, req, &f)
			if f.Status == http.StatusSwitchingProtocols {
				// The upgrade of the socket whose frames come next:
				// it becomes that socket's entry.
				upgrade = &he
				continue
			}
			entries = append(entries, timed{f.Time, he})
		case f.ConnID != 0:
			e := sockets[f.ConnID]
			if e == nil {
				e = wsEntry(base, rec.Header.Options, f, upgrade)
				upgrade = nil
				sockets[f.ConnID] = e
				socketOrder = append(socketOrder, f.ConnID)
			}
			addWSFrame(e, f)
		}
	}
	for _, q := range pending { // requests that never got an answer
		for i := range q {
			entries = append(entries, timed{q[i].Time, httpEntry(base, &q[i], nil)})
		}
	}
	for _, id := range socketOrder {
		t, _ := time.Parse(time.RFC3339Nano, sockets[id].StartedDateTime)
		entries = append(entries, timed{t, *sockets[id]})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].t.Before(entries[j].t) })
	for _, e := range entries {
		h.Log.Entries = append(h.Log.Entries, e.e)
	}
	return h
}

// WriteHAR writes rec as an indented HAR 1.2 document.
func WriteHAR(w io.Writer, rec *Recording, toolVersion string) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(HAR(rec, toolVersion)); err != nil {
		return fmt.Errorf("write HAR: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write HAR: %w", err)
	}
	return nil
}

func harTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// httpEntry builds an entry from a tapped request and response; either
// may be nil (no answer, or an answer whose request was not recorded).
func httpEntry(base *url.URL, req, resp *client.Frame) HAREntry {
	e := HAREntry{Pageref: "page_1", Request: HARRequest{HTTPVersion: "HTTP/1.1", Cookies: []HARNameValue{},
		Headers: []HARNameValue{}, QueryString: []HARNameValue{}, HeadersSize: -1, BodySize: 0},
		Response: HARResponse{HTTPVersion: "HTTP/1.1", Cookies: []HARNameValue{}, Headers: []HARNameValue{},
			HeadersSize: -1, BodySize: -1, Content: HARContent{MimeType: "x-unknown"}},
		Timings: HARTimings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1}}
	kind := ""
	if req != nil {
		kind = req.Type
		e.StartedDateTime = harTime(req.Time)
		method, target, headers, body := ParseHTTP(req.Wire)
		if method == "" {
			method, target, _ = strings.Cut(req.Type, " ")
		}
		e.Request.Method = method
		e.Request.URL = resolve(base, target)
		e.Request.Headers = headers
		if u, err := url.Parse(e.Request.URL); err == nil {
			for k, vs := range u.Query() {
				for _, v := range vs {
					e.Request.QueryString = append(e.Request.QueryString, HARNameValue{k, v})
				}
			}
		}
		e.Request.BodySize = req.WireSize
		if len(body) > 0 {
			e.Request.PostData = &HARPostData{MimeType: headerValue(headers, "Content-Type", "application/json"), Text: string(body)}
		}
	}
	if resp != nil {
		if req == nil {
			kind = resp.Type
			e.StartedDateTime = harTime(resp.Time.Add(-resp.Duration))
			method, target, _ := strings.Cut(resp.Type, " ")
			e.Request.Method, e.Request.URL = method, resolve(base, target)
		}
		e.Time = ms(resp.Duration)
		e.Timings.Wait = ms(resp.Duration)
		e.Response.Status = resp.Status
		e.Response.StatusText = http.StatusText(resp.Status)
		e.Response.BodySize = resp.WireSize
		e.Error = resp.Err
		if resp.Status != 0 {
			_, _, headers, body := ParseHTTP(resp.Wire)
			e.Response.Headers = headers
			e.Response.Content = HARContent{Size: resp.DecodedSize, MimeType: headerValue(headers, "Content-Type", "application/json")}
			if len(body) > 0 {
				e.Response.Content.Text = string(body)
			}
		}
	} else {
		e.Error = "no response recorded"
	}
	if e.Request.Method == "" {
		e.Request.Method = "GET"
	}
	e.Comment = kind
	return e
}

// ParseHTTP splits the tap's rendering of a request or response
// ("LINE\r\nHeader: v\r\n…\r\n\r\nbody") into its parts. For a request,
// method and target come from the request line; Host is left out of the
// headers (it is in the URL).
func ParseHTTP(wire []byte) (method, target string, headers []HARNameValue, body []byte) {
	headers = []HARNameValue{}
	head, body, ok := bytes.Cut(wire, []byte("\r\n\r\n"))
	if !ok {
		return "", "", headers, nil
	}
	lines := strings.Split(string(head), "\r\n")
	if first := strings.Fields(lines[0]); len(first) >= 2 && !strings.HasPrefix(first[0], "HTTP/") {
		method, target = first[0], first[1]
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		headers = append(headers, HARNameValue{k, v})
	}
	return method, target, headers, body
}

func headerValue(h []HARNameValue, name, def string) string {
	for _, nv := range h {
		if strings.EqualFold(nv.Name, name) {
			return nv.Value
		}
	}
	return def
}

func resolve(base *url.URL, target string) string {
	if base == nil || base.Host == "" {
		return target
	}
	u, err := base.Parse(target)
	if err != nil {
		return target
	}
	return u.String()
}

// wsEntry starts the entry of the socket that carried f, from its tapped
// upgrade exchange when there is one.
func wsEntry(base *url.URL, o Options, f client.Frame, up *HAREntry) *HAREntry {
	u := "ws://unknown/v1/ws"
	if base != nil && base.Host != "" {
		w := *base
		w.Scheme = map[string]string{"https": "wss", "wss": "wss"}[base.Scheme]
		if w.Scheme == "" {
			w.Scheme = "ws"
		}
		w.Path = strings.TrimSuffix(base.Path, "/") + "/v1/ws"
		q := url.Values{}
		if o.NoCompress {
			q.Set("compress", "false")
		}
		if o.Serialization == "msgpack" {
			q.Set("serialization", "msgpack")
		}
		w.RawQuery = q.Encode()
		u = w.String()
	}
	if up != nil {
		// The tapped upgrade: real request headers (redacted) and URL.
		e := *up
		e.ResourceType, e.WebSocketMessages = "websocket", []HARMessage{}
		if wu, err := url.Parse(e.Request.URL); err == nil {
			wu.Scheme = map[string]string{"https": "wss"}[wu.Scheme]
			if wu.Scheme == "" {
				wu.Scheme = "ws"
			}
			e.Request.URL = wu.String()
		}
		e.Comment = "WebSocket connection " + strconv.FormatUint(f.ConnID, 10)
		return &e
	}
	e := &HAREntry{Pageref: "page_1", StartedDateTime: harTime(f.Time), ResourceType: "websocket",
		WebSocketMessages: []HARMessage{},
		Request: HARRequest{Method: "GET", URL: u, HTTPVersion: "HTTP/1.1", Cookies: []HARNameValue{},
			Headers: []HARNameValue{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}}, QueryString: []HARNameValue{},
			HeadersSize: -1, BodySize: 0},
		Response: HARResponse{Status: http.StatusSwitchingProtocols, StatusText: "Switching Protocols", HTTPVersion: "HTTP/1.1",
			Cookies: []HARNameValue{}, Headers: []HARNameValue{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
			Content: HARContent{MimeType: "x-unknown"}, RedirectURL: "", HeadersSize: -1, BodySize: 0},
		Timings: HARTimings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1},
		Comment: "WebSocket connection " + strconv.FormatUint(f.ConnID, 10)}
	if uq, err := url.Parse(u); err == nil {
		for k, vs := range uq.Query() {
			for _, v := range vs {
				e.Request.QueryString = append(e.Request.QueryString, HARNameValue{k, v})
			}
		}
	}
	return e
}

// addWSFrame adds f to its socket's entry and stretches the entry's time.
func addWSFrame(e *HAREntry, f client.Frame) {
	start, _ := time.Parse(time.RFC3339Nano, e.StartedDateTime)
	e.Time = ms(f.Time.Sub(start))
	e.Timings.Receive = e.Time
	typ := "receive"
	if f.Direction == client.Outbound {
		typ = "send"
	}
	if f.Direction == client.Outbound && f.Opcode == client.OpText && f.Err != "" && len(f.Wire) == 0 {
		// The client's mark of a failed write (client.WriteFailed): it
		// follows the frame it marks, which it annotates here instead of
		// adding an empty message.
		for i := len(e.WebSocketMessages) - 1; i >= 0; i-- {
			if e.WebSocketMessages[i].Type == "send" {
				e.WebSocketMessages[i].Error = f.Err
				return
			}
		}
	}
	m := HARMessage{Type: typ, Time: float64(f.Time.UnixNano()) / 1e9, Composed: f.Composed, Error: f.Err}
	switch f.Opcode {
	case client.OpText:
		m.Opcode, m.Data = 1, string(f.Wire)
	case client.OpBinary:
		m.Opcode, m.Data, m.Decoded = 2, base64.StdEncoding.EncodeToString(f.Wire), string(f.Decoded)
	case client.OpClose:
		e.Comment += fmt.Sprintf("; close %s %d %q", map[string]string{"send": "sent", "receive": "received"}[typ], f.CloseCode, f.CloseReason)
		return
	default:
		return
	}
	e.WebSocketMessages = append(e.WebSocketMessages, m)
}
