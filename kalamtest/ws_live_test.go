package kalamtest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/kalamdash/kalamdash/internal/fixtures"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

const messagesDDL = "CREATE USER TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT, author TEXT, created_at TIMESTAMP)"

// createMessages creates namespace app and the user table app.messages
// on s as the holder of tok (an admin).
func (s *ktServer) createMessages(t *testing.T, tok string) {
	t.Helper()
	s.mustSQL(t, tok, "CREATE NAMESPACE app")
	s.mustSQL(t, tok, messagesDDL)
}

// liveKT is a server with app.messages created and tokens for alice/bob.
type liveKT struct {
	*ktServer
	alice, bob, ops tokens
}

func newLive(t *testing.T, opts ...kalamtest.Option) *liveKT {
	t.Helper()
	s := newKT(t, opts...)
	l := &liveKT{ktServer: s, alice: s.login(t, "alice", alicePW), bob: s.login(t, "bob", bobPW), ops: s.login(t, "ops", "OpsPass123!")}
	s.createMessages(t, l.ops.access)
	return l
}

// insertMessages inserts rows id from..to for alice, like the fixtures.
func (l *liveKT) insertMessages(t *testing.T, tok string, from, to int) {
	t.Helper()
	var vals []string
	for i := from; i <= to; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'message %d', 'alice', %d)", i, i, 1777924795000000+int64(i)*1000000))
	}
	l.mustSQL(t, tok, "INSERT INTO app.messages (id, body, author, created_at) VALUES "+strings.Join(vals, ", "))
}

// newDroppingLive starts a live server whose notification queues hold
// queue notifications, logging to the returned buffer, with alice's socket
// subscribed to every message as sub-1: the setup of the queue-drop tests.
func newDroppingLive(t *testing.T, queue int) (*liveKT, *wsc, *testkit.SyncBuffer) {
	t.Helper()
	log := new(testkit.SyncBuffer)
	l := newLive(t, kalamtest.WithNotifyQueue(queue), kalamtest.WithLogWriter(log))
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("sub-1", "SELECT * FROM app.messages", "")
	return l, w, log
}

// overflowQueue stalls every socket's writer, inserts alice's messages
// 1..n one statement (one notification) each, and waits until the server
// has dropped at least drops notifications for lack of queue room.
func (l *liveKT) overflowQueue(t *testing.T, n int, drops uint64) {
	t.Helper()
	l.Stall(time.Hour)
	for i := 1; i <= n; i++ {
		if _, err := l.Exec("alice", fmt.Sprintf("INSERT INTO app.messages (id, body, author, created_at) VALUES (%d, 'x', 'alice', 1)", i)); err != nil {
			t.Fatal(err)
		}
	}
	testkit.Eventually(t, fmt.Sprintf("%d dropped notifications", drops), func() bool { return l.NotificationDrops() >= drops })
}

func subscribeMsg(id, sql, options string) string {
	if options == "" {
		return fmt.Sprintf(`{"type":"subscribe","subscription":{"id":%q,"sql":%q}}`, id, sql)
	}
	return fmt.Sprintf(`{"type":"subscribe","subscription":{"id":%q,"sql":%q,"options":%s}}`, id, sql, options)
}

