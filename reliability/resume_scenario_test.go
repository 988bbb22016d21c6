package reliability_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// serverState reads app.<table> as alice: id → body.
func (e *env) serverState(table string) map[int64]string {
	e.t.Helper()
	res, err := e.srv.Exec("alice", "SELECT id, body FROM app."+table)
	if err != nil || len(res) != 1 {
		e.t.Fatalf("read app.%s: %v", table, err)
	}
	out := map[int64]string{}
	for _, r := range res[0].Rows {
		id, ok := client.ParseSeq(r[0])
		if !ok {
			e.t.Fatalf("row id %v is not a BIGINT", r[0])
		}
		out[id] = fmt.Sprint(r[1])
	}
	return out
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.srv.Exec("alice", sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// TestUpdateDeleteAcrossResume: rows are updated and deleted while the
// client is away. The resume (from = last _seq) brings the new versions of
// updated rows and the rows inserted meanwhile; KalamDB does not replay
// deletions (they are soft-deleted rows, excluded from the resumed
// snapshot), so the consumer's view keeps exactly the rows deleted during
// the outage, and nothing else differs. Live updates and deletes after the
// resume arrive as events again.
func TestUpdateDeleteAcrossResume(t *testing.T) { updateDeleteAcrossResume(t, envConfig{}) }

func updateDeleteAcrossResume(t *testing.T, cfg envConfig) *env {
	e := newEnv(t, cfg)
	sub := e.subscribe("messages")
	ids := e.insert("messages", 20)
	e.waitRows("initial rows", sub, ids)

	e.down()
	for _, id := range ids[:5] {
		e.exec("UPDATE app.messages SET body = $1 WHERE id = $2", fmt.Sprintf("edited-%d", id), id)
	}
	deleted := ids[5:10]
	for _, id := range deleted {
		e.exec("DELETE FROM app.messages WHERE id = $1", id)
	}
	added := e.insert("messages", 5)
	e.up()
	e.waitConnected(2)

	want := e.serverState("messages")
	e.waitFor("the resumed view", func() bool {
		got := sub.snapshot()
		for id, b := range want {
			if got[id] != b {
				return false
			}
		}
		return true
	}, sub.report(added))
	got := sub.snapshot()
	for _, id := range deleted {
		if _, ok := got[id]; !ok {
			t.Errorf("row %d deleted during the outage vanished from the view: KalamDB does not replay deletions, so something else removed it", id)
		}
		delete(got, id)
	}
	if !maps.Equal(got, want) {
		t.Errorf("consumer view after resume differs from the table beyond the unreplayed deletions:\n got %v\nwant %v", got, want)
	}

	// Live again: an update and a delete arrive as events.
	e.exec("UPDATE app.messages SET body = 'live-edit' WHERE id = $1", ids[0])
	e.exec("DELETE FROM app.messages WHERE id = $1", ids[1])
	e.waitFor("the live update and delete", func() bool {
		v := sub.snapshot()
		_, still := v[ids[1]]
		return v[ids[0]] == "live-edit" && !still
	}, nil)
	if sub.count(client.SubUpdate) < 1 || sub.count(client.SubDelete) < 1 {
		t.Errorf("live update/delete not delivered as events: %d updates, %d deletes",
			sub.count(client.SubUpdate), sub.count(client.SubDelete))
	}
	sub.checkOrder(t)
	e.checkProvider()
	return e
}

// TestHeavyWriteBurstRecovery: 1 000 rows are written while the client is
// away, then 300 more in one burst while it is live. The resume pages
// through the backlog and the burst streams in; every row arrives once.
func TestHeavyWriteBurstRecovery(t *testing.T) {
	e := newEnv(t, envConfig{})
	sub, all := e.liveSubscription("messages", 10, client.WithBatchSize(200))

	e.down()
	all = append(all, e.insertBulk("messages", 1000)...)
	e.up()
	e.waitConnected(2)
	all = append(all, e.insertBulk("messages", 300)...)
	e.waitDeliveredOnce("backlog and burst", sub, all)
	if n := sub.count(client.SubBatch); n < 5 {
		t.Errorf("the 1000-row backlog came in %d batches, want ≥ 5 pages of 200", n)
	}
	if d := e.srv.NotificationDrops(); d != 0 {
		t.Errorf("server dropped %d notifications with a 64k queue", d)
	}
}

// TestLargeSnapshotRepeatedOutages: a 1 500-row snapshot is loaded through
// a network that cuts every connection after 16 KiB (a few 50-row
// batches; a batch larger than that would never get through). Each cut lands
// mid-load; each resume continues after the last delivered row, so the
// load completes over many sockets with nothing repeated.
func TestLargeSnapshotRepeatedOutages(t *testing.T) {
	e := newEnv(t, envConfig{clientOpts: []client.Option{client.WithDisableCompression(true)}})
	all := e.insertBulk("messages", 1500)
	e.px.SetDropAfter(16 << 10)
	sub := e.subscribe("messages", client.WithBatchSize(50))
	e.waitRows("the whole snapshot", sub, all)
	e.px.SetDropAfter(0)
	e.waitConnected(1)

	sub.checkExactlyOnce(t, all)
	if r := sub.resumes(); r < 5 {
		t.Errorf("%d resumes for a 1500-row snapshot through 16 KiB connections, want ≥ 5", r)
	}
	e.checkProvider()
}

// TestLoadingResumeWithLiveWrites: rows are written while a paged load is
// in progress (the server buffers them until the load is ready) and the
// connection is reset twice during the load. Snapshot rows and live rows
// each arrive once, in _seq order.
func TestLoadingResumeWithLiveWrites(t *testing.T) {
	e := newEnv(t, envConfig{})
	all := e.insertBulk("messages", 400)
	e.px.SetLatency(8*time.Millisecond, 4*time.Millisecond)

	written := e.insertPaced("messages", 20, 2, 10*time.Millisecond) // overlapping the load
	sub := e.subscribe("messages", client.WithBatchSize(25))
	e.waitFor("a few batches", func() bool { return sub.count(client.SubBatch) >= 3 }, nil)
	e.px.Reset()
	e.waitFor("batches on the second socket", func() bool { return sub.count(client.SubBatch) >= 6 && e.log.count(kindConnected) >= 2 }, nil)
	e.px.Reset()
	all = append(all, <-written...)
	e.px.SetLatency(0, 0)
	e.waitDeliveredOnce("snapshot and live rows", sub, all)
}

// TestMultipleSubscriptionsBounced: four subscriptions share one socket;
// it is reset three times with writes to every table in between. Each
// subscription resumes from its own last _seq and misses nothing.
func TestMultipleSubscriptionsBounced(t *testing.T) { multipleSubscriptionsBounced(t, envConfig{}) }

func multipleSubscriptionsBounced(t *testing.T, cfg envConfig) *env {
	tables := []string{"t0", "t1", "t2", "t3"}
	cfg.tables = tables
	e := newEnv(t, cfg)
	subs := make([]*collector, len(tables))
	want := make([][]int64, len(tables))
	for i, tb := range tables {
		subs[i] = e.subscribe(tb)
		want[i] = e.insert(tb, 5)
	}
	for round := range 3 {
		e.px.Reset()
		for i, tb := range tables {
			want[i] = append(want[i], e.insert(tb, 5)...)
		}
		e.waitConnected(round + 2)
		for i, tb := range tables {
			want[i] = append(want[i], e.insert(tb, 2)...)
		}
		for i := range tables {
			e.waitRows("rows of "+tables[i], subs[i], want[i])
		}
	}
	for i := range tables {
		subs[i].checkExactlyOnce(t, want[i])
		if r := subs[i].resumes(); r < 3 {
			t.Errorf("%s resumed %d times after 3 resets", tables[i], r)
		}
	}
	e.checkProvider()
	return e
}

// TestEventCounterIntegrity: a known mix of inserts, updates and deletes,
// half of it across an outage, yields exactly the expected rows per event
// kind: live changes as change events, changes made during the outage as
// rows of the resumed batch, and no event counted twice.
func TestEventCounterIntegrity(t *testing.T) {
	e := newEnv(t, envConfig{clientOpts: []client.Option{quietKeepalive}})
	sub := e.subscribe("messages")
	ids := e.insert("messages", 40)
	for _, id := range ids[:10] {
		e.exec("UPDATE app.messages SET body = 'u' WHERE id = $1", id)
	}
	for _, id := range ids[10:15] {
		e.exec("DELETE FROM app.messages WHERE id = $1", id)
	}
	e.waitFor("live changes", func() bool {
		return sub.rows(client.SubInsert) >= 40 && sub.rows(client.SubUpdate) >= 10 && sub.rows(client.SubDelete) >= 5
	}, sub.report(ids))
	if a, u, d := sub.rows(client.SubInsert), sub.rows(client.SubUpdate), sub.rows(client.SubDelete); a != 40 || u != 10 || d != 5 {
		t.Errorf("live: %d inserted, %d updated, %d deleted rows; want 40, 10, 5", a, u, d)
	}

	e.down()
	during := e.insert("messages", 20)
	e.up()
	e.waitConnected(2)
	e.waitRows("outage rows", sub, during)
	more := e.insert("messages", 10)
	e.waitRows("live rows after resume", sub, more)

	if a := sub.rows(client.SubInsert); a != 50 {
		t.Errorf("%d inserted rows as change events, want 40 before and 10 after the outage", a)
	}
	if b := sub.rows(client.SubBatch); b != 20 {
		t.Errorf("%d rows in initial batches, want exactly the 20 written during the outage", b)
	}
	if sub.distinct() != 70 {
		t.Errorf("%d distinct ids delivered, want 70", sub.distinct())
	}
	if st := e.c.Stats(); st.ProviderCalls != uint64(e.prov.calls.Load()) {
		t.Errorf("Stats.ProviderCalls = %d, provider counted %d", st.ProviderCalls, e.prov.calls.Load())
	}
	sub.checkOrder(t)
	e.checkProvider()
}

// TestNotifyQueueOverflow: the server stalls its sockets while 300 rows are
// written, so its 128-deep per-connection queue overflows and KalamDB
// drops the newest notifications (silently: nothing on the wire says so).
// The client sees the first 128 rows, none twice; the next resume (from
// the last delivered _seq) brings the dropped ones back, because they are
// all newer than anything delivered.
//
// Had the queue drained between drops (the socket slow rather than
// stalled), rows newer than a dropped one would have been delivered, the
// resume checkpoint would have passed the dropped ones, and they would be
// lost for good: KalamDB gives a client no way to notice.
func TestNotifyQueueOverflow(t *testing.T) {
	const queue, written = 128, 300
	e := newEnv(t, envConfig{
		serverOpts: []kalamtest.Option{kalamtest.WithNotifyQueue(queue)},
		// A long keepalive, so the stall does not look like a dead socket.
		clientOpts: []client.Option{quietKeepalive},
	})
	sub := e.subscribe("messages")
	e.srv.Stall(waitDeadline)
	all := e.insertBulk("messages", written)
	// Notifications fan out asynchronously: keep the stall until every one
	// was either queued or dropped, so the drops are exactly the newest.
	e.waitFor("the queue to overflow", func() bool { return e.srv.NotificationDrops() >= written-queue }, nil)
	e.srv.Stall(0)

	e.waitRows("the queued notifications", sub, all[:queue])
	if drops := e.srv.NotificationDrops(); drops != written-queue {
		t.Errorf("server dropped %d notifications, want %d", drops, written-queue)
	}
	if got := sub.distinct(); got != queue {
		t.Errorf("%d rows delivered before the resume, want the %d that fit the queue", got, queue)
	}

	e.px.Reset()
	e.waitConnected(2)
	e.waitDeliveredOnce("the dropped rows, recovered by the resume", sub, all)
}
