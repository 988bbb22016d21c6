package cli

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// This file adapts session.Manager to the small interfaces the dashboard
// declares (ui.Backend, ui.Conn, ui.FrameSource). It is wiring only:
// every decision about tokens, frames and reconnects stays in session.

// backend implements ui.Backend over a session.Manager.
type backend struct {
	mgr      *session.Manager
	demo     *kalamtest.Server // nil unless the embedded demo server runs
	profiles []session.Profile
	events   chan ui.Event
	stop     chan struct{}
	wg       sync.WaitGroup
}

// newBackend starts the goroutine that turns session events into ui events.
// Session events are already coalesced; the ui coalesces again per 50 ms.
func newBackend(mgr *session.Manager, demo *kalamtest.Server, profiles []session.Profile) *backend {
	b := &backend{mgr: mgr, demo: demo, profiles: profiles, events: make(chan ui.Event, 1024), stop: make(chan struct{})}
	b.wg.Add(1)
	go b.pump()
	return b
}

func (b *backend) pump() {
	defer b.wg.Done()
	in := b.mgr.Events()
	for {
		select {
		case <-b.stop:
			return
		case ev, ok := <-in:
			if !ok {
				return
			}
			u := ui.Event{ConnID: ev.ConnName(), Kind: ui.EventState}
			switch e := ev.(type) {
			case session.FramesAppendedEvent:
				u.Kind, u.Count = ui.EventFrames, e.Count
			case session.TokenChangedEvent, session.PolicyChangedEvent:
				u.Kind = ui.EventToken
			case session.RotationRecordedEvent:
				u.Kind = ui.EventRotation
			case session.SubscriptionChangedEvent:
				u.Kind = ui.EventRows
			case session.NoticeEvent:
				u.Kind, u.Text, u.Hint, u.Err = ui.EventNotice, e.Text, e.Hint, e.Level != session.NoticeInfo
			}
			select {
			case b.events <- u:
			default:
				// The UI is behind; events are only hints (it re-reads
				// snapshots every second), so dropping one loses nothing.
			}
		}
	}
}

// Close stops the pump and closes every connection.
func (b *backend) Close() error {
	close(b.stop)
	err := b.mgr.CloseAll()
	b.wg.Wait()
	return err
}

func (b *backend) Events() <-chan ui.Event { return b.events }

func (b *backend) Profiles() []ui.Profile {
	out := make([]ui.Profile, 0, len(b.profiles))
	for _, p := range b.profiles {
		out = append(out, ui.Profile{Name: p.Name, URL: p.URL, Auth: string(p.Mode()), User: p.User,
			TokenCommand: p.TokenCommand, TokenFile: p.TokenFile, NoCompress: p.NoCompress, Serialization: p.Serialization, CacheToken: p.CacheToken})
	}
	return out
}

// hintError carries client.Hint(err) to the login form.
type hintError struct {
	err  error
	hint string
}

func (e hintError) Error() string { return e.err.Error() }
func (e hintError) Hint() string  { return e.hint }
func (e hintError) Unwrap() error { return e.err }

func (b *backend) Open(ctx context.Context, req ui.LoginRequest) (ui.Conn, error) {
	var saved session.Profile
	for _, sp := range b.profiles {
		if req.Profile != "" && sp.Name == req.Profile {
			saved = sp
		}
	}
	p := saved.Merge(session.Profile{Name: req.Name, URL: req.URL, Auth: session.AuthMode(req.Auth), User: req.User,
		Password: req.Password, Token: req.Token, TokenCommand: req.TokenCommand, TokenFile: req.TokenFile,
		NoCompress: req.NoCompress, Serialization: req.Serialization})
	p.Name = b.uniqueName(p.Name)
	c, err := b.mgr.Open(ctx, p)
	if err != nil {
		return nil, hintError{err: err, hint: client.Hint(err)}
	}
	demo := b.demo != nil && strings.TrimRight(req.URL, "/") == strings.TrimRight(b.demo.URL, "/")
	c.SetEmbedded(demo)
	if demo {
		// A live dashboard from the first Enter: subscribe to the demo
		// tables the embedded server keeps writing to.
		for _, q := range demoSubscriptions {
			if _, err := c.Subscribe(ctx, q.sql, session.SubscribeOptions{ID: q.id}); err != nil {
				log.Printf("demo subscription %q: %v", q, err)
			}
		}
	}
	return &conn{c: c, b: b, demo: demo}, nil
}