func rowsOf(t *testing.T, f frame) []map[string]any {
	t.Helper()
	raw, _ := f.msg["rows"].([]any)
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func seqOf(t *testing.T, row map[string]any) int64 {
	t.Helper()
	s, ok := row["_seq"].(string)
	if !ok {
		t.Fatalf("_seq must be a string, got %T %v", row["_seq"], row["_seq"])
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func batchControl(t *testing.T, f frame) map[string]any {
	t.Helper()
	bc, ok := f.msg["batch_control"].(map[string]any)
	if !ok {
		t.Fatalf("no batch_control: %s", f.text)
	}
	return bc
}

// S4 + S14: header auth without compression, paged initial load with
// next_batch, then insert/update/delete made over HTTP by another
// connection, each compared with its fixture.
func TestS4SubscribeFlowAndS14Changes(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 5)
	w := l.dialAuthed(t, l.alice.access, "compress=false")
	w.send(mustRead(t, "ws-client-subscribe-batch-size.json"))

	ack := w.readType("subscription_ack")
	checkFixture(t, "ws-server-subscription_ack.json", ack.text)
	fix := fixtures.Load(t, "ws-server-subscription_ack.json").(map[string]any)
	gotSchema, _ := json.Marshal(ack.msg["schema"])
	fixSchema, _ := json.Marshal(fix["schema"])
	if !bytes.Equal(gotSchema, fixSchema) {
		t.Errorf("schema\n got %s\nwant %s", gotSchema, fixSchema)
	}

	names := []string{"ws-server-initial_data_batch-first.json", "ws-server-initial_data_batch-next.json", "ws-server-initial_data_batch-final.json"}
	var seen []int64
	for i, name := range names {
		f := w.readType("initial_data_batch")
		if f.binary {
			t.Errorf("compress=false but batch %d is binary", i)
		}
		checkFixture(t, name, f.text)
		bc := batchControl(t, f)
		wantStatus := fixtures.Load(t, name).(map[string]any)["batch_control"].(map[string]any)["status"]
		if bc["status"] != wantStatus || mustJSONNumber(t, bc["batch_num"]) != int64(i) {
			t.Errorf("batch %d control = %v", i, bc)
		}
		rows := rowsOf(t, f)
		last := seqOf(t, rows[len(rows)-1])
		if mustJSONNumber(t, bc["last_seq_id"]) != last {
			t.Errorf("last_seq_id %v != last row _seq %d", bc["last_seq_id"], last)
		}
		for _, r := range rows {
			seen = append(seen, seqOf(t, r))
		}
		if i == 0 {
			if !bytes.Equal(mustMarshal(ack.msg["batch_control"]), mustMarshal(f.msg["batch_control"])) {
				t.Errorf("ack and batch 0 batch_control differ: %v / %v", ack.msg["batch_control"], f.msg["batch_control"])
			}
		}
		if bc["has_more"] == true {
			w.send(fmt.Sprintf(`{"type":"next_batch","subscription_id":"sub-1","last_seq_id":%d}`, last))
		}
	}
	if len(seen) != 5 {
		t.Fatalf("initial load had %d rows, want 5", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("_seq not ascending: %v", seen)
		}
	}

	l.mustSQL(t, l.alice.access, "INSERT INTO app.messages (id, body, author, created_at) VALUES (6, 'hello again', 'alice', 1777924800000000)")
	f := w.readType("change")
	checkFixture(t, "ws-server-change-insert.json", f.text)

	l.mustSQL(t, l.alice.access, "UPDATE app.messages SET body = 'hello (edited)' WHERE id = 1")
	f = w.readType("change")
	checkFixture(t, "ws-server-change-update.json", f.text)
	if old := f.msg["old_values"].([]any)[0].(map[string]any); old["body"] != "message 1" {
		t.Errorf("update old_values: %s", f.text)
	}

	l.mustSQL(t, l.alice.access, "DELETE FROM app.messages WHERE id = 2")
	f = w.readType("change")
	checkFixture(t, "ws-server-change-delete.json", f.text)

	// bob's rows live in bob's partition of the USER table: alice sees none.
	l.mustSQL(t, l.bob.access, "INSERT INTO app.messages (id, body, author, created_at) VALUES (100, 'bob', 'bob', 1)")
	l.mustSQL(t, l.alice.access, "INSERT INTO app.messages (id, body, author, created_at) VALUES (7, 'seven', 'alice', 1)")
	f = w.readType("change")
	if rowsOf(t, f)[0]["id"] != "7" {
		t.Errorf("alice received another user's row: %s", f.text)
	}
	w.sentinel()
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// S6: with compression on, big frames arrive as binary gzip, small ones
// as text.
func TestS6Compression(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 20)
	w := l.dialAuthed(t, l.alice.access, "")
	ack := w.subscribe("sub-1", "SELECT * FROM app.messages", "{}") // schema of six columns: ≥512 bytes
	if len(ack.text) >= 512 && !ack.binary {
		t.Errorf("ack of %d bytes sent as text", len(ack.text))
	}
	f := w.readType("initial_data_batch")
	if !f.binary || len(f.raw) >= len(f.text) || f.raw[0] != 0x1f || f.raw[1] != 0x8b {
		t.Errorf("big batch: binary=%v wire=%d json=%d", f.binary, len(f.raw), len(f.text))
	}
	l.mustSQL(t, l.alice.access, "INSERT INTO app.messages (id, body, author, created_at) VALUES (21, 'x', 'alice', 1)")
	f = w.readType("change")
	if f.binary || len(f.text) >= 512 {
		t.Errorf("small change: binary=%v len=%d", f.binary, len(f.text))
	}
	if l.Conns()[0].Compress != true {
		t.Error("Conns() says compression off")
	}
}

// S11: subscribe errors keep the socket open.
func TestS11SubscribeErrors(t *testing.T) {
	l := newLive(t, kalamtest.WithSubscriptionLimits(2, 100))
	w := l.dialAuthed(t, l.alice.access, "")
	w.send(subscribeMsg("", "SELECT * FROM app.messages", "{}"))
	checkFixtureExact(t, "ws-server-error-invalid_subscription_id.json", w.read().text)
	w.send(subscribeMsg("sub-2", "SELECT * FROM messages", "{}"))
	checkFixtureExact(t, "ws-server-error-invalid_sql.json", w.read().text)
	w.send(subscribeMsg("sub-3", "SELECT * FROM app.missing", "{}"))
	checkFixtureExact(t, "ws-server-error-not_found.json", w.read().text)
	w.send(mustRead(t, "ws-client-subscribe-last-rows.json")) // 50 ≤ 50: fine
	w.readType("subscription_ack")
	w.readType("initial_data_batch")
	w.send(subscribeMsg("sub-recent", "SELECT id, body FROM app.messages WHERE author = 'alice'", `{"batch_size":50,"last_rows":51}`))
	checkFixtureExact(t, "ws-server-error-unsupported-last_rows.json", w.read().text)
	w.send(`{"type":"next_batch","subscription_id":"sub-9"}`)
	checkFixtureExact(t, "ws-server-error-batch_fetch_failed.json", w.read().text)

	// Per-user limit 2: one on this socket, one on another, then refused.
	w2 := l.dialAuthed(t, l.alice.access, "")
	w2.subscribe("sub-10", "SELECT * FROM app.messages", "")
	w2.send(subscribeMsg("sub-11", "SELECT * FROM app.messages", ""))
	f := w2.read()
	checkFixtureExact(t, "ws-server-error-subscription_limit_exceeded.json", f.text)
	w.sentinel()
	w2.sentinel()

	// Per-connection limit.
	l2 := newLive(t, kalamtest.WithSubscriptionLimits(10, 1))
	w3 := l2.dialAuthed(t, l2.alice.access, "")
	w3.subscribe("a", "SELECT * FROM app.messages", "")
	w3.send(subscribeMsg("b", "SELECT * FROM app.messages", ""))
	f = w3.read()
	if f.msg["code"] != "UNSUPPORTED" || f.msg["message"] != "Invalid operation: Maximum subscriptions (1) per connection exceeded" {
		t.Errorf("per-connection cap: %s", f.text)
	}
	// Re-subscribing an existing id counts as a new one too: a full
	// connection refuses it (upstream checks the connection's count before
	// it replaces anything: jamals86/KalamDB:
	// backend/crates/kalamdb-live/src/subscription.rs).
	w3.send(subscribeMsg("a", "SELECT * FROM app.messages", ""))
	if f := w3.read(); f.msg["code"] != "UNSUPPORTED" {
		t.Errorf("re-subscribe on a full connection: %s", f.text)
	}
	w3.sentinel()
}

// S12: options null → ack only (ready, last_seq_id null), then changes.
func TestS12SubscribeWithoutOptions(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 3)
	w := l.dialAuthed(t, l.alice.access, "compress=false")
	w.send(mustRead(t, "ws-client-subscribe-no-initial-data.json"))
	checkFixtureExact(t, "ws-server-subscription_ack-ready-no-initial-data.json", w.read().text)
	w.send(subscribeMsg("sub-absent", "SELECT * FROM app.messages", "")) // options absent: same
	f := w.readType("subscription_ack")
	if bc := batchControl(t, f); bc["status"] != "ready" || bc["last_seq_id"] != nil {
		t.Errorf("absent options: %s", f.text)
	}
	w.sentinel() // no initial_data_batch for either
	w.send(`{"type":"next_batch","subscription_id":"sub-live"}`)
	if f := w.read(); f.msg["code"] != "BATCH_FETCH_FAILED" || f.msg["message"] != "Invalid operation: Subscription sub-live was created without initial data loading" {
		t.Errorf("next_batch without initial load: %s", f.text)
	}
	l.insertMessages(t, l.alice.access, 4, 4)
	a, b := w.readType("change"), w.readType("change")
	if a.msg["subscription_id"] == b.msg["subscription_id"] {
		t.Errorf("want one change per subscription, got %s and %s", a.text, b.text)
	}
}

// TestBatchSizeZeroSkipsExistingRows: batch_size 0 is taken literally.
// Upstream's fetch_initial_data returns at once for a zero limit, so the
// ack and batch 0 both carry {batch_num 0, has_more false, ready,
// last_seq_id null}, batch 0 has no rows, and the subscription is live
// with only the changes after its snapshot boundary, also when from is set
// (upstream backend/crates/kalamdb-live/src/helpers/initial_data.rs,
// backend/crates/kalamdb-live/src/manager/queries_manager.rs). A last_rows
// above it is refused as for any batch size
// (backend/crates/kalamdb-api/src/ws/events/subscription.rs).
func TestBatchSizeZeroSkipsExistingRows(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 3)
	w := l.dialAuthed(t, l.alice.access, "compress=false")
	for _, c := range []struct{ id, opts string }{
		{"zero", `{"batch_size":0}`},
		{"zero-from", `{"batch_size":0,"from":1}`},
	} {
		ack := w.subscribe(c.id, "SELECT * FROM app.messages", c.opts)
		batch := w.readType("initial_data_batch")
		for _, f := range []frame{ack, batch} {
			bc := batchControl(t, f)
			last, hasLast := bc["last_seq_id"]
			if mustJSONNumber(t, bc["batch_num"]) != 0 || bc["has_more"] != false || bc["status"] != "ready" || !hasLast || last != nil {
				t.Errorf("%s: %s, want batch_control {batch_num 0, has_more false, status ready, last_seq_id null}", c.id, f.text)
			}
		}
		if rows := rowsOf(t, batch); len(rows) != 0 {
			t.Errorf("%s: batch 0 has %d rows, want none", c.id, len(rows))
		}
	}
	// Live at once: a new row reaches both, the old ones never come.
	l.insertMessages(t, l.alice.access, 4, 4)
	for range 2 {
		f := w.readType("change")
		rows := rowsOf(t, f)
		if f.msg["change_type"] != "insert" || len(rows) != 1 || fmt.Sprint(rows[0]["id"]) != "4" {
			t.Errorf("change after subscribing with batch_size 0: %s", f.text)
		}
	}
	w.send(subscribeMsg("zero-last", "SELECT * FROM app.messages", `{"batch_size":0,"last_rows":1}`))
	if f := w.read(); f.msg["code"] != "UNSUPPORTED" || f.msg["message"] != "last_rows (1) cannot exceed batch_size (0); paginated last_rows replay is not supported" {
		t.Errorf("last_rows above batch_size 0: %s", f.text)
	}
	w.sentinel()
}

