package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// verifyDeadline bounds each wait of these tests: generous, for a loaded
// 2-core machine.
const verifyDeadline = 60 * time.Second

// waitUntil polls cond until it holds or verifyDeadline passes.
func waitUntil(t testing.TB, what string, cond func() bool, report func() string) {
	t.Helper()
	deadline := time.Now().Add(verifyDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if report != nil {
				msg = ": " + report()
			}
			t.Fatalf("timed out waiting for %s%s", what, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSub waits, as waitUntil does, until ok accepts the snapshot of
// subscription id of c.
func waitSub(t testing.TB, c *Conn, id, what string, ok func(SubSnapshot) bool) {
	t.Helper()
	waitUntil(t, what, func() bool {
		s, _ := c.Subscription(id)
		return ok(s)
	}, nil)
}

// waitOneOfEach waits until subscription id has counted one insert, one
// update and one delete.
func waitOneOfEach(t testing.TB, c *Conn, id, what string) {
	t.Helper()
	waitUntil(t, what, func() bool {
		s, _ := c.Subscription(id)
		return s.Inserts == 1 && s.Updates == 1 && s.Deletes == 1
	}, nil)
}

// liveRowsByKey returns subscription id's first 100 live rows by key.
func liveRowsByKey(c *Conn, id string) map[string]LiveRow {
	byKey := map[string]LiveRow{}
	for _, r := range c.SubRows(id, 0, 100) {
		byKey[r.Key] = r
	}
	return byKey
}

// verifyTable creates app.items (a USER table) with n rows of alice's.
func verifyTable(t testing.TB, e *env, n int) { verifyTableOf(t, e, "alice", n) }

// verifyTableOf creates app.items with n rows of user's.
func verifyTableOf(t testing.TB, e *env, user string, n int) {
	t.Helper()
	e.srv.MustExec("root", "CREATE NAMESPACE IF NOT EXISTS app")
	e.srv.MustExec("root", "CREATE TABLE app.items (id BIGINT PRIMARY KEY, name TEXT, note TEXT) WITH (TYPE = 'USER')")
	insertItemsOf(t, e, user, 1, n)
}

// insertItems writes alice's rows from..to (inclusive).
func insertItems(t testing.TB, e *env, from, to int) { insertItemsOf(t, e, "alice", from, to) }

// insertItemsOf writes user's rows from..to (inclusive) in 250-row
// statements.
func insertItemsOf(t testing.TB, e *env, user string, from, to int) {
	t.Helper()
	for lo := from; lo <= to; lo += 250 {
		var b strings.Builder
		b.WriteString("INSERT INTO app.items (id, name, note) VALUES ")
		for id := lo; id <= min(to, lo+249); id++ {
			if id > lo {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, 'n%d', 'note')", id, id)
		}
		e.srv.MustExec(user, b.String())
	}
}

func subscribeItems(t testing.TB, c *Conn, rows int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), verifyDeadline)
	defer cancel()
	id, err := c.Subscribe(ctx, "SELECT * FROM app.items", SubscribeOptions{ID: "items"})
	if err != nil {
		t.Fatal(err)
	}
	waitSub(t, c, id, "the initial load", func(s SubSnapshot) bool { return s.Status == SubReady && s.Rows == rows })
	return id
}

// openWatchingItems creates app.items with n of alice's rows, opens her
// connection and subscribes to the table; it returns once all n rows are
// in the view.
func openWatchingItems(t testing.TB, e *env, n int) (*Conn, string) {
	t.Helper()
	verifyTable(t, e, n)
	c := e.open("alice", "alice", "alice-pw")
	return c, subscribeItems(t, c, n)
}

func verify(t testing.TB, c *Conn, id string) Verification {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), verifyDeadline)
	defer cancel()
	v, err := c.Verify(ctx, id, VerifyOptions{PageSize: 100})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

