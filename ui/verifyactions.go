package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"
)

// verifyTimeout bounds one Verify: a large table is read in many pages.
const verifyTimeout = 5 * time.Minute

// verifiedMsg reports a finished Verify.
type verifiedMsg struct {
	connID, sub string
	v           Verification
	err         error
}

// verifyCmd verifies subscription sub of connection id.
func verifyCmd(id string, lt LiveTables, sub string) tea.Cmd {
	return background(verifyTimeout, func(ctx context.Context) tea.Msg {
		v, err := lt.Verify(ctx, sub)
		return verifiedMsg{connID: id, sub: sub, v: v, err: err}
	})
}

// dataRequest runs what the data panel asked for, with what the
// connection can do.
func (m *Model) dataRequest(t *tab, req *dataRequest) tea.Cmd {
	id, sql, lt := t.conn.ID(), t.can.sql, t.can.tables
	switch req.kind {
	case requestVerify, requestRepair:
		if lt == nil {
			delete(t.data.verifying, req.sub)
			m.unavailable("verify and repair", false)
			return nil
		}
		if req.kind == requestRepair {
			return actionCmd(t.conn, "repair "+req.sub+" (re-subscribe)", func(ctx context.Context) error { return lt.Repair(ctx, req.sub) })
		}
		m.say(false, "verifying %s: reading the server's rows…", req.sub)
		return verifyCmd(id, lt, req.sub)
	}
	if sql == nil {
		m.unavailable("sql console", false)
		return nil
	}
	if req.kind == requestSubscribe {
		return subscribeCmd(id, sql, req.sql, req.opts)
	}
	return queryCmd(id, sql, req.sql)
}

// subRequest verifies or repairs (what) subscription id, or the Data
// view's selected one when id is empty.
func (m *Model) subRequest(t *tab, what, id string) tea.Cmd {
	subs := t.snap.Subs
	if id == "" {
		if len(subs) == 0 {
			m.say(true, ":%s needs a subscription: press s in the Data view to subscribe", what)
			return nil
		}
		id = subs[clamp(t.data.sel, 0, len(subs)-1)].ID
	}
	for i, s := range subs {
		if s.ID == id {
			t.data.selectSub(i)
		}
	}
	req := &dataRequest{kind: requestRepair, sub: id}
	if what == "verify" {
		req.kind = requestVerify
		t.data.showVerify, t.data.verifying[id] = true, true
	}
	return m.dataRequest(t, req)
}

// handleVerified shows a Verify's outcome.
func (m Model) handleVerified(msg verifiedMsg) Model {
	t := m.tabByID(msg.connID)
	if t == nil {
		return m
	}
	delete(t.data.verifying, msg.sub)
	t.snap = t.conn.Snapshot()
	switch {
	case msg.err != nil:
		m.say(true, "verify %s failed: %v", msg.sub, msg.err)
	case msg.v.Clean:
		m.say(false, "%s verified: %s", msg.sub, msg.v.Summary)
	default:
		m.say(true, "%s: %s — R repairs", msg.sub, msg.v.Summary)
	}
	return m
}