// S13: {} on an empty table → ack + empty ready batch.
func TestS13EmptyTable(t *testing.T) {
	l := newLive(t)
	w := l.dialAuthed(t, l.alice.access, "")
	w.send(mustRead(t, "ws-client-subscribe.json"))
	ack := w.readType("subscription_ack")
	if bc := batchControl(t, ack); bc["last_seq_id"] != nil || bc["status"] != "ready" {
		t.Errorf("ack: %s", ack.text)
	}
	checkFixtureExact(t, "ws-server-initial_data_batch-empty.json", w.read().text)
	// The fixture's next_batch parses; past the end it is an empty batch.
	w.send(mustRead(t, "ws-client-next_batch.json"))
	f := w.readType("initial_data_batch")
	if bc := batchControl(t, f); mustJSONNumber(t, bc["batch_num"]) != 1 || bc["status"] != "ready" || len(rowsOf(t, f)) != 0 {
		t.Errorf("next_batch past the end: %s", f.text)
	}
	w.send(mustRead(t, "ws-client-ping.json"))
	w.sentinel()
}

// S15: resume with from returns only newer, live rows; deletions in the
// gap are not replayed.
func TestS15Resume(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 3)
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("sub-1", "SELECT * FROM app.messages", "{}")
	rows := rowsOf(t, w.readType("initial_data_batch"))
	last := seqOf(t, rows[len(rows)-1])
	_ = w.c.Close(websocket.StatusNormalClosure, "bye")

	l.insertMessages(t, l.alice.access, 4, 5)
	l.mustSQL(t, l.alice.access, "DELETE FROM app.messages WHERE id = 1")
	l.mustSQL(t, l.alice.access, "DELETE FROM app.messages WHERE id = 5")

	w = l.dialAuthed(t, l.alice.access, "")
	var fix map[string]any
	_ = json.Unmarshal(mustRead(t, "ws-client-subscribe-resume.json"), &fix)
	w.send(strings.Replace(string(mustRead(t, "ws-client-subscribe-resume.json")), "309781248081924101", strconv.FormatInt(last, 10), 1))
	w.readType("subscription_ack")
	f := w.readType("initial_data_batch")
	got := rowsOf(t, f)
	if len(got) != 1 || got[0]["id"] != "4" {
		t.Fatalf("resume batch: %s", f.text)
	}
	if batchControl(t, f)["status"] != "ready" {
		t.Errorf("resume batch not ready: %s", f.text)
	}
	// from_seq_id is an accepted alias.
	w.subscribe("sub-2", "SELECT * FROM app.messages", fmt.Sprintf(`{"from_seq_id":%d}`, last))
	if got := rowsOf(t, w.readType("initial_data_batch")); len(got) != 1 {
		t.Errorf("from_seq_id alias: %v", got)
	}
	l.insertMessages(t, l.alice.access, 6, 6)
	w.readType("change")
	w.readType("change")
}