func (b *backend) uniqueName(name string) string {
	if name == "" {
		name = "conn"
	}
	taken := func(n string) bool { _, ok := b.mgr.Conn(n); return ok }
	if !taken(name) {
		return name
	}
	for i := 2; ; i++ {
		if n := fmt.Sprintf("%s#%d", name, i); !taken(n) {
			return n
		}
	}
}

// demoSubscriptions are started on connections to the embedded demo server.
var demoSubscriptions = []struct{ id, sql string }{
	{"metrics", "SELECT * FROM demo.metrics"},
	{"messages", "SELECT * FROM demo.messages"},
}

// conn implements ui.Conn over a session.Conn.
type conn struct {
	c    *session.Conn
	b    *backend
	demo bool
}

func (c *conn) ID() string { return c.c.Name() }
func (c *conn) Frames() ui.FrameSource {
	p := c.c.Profile()
	return frameSource{log: c.c.Log(), url: p.URL, opts: recording.Options{Auth: string(p.Mode()), User: p.User,
		NoCompress: p.NoCompress, Serialization: p.Serialization}}
}
func (c *conn) Close() error { return c.b.mgr.Close(c.c.Name()) }

func (c *conn) RefreshAuth(ctx context.Context) error {
	_, err := c.c.Refresh(ctx)
	return err
}

// UseRefreshToken rotates once through the refresh-token endpoint; the
// connection's own refresh method is left as it was.
func (c *conn) UseRefreshToken(ctx context.Context) error {
	_, err := c.c.RefreshWith(ctx, session.MethodRefreshToken)
	return err
}

// SetPolicy parses spec with the profiles' grammar.
func (c *conn) SetPolicy(spec string) error {
	p, err := session.ParseRefreshPolicy(spec)
	if err != nil {
		return err
	}
	return c.c.SetPolicy(p)
}

func (c *conn) SetCompression(disabled bool) error  { return c.c.SetCompression(!disabled) }
func (c *conn) Reconnect(ctx context.Context) error { return c.c.Reconnect(ctx) }

// SetRevealSecrets only affects display: the client redacts its tapped
// copies unless kalamdash runs with --reveal-secrets.
func (c *conn) SetRevealSecrets(bool) {}

func (c *conn) ExpireToken(context.Context) error {
	if !c.demo {
		return errors.New("only the embedded demo server can expire tokens")
	}
	if n := c.b.demo.ExpireTokens(); n == 0 {
		return errors.New("the demo server had no tokens to expire")
	}
	return nil
}

func (c *conn) DropSocket(context.Context) error {
	if !c.demo {
		return errors.New("only the embedded demo server can drop sockets")
	}
	if n := c.b.demo.DropAll(); n == 0 {
		return errors.New("the demo server had no open socket to drop")
	}
	return nil
}

func (c *conn) Query(ctx context.Context, sql string) (ui.QueryResult, error) {
	r, err := c.c.Query(ctx, sql)
	if err != nil {
		if h := client.Hint(err); h != "" {
			return ui.QueryResult{}, fmt.Errorf("%v (%s)", err, h)
		}
		return ui.QueryResult{}, err
	}
	out := ui.QueryResult{Took: r.Took}
	for _, st := range r.Results {
		// Show the last statement that returned rows (or a message).
		if len(st.Schema) > 0 {
			out.Columns = out.Columns[:0]
			for _, f := range st.Schema {
				out.Columns = append(out.Columns, f.Name)
			}
			out.Rows = out.Rows[:0]
			for _, row := range st.Rows {
				vals := make([]string, len(row))
				for i, v := range row {
					if i < len(st.Schema) && strings.Contains(strings.ToLower(st.Schema[i].DataTypeName()), "timestamp") {
						vals[i] = timestampCell(v)
					} else {
						vals[i] = cell(v)
					}
				}
				out.Rows = append(out.Rows, vals)
			}
		}
		if st.Message != "" {
			out.Message = st.Message
		}
	}
	return out, nil
}

func (c *conn) Subscribe(ctx context.Context, sql string, o ui.SubOptions) (string, error) {
	return c.c.Subscribe(ctx, sql, session.SubscribeOptions{BatchSize: o.BatchSize, LastRows: o.LastRows})
}

func (c *conn) Unsubscribe(ctx context.Context, id string) error { return c.c.Unsubscribe(ctx, id) }

// maxLiveRows bounds the rows copied into each snapshot per subscription.
const maxLiveRows = 200