// TestVerifyQuietSubscriptionIsClean: inserts, updates and deletes that
// all arrived leave nothing to report; the snapshot is read in pages.
func TestVerifyQuietSubscriptionIsClean(t *testing.T) {
	e := newEnv(t)
	c, id := openWatchingItems(t, e, 250)
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name, note) VALUES (1000, 'new', 'x')")
	e.srv.MustExec("alice", "UPDATE app.items SET name = 'renamed' WHERE id = 3")
	e.srv.MustExec("alice", "DELETE FROM app.items WHERE id = 4")
	waitOneOfEach(t, c, id, "the live changes")

	v := verify(t, c, id)
	if !v.Clean() || v.Changed.Count != 0 || v.Rechecked {
		t.Fatalf("a quiet subscription did not verify clean: %s (changed %d, rechecked %v)", v.Summary(), v.Changed.Count, v.Rechecked)
	}
	if v.ServerRows != 250 || v.LiveRows != 250 || v.Pages != 3 {
		t.Errorf("compared %d server rows with %d live rows in %d pages, want 250, 250, 3", v.ServerRows, v.LiveRows, v.Pages)
	}
	s, _ := c.Subscription(id)
	if s.Verified == nil || !s.Verified.Clean() {
		t.Errorf("the result is not kept as Verified: %+v", s.Verified)
	}
	if h := s.History; len(h) == 0 || h[len(h)-1].Kind != "verify" || !strings.HasPrefix(h[len(h)-1].Detail, "clean") {
		t.Errorf("history does not record the verification: %+v", h)
	}
}

// TestVerifyFindsQueueOverflowAndRepairFixesIt: the server's sockets
// stall while 300 rows are written, so its 128-deep notification queue
// drops 172 of them (as KalamDB's kalamdb-live connections_manager.rs does
// with try_send, logging "Notification channel full"); one more row
// arrives after the stall. Verify reports exactly the 172 as missing,
// dropped by the queue; Repair re-subscribes and the view matches again.
func TestVerifyFindsQueueOverflowAndRepairFixesIt(t *testing.T) {
	const queue, burst = 128, 300
	e := newEnvServer(t, []kalamtest.Option{kalamtest.WithNotifyQueue(queue)},
		// A long keepalive, so the stall does not look like a dead socket
		// (a resume would bring the dropped rows back).
		WithClientOptions(client.WithKeepalive(30*time.Second, 120*time.Second)))
	c, id := openWatchingItems(t, e, 10)

	e.srv.Stall(verifyDeadline)
	insertItems(t, e, 100, 100+burst-1)
	waitUntil(t, "the queue to overflow", func() bool { return e.srv.NotificationDrops() >= burst-queue }, nil)
	e.srv.Stall(0)
	waitSub(t, c, id, "the queued rows", func(s SubSnapshot) bool { return s.Inserts == queue })
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name, note) VALUES (5000, 'after', 'x')")
	waitSub(t, c, id, "the row after the burst", func(s SubSnapshot) bool { return s.Inserts == queue+1 })

	v := verify(t, c, id)
	if v.Missing.Count != burst-queue || v.Extra.Count != 0 || v.Values.Count != 0 {
		t.Fatalf("Verify: %s; want exactly %d missing", v.Summary(), burst-queue)
	}
	if n := v.Missing.Causes[CauseQueueDrop]; n != burst-queue {
		t.Errorf("causes %v, want all %d as %q", v.Missing.Causes, burst-queue, CauseQueueDrop)
	}
	if v.ServerRows != 10+burst+1 || len(v.Missing.Samples) != maxSamples || v.Missing.Samples[0].Server == nil {
		t.Errorf("server rows %d, samples %+v", v.ServerRows, v.Missing.Samples)
	}
	if v.Changed.Count != 0 {
		t.Errorf("%d rows counted as changed during a check of a quiet table", v.Changed.Count)
	}

	ctx, cancel := context.WithTimeout(context.Background(), verifyDeadline)
	defer cancel()
	if err := c.Repair(ctx, id); err != nil {
		t.Fatalf("Repair: %v", err)
	}
	waitSub(t, c, id, "the repaired view", func(s SubSnapshot) bool { return s.Status == SubReady && s.Rows == 10+burst+1 })
	if v := verify(t, c, id); !v.Clean() {
		t.Fatalf("after Repair: %s", v.Summary())
	}
	s, _ := c.Subscription(id)
	if s.Repairs != 1 || !hasHistory(s.History, "repair") {
		t.Errorf("repair not recorded: repairs %d, history %+v", s.Repairs, s.History)
	}
	// The repaired subscription is live: a new row arrives.
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name, note) VALUES (6000, 'live', 'x')")
	waitSub(t, c, id, "a live row after the repair", func(s SubSnapshot) bool { return s.Rows == 10+burst+2 })
}

func hasHistory(h []SubHistoryEntry, kind string) bool {
	for _, x := range h {
		if x.Kind == kind {
			return true
		}
	}
	return false
}

