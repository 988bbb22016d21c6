package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// conn implements ui.Conn, ui.Controls and ui.SQL over a session.Conn: a
// live connection.
type conn struct {
	c   *session.Conn
	mgr *session.Manager
}

// demoConn is a live connection to the embedded demo server, which adds
// its fault controls (ui.Faults).
type demoConn struct {
	*conn
	srv *kalamtest.Server
}

// ExpireToken implements ui.Faults.
func (c demoConn) ExpireToken(context.Context) error {
	if c.srv.ExpireTokens() == 0 {
		return errors.New("the demo server had no tokens to expire")
	}
	return nil
}

// DropSocket implements ui.Faults.
func (c demoConn) DropSocket(context.Context) error {
	if c.srv.DropAll() == 0 {
		return errors.New("the demo server had no open socket to drop")
	}
	return nil
}

func (c *conn) ID() string { return c.c.Name() }
func (c *conn) Frames() ui.FrameSource {
	p := c.c.Profile()
	return FrameSource{Log: c.c.Log(), URL: p.URL, Options: recording.Options{Auth: string(p.Mode()), User: p.User,
		NoCompress: p.NoCompress, Serialization: p.Serialization}}
}
func (c *conn) Close() error { return c.mgr.Close(c.c.Name()) }

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
				vals := make([]ui.Cell, len(row))
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

// CheckLive implements ui.SQL.
func (c *conn) CheckLive(ctx context.Context) (string, error) {
	lc, err := c.c.CheckLive(ctx)
	if err != nil {
		return "", err
	}
	return lc.Summary(), nil
}

// Snapshot implements ui.Conn.
func (c *conn) Snapshot() ui.Snapshot {
	return c.snapshotOf(c.c.Snapshot())
}

// snapshotOf builds the UI's snapshot from one session snapshot s of c.
func (c *conn) snapshotOf(s session.ConnSnapshot) ui.Snapshot {
	d := s.Detail
	out := ui.Snapshot{
		Name: s.Name, URL: s.URL, Node: client.NodeKey(s.URL), User: d.User, Role: d.Role, Demo: s.Embedded,
		State: s.State.String(), ReconnectAt: d.RetryAt, Attempt: d.Attempt,
		CloseCode: d.CloseCode, CloseReason: d.CloseReason, LastError: d.Err, Hint: d.Hint,
		NoCompress: !s.Compression, Serialization: s.Serialization, ConnID: d.ConnID,
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
			OldFinger: r.OldFingerprint, NewFinger: r.NewFingerprint, Method: r.Method.String(), Answer: r.Answer})
	}
	out.Token.Swap = swapInfo(s.Swap)
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
	// The rows themselves are paged by the Data view (SubRows).
	u.Kept, u.Cap, u.Evicted, u.Received = sub.Rows, sub.Cap, sub.Evicted, sub.Received
	u.Verified, u.Shortfall = verificationOf(sub.Verified), shortfallText(sub.Shortfall)
	if r := sub.Resume; r != nil {
		u.Failover = r.Summary()
		u.FailoverLost = r.Lost() > 0 || r.Outcome == session.ResumeLost
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
