package ui

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// This file holds an in-memory backend with fixed, deterministic data. It
// backs Screens (documentation screenshots), the unit tests and the
// benchmark. It does no I/O and starts no goroutines.

// stubEpoch is the fixed "now" of stub screens.
var stubEpoch = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type stubBackend struct {
	// redact masks secrets (Backend.Redact); nil masks nothing, which suits
	// the screens: the stub's frames are redacted already, as a real
	// backend's are. Tests give it package redact's Text.
	redact   func([]byte) []byte
	conns    []*stubConn
	events   chan Event
	openErr  error
	profiles []Profile
	now      func() time.Time
	readOnly bool // Open returns connections with no optional interface, like a recording's
	cluster  *stubCluster
}

func newStubBackend(now func() time.Time) *stubBackend {
	return &stubBackend{now: now, cluster: newStubCluster(now), profiles: []Profile{
		{Name: "local", URL: "http://localhost:8080", Auth: "password", User: "admin"},
		{Name: "staging", URL: "https://staging.example.com", Auth: "jwt"},
	}}
}

func (b *stubBackend) Open(_ context.Context, req LoginRequest) (Conn, error) {
	if b.openErr != nil {
		return nil, b.openErr
	}
	c := newStubConn(fmt.Sprintf("c%d", len(b.conns)+1), req, b.now)
	c.cluster, c.opened = b.cluster, &b.conns
	b.conns = append(b.conns, c)
	if b.readOnly {
		return readOnlyConn{c}, nil
	}
	return c, nil
}

func (b *stubBackend) Profiles() []Profile { return b.profiles }

// Redact implements Backend.
func (b *stubBackend) Redact(text []byte) []byte {
	if b.redact == nil {
		return text
	}
	return b.redact(text)
}
func (b *stubBackend) Events() <-chan Event {
	if b.events == nil {
		return nil
	}
	return b.events
}

// stubHintErr is an error carrying a hint, like the session adapter's.
type stubHintErr struct{ msg, hint string }

func (e stubHintErr) Error() string { return e.msg }
func (e stubHintErr) Hint() string  { return e.hint }

type stubConn struct {
	id       string
	snap     Snapshot
	log      *stubLog
	now      func() time.Time
	closed   bool
	refresh  int
	cluster  *stubCluster // the cluster it is a node of (stub_cluster.go)
	opened   *[]*stubConn // where OpenNode records the connections it opens
	compares int          // CompareReplica calls on this connection
}

