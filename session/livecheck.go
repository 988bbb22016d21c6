package session

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// This file holds the reconciliation of a connection's subscriptions with
// the server's system.live. KILL LIVE QUERY removes a subscription without
// sending its client anything (upstream
// backend/crates/kalamdb-live/src/manager/queries_manager.rs): the socket
// stays up and the subscription just goes quiet, so the only way to notice
// is to ask the server which live queries it still holds.

// KilledDetail is the Err of a subscription found killed.
const KilledDetail = "killed on the server: gone from system.live (KILL LIVE QUERY sends no notice); subscribe again to bring it back"

// LiveCheck is the outcome of one reconciliation with system.live.
type LiveCheck struct {
	Time time.Time
	// Listed counts this connection's subscriptions system.live still
	// lists; Killed names the ones it no longer lists (newly marked).
	Listed int
	Killed []string
	// Unsure counts subscriptions that could not be judged: not yet
	// acknowledged on the current socket, or held under the same id by
	// another connection of the same user, which system.live cannot tell
	// apart from this one.
	Unsure int
}

// Summary is one line for a notice.
func (l LiveCheck) Summary() string {
	s := fmt.Sprintf("system.live: %d live", l.Listed)
	if len(l.Killed) > 0 {
		s += fmt.Sprintf(", killed on the server: %s", strings.Join(l.Killed, ", "))
	}
	if l.Unsure > 0 {
		s += fmt.Sprintf(", %d not judged (not acknowledged on this socket yet, or the id is also used by another connection)", l.Unsure)
	}
	return s
}

// canReadSystemLive reports whether KalamDB lets role read system.live
// (system tables are for the dba and system roles).
func canReadSystemLive(role string) bool {
	return strings.EqualFold(role, "dba") || strings.EqualFold(role, "system")
}

// CheckLive reconciles the connection's subscriptions with system.live and
// marks the ones the server no longer holds as killed (SubKilled): their
// client subscription is released, so a reconnect does not bring them back
// behind the user's back (the unsubscribe it sends also corrects the
// server's per-user count, which a kill leaves raised). It needs the dba or
// system role; for others it returns an error saying so, and nothing is
// marked. Only subscriptions acknowledged on the socket that is up before
// and after the query are judged.
func (c *Conn) CheckLive(ctx context.Context) (LiveCheck, error) {
	ls, err := c.liveStates(ctx)
	if err != nil {
		return LiveCheck{}, err
	}
	now := c.clock.Now()
	var released []*client.Subscription
	c.mu.Lock()
	if c.state != client.StateConnected || c.detail.ConnID != ls.connID {
		c.mu.Unlock()
		return LiveCheck{}, fmt.Errorf("%s: the socket changed during the check; try again", c.name)
	}
	out := LiveCheck{Time: now}
	for _, id := range c.subOrder {
		t := c.subs[id]
		if c.subHandles[id] == nil || t.snap.Status == SubKilled {
			continue
		}
		st := ls.states[id]
		if c.subHandles[id] != ls.handles[id] || t.ackConn != ls.connID {
			st = liveQueryUnknown // subscribed again meanwhile (Repair)
		}
		switch st {
		case liveQueryPresent:
			out.Listed++
		case liveQueryAbsent:
			t.snap.Status, t.snap.Err, t.snap.Code = SubKilled, KilledDetail, ""
			t.note("killed", "system.live no longer lists it: killed on the server", now)
			released = append(released, c.subHandles[id])
			delete(c.subHandles, id)
			out.Killed = append(out.Killed, id)
		default:
			out.Unsure++
		}
	}
	c.mu.Unlock()
	for _, s := range released {
		_ = s.Unsubscribe(ctx) // best effort: the server no longer has it
	}
	if len(out.Killed) > 0 {
		c.m.emit(SubscriptionChangedEvent{Conn: c.name})
	}
	return out, nil
}