// TestVerifyReportsResumeGap: rows deleted while the client was
// disconnected stay in the view, because a resume (from the last _seq)
// replays no deletions; Verify names the resume as the cause. With
// WithAutoVerify the check runs by itself once the resumed subscription
// is ready.
func TestVerifyReportsResumeGap(t *testing.T) {
	e := newEnv(t, WithAutoVerify(1000))
	c, id := openWatchingItems(t, e, 20)

	e.srv.RefuseFor(verifyDeadline)
	e.srv.DropAll()
	waitUntil(t, "the client to notice the outage", func() bool { return c.Snapshot().State != client.StateConnected }, nil)
	e.srv.MustExec("alice", "DELETE FROM app.items WHERE id = 5")
	e.srv.MustExec("alice", "DELETE FROM app.items WHERE id = 6")
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name, note) VALUES (500, 'while away', 'x')")
	e.srv.RefuseFor(0)
	waitSub(t, c, id, "the resume", func(s SubSnapshot) bool { return s.Resumes == 1 && s.Status == SubReady && s.Rows == 21 })

	waitSub(t, c, id, "the automatic verification after the resume", func(s SubSnapshot) bool { return s.Verified != nil })
	if s, _ := c.Subscription(id); s.Verified.Extra.Count != 2 || !hasHistory(s.History, "resume") {
		t.Errorf("automatic verification: %s; history %+v", s.Verified.Summary(), s.History)
	}
	v := verify(t, c, id)
	if v.Extra.Count != 2 || v.Missing.Count != 0 || v.Values.Count != 0 {
		t.Fatalf("Verify: %s; want the 2 rows deleted during the outage as extra", v.Summary())
	}
	if v.Extra.Causes[CauseResumeGap] != 2 {
		t.Errorf("causes %v, want %q", v.Extra.Causes, CauseResumeGap)
	}
	if k := v.Extra.Samples[0].Key; k != "5" {
		t.Errorf("first extra row %q, want 5", k)
	}
}

// TestVerifyCleanAfterSetNull: an update that sets a column to NULL is
// notified without that column (KalamDB's update payload carries only
// non-NULL columns); the live row is replaced by the update's row, so the
// view holds the NULL and matches the server.
func TestVerifyCleanAfterSetNull(t *testing.T) {
	e := newEnv(t)
	c, id := openWatchingItems(t, e, 3)
	e.srv.MustExec("alice", "UPDATE app.items SET note = NULL WHERE id = 2")
	waitSub(t, c, id, "the update", func(s SubSnapshot) bool { return s.Updates == 1 })
	if v := verify(t, c, id); !v.Clean() {
		t.Fatalf("Verify after SET note = NULL: %s; want clean", v.Summary())
	}
}

// TestVerifyAccountsForEvictedRows: with a 50-row cap, the 150 oldest of
// 200 rows are evicted; they are not missing, and Verify says so.
func TestVerifyAccountsForEvictedRows(t *testing.T) {
	e := newEnv(t, WithLiveRowCap(50))
	verifyTable(t, e, 200)
	c := e.open("alice", "alice", "alice-pw")
	id := subscribeItems(t, c, 50)
	s, _ := c.Subscription(id)
	if s.Cap != 50 || s.Evicted != 150 || s.Received != 200 {
		t.Fatalf("cap %d evicted %d received %d, want 50, 150, 200", s.Cap, s.Evicted, s.Received)
	}
	v := verify(t, c, id)
	if !v.Clean() || v.Evicted != 150 || v.ServerRows != 200 {
		t.Fatalf("Verify: %s (evicted %d)", v.Summary(), v.Evicted)
	}
	// A row evicted and then deleted on the server is not missing either.
	e.srv.MustExec("alice", "DELETE FROM app.items WHERE id = 1")
	waitSub(t, c, id, "the delete", func(s SubSnapshot) bool { return s.Deletes == 1 })
	if v := verify(t, c, id); !v.Clean() {
		t.Fatalf("after deleting an evicted row: %s", v.Summary())
	}
}