func newStubConn(id string, req LoginRequest, now func() time.Time) *stubConn {
	t0 := now()
	iat := t0.Add(-95 * time.Second)
	c := &stubConn{id: id, now: now, log: &stubLog{}}
	c.snap = Snapshot{
		Name: req.Name, URL: req.URL, Node: req.URL, User: req.User, Role: "dba", Demo: true,
		State: "connected", Serialization: "json", NoCompress: req.NoCompress, ConnID: 1,
		Token: Token{
			Kind: "password", Source: "password login (" + req.User + ")", Subject: req.User, Role: "dba", Email: "admin@demo.kalamdb.local", Issuer: "kalamdb",
			TokenType: "access", IssuedAt: iat, ExpiresAt: iat.Add(2 * time.Minute),
			RefreshExpiresAt: iat.Add(10 * time.Minute), Fingerprint: "3fa9c1d2", Phase: "expiring",
			Leeway: 60 * time.Second,
		},
		Policy: Policy{Kind: "before-expiry", Interval: 20 * time.Second, NextAt: iat.Add(100 * time.Second)},
		Rotations: []Rotation{
			{Time: t0.Add(-9 * time.Minute), Trigger: "login", Latency: 14 * time.Millisecond, NewExp: t0.Add(-7 * time.Minute), OK: true, NewFinger: "a1b2c3d4"},
			{Time: t0.Add(-7*time.Minute - 20*time.Second), Trigger: "before-expiry", Latency: 9 * time.Millisecond, OldExp: t0.Add(-7 * time.Minute), NewExp: t0.Add(-5*time.Minute - 20*time.Second), OK: true, OldFinger: "a1b2c3d4", NewFinger: "77e0f1aa"},
			{Time: t0.Add(-5*time.Minute - 30*time.Second), Trigger: "manual", Latency: 2 * time.Second, OldExp: t0.Add(-5*time.Minute - 20*time.Second), OK: false, Err: "refresh token expired (401)"},
			{Time: t0.Add(-95 * time.Second), Trigger: "reconnect", Latency: 11 * time.Millisecond, OldExp: t0.Add(-5*time.Minute - 20*time.Second), NewExp: iat.Add(2 * time.Minute), OK: true, OldFinger: "77e0f1aa", NewFinger: "3fa9c1d2"},
		},
		Providers: []ProviderCall{
			{Time: t0.Add(-9 * time.Minute), Duration: 13 * time.Millisecond, Kind: "basic", Fingerprint: "a1b2c3d4"},
			{Time: t0.Add(-95 * time.Second), Duration: 10 * time.Millisecond, Kind: "basic", Fingerprint: "3fa9c1d2"},
		},
		Stats: Stats{
			FramesIn: 1234, FramesOut: 96, BytesIn: 389_000, BytesOut: 12_400,
			WireBytes: 389_000, DecodedBytes: 1_245_000, RTT: 3 * time.Millisecond,
			FramesPerSec: []float64{2, 3, 1, 4, 8, 12, 9, 5, 3, 2, 6, 14, 20, 11, 7, 4},
			BytesPerSec:  []float64{800, 900, 300, 1500, 4000, 6000, 4200, 2000, 1100, 700, 2500, 7000, 9900, 5000, 3000, 1600},
			LogLen:       1330,
		},
		Subs: []Sub{{
			ID: "events", SQL: "SELECT * FROM demo.events", Status: "ready", Columns: []string{"id", "kind", "payload", "_seq"}, PK: "id",
			LastSeq: 1042, Changes: 37,
			Rows: []Row{
				{Key: "101", Values: texts("101", "login", `{"user":"alice"}`, "1038")},
				{Key: "102", Values: texts("102", "click", `{"x":12,"y":40}`, "1039")},
				{Key: "103", Values: texts("103", "click", `{"x":80,"y":3}`, "1040"), Change: "update", ChangedAt: t0.Add(-time.Second)},
				{Key: "104", Values: texts("104", "logout", `{"user":"bob"}`, "1041")},
				{Key: "105", Values: texts("105", "purchase", `{"sku":"A-7","qty":2}`, "1042"), Change: "insert", ChangedAt: t0},
			},
		}, {
			ID: "metrics", SQL: "SELECT * FROM demo.metrics", Status: "loading", Columns: []string{"host", "cpu", "_seq"}, PK: "host",
			Gap: "seq jumped from 880 to 884 (3 changes missed)",
		}},
	}
	c.seed(t0)
	return c
}

// seed fills the frame log with a deterministic demo exchange.
func (c *stubConn) seed(t0 time.Time) {
	at := t0.Add(-90 * time.Second)
	step := func() time.Time { at = at.Add(137 * time.Millisecond); return at }
	gz := !c.snap.NoCompress
	c.log.add(Frame{Time: step(), Dir: "out", Opcode: "http", Encoding: "json", Type: "POST /v1/api/auth/login", Status: 200,
		Decoded: []byte(`{"user":"admin","password":"«redacted»"}`)})
	c.log.add(textFrame(step(), "out", "authenticate", "", `{"type":"authenticate","method":"jwt","token":"«redacted»","protocol":{"serialization":"json","compression":"gzip"}}`))
	c.log.add(textFrame(step(), "in", "auth_success", "", `{"type":"auth_success","user":"admin","role":"dba","protocol":{"serialization":"json","compression":"gzip"}}`))
	c.log.add(textFrame(step(), "out", "subscribe", "events", `{"type":"subscribe","subscription":{"id":"events","sql":"SELECT * FROM demo.events","options":{"batch_size":100}}}`))
	c.log.add(c.frame(step(), "in", "subscription_ack", "events", `{"type":"subscription_ack","subscription_id":"events","total_rows":5,"batch_control":{"batch_num":0,"has_more":false,"status":"loading","last_seq_id":null},"schema":[{"name":"id","data_type":"BigInt","index":0,"flags":["pk"]},{"name":"kind","data_type":"Text","index":1},{"name":"payload","data_type":"Json","index":2}]}`, gz))
	c.log.add(c.frame(step(), "in", "initial_data_batch", "events", `{"type":"initial_data_batch","subscription_id":"events","rows":[{"id":"101","kind":"login","payload":{"user":"alice"},"_seq":"1038"},{"id":"102","kind":"click","payload":{"x":12,"y":40},"_seq":"1039"}],"batch_control":{"batch_num":0,"has_more":false,"status":"ready","last_seq_id":1039}}`, gz))
	for i := 0; i < 6; i++ {
		id := 103 + i%3
		c.log.add(c.frame(step(), "in", "change", "events", fmt.Sprintf(`{"type":"change","subscription_id":"events","change_type":"insert","rows":[{"id":"%d","kind":"click","payload":{"x":%d,"y":%d},"_seq":"%d"}]}`, id, 10+i, 40-i, 1040+i), gz))
		if i%3 == 2 {
			c.log.add(textFrame(step(), "out", "ping", "", `{"type":"ping"}`))
		}
	}
}

