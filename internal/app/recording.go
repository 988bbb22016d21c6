package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// RecordingBackend implements ui.Backend over one recording, offline: the
// inspector pages through the recorded frames with the usual filters, and
// the token and stats panels show what the recording says. Nothing
// touches the network.
type RecordingBackend struct {
	conn *recordingConn
}

// NewRecordingBackend returns a backend whose one connection, named name,
// is rec.
func NewRecordingBackend(name string, rec *recording.Recording) *RecordingBackend {
	return &RecordingBackend{conn: newRecordingConn(name, rec)}
}

// Open implements ui.Backend: every login opens the recording.
func (b *RecordingBackend) Open(context.Context, ui.LoginRequest) (ui.Conn, error) {
	return b.conn, nil
}

// Profiles implements ui.Backend: a recording has none.
func (b *RecordingBackend) Profiles() []ui.Profile { return nil }

// Events implements ui.Backend: a recording never changes.
func (b *RecordingBackend) Events() <-chan ui.Event { return nil }

// Redact implements ui.Backend with package redact.
func (b *RecordingBackend) Redact(text []byte) []byte { return redact.Text(text) }

// recordingConn is the recording as a connection tab: it implements
// ui.Conn only, none of the optional interfaces, so the dashboard offers
// no action that would need a server.
type recordingConn struct {
	name string
	log  *session.FrameLog
	snap ui.Snapshot
}

func newRecordingConn(name string, rec *recording.Recording) *recordingConn {
	// Room for every frame: a recording is small enough to hold whole.
	var bytes int64
	for _, f := range rec.Frames {
		bytes += int64(len(f.Wire) + len(f.Decoded))
	}
	l := session.NewFrameLog(len(rec.Frames)+1, bytes+1)
	l.Append(rec.Frames...)
	return &recordingConn{name: name, log: l, snap: recordingSnapshot(name, rec)}
}

func (c *recordingConn) ID() string             { return c.name }
func (c *recordingConn) Snapshot() ui.Snapshot  { return c.snap }
func (c *recordingConn) Frames() ui.FrameSource { return FrameSource{Log: c.log, URL: c.snap.URL} }
func (c *recordingConn) Close() error           { return nil }

// recordingSnapshot summarises a recording as the dashboard's snapshot:
// who connected, on which socket, the rotations, counters and a
// per-second sparkline of the last minute recorded.
func recordingSnapshot(name string, rec *recording.Recording) ui.Snapshot {
	h := rec.Header
	s := ui.Snapshot{Name: name, URL: h.ServerURL, User: h.Options.User, State: "closed",
		NoCompress: h.Options.NoCompress, Serialization: h.Options.Serialization,
		Hint: fmt.Sprintf("recording made %s by kalamdash %s; offline and read-only", h.StartedAt.Format(time.RFC3339), h.ToolVersion)}
	s.Token.Kind = h.Options.Auth
	if s.Token.Kind == "password" {
		s.Token.Kind = "jwt" // exchanged via login
	}
	connected := 0
	for _, e := range rec.Events {
		switch e.Event {
		case recording.EventConnected:
			connected++
			s.User, s.Role, s.ConnID = e.User, e.Role, e.ConnID
			s.Token.Subject, s.Token.Role = e.User, e.Role
		case recording.EventDisconnected:
			s.CloseCode, s.CloseReason = e.Code, e.Reason
		case recording.EventProviderCalled:
			s.Token.Fingerprint = e.Fingerprint
		case recording.EventAuthRefreshed:
			s.Rotations = append(s.Rotations, ui.Rotation{Time: e.Time, Trigger: e.Trigger, OldExp: e.OldExpiry,
				NewExp: e.NewExpiry, OK: e.Error == "", Err: e.Error})
			if !e.NewExpiry.IsZero() {
				s.Token.ExpiresAt = e.NewExpiry
			}
		}
	}
	s.Stats.Reconnects = max(connected-1, 0)
	if rec.End != nil {
		s.Stats.TapDrops = rec.End.TapDrops
	}
	s.Stats.LogLen = len(rec.Frames)
	changes := map[string]int64{}
	var first time.Time
	for _, f := range rec.Frames {
		if f.Direction == client.Inbound {
			s.Stats.FramesIn++
			s.Stats.BytesIn += int64(f.WireSize)
			s.Stats.WireBytes += int64(f.WireSize)
			s.Stats.DecodedBytes += int64(f.DecodedSize)
		} else {
			s.Stats.FramesOut++
			s.Stats.BytesOut += int64(f.WireSize)
		}
		if f.Opcode == client.OpHTTP && f.Direction == client.Inbound && f.Status == 200 &&
			(f.Type == "POST /v1/api/auth/login" || f.Type == "POST /v1/api/auth/refresh") {
			tokenFromLogin(&s.Token, f.Decoded)
		}
		if f.Type == client.TypeChange {
			changes[f.SubscriptionID]++
		}
		if first.IsZero() {
			first = f.Time
		}
	}
	if n := len(rec.Frames); n > 0 {
		secs := int(rec.Frames[n-1].Time.Sub(first)/time.Second) + 1
		s.Stats.FramesPerSec = make([]float64, secs)
		s.Stats.BytesPerSec = make([]float64, secs)
		for _, f := range rec.Frames {
			i := min(max(int(f.Time.Sub(first)/time.Second), 0), secs-1)
			s.Stats.FramesPerSec[i]++
			s.Stats.BytesPerSec[i] += float64(f.WireSize)
		}
		if secs > 60 {
			s.Stats.FramesPerSec, s.Stats.BytesPerSec = s.Stats.FramesPerSec[secs-60:], s.Stats.BytesPerSec[secs-60:]
		}
	}
	// The phase as of the end of the recording, judged as live tokens are.
	tok := session.TokenState{Present: true, Valid: true, Claims: session.Claims{ExpiresAt: s.Token.ExpiresAt}}
	s.Token.Phase = tok.Phase(recordingEnd(rec)).String()
	for i, q := range h.Options.Subscribe {
		id := fmt.Sprintf("sub-%d", i+1)
		s.Subs = append(s.Subs, ui.Sub{ID: id, SQL: q, Status: "ready", Changes: changes[id]})
	}
	return s
}

// tokenFromLogin reads the expiry times and e-mail of a login or refresh
// answer (the tokens themselves are redacted; these fields are not).
func tokenFromLogin(t *ui.Token, body []byte) {
	var r client.LoginResponse
	if json.Unmarshal(body, &r) != nil {
		return
	}
	if exp, err := time.Parse(time.RFC3339Nano, r.ExpiresAt); err == nil {
		t.ExpiresAt = exp
	}
	if exp, err := time.Parse(time.RFC3339Nano, r.RefreshExpiresAt); err == nil {
		t.RefreshExpiresAt = exp
	}
	if r.User.Email != nil && *r.User.Email != "" {
		t.Email = *r.User.Email
	}
	if r.User.Role != "" {
		t.Role = r.User.Role
	}
	t.TokenType = "access"
}

// recordingEnd is when the recording stopped.
func recordingEnd(rec *recording.Recording) time.Time {
	if rec.End != nil {
		return rec.End.Time
	}
	if n := len(rec.Frames); n > 0 {
		return rec.Frames[n-1].Time
	}
	return rec.Header.StartedAt
}