// liveSnapshot is what system.live said about the subscriptions
// acknowledged on one socket.
type liveSnapshot struct {
	states  map[string]liveQueryState       // by subscription id
	connID  uint64                          // the socket
	handles map[string]*client.Subscription // the client subscriptions judged
}

// liveStates asks system.live about the subscriptions acknowledged on the
// current socket.
func (c *Conn) liveStates(ctx context.Context) (liveSnapshot, error) {
	cl, err := c.client()
	if err != nil {
		return liveSnapshot{}, err
	}
	c.mu.Lock()
	state, d := c.state, c.detail
	ls := liveSnapshot{connID: d.ConnID, handles: map[string]*client.Subscription{}}
	ours := map[string]bool{}
	for id, t := range c.subs {
		if h := c.subHandles[id]; h != nil && t.ackConn == d.ConnID && t.acked() {
			ours[id], ls.handles[id] = true, h
		}
	}
	c.mu.Unlock()
	if state != client.StateConnected {
		return liveSnapshot{}, fmt.Errorf("%s: not connected: subscriptions are checked against system.live on a live socket", c.name)
	}
	if !canReadSystemLive(d.Role) {
		return liveSnapshot{}, fmt.Errorf("system.live is readable by the dba and system roles only (this connection's role is %q): a subscription killed on the server cannot be detected", d.Role)
	}
	rows, err := cl.LiveQueries(ctx)
	if err != nil {
		return liveSnapshot{}, err
	}
	ls.states = liveVerdicts(rows, d.User, ours)
	return ls, nil
}

// liveVerdicts decides, for each of ours (subscription ids acknowledged on
// this connection's socket), whether system.live still lists it. Rows of
// other users do not count. When this connection can be told apart (some
// connection of the user holds an id of ours that no other connection
// holds, and only one does), a subscription is absent unless that
// connection holds it; otherwise it is absent only when no connection of
// the user holds its id, and unknown when another one does.
func liveVerdicts(rows []client.LiveQuery, user string, ours map[string]bool) map[string]liveQueryState {
	holders := map[string]map[string]bool{} // subscription id → connection ids
	for _, r := range rows {
		if user != "" && r.UserID != user {
			continue
		}
		if holders[r.SubscriptionID] == nil {
			holders[r.SubscriptionID] = map[string]bool{}
		}
		holders[r.SubscriptionID][r.ConnectionID] = true
	}
	mine := map[string]bool{} // connections proven to be this one
	for id := range ours {
		if len(holders[id]) == 1 {
			for conn := range holders[id] {
				mine[conn] = true
			}
		}
	}
	var self string
	if len(mine) == 1 {
		for conn := range mine {
			self = conn
		}
	}
	out := make(map[string]liveQueryState, len(ours))
	for id := range ours {
		switch {
		case self != "" && holders[id][self]:
			out[id] = liveQueryPresent
		case self != "":
			out[id] = liveQueryAbsent
		case len(holders[id]) == 0:
			out[id] = liveQueryAbsent
		default:
			out[id] = liveQueryUnknown
		}
	}
	return out
}

// armLiveCheckLocked schedules the next periodic CheckLive (WithLiveCheck).
func (c *Conn) armLiveCheckLocked() {
	if d := c.m.o.liveCheck; d > 0 && !c.closed {
		c.liveCheckTimer = c.clock.AfterFunc(d, c.periodicLiveCheck)
	}
}

// periodicLiveCheck runs CheckLive in its own goroutine (a FakeClock runs
// timers on the goroutine that advances it, which must not wait for the
// network) when the role may read system.live and there is something to
// check, then re-arms.
func (c *Conn) periodicLiveCheck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.state == client.StateConnected && canReadSystemLive(c.detail.Role) && len(c.subHandles) > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			ctx, cancel := context.WithTimeout(c.ctx, c.m.o.refreshTimeout)
			defer cancel()
			_, _ = c.CheckLive(ctx) // a failed check changes nothing; the next one retries
		}()
	}
	c.armLiveCheckLocked()
}