func textFrame(t time.Time, dir, typ, sub, body string) Frame {
	return Frame{Time: t, Dir: dir, Opcode: "text", Encoding: "json", Type: typ, Sub: sub, ConnID: 1,
		Wire: []byte(body), WireSize: len(body), Decoded: []byte(body), DecodedSize: len(body)}
}

// frame builds an inbound frame, gzip-compressed when gz is set (KalamDB
// compresses payloads over 512 bytes; the stub compresses every data frame
// to show the marker).
func (c *stubConn) frame(t time.Time, dir, typ, sub, body string, gz bool) Frame {
	if !gz {
		return textFrame(t, dir, typ, sub, body)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte(body))
	zw.Close()
	w := buf.Bytes() // Go's gzip header has mtime 0: the bytes are stable

	return Frame{Time: t, Dir: dir, Opcode: "binary", Encoding: "gzip+json", Type: typ, Sub: sub, ConnID: 1,
		Wire: w, WireSize: len(w), Decoded: []byte(body), DecodedSize: len(body)}
}

func (c *stubConn) ID() string          { return c.id }
func (c *stubConn) Snapshot() Snapshot  { return c.snap }
func (c *stubConn) Frames() FrameSource { return c.log }

func (c *stubConn) RefreshAuth(context.Context) error {
	c.rotate("manual")
	return nil
}

func (c *stubConn) UseRefreshToken(context.Context) error {
	c.rotate("refresh-token")
	return nil
}

func (c *stubConn) rotate(trigger string) {
	c.refresh++
	now := c.now()
	old := c.snap.Token
	nt := old
	nt.IssuedAt, nt.ExpiresAt, nt.Phase = now, now.Add(2*time.Minute), "fresh"
	nt.Fingerprint = fmt.Sprintf("%08x", 0x5eed0000+c.refresh)
	c.snap.Token = nt
	c.snap.Rotations = append(c.snap.Rotations, Rotation{Time: now, Trigger: trigger, Latency: 12 * time.Millisecond,
		OldExp: old.ExpiresAt, NewExp: nt.ExpiresAt, OK: true, OldFinger: old.Fingerprint, NewFinger: nt.Fingerprint})
	c.log.add(Frame{Time: now, Dir: "out", Opcode: "http", Encoding: "json", Type: "POST /v1/api/auth/refresh", Status: 200,
		Decoded: []byte(`{"refresh_token":"«redacted»"}`)})
}

// SetPolicy understands the specs policySpec writes ("manual", "every D",
// "before D"), enough for tests and screenshots; the real grammar is the
// session's.
func (c *stubConn) SetPolicy(spec string) error {
	word, arg, _ := strings.Cut(spec, " ")
	d, err := time.ParseDuration(arg)
	kind := map[string]string{"every": "periodic", "before": "before-expiry"}[word]
	switch {
	case spec == "manual":
		c.snap.Policy = Policy{Kind: "manual", Spec: spec}
	case kind != "" && err == nil && d > 0:
		c.snap.Policy = Policy{Kind: kind, Interval: d, Spec: spec}
	default:
		return fmt.Errorf("refresh policy %q: the stub backend takes manual, every D or before D", spec)
	}
	return nil
}