// S16: unsubscribe is silent and stops that subscription's changes.
func TestS16Unsubscribe(t *testing.T) {
	l := newLive(t)
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("sub-1", "SELECT * FROM app.messages", "")
	w.subscribe("sub-2", "SELECT id FROM app.messages", "")
	w.send(mustRead(t, "ws-client-unsubscribe.json"))
	w.send(`{"type":"unsubscribe","subscription_id":"never-existed"}`)
	w.sentinel()
	if subs := l.Conns()[0].Subs; len(subs) != 1 || subs[0] != "sub-2" {
		t.Errorf("Conns().Subs = %v", subs)
	}
	l.insertMessages(t, l.alice.access, 1, 1)
	f := w.readType("change")
	if f.msg["subscription_id"] != "sub-2" {
		t.Fatalf("change for %v after unsubscribe", f.msg["subscription_id"])
	}
	if row := rowsOf(t, f)[0]; len(row) != 2 || row["id"] != "1" || row["_seq"] == nil {
		t.Errorf("projection must keep only id and _seq: %v", row)
	}
	w.sentinel() // sub-1's change would have been queued beside sub-2's
}

// The initial-load gate: no batch after 0 unless asked, and changes made
// during the load arrive only after the final batch.
func TestInitialLoadGate(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 4)
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("sub-1", "SELECT * FROM app.messages", `{"batch_size":2}`)
	b0 := w.readType("initial_data_batch")
	l.insertMessages(t, l.alice.access, 5, 5)
	w.sentinel() // neither batch 1 nor the change came unasked
	w.send(fmt.Sprintf(`{"type":"next_batch","subscription_id":"sub-1","last_seq_id":%d}`, mustJSONNumber(t, batchControl(t, b0)["last_seq_id"])))
	b1 := w.readType("initial_data_batch")
	if batchControl(t, b1)["status"] != "ready" || len(rowsOf(t, b1)) != 2 {
		t.Fatalf("final batch (the snapshot excludes row 5): %s", b1.text)
	}
	f := w.readType("change")
	if rowsOf(t, f)[0]["id"] != "5" {
		t.Errorf("buffered change: %s", f.text)
	}
}