func (c *conn) Snapshot() ui.Snapshot {
	s := c.c.Snapshot()
	d := s.Detail
	out := ui.Snapshot{
		Name: s.Name, URL: s.URL, User: d.User, Role: d.Role, Demo: s.Embedded,
		State: s.State.String(), ReconnectAt: d.RetryAt, Attempt: d.Attempt,
		CloseCode: d.CloseCode, CloseReason: d.CloseReason, LastError: d.Err, Hint: d.Hint,
		NoCompress: !s.Compression, Serialization: s.Serialization, ConnID: d.ConnID,
	}
	if out.CloseCode < 0 {
		// The socket broke without a close frame: RFC 6455 calls that 1006,
		// and so do browsers and the close-code hints.
		out.CloseCode = 1006
	}
	if out.User == "" {
		out.User = c.c.Profile().User
	}
	a := s.Access
	out.Token = ui.Token{
		Kind: string(s.AuthMode), Source: c.c.Profile().CredentialSource(), Subject: a.Claims.Subject, Role: a.Claims.Role, Email: a.Claims.Email,
		Issuer: a.Claims.Issuer, TokenType: a.Claims.TokenType, IssuedAt: a.Claims.IssuedAt,
		ExpiresAt: a.Claims.ExpiresAt, Fingerprint: a.Fingerprint, Phase: s.Phase().String(),
		Leeway: session.Leeway, SocketOutlived: s.SocketOutlivedToken, SocketTokenExp: s.Socket.Claims.ExpiresAt,
	}
	if s.Refresh.Present {
		out.Token.RefreshExpiresAt = s.Refresh.Claims.ExpiresAt
	}
	out.Policy = policyOf(s.Policy, s.Access)
	out.Policy.NextAt = s.NextRefresh
	out.Policy.Retrying = s.NextTrigger == session.TriggerRetry
	for _, r := range s.History {
		out.Rotations = append(out.Rotations, ui.Rotation{Time: r.Time, Trigger: r.Trigger.String(), Latency: r.Latency,
			OldExp: r.OldExpiry, NewExp: r.NewExpiry, OK: r.OK(), Err: r.Err,
			OldFinger: r.OldFingerprint, NewFinger: r.NewFingerprint})
	}
	out.Token.ClockSkew = s.ClockSkew()
	out.Refreshing, out.Failures = s.Refreshing, s.Failures
	for _, p := range s.Providers {
		out.Providers = append(out.Providers, ui.ProviderCall{Time: p.Time, Duration: p.Duration,
			Kind: p.Kind, Fingerprint: p.Fingerprint, Err: p.Err})
	}
	st := s.Stats
	out.Stats = ui.Stats{
		FramesIn: int64(st.FramesIn), FramesOut: int64(st.FramesOut),
		BytesIn: int64(st.WireBytesIn), BytesOut: int64(st.WireBytesOut),
		WireBytes: int64(st.WireBytesIn), DecodedBytes: int64(st.DecodedBytesIn),
		RTT: st.KeepaliveRTT, TapDrops: st.TapDrops, Reconnects: int(st.Reconnects),
		Evicted: int64(s.Log.Evicted), LogLen: s.Log.Len,
	}
	for _, smp := range st.History {
		out.Stats.FramesPerSec = append(out.Stats.FramesPerSec, smp.FramesIn+smp.FramesOut)
		out.Stats.BytesPerSec = append(out.Stats.BytesPerSec, smp.BytesIn+smp.BytesOut)
	}
	for _, sub := range s.Subs {
		out.Subs = append(out.Subs, c.subOf(sub))
	}
	return out
}

func (c *conn) subOf(sub session.SubSnapshot) ui.Sub {
	u := ui.Sub{ID: sub.ID, SQL: sub.SQL, Status: string(sub.Status), LastSeq: sub.LastSeq,
		Err: sub.Err, Changes: int64(sub.Inserts + sub.Updates + sub.Deletes)}
	if sub.BatchNum > 0 && sub.HasMore {
		u.Status = fmt.Sprintf("%s (batch %d)", sub.Status, sub.BatchNum)
	}
	for _, col := range sub.Columns {
		u.Columns = append(u.Columns, col.Name)
		if col.PK && u.PK == "" {
			u.PK = col.Name
		}
	}
	if n := len(sub.Gaps); n > 0 {
		u.Gap = sub.Gaps[n-1].Detail
		if n > 1 {
			u.Gap += fmt.Sprintf(" (%d gaps so far)", n)
		}
	}
	// Rows are kept in arrival order: show the newest, where changes land.
	for _, r := range c.c.SubRows(sub.ID, max(sub.Rows-maxLiveRows, 0), maxLiveRows) {
		row := ui.Row{Key: r.Key, ChangedAt: r.ChangedAt}
		if r.Change != session.ChangeInitial {
			row.Change = r.Change.String()
		}
		for i, col := range u.Columns {
			v := r.Values[col]
			if strings.Contains(strings.ToLower(sub.Columns[i].Type), "timestamp") {
				row.Values = append(row.Values, timestampCell(v))
				continue
			}
			row.Values = append(row.Values, cell(v))
		}
		u.Rows = append(u.Rows, row)
	}
	return u
}