func (c *stubConn) SetCompression(disabled bool) error {
	now := c.now()
	c.log.add(Frame{Time: now, Dir: "out", Opcode: "close", Encoding: "-", CloseCode: 1000, CloseReason: "switching compression", ConnID: c.snap.ConnID})
	c.snap.NoCompress = disabled
	c.snap.ConnID++
	c.log.conn = c.snap.ConnID
	c.snap.Stats.Reconnects++
	comp := "gzip"
	if disabled {
		comp = "none"
	}
	at := now
	step := func() time.Time { at = at.Add(41 * time.Millisecond); return at }
	c.log.add(textFrame(step(), "out", "authenticate", "", `{"type":"authenticate","method":"jwt","token":"«redacted»","protocol":{"serialization":"json","compression":"`+comp+`"}}`))
	c.log.add(textFrame(step(), "in", "auth_success", "", `{"type":"auth_success","user":"admin","role":"dba","protocol":{"serialization":"json","compression":"`+comp+`"}}`))
	c.log.add(c.frame(step(), "in", "subscription_ack", "events", `{"type":"subscription_ack","subscription_id":"events","total_rows":5,"batch_control":{"batch_num":0,"has_more":false,"status":"ready","last_seq_id":1045},"schema":[{"name":"id","data_type":"BigInt","index":0,"flags":["pk"]}]}`, !disabled))
	c.log.add(c.frame(step(), "in", "change", "events", `{"type":"change","subscription_id":"events","change_type":"update","rows":[{"id":"103","kind":"click","payload":{"x":80,"y":3},"_seq":"1046"}],"old_values":[{"id":"103","kind":"click","payload":{"x":12,"y":40},"_seq":"1040"}]}`, !disabled))
	return nil
}

func (c *stubConn) Reconnect(context.Context) error {
	c.snap.Stats.Reconnects++
	return nil
}

// texts makes a row of non-NULL cells.
func texts(vs ...string) []Cell {
	out := make([]Cell, len(vs))
	for i, v := range vs {
		out[i] = Cell{Text: v}
	}
	return out
}

func (c *stubConn) Query(_ context.Context, sql string) (QueryResult, error) {
	if strings.Contains(strings.ToLower(sql), "nosuch") {
		return QueryResult{}, errors.New("table 'nosuch' not found")
	}
	return QueryResult{Columns: []string{"id", "kind", "_seq"}, Rows: [][]Cell{texts("101", "login", "1038"), texts("102", "click", "1039"), texts("103", "click", "1046")}, Took: 4 * time.Millisecond}, nil
}

func (c *stubConn) Subscribe(_ context.Context, sql string, _ SubOptions) (string, error) {
	id := fmt.Sprintf("sub%d", len(c.snap.Subs)+1)
	c.snap.Subs = append(c.snap.Subs, Sub{ID: id, SQL: sql, Status: "loading"})
	return id, nil
}

// CheckLive reports every subscription as listed: the stub kills nothing.
func (c *stubConn) CheckLive(context.Context) (string, error) {
	return fmt.Sprintf("system.live: %d live", len(c.snap.Subs)), nil
}