// last_rows returns the newest rows, ascending, in one ready batch.
func TestLastRows(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 6)
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("r", "SELECT id, body FROM app.messages", `{"batch_size":10,"last_rows":2}`)
	f := w.readType("initial_data_batch")
	rows := rowsOf(t, f)
	if len(rows) != 2 || rows[0]["id"] != "5" || rows[1]["id"] != "6" || batchControl(t, f)["has_more"] != false {
		t.Errorf("last_rows: %s", f.text)
	}
}

// A 5 000-row initial load paged to ready over a compressed socket, then
// changes from another connection.
func TestLargeInitialLoad(t *testing.T) {
	l := newLive(t)
	for i := 0; i < 5; i++ {
		l.insertMessages(t, l.alice.access, i*1000+1, (i+1)*1000)
	}
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("big", "SELECT * FROM app.messages", "{}")
	ids := map[string]bool{}
	var prev int64
	for n := 0; ; n++ {
		f := w.readType("initial_data_batch")
		if !f.binary {
			t.Errorf("batch %d of %d bytes not compressed", n, len(f.text))
		}
		bc := batchControl(t, f)
		if mustJSONNumber(t, bc["batch_num"]) != int64(n) {
			t.Fatalf("batch_num %v, want %d", bc["batch_num"], n)
		}
		for _, r := range rowsOf(t, f) {
			seq := seqOf(t, r)
			if seq <= prev {
				t.Fatalf("_seq not ascending at %v", r)
			}
			prev = seq
			ids[r["id"].(string)] = true
		}
		if bc["has_more"] == false {
			if bc["status"] != "ready" {
				t.Fatalf("final status %v", bc["status"])
			}
			break
		}
		want := "loading_batch"
		if n == 0 {
			want = "loading"
		}
		if bc["status"] != want {
			t.Fatalf("batch %d status %v", n, bc["status"])
		}
		w.send(fmt.Sprintf(`{"type":"next_batch","subscription_id":"big","last_seq_id":%d}`, mustJSONNumber(t, bc["last_seq_id"])))
	}
	if len(ids) != 5000 {
		t.Fatalf("loaded %d distinct rows, want 5000", len(ids))
	}
	l.mustSQL(t, l.alice.access, "UPDATE app.messages SET body = 'edited' WHERE id = 4999")
	if f := w.readType("change"); f.msg["change_type"] != "update" {
		t.Errorf("after load: %s", f.text)
	}
}