func policyOf(p session.RefreshPolicy, access session.TokenState) ui.Policy {
	spec := p.String()
	switch p.Kind {
	case session.PolicyPeriodic:
		return ui.Policy{Kind: "periodic", Interval: p.Every, Spec: spec}
	case session.PolicyBeforeExpiry:
		lead := p.Lead
		if lead == 0 && p.Fraction > 0 {
			// Show a fraction policy as its lead for the current token.
			lead = time.Duration(float64(access.Lifetime()) * (1 - p.Fraction)).Round(time.Second)
		}
		return ui.Policy{Kind: "before-expiry", Interval: lead, Spec: spec}
	}
	return ui.Policy{Kind: "manual", Spec: spec}
}

// timestampCell shows a KalamDB TIMESTAMP (microseconds since the epoch)
// as a local wall time with milliseconds; other shapes fall back to cell.
func timestampCell(v any) string {
	if n, ok := client.ParseSeq(v); ok && n > 1e14 {
		return time.UnixMicro(n).Format("15:04:05.000")
	}
	return cell(v)
}

// cell formats one value for a table cell.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "∅"
	case string:
		return x
	case []byte:
		return string(x)
	}
	s := fmt.Sprint(v)
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+":"+cell(m[k]))
		}
		s = "{" + strings.Join(parts, ",") + "}"
	}
	return s
}

// frameSource implements ui.FrameSource over a session.FrameLog.
// frameSource pages a session frame log for the inspector and exports it
// through package recording, so `e` writes files `kalamdash replay` reads.
type frameSource struct {
	log  *session.FrameLog
	url  string
	opts recording.Options
}

// ExportFrames implements ui.FrameExporter.
func (f frameSource) ExportFrames(path, format string, flt ui.FrameFilter, reveal bool) (int, error) {
	sel := filterOf(flt)
	entries := f.log.Page(sel, 0, f.log.Len(sel))
	frames := make([]client.Frame, len(entries))
	for i, e := range entries {
		frames[i] = e.Frame
	}
	h := recording.Header{ToolVersion: version, ServerURL: f.url, SecretsRevealed: reveal, Options: f.opts}
	if len(frames) > 0 {
		h.StartedAt = frames[0].Time
	}
	if err := recording.Export(path, format, h, frames, recording.WithReveal(reveal)); err != nil {
		return 0, err
	}
	return len(frames), nil
}

func (f frameSource) Len(flt ui.FrameFilter) int { return f.log.Len(filterOf(flt)) }

func (f frameSource) Page(flt ui.FrameFilter, offset, n int) []ui.Frame {
	entries := f.log.Page(filterOf(flt), offset, n)
	out := make([]ui.Frame, len(entries))
	for i, e := range entries {
		out[i] = ui.Frame{
			ID: e.ID, Time: e.Time, Dir: e.Direction.String(), Opcode: e.Opcode.String(),
			Encoding: e.Encoding.String(), Type: e.Type, Sub: e.SubscriptionID,
			Wire: e.Wire, WireSize: e.WireSize, Decoded: e.Decoded, DecodedSize: e.DecodedSize,
			CloseCode: e.CloseCode, CloseReason: e.CloseReason, Status: e.Status, Duration: e.Duration,
			ConnID: e.ConnID, Err: e.Err,
		}
	}
	return out
}

// Frame classes of the t toggle, as message types.
// Frame classes by opcode: control frames may carry no message type, so
// the opcode is the reliable test.
var (
	dataOpcodes    = []session.Opcode{session.OpText, session.OpBinary}
	controlOpcodes = []session.Opcode{session.OpPing, session.OpPong, session.OpClose}
	httpOpcodes    = []session.Opcode{session.OpHTTP}
)

func filterOf(f ui.FrameFilter) session.Filter {
	s := session.Filter{Text: f.Text, Regex: f.Regex, Subscription: f.Sub}
	switch f.Dir {
	case "in":
		s.Direction = session.Inbound
	case "out":
		s.Direction = session.Outbound
	}
	switch f.Class {
	case "data":
		s.Opcodes = dataOpcodes
	case "control":
		s.Opcodes = controlOpcodes
	case "http":
		s.Opcodes = httpOpcodes
	}
	return s
}