func (c *stubConn) Unsubscribe(_ context.Context, id string) error {
	for i, s := range c.snap.Subs {
		if s.ID == id {
			c.snap.Subs = append(c.snap.Subs[:i], c.snap.Subs[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("no subscription %q", id)
}

func (c *stubConn) ExpireToken(context.Context) error {
	c.snap.Token.Phase = "dead"
	return nil
}

func (c *stubConn) DropSocket(context.Context) error {
	c.snap.State, c.snap.CloseCode, c.snap.Attempt = "reconnecting", 1006, 1
	c.snap.ReconnectAt = c.now().Add(2 * time.Second)
	return nil
}

func (c *stubConn) Close() error { c.closed = true; return nil }

// readOnlyConn offers only what every Conn has, hiding stubConn's
// optional interfaces.
type readOnlyConn struct{ c *stubConn }

func (r readOnlyConn) ID() string          { return r.c.ID() }
func (r readOnlyConn) Snapshot() Snapshot  { return r.c.Snapshot() }
func (r readOnlyConn) Frames() FrameSource { return r.c.Frames() }
func (r readOnlyConn) Close() error        { return r.c.Close() }

// watchedStubConn is an application watched through kalamdash proxy: what
// every Conn has, and steering (which only says what it would do).
type watchedStubConn struct{ readOnlyConn }

func (watchedStubConn) CompressOffNext() (string, error) {
	return "compress=false on the next socket through the proxy", nil
}
func (watchedStubConn) DropSocket() (string, error) {
	return "dropped socket #1 (1006, no close frame): the app should reconnect and re-authenticate on this tab", nil
}
func (watchedStubConn) ToggleStall() (string, error) { return "stalled · Z resumes", nil }
func (watchedStubConn) NextLatency() (string, error) { return "250ms added each way", nil }

// newWatchedStub is the application of the proxy screenshot: a password
// login it made itself, seen through the proxy, refreshed once.
func newWatchedStub(now func() time.Time) watchedStubConn {
	c := newStubConn("app-1", LoginRequest{Name: "127.0.0.1:50412 demo", URL: "http://127.0.0.1:8080", User: "demo"}, now)
	t0 := now()
	iat := t0.Add(-95 * time.Second)
	c.snap.Demo, c.snap.Role, c.snap.Token.Role = false, "user", "user"
	c.snap.Token.Kind, c.snap.Token.Source = "observed", "what the application obtained or presented, seen through kalamdash proxy (read-only)"
	c.snap.Token.Subject, c.snap.Token.Email = "demo", "demo@example.com"
	c.snap.Policy, c.snap.Providers = Policy{Kind: "manual", Spec: "manual"}, nil
	c.snap.Rotations = []Rotation{
		{Time: t0.Add(-6 * time.Minute), Trigger: "app login", Method: "provider", NewExp: t0.Add(-4 * time.Minute), OK: true, NewFinger: "a1b2c3d4"},
		{Time: iat, Trigger: "app refresh", Method: "refresh-token", OldExp: t0.Add(-4 * time.Minute), NewExp: iat.Add(2 * time.Minute), OK: true, OldFinger: "a1b2c3d4", NewFinger: "3fa9c1d2"},
	}
	return watchedStubConn{readOnlyConn{c}}
}

// stubLog is a simple FrameSource: unfiltered access is O(1), filtered
// access scans (fine for tests; the session's log keeps indexes).
type stubLog struct {
	frames []Frame
	next   uint64
	conn   uint64 // socket number stamped on new frames (after a switch)
}

func (l *stubLog) add(f Frame) {
	if f.ConnID == 1 && l.conn > 1 {
		f.ConnID = l.conn
	}
	l.next++
	f.ID = l.next
	if f.WireSize == 0 {
		f.WireSize = len(f.Wire)
		if f.Wire == nil {
			f.WireSize = len(f.Decoded)
		}
	}
	if f.DecodedSize == 0 {
		f.DecodedSize = len(f.Decoded)
	}
	l.frames = append(l.frames, f)
}

func (l *stubLog) Len(f FrameFilter) int {
	if f == (FrameFilter{}) {
		return len(l.frames)
	}
	return len(l.filtered(f))
}

func (l *stubLog) Page(f FrameFilter, offset, n int) []Frame {
	src := l.frames
	if f != (FrameFilter{}) {
		src = l.filtered(f)
	}
	offset = clamp(offset, 0, len(src))
	end := min(offset+n, len(src))
	return append([]Frame(nil), src[offset:end]...)
}

func (l *stubLog) filtered(f FrameFilter) []Frame {
	var re *regexp.Regexp
	if f.Regex && f.Text != "" {
		re, _ = regexp.Compile(f.Text)
	}
	var out []Frame
	for _, fr := range l.frames {
		if stubMatches(f, fr, re) {
			out = append(out, fr)
		}
	}
	return out
}

// stubMatches is the stub's stand-in for session.Filter, which filters the
// frames of every real connection (the adapter translates FrameFilter into
// it): the same rules, written plainly for the stub's handful of fixed
// frames. Text is looked for in the decoded payload (the wire bytes when
// there is none), the type and the subscription ID; a substring is
// case-insensitive unless it holds an upper-case letter. re is f.Text
// compiled when f.Regex is set.
func stubMatches(f FrameFilter, fr Frame, re *regexp.Regexp) bool {
	if f.Dir != "" && fr.Dir != f.Dir {
		return false
	}
	control := fr.Opcode == "ping" || fr.Opcode == "pong" || fr.Opcode == "close"
	switch f.Class {
	case "data":
		if control || fr.Opcode == "http" {
			return false
		}
	case "control":
		if !control {
			return false
		}
	case "http":
		if fr.Opcode != "http" {
			return false
		}
	}
	if f.Sub != "" && fr.Sub != f.Sub {
		return false
	}
	if f.Text == "" {
		return true
	}
	payload := fr.Decoded
	if len(payload) == 0 {
		payload = fr.Wire
	}
	for _, hay := range []string{string(payload), fr.Type, fr.Sub} {
		switch {
		case hay == "":
		case f.Regex:
			if re != nil && re.MatchString(hay) {
				return true
			}
		case strings.ContainsFunc(f.Text, unicode.IsUpper):
			if strings.Contains(hay, f.Text) {
				return true
			}
		case strings.Contains(strings.ToLower(hay), strings.ToLower(f.Text)):
			return true
		}
	}
	return false
}