// The per-connection notification queue drops (and counts, per
// subscription) what does not fit while the socket cannot write, as
// upstream's bounded channel does (kalamdb-live notification.rs: try_send,
// "Notification channel full for subscription_id=…, dropping
// notification"). The log says when a run of drops starts and how long it
// was once the queue has room again, not once per drop.
func TestNotificationQueueDrops(t *testing.T) {
	l, w, log := newDroppingLive(t, 4)
	w.subscribe("sub-2", "SELECT * FROM app.messages WHERE id > 8", "")
	// 12 notifications (10 for sub-1, ids 9 and 10 for sub-2); 4 fit.
	l.overflowQueue(t, 10, 8)
	if d := l.NotificationDrops(); d != 8 {
		t.Fatalf("drops = %d, want 8", d)
	}
	if a, b := l.SubscriptionDrops("alice", "sub-1"), l.SubscriptionDrops("alice", "sub-2"); a != 6 || b != 2 {
		t.Errorf("per-subscription drops sub-1 %d, sub-2 %d; want 6 and 2", a, b)
	}
	if c := l.Conns(); len(c) != 1 || c[0].SubDrops["sub-1"] != 6 {
		t.Errorf("ConnInfo.SubDrops %+v", c)
	}
	l.Stall(0)
	for i := 1; i <= 4; i++ {
		f := w.readType("change")
		if rowsOf(t, f)[0]["id"] != strconv.Itoa(i) {
			t.Errorf("change %d: %s", i, f.text)
		}
	}
	// A change after the queue drained is delivered, and ends the run.
	if _, err := l.Exec("alice", "INSERT INTO app.messages (id, body, author, created_at) VALUES (11, 'x', 'alice', 1)"); err != nil {
		t.Fatal(err)
	}
	w.readType("change")
	w.readType("change")
	w.sentinel()
	out := log.String()
	for _, want := range []string{
		`msg="notification queue full, dropping notifications" conn=1 user=alice subscription_id=sub-1 queue=4`,
		`msg="notification queue has room again" conn=1 user=alice subscription_id=sub-1 dropped=6 dropped_total=6`,
		`subscription_id=sub-2 dropped=2 dropped_total=2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "notification queue full"); n != 2 {
		t.Errorf("%d 'queue full' lines, want one per subscription's run:\n%s", n, out)
	}
}

// A program that knows only the protocol: HTTP DDL and DML, msgpack frames.
func TestMsgpackLiveFrames(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 2)
	w := l.mustDial(t, "serialization=msgpack&compress=false", bearer(l.alice.access))
	w.read()
	w.send(subscribeMsg("m", "SELECT * FROM app.messages", "{}"))
	for _, typ := range []string{"subscription_ack", "initial_data_batch"} {
		f := readMsgpack(t, w)
		if f["type"] != typ {
			t.Fatalf("want %s, got %v", typ, f)
		}
		if typ == "initial_data_batch" {
			rows := f["rows"].([]any)
			if len(rows) != 2 || rows[0].(map[string]any)["id"] != "1" {
				t.Errorf("msgpack rows: %v", rows)
			}
		}
	}
	l.insertMessages(t, l.alice.access, 3, 3)
	if f := readMsgpack(t, w); f["type"] != "change" || f["change_type"] != "insert" {
		t.Errorf("msgpack change: %v", f)
	}
	// Client frames may be gzip-wrapped MessagePack.
	b, _ := msgpack.Marshal(map[string]any{"type": "unsubscribe", "subscription_id": "m"})
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(b)
	_ = zw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), ktWait)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageBinary, z.Bytes()); err != nil {
		t.Fatal(err)
	}
	w.sentinel()
	if subs := l.Conns()[0].Subs; len(subs) != 0 {
		t.Errorf("gzip msgpack unsubscribe ignored: %v", subs)
	}
}

func TestSystemLiveListsSubscriptions(t *testing.T) {
	l := newLive(t)
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("watch-1", "SELECT * FROM app.messages", "")
	r := l.sql(t, l.ops.access, "SELECT * FROM system.live")
	if r.status != 200 || !strings.Contains(string(r.body), "watch-1") {
		t.Errorf("system.live: %d %s", r.status, r.body)
	}
}

// TestKillLiveQuery: KILL LIVE QUERY '<user_id>-<connection_id>-<subscription_id>'
// (the live_id of system.live) is for DBA and system only; it removes the
// subscription silently: the subscriber gets no frame at all, no error and
// no close, and no more changes; system.live no longer lists it; a new
// subscribe with the same id brings it back. An unknown connection is an
// error, an id the connection no longer holds is not (upstream
// backend/crates/kalamdb-dialect/src/ddl/kill_live_query.rs,
// backend/crates/kalamdb-handlers/crates/admin/src/jobs/kill_live_query.rs,
// backend/crates/kalamdb-live/src/manager/queries_manager.rs,
// backend/crates/kalamdb-live/src/subscription.rs,
// backend/crates/kalamdb-commons/src/models/ids/live_query_id.rs).
func TestKillLiveQuery(t *testing.T) {
	l := newLive(t)
	w := l.dialAuthed(t, l.alice.access, "compress=false")
	for _, id := range []string{"watch", "keep"} {
		w.subscribe(id, "SELECT * FROM app.messages", "")
	}
	conn := fmt.Sprintf("conn%d", l.Conns()[0].ID)
	liveID := "alice-" + conn + "-watch"
	live := l.mustSQL(t, l.ops.access, "SELECT live_id, connection_id, subscription_id, user_id FROM system.live WHERE subscription_id = 'watch'")
	if got := fmt.Sprint(live["results"].([]any)[0].(map[string]any)["rows"]); got != fmt.Sprintf("[[%s %s watch alice]]", liveID, conn) {
		t.Fatalf("system.live row %s, want live_id %s", got, liveID)
	}

	for _, c := range []struct {
		name, tok, sql string
		status         int
		code, msg      string
	}{
		{"a user", l.alice.access, "KILL LIVE QUERY '" + liveID + "'", 403, "PERMISSION_DENIED", "Statement 1 failed: Unauthorized: KILL LIVE QUERY requires DBA or System role"},
		{"no such connection", l.ops.access, "KILL LIVE QUERY 'alice-conn999-watch'", 400, "SQL_EXECUTION_ERROR", "Statement 1 failed: Not found: Connection not found for live query: alice-conn999-watch"},
		{"two parts", l.ops.access, "KILL LIVE QUERY 'alice-watch'", 400, "INVALID_SQL", "Invalid live_query_id format: alice-watch. Expected: {user_id}-{connection_id}-{subscription_id}"},
		{"no id", l.ops.access, "KILL LIVE QUERY ''", 400, "INVALID_SQL", "Live query ID cannot be empty"},
		{"mixed case", l.ops.access, "Kill Live Query '" + liveID + "'", 400, "INVALID_SQL", "Live query ID is required"},
	} {
		r := l.sql(t, c.tok, c.sql)
		if code, msg := sqlErr(t, r); r.status != c.status || code != c.code || msg != c.msg {
			t.Errorf("%s: %d %s %q, want %d %s %q", c.name, r.status, code, msg, c.status, c.code, c.msg)
		}
	}

	res := l.mustSQL(t, l.ops.access, "KILL LIVE QUERY '"+liveID+"'")
	if got := res["results"].([]any)[0].(map[string]any)["message"]; got != "Live query killed: "+liveID {
		t.Errorf("kill result message %v", got)
	}
	// Killing it again finds the connection but no subscription: fine.
	l.mustSQL(t, l.ops.access, "kill live query "+liveID)
	l.insertMessages(t, l.alice.access, 1, 1)
	if f := w.readType("change"); f.msg["subscription_id"] != "keep" {
		t.Fatalf("change for %v after the kill, want only keep's", f.msg["subscription_id"])
	}
	w.sentinel() // nothing for the killed subscription: no change, no error
	if subs := l.Conns()[0].Subs; strings.Join(subs, ",") != "keep" {
		t.Errorf("server-side subscriptions after the kill: %v", subs)
	}
	live = l.mustSQL(t, l.ops.access, "SELECT live_id FROM system.live WHERE subscription_id = 'watch'")
	if rows := live["results"].([]any)[0].(map[string]any)["rows"]; rows != nil && len(rows.([]any)) != 0 {
		t.Errorf("system.live still lists the killed subscription: %v", rows)
	}

	w.subscribe("watch", "SELECT * FROM app.messages", "")
	l.insertMessages(t, l.alice.access, 2, 2)
	seen := map[any]bool{}
	for range 2 {
		seen[w.readType("change").msg["subscription_id"]] = true
	}
	if !seen["watch"] || !seen["keep"] {
		t.Errorf("changes after subscribing again went to %v, want watch and keep", seen)
	}
}

func TestDemoMode(t *testing.T) {
	s := newKT(t, kalamtest.WithDemo(), kalamtest.WithDemoInterval(5*time.Millisecond))
	tk := s.login(t, kalamtest.DemoUser, kalamtest.DemoPassword)
	w := s.dialAuthed(t, tk.access, "")
	w.subscribe("demo", "SELECT * FROM demo.messages", "{}")
	if rows := rowsOf(t, w.readType("initial_data_batch")); len(rows) < 5 {
		t.Errorf("demo starts with %d rows", len(rows))
	}
	w.readType("change") // the writer keeps frames flowing
	w.send(subscribeMsg("metrics", "SELECT * FROM demo.metrics", "{}"))
	for i := 0; ; i++ {
		if i > 2000 {
			t.Fatal("no demo.metrics batch among 2000 frames")
		}
		f := w.read()
		if f.msg["type"] == "initial_data_batch" {
			// A metric updated after the snapshot boundary is not in the
			// snapshot; its update change follows the batch.
			if n := len(rowsOf(t, f)); n == 0 || n > 5 {
				t.Errorf("metrics: %s", f.text)
			}
			break
		}
	}
	w.send(subscribeMsg("events", "SELECT * FROM demo.events", ""))
	for i := 0; ; i++ {
		if i > 2000 {
			t.Fatal("no demo.events change among 2000 frames")
		}
		f := w.read()
		if f.msg["type"] == "change" && f.msg["subscription_id"] == "events" {
			if rowsOf(t, f)[0]["kind"] != "heartbeat" {
				t.Errorf("event: %s", f.text)
			}
			break
		}
	}
	admin := s.login(t, kalamtest.DemoAdmin, kalamtest.DemoAdminPW)
	if r := s.sql(t, admin.access, "SELECT * FROM system.users"); r.status != 200 {
		t.Errorf("admin reads system.users: %d %s", r.status, r.body)
	}
}

// readMsgpack reads one binary MessagePack frame into a map.
func readMsgpack(t *testing.T, w *wsc) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, ktWait)
	defer cancel()
	typ, b, err := w.c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.MessageBinary {
		t.Fatalf("want a binary msgpack frame, got text %s", b)
	}
	var m map[string]any
	if err := msgpack.Unmarshal(b, &m); err != nil {
		t.Fatalf("not msgpack: %v", err)
	}
	return m
}

// A SHARED table's changes, made by one user over HTTP, reach every
// subscriber; WHERE filters apply per subscription.
func TestSharedTableChangesReachEveryone(t *testing.T) {
	l := newLive(t)
	l.mustSQL(t, l.ops.access, "CREATE SHARED TABLE app.board (id BIGINT PRIMARY KEY, note TEXT, prio INT) WITH (ACCESS_LEVEL = 'PUBLIC')")
	wa := l.dialAuthed(t, l.alice.access, "")
	wb := l.dialAuthed(t, l.bob.access, "compress=false")
	wa.subscribe("all", "SELECT * FROM app.board", "{}")
	wa.readType("initial_data_batch")
	wb.subscribe("urgent", "SELECT id, note FROM app.board WHERE prio > 5", "")

	l.mustSQL(t, l.ops.access, "INSERT INTO app.board (id, note, prio) VALUES (1, 'low', 1), (2, 'high', 9)")
	a1, a2 := wa.readType("change"), wa.readType("change")
	if rowsOf(t, a1)[0]["id"] != "1" || rowsOf(t, a2)[0]["id"] != "2" {
		t.Errorf("alice: %s / %s", a1.text, a2.text)
	}
	b := wb.readType("change")
	if row := rowsOf(t, b)[0]; row["id"] != "2" || row["prio"] != nil {
		t.Errorf("bob's filtered, projected change: %s", b.text)
	}
	wb.sentinel() // the low-priority row did not match bob's WHERE
	l.mustSQL(t, l.ops.access, "DELETE FROM app.board WHERE id = 2")
	if f := wb.readType("change"); f.msg["change_type"] != "delete" {
		t.Errorf("bob delete: %s", f.text)
	}
	if f := wa.readType("change"); f.msg["change_type"] != "delete" {
		t.Errorf("alice delete: %s", f.text)
	}
}

// DOUBLE cells keep serde_json's float form on both surfaces: 20 is "20.0".
func TestDoubleCellsLookLikeSerde(t *testing.T) {
	l := newLive(t)
	l.mustSQL(t, l.ops.access, "CREATE SHARED TABLE app.gauges (id BIGINT PRIMARY KEY, v DOUBLE) WITH (ACCESS_LEVEL = 'PUBLIC')")
	l.mustSQL(t, l.ops.access, "INSERT INTO app.gauges (id, v) VALUES (1, 20)")
	if r := l.sql(t, l.alice.access, "SELECT v FROM app.gauges"); !strings.Contains(string(r.body), `[[20.0]]`) {
		t.Errorf("/sql: %s", r.body)
	}
	w := l.dialAuthed(t, l.alice.access, "compress=false")
	w.subscribe("g", "SELECT * FROM app.gauges", "{}")
	if f := w.readType("initial_data_batch"); !strings.Contains(string(f.text), `"v":20.0`) {
		t.Errorf("batch: %s", f.text)
	}
	l.mustSQL(t, l.ops.access, "UPDATE app.gauges SET v = 21.5 WHERE id = 1")
	if f := w.readType("change"); !strings.Contains(string(f.text), `"v":21.5`) || !strings.Contains(string(f.text), `"v":20.0`) {
		t.Errorf("change: %s", f.text)
	}
}

// A run of drops that the queue never recovers from is logged, with its
// length, when the subscription ends with its socket.
func TestNotificationDropRunLoggedAtClose(t *testing.T) {
	l, w, log := newDroppingLive(t, 2)
	l.overflowQueue(t, 5, 3)
	_ = w.c.CloseNow()
	want := `msg="subscription ended while its notifications were being dropped" conn=1 user=alice subscription_id=sub-1 dropped=3 dropped_total=3`
	testkit.Poll(t, "the log line of the dropped run", log.String, func(out string) bool { return strings.Contains(out, want) })
	l.Stall(0)
}

// A row an UPDATE leaves as it was is skipped like upstream: no new
// version, no change frame, not counted in the answer's row_count. Upstream
// drops it twice over: the DataFusion UPDATE loop skips it before writing
// (update_assignments_noop in kalamdb-tables/src/utils/datafusion_dml.rs,
// called from update() in user_tables/user_table_provider.rs and
// shared_tables/shared_table_provider.rs, counting only rows written), and
// update_by_pk_value returns None before notify_table_change when the
// merged row equals the stored one.
func TestNoOpUpdateNotifiesNobody(t *testing.T) {
	l := newLive(t)
	l.insertMessages(t, l.alice.access, 1, 2)
	w := l.dialAuthed(t, l.alice.access, "")
	w.subscribe("sub-1", "SELECT * FROM app.messages", `{"batch_size":0}`)
	w.readType("initial_data_batch") // empty: batch_size 0 skips the existing rows

	answer := func(sql string) map[string]any {
		t.Helper()
		res := l.mustSQL(t, l.alice.access, sql)["results"].([]any)
		return res[0].(map[string]any)
	}
	if r := answer("UPDATE app.messages SET body = 'message 1' WHERE id = 1"); mustJSONNumber(t, r["row_count"]) != 0 || r["message"] != "Updated 0 row(s)" {
		t.Errorf("no-op UPDATE answered %v, want row_count 0 and Updated 0 row(s)", r)
	}
	// Row 2 already reads 'message 2'; only row 1 changes.
	if r := answer("UPDATE app.messages SET body = 'message 2' WHERE id IN (1, 2)"); mustJSONNumber(t, r["row_count"]) != 1 || r["message"] != "Updated 1 row(s)" {
		t.Errorf("half no-op UPDATE answered %v, want row_count 1 and Updated 1 row(s)", r)
	}
	// Frames arrive in commit order, so the first change must be row 1's
	// real edit: a notification for the no-op would have come before it.
	f := w.readType("change")
	if rows := rowsOf(t, f); len(rows) != 1 || rows[0]["id"] != "1" || rows[0]["body"] != "message 2" {
		t.Fatalf("first change after a no-op UPDATE: %s", f.text)
	}
	w.sentinel() // and no change for the unchanged row 2
}