func TestParseSnapshotSQL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT * FROM app.items", "SELECT * FROM app.items WHERE _seq > $1 ORDER BY _seq LIMIT 10"},
		{"select id, name from app.items where name = 'a where b' and (id > 3 or id < 1);",
			"SELECT id, name, _seq FROM app.items WHERE (name = 'a where b' and (id > 3 or id < 1)) AND _seq > $1 ORDER BY _seq LIMIT 10"},
		{"SELECT id, _seq FROM t WHERE \"from\" = 'it''s FROM'", "SELECT id, _seq FROM t WHERE (\"from\" = 'it''s FROM') AND _seq > $1 ORDER BY _seq LIMIT 10"},
	} {
		q, err := parseSnapshotSQL(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := q.page(10); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "DELETE FROM t", "SELECT 1", "SELECT * FROM t ORDER BY id", "SELECT * FROM t LIMIT 5", "SELECT * FROM t WHERE"} {
		if _, err := parseSnapshotSQL(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestVerifyReportsKilledSubscription: a DBA kills the live query with
// KILL LIVE QUERY (killLive), which tells the client nothing, so the view
// goes quiet while rows keep being written. A DBA, who can read
// system.live, is told the live query is gone (and CheckLive then marks
// it killed); anyone else that nothing arrived after those rows (and
// CheckLive says it cannot look).
func TestVerifyReportsKilledSubscription(t *testing.T) {
	for _, tc := range []struct {
		user, pw  string
		cause     Cause
		liveQuery string
	}{
		{"bob", "bob-pw", CauseKilled, "absent"},
		{"alice", "alice-pw", CauseSilent, ""},
	} {
		t.Run(tc.user, func(t *testing.T) {
			e := newEnv(t)
			verifyTableOf(t, e, tc.user, 5)
			c := e.open(tc.user, tc.user, tc.pw)
			id := subscribeItems(t, c, 5)
			killLive(t, e, tc.user, id)
			insertItemsOf(t, e, tc.user, 10, 12)

			v := verify(t, c, id)
			if v.Missing.Count != 3 || v.Missing.Causes[tc.cause] != 3 || v.LiveQuery != tc.liveQuery {
				t.Fatalf("Verify: %s (system.live: %q); want 3 missing, %s", v.Summary(), v.LiveQuery, tc.cause)
			}
			if s, _ := c.Subscription(id); s.Status != SubReady {
				t.Errorf("the client was told (status %s): the kill is meant to be silent", s.Status)
			}

			ctx, cancel := context.WithTimeout(context.Background(), verifyDeadline)
			defer cancel()
			lc, err := c.CheckLive(ctx)
			if tc.cause != CauseKilled {
				if err == nil || !strings.Contains(err.Error(), "dba and system roles") {
					t.Fatalf("CheckLive as %s: %+v %v, want told it needs a dba", tc.user, lc, err)
				}
				return
			}
			if err != nil || strings.Join(lc.Killed, ",") != id || lc.Listed != 0 {
				t.Fatalf("CheckLive: %+v %v, want %s killed", lc, err, id)
			}
			if s, _ := c.Subscription(id); s.Status != SubKilled {
				t.Errorf("after CheckLive: status %s, want killed", s.Status)
			}
		})
	}
}

// TestVerifyPartialSubscription: a subscription that loads only the last
// rows is not missing the older ones; Repair reloads it whole.
func TestVerifyPartialSubscription(t *testing.T) {
	e := newEnv(t)
	verifyTable(t, e, 10)
	c := e.open("alice", "alice", "alice-pw")
	ctx, cancel := context.WithTimeout(context.Background(), verifyDeadline)
	defer cancel()
	last := 3
	id, err := c.Subscribe(ctx, "SELECT * FROM app.items", SubscribeOptions{ID: "items", LastRows: &last})
	if err != nil {
		t.Fatal(err)
	}
	waitSub(t, c, id, "the last 3 rows", func(s SubSnapshot) bool { return s.Status == SubReady && s.Rows == 3 })
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name, note) VALUES (100, 'new', 'x')")
	e.srv.MustExec("alice", "UPDATE app.items SET name = 'old but changed' WHERE id = 1")
	waitSub(t, c, id, "the live changes", func(s SubSnapshot) bool { return s.Rows == 5 })
	v := verify(t, c, id)
	if !v.Clean() || v.Outside != 6 || v.ServerRows != 11 {
		t.Fatalf("Verify: %s (outside %d); want clean with the 6 older rows outside", v.Summary(), v.Outside)
	}
	if err := c.Repair(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitSub(t, c, id, "the whole table after the repair", func(s SubSnapshot) bool { return s.Status == SubReady && s.Rows == 11 })
	if v := verify(t, c, id); !v.Clean() || v.Outside != 0 {
		t.Fatalf("after Repair: %s (outside %d)", v.Summary(), v.Outside)
	}
}
