package session

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// killLive kills user's subscription subID as a DBA does, over the wire:
// bob (role dba) finds its live id in system.live and runs KILL LIVE QUERY
// through the SQL API. The server unregisters it and tells its client
// nothing (upstream backend/crates/kalamdb-handlers/crates/admin/src/jobs/kill_live_query.rs,
// backend/crates/kalamdb-live/src/manager/queries_manager.rs). It returns
// the live id.
func killLive(t *testing.T, e *env, user, subID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dba, err := client.Connect(ctx, e.srv.URL, client.WithLazyConnect(true), client.WithAuth(client.Basic("bob", "bob-pw")))
	if err != nil {
		t.Fatal(err)
	}
	defer dba.Close()
	live, err := dba.LiveQueries(ctx)
	if err != nil {
		t.Fatalf("system.live as a dba: %v", err)
	}
	var ids []string
	for _, lq := range live {
		if lq.UserID == user && lq.SubscriptionID == subID {
			ids = append(ids, lq.LiveID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("system.live lists %d live queries %s of %s, want 1: %+v", len(ids), subID, user, live)
	}
	res, err := dba.Query(ctx, "KILL LIVE QUERY '"+ids[0]+"'")
	if err != nil {
		t.Fatalf("KILL LIVE QUERY as a dba: %v", err)
	}
	if len(res.Results) != 1 || res.Results[0].Message != "Live query killed: "+ids[0] {
		t.Fatalf("KILL LIVE QUERY answered %+v", res.Results)
	}
	return ids[0]
}

// subscribeReady subscribes c to app.items under each id and waits until
// every one is acknowledged.
func subscribeReady(t *testing.T, c *Conn, ids ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range ids {
		if _, err := c.Subscribe(ctx, "SELECT * FROM app.items", SubscribeOptions{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "subscriptions ready", func() bool {
		for _, id := range ids {
			if s, _ := c.Subscription(id); s.Status != SubReady {
				return false
			}
		}
		return true
	})
}

// TestCheckLiveMarksKilledSubscription: KILL LIVE QUERY tells the client
// nothing (upstream backend/crates/kalamdb-live/src/manager/queries_manager.rs);
// CheckLive finds the subscription missing from system.live, marks it
// killed and releases it, so a reconnect does not bring it back, while the
// other subscription stays live.
func TestCheckLiveMarksKilledSubscription(t *testing.T) {
	e := newEnv(t)
	seedItems(t, e, "bob", 2)
	c := e.open("bob", "bob", "bob-pw")
	subscribeReady(t, c, "gone", "kept")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if lc, err := c.CheckLive(ctx); err != nil || lc.Listed != 2 || len(lc.Killed) != 0 {
		t.Fatalf("check before the kill: %+v %v", lc, err)
	}

	killLive(t, e, "bob", "gone")
	lc, err := c.CheckLive(ctx)
	if err != nil || lc.Listed != 1 || strings.Join(lc.Killed, ",") != "gone" {
		t.Fatalf("check after the kill: %+v %v", lc, err)
	}
	if s, _ := c.Subscription("gone"); s.Status != SubKilled || s.Err != KilledDetail {
		t.Errorf("killed subscription: status %s err %q", s.Status, s.Err)
	}
	if s, _ := c.Subscription("kept"); s.Status != SubReady {
		t.Errorf("other subscription: status %s", s.Status)
	}
	// A second check does not report it again.
	if lc, err := c.CheckLive(ctx); err != nil || len(lc.Killed) != 0 || lc.Listed != 1 {
		t.Errorf("second check: %+v %v", lc, err)
	}

	// A reconnect resumes only the live one: the new socket holds "kept"
	// alone, and a row written afterwards reaches it (as an insert, or in
	// the resume's initial data if it beat the resubscribe) but not the
	// killed one.
	first := c.Snapshot().Detail.ConnID
	e.srv.DropAll()
	eventually(t, "a new socket with the kept subscription resumed", func() bool {
		s, _ := c.Subscription("kept")
		return c.Snapshot().Detail.ConnID != first && c.Snapshot().State == client.StateConnected && s.Status == SubReady && s.Resumes == 1
	})
	for _, ci := range e.srv.Conns() {
		if ci.User == "bob" && !slices.Equal(ci.Subs, []string{"kept"}) {
			t.Errorf("bob's socket holds %v, want only kept", ci.Subs)
		}
	}
	e.srv.MustExec("bob", "INSERT INTO app.items (id, name) VALUES (100, 'after')")
	hasRow := func(id string) bool {
		for _, r := range c.SubRows(id, 0, 100) {
			if r.Key == "100" {
				return true
			}
		}
		return false
	}
	eventually(t, "row 100 on the kept subscription", func() bool { return hasRow("kept") })
	if s, _ := c.Subscription("gone"); s.Status != SubKilled || hasRow("gone") {
		t.Errorf("killed subscription after the reconnect: status %s, has row 100 %v", s.Status, hasRow("gone"))
	}
}

// TestCheckLiveNeedsDBA: a user role cannot read system.live, so the check
// says why instead of guessing, and marks nothing.
func TestCheckLiveNeedsDBA(t *testing.T) {
	e := newEnv(t)
	seedItems(t, e, "alice", 1)
	c := e.open("alice", "alice", "alice-pw")
	subscribeReady(t, c, "mine")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.CheckLive(ctx)
	if err == nil || !strings.Contains(err.Error(), "dba and system roles") {
		t.Fatalf("CheckLive as a user: %v", err)
	}
	if s, _ := c.Subscription("mine"); s.Status == SubKilled {
		t.Errorf("marked killed without a check")
	}
}

// TestLiveCheckRunsOnItsTimer: with WithLiveCheck the connection checks by
// itself, on the injected clock.
func TestLiveCheckRunsOnItsTimer(t *testing.T) {
	e := newEnv(t, WithLiveCheck(time.Minute))
	seedItems(t, e, "bob", 1)
	c := e.open("bob", "bob", "bob-pw")
	subscribeReady(t, c, "watched")
	killLive(t, e, "bob", "watched")
	e.clock.Advance(time.Minute)
	eventually(t, "the timer's check to mark it killed", func() bool {
		s, _ := c.Subscription("watched")
		return s.Status == SubKilled
	})
}

// TestLiveVerdicts: how system.live rows decide, including another socket
// of the same user holding the same ids (it must never make a live
// subscription look killed).
func TestLiveVerdicts(t *testing.T) {
	row := func(user, conn, sub string) client.LiveQuery {
		return client.LiveQuery{UserID: user, ConnectionID: conn, SubscriptionID: sub}
	}
	ours := map[string]bool{"a": true, "b": true}
	for _, c := range []struct {
		name string
		rows []client.LiveQuery
		want map[string]liveQueryState
	}{
		{"both listed", []client.LiveQuery{row("u", "c1", "a"), row("u", "c1", "b")},
			map[string]liveQueryState{"a": liveQueryPresent, "b": liveQueryPresent}},
		{"b gone", []client.LiveQuery{row("u", "c1", "a")},
			map[string]liveQueryState{"a": liveQueryPresent, "b": liveQueryAbsent}},
		{"another user's b does not count", []client.LiveQuery{row("u", "c1", "a"), row("v", "c9", "b")},
			map[string]liveQueryState{"a": liveQueryPresent, "b": liveQueryAbsent}},
		{"b gone here, held by our other socket", []client.LiveQuery{row("u", "c1", "a"), row("u", "c2", "a"), row("u", "c2", "b")},
			map[string]liveQueryState{"a": liveQueryPresent, "b": liveQueryPresent}},
		{"a on one socket, b on another: which is ours?", []client.LiveQuery{row("u", "c1", "a"), row("u", "c2", "b")},
			map[string]liveQueryState{"a": liveQueryUnknown, "b": liveQueryUnknown}},
		{"both gone", nil,
			map[string]liveQueryState{"a": liveQueryAbsent, "b": liveQueryAbsent}},
	} {
		got := liveVerdicts(c.rows, "u", ours)
		for id, want := range c.want {
			if got[id] != want {
				t.Errorf("%s: %s = %v, want %v", c.name, id, got[id], want)
			}
		}
	}
}
