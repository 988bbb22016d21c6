package sqlengine_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/fixtures"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// recorder collects changes from OnChange, as the server's queue does.
type recorder struct {
	mu  sync.Mutex
	chs []sqlengine.Change
}

func record(t *testing.T, e *sqlengine.Engine) *recorder {
	r := &recorder{}
	t.Cleanup(e.OnChange(func(ch sqlengine.Change) {
		r.mu.Lock()
		r.chs = append(r.chs, ch)
		r.mu.Unlock()
	}))
	return r
}

func (r *recorder) take() []sqlengine.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.chs
	r.chs = nil
	return out
}

// changeMessage builds the wire change frame for q, or nil when the change
// is not visible to it.
func changeMessage(q *sqlengine.LiveQuery, ch sqlengine.Change) *client.ChangeMessage {
	ct, rows, old, ok := q.Notification(ch)
	if !ok {
		return nil
	}
	return &client.ChangeMessage{Type: client.TypeChange, SubscriptionID: "sub-1", ChangeType: ct, Rows: rows, OldValues: old}
}

func prepare(t *testing.T, e *sqlengine.Engine, c sqlengine.Caller, sql string) *sqlengine.LiveQuery {
	t.Helper()
	q, err := e.PrepareLive(c, sql)
	if err != nil {
		t.Fatalf("PrepareLive(%q): %v", sql, err)
	}
	return q
}

// fixtureWorld builds app.messages with the fixtures' rows 1 and 2 for
// alice, one second apart like the fixtures.
func fixtureWorld(t *testing.T) (*sqlengine.Engine, *testkit.Clock) {
	clk := testkit.NewClock(fixtureTime)
	e := newEngine(t, sqlengine.Options{Now: clk.Now})
	setupMessages(t, e)
	exec(t, e, alice, "INSERT INTO app.messages VALUES (1, 'hello', 'alice', 1777924795000000)")
	clk.Advance(time.Second)
	exec(t, e, alice, "INSERT INTO app.messages VALUES (2, 'second message', 'alice', 1777924796000000)")
	return e, clk
}

func TestLiveInitialDataMatchesFixtures(t *testing.T) {
	e, _ := fixtureWorld(t)
	q := prepare(t, e, alice, "SELECT * FROM app.messages")
	if q.Namespace() != "app" || q.Table() != "messages" {
		t.Errorf("table = %s.%s", q.Namespace(), q.Table())
	}
	ack := fixtures.Load(t, "ws-server-subscription_ack.json").(map[string]any)
	if got := asJSON(t, q.Schema()); !reflect.DeepEqual(got, ack["schema"]) {
		t.Errorf("schema = %v\nwant %v", got, ack["schema"])
	}
	rows, more, err := q.Page(nil, e.MaxSeq(), 2)
	if err != nil || more {
		t.Fatalf("Page: more=%v err=%v", more, err)
	}
	want := fixtures.Load(t, "ws-server-initial_data_batch-first.json").(map[string]any)["rows"].([]any)
	got := asJSON(t, rows).([]any)
	if d := strings.Join(fixtures.ShapeDiffs("rows", want, got), "; "); d != "" {
		t.Fatalf("rows differ from fixture: %s", d)
	}
	for i := range want {
		g, w := got[i].(map[string]any), want[i].(map[string]any)
		for k := range w {
			if k != "_seq" && !reflect.DeepEqual(g[k], w[k]) {
				t.Errorf("row %d %s = %v, want %v", i, k, g[k], w[k])
			}
		}
	}
	if got[0].(map[string]any)["_seq"] != want[0].(map[string]any)["_seq"] {
		t.Errorf("first _seq = %v, want fixture's %v", got[0].(map[string]any)["_seq"], want[0].(map[string]any)["_seq"])
	}
	if seq, ok := client.Row(rows[1]).Seq(); !ok || seq != e.MaxSeq() {
		t.Errorf("last row _seq = %d (%v), MaxSeq %d", seq, ok, e.MaxSeq())
	}
}

func TestLiveNotificationsMatchFixtures(t *testing.T) {
	e, clk := fixtureWorld(t)
	rec := record(t, e)
	q := prepare(t, e, alice, "SELECT * FROM app.messages")
	other := prepare(t, e, bob, "SELECT * FROM app.messages")

	check := func(name string, ch sqlengine.Change, ignore ...string) {
		t.Helper()
		msg := changeMessage(q, ch)
		if msg == nil {
			t.Fatalf("%s: change not visible to its owner", name)
		}
		if changeMessage(other, ch) != nil {
			t.Errorf("%s: alice's change visible to bob", name)
		}
		got := asJSON(t, msg).(map[string]any)
		want := fixtures.Load(t, name).(map[string]any)
		if d := strings.Join(fixtures.ShapeDiffs("change", want, got), "; "); d != "" {
			t.Fatalf("%s: %s\n got %v", name, d, got)
		}
		for _, key := range []string{"rows", "old_values"} {
			w, ok := want[key].([]any)
			if !ok {
				continue
			}
			g := got[key].([]any)[0].(map[string]any)
			for k, v := range w[0].(map[string]any) {
				if k == "_seq" || slicesContains(ignore, k) {
					continue
				}
				if !reflect.DeepEqual(g[k], v) {
					t.Errorf("%s %s.%s = %v, want %v", name, key, k, g[k], v)
				}
			}
		}
	}

	clk.Advance(4 * time.Second)
	exec(t, e, alice, "INSERT INTO app.messages (id, body, author, created_at) VALUES (6, 'hello again', 'alice', '2026-05-04T20:00:00Z')")
	chs := rec.take()
	if len(chs) != 1 || chs[0].Type != client.ChangeInsert || chs[0].Owner != "alice" || chs[0].Seq != e.MaxSeq() {
		t.Fatalf("insert changes = %+v", chs)
	}
	check("ws-server-change-insert.json", chs[0])

	oldSeq := query(t, e, alice, "SELECT _seq FROM app.messages WHERE id = 1").Rows[0][0]
	exec(t, e, alice, "UPDATE app.messages SET body = 'hello (edited)' WHERE id = 1")
	chs = rec.take()
	if len(chs) != 1 || chs[0].Type != client.ChangeUpdate {
		t.Fatalf("update changes = %+v", chs)
	}
	check("ws-server-change-update.json", chs[0])
	_, rows, old, _ := q.Notification(chs[0])
	if old[0]["_seq"] != oldSeq || rows[0]["_seq"] == oldSeq {
		t.Errorf("update _seq new %v old %v, want old = %v", rows[0]["_seq"], old[0]["_seq"], oldSeq)
	}

	exec(t, e, alice, "DELETE FROM app.messages WHERE id = 2")
	chs = rec.take()
	if len(chs) != 1 || chs[0].Type != client.ChangeDelete {
		t.Fatalf("delete changes = %+v", chs)
	}
	check("ws-server-change-delete.json", chs[0])
	_, _, old, _ = q.Notification(chs[0])
	if s, _ := client.Row(old[0]).Seq(); s != e.MaxSeq() {
		t.Errorf("delete old_values _seq = %d, want the tombstone %d", s, e.MaxSeq())
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestLiveProjectionAndFilter(t *testing.T) {
	e, _ := fixtureWorld(t)
	rec := record(t, e)
	q := prepare(t, e, alice, "SELECT id, body FROM app.messages WHERE author = CURRENT_USER() AND id > 1")
	if got := asJSON(t, q.Schema()); !reflect.DeepEqual(got, asJSON(t, []client.SchemaField{
		{Name: "id", DataType: []byte(`"BigInt"`), Index: 0, Flags: []string{"pk", "nn", "uq"}},
		{Name: "body", DataType: []byte(`"Text"`), Index: 1},
	})) {
		t.Errorf("projected schema = %v", got)
	}
	rows, _, err := q.Page(nil, e.MaxSeq(), 10)
	if err != nil || len(rows) != 1 {
		t.Fatalf("Page = %v, %v", rows, err)
	}
	if got := keysOf(rows[0]); got != "_seq,body,id" || rows[0]["id"] != "2" {
		t.Errorf("projected row = %v", rows[0])
	}

	exec(t, e, alice, "INSERT INTO app.messages (id, body, author) VALUES (7, 'x', 'alice'), (8, 'y', 'mallory')")
	exec(t, e, alice, "UPDATE app.messages SET body = 'z' WHERE id = 7")
	exec(t, e, alice, "UPDATE app.messages SET author = 'eve' WHERE id = 2")
	var got []string
	for _, ch := range rec.take() {
		ct, rows, old, ok := q.Notification(ch)
		if !ok {
			continue
		}
		got = append(got, fmt.Sprintf("%s rows=%s old=%s", ct, rowsText(rows), rowsText(old)))
	}
	want := []string{
		"insert rows=[_seq,body=x,id=7] old=[]",
		"update rows=[_seq,body=z,id=7] old=[_seq,body=x,id=7]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("notifications =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// rowsText renders rows without _seq values, keys sorted.
func rowsText(rows []client.Row) string {
	var parts []string
	for _, r := range rows {
		var kv []string
		for _, k := range strings.Split(keysOf(r), ",") {
			if k == "_seq" || k == "" {
				kv = append(kv, k)
				continue
			}
			kv = append(kv, fmt.Sprintf("%s=%v", k, r[k]))
		}
		parts = append(parts, strings.Join(kv, ","))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func keysOf(r client.Row) string {
	m := map[string]any(r)
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}

// TestLiveUpdateOmitsNullsAndUnchanged pins upstream's update shape. An
// UPDATE merges its SET values onto the latest row, so a column set to NULL
// is a present NULL value in the new row (upstream
// backend/crates/kalamdb-tables/src/user_tables/user_table_provider.rs);
// project_update_delta then puts only non-NULL columns, the key and _seq
// in rows, and the key, _seq and the old value of every changed column in
// old_values (backend/crates/kalamdb-live/src/notification.rs). A column
// set to NULL is therefore only in old_values.
func TestLiveUpdateOmitsNullsAndUnchanged(t *testing.T) {
	e, _ := fixtureWorld(t)
	rec := record(t, e)
	q := prepare(t, e, alice, "SELECT * FROM app.messages")
	exec(t, e, alice, "UPDATE app.messages SET author = NULL, body = 'new' WHERE id = 1")
	chs := rec.take()
	_, rows, old, ok := q.Notification(chs[0])
	if !ok {
		t.Fatal("update not visible")
	}
	// New row: non-null columns + PK + _seq; never _deleted.
	if got := keysOf(rows[0]); got != "_seq,body,created_at,id" {
		t.Errorf("update rows keys = %s", got)
	}
	// Old row: changed columns (old values) + PK + _seq.
	if got := keysOf(old[0]); got != "_seq,author,body,id" || old[0]["author"] != "alice" || old[0]["body"] != "hello" {
		t.Errorf("update old_values = %v", old[0])
	}
}

func TestLivePagingFiveThousandRows(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	var b strings.Builder
	b.WriteString("INSERT INTO app.messages (id, body) VALUES ")
	for i := 1; i <= 5000; i++ {
		if i > 1 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "(%d, 'row %d')", i, i)
	}
	exec(t, e, alice, b.String())
	q := prepare(t, e, alice, "SELECT * FROM app.messages")
	boundary := e.MaxSeq()
	// Rows committed after the boundary are not part of the snapshot.
	exec(t, e, alice, "INSERT INTO app.messages (id) VALUES (5001)")
	exec(t, e, bob, "INSERT INTO app.messages (id) VALUES (1)")

	var after *int64
	total, pages := 0, 0
	last := int64(0)
	for {
		rows, more, err := q.Page(after, boundary, 1000)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range rows {
			s, ok := r.Seq()
			if !ok || s <= last || s > boundary {
				t.Fatalf("page %d: _seq %d out of order or past boundary", pages, s)
			}
			last = s
			total++
			if r["id"] != fmt.Sprint(total) {
				t.Fatalf("row %d has id %v", total, r["id"])
			}
		}
		if !more {
			break
		}
		if len(rows) != 1000 {
			t.Fatalf("page %d has %d rows but more=true", pages, len(rows))
		}
		after = &last
	}
	if total != 5000 || pages != 5 {
		t.Errorf("paged %d rows in %d pages, want 5000 in 5", total, pages)
	}

	tail, err := q.Last(3, boundary)
	if err != nil || len(tail) != 3 || tail[0]["id"] != "4998" || tail[2]["id"] != "5000" {
		t.Errorf("Last(3) = %v, %v", tail, err)
	}
	// Resume: only rows newer than from, not deleted.
	exec(t, e, alice, "DELETE FROM app.messages WHERE id = 5001")
	from := boundary
	rows, more, err := q.Page(&from, e.MaxSeq(), 100)
	if err != nil || more || len(rows) != 0 {
		t.Errorf("resume after delete = %v more=%v err=%v", rows, more, err)
	}
	if rows, _, _ := q.Page(nil, 0, 10); len(rows) != 0 {
		t.Errorf("boundary 0 returned %d rows", len(rows))
	}
}

func TestLiveErrors(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	exec(t, e, dba, "CREATE SHARED TABLE app.cfg (k TEXT PRIMARY KEY)")
	fx := func(name string) (string, string) {
		m := fixtures.Load(t, name).(map[string]any)
		return m["code"].(string), m["message"].(string)
	}
	code, msg := fx("ws-server-error-invalid_sql.json")
	if _, err := e.PrepareLive(alice, "SELECT * FROM messages"); err == nil || err.Code != code || err.Message != msg {
		t.Errorf("unqualified = %+v, want %s %q", err, code, msg)
	}
	code, msg = fx("ws-server-error-not_found.json")
	if _, err := e.PrepareLive(alice, "SELECT * FROM app.missing"); err == nil || err.Code != code || err.Message != msg {
		t.Errorf("missing table = %+v, want %s %q", err, code, msg)
	}
	for sql, want := range map[string]string{
		"SELECT * FROM app.messages ORDER BY id":  "Invalid SQL: Invalid SQL: Subscription query does not support ORDER BY. Only SELECT ... FROM ... [WHERE ...] is supported.",
		"SELECT * FROM app.messages LIMIT 1":      "Invalid SQL: Invalid SQL: Subscription query supports only SELECT ... FROM ... [WHERE ...].",
		"SELECT _seq FROM app.messages":           "Invalid SQL: Invalid SQL: Subscription query cannot project system columns '_seq' or '_deleted'.",
		"DELETE FROM app.messages":                "Invalid SQL: Invalid SQL: Only SELECT queries are supported for subscriptions",
		"SELECT id FROM app.messages GROUP BY id": "Invalid SQL: Invalid SQL: Subscription query does not support GROUP BY. Only SELECT ... FROM ... [WHERE ...] is supported.",
	} {
		if _, err := e.PrepareLive(alice, sql); err == nil || err.Code != sqlengine.WSCodeInvalidSQL || err.Message != want {
			t.Errorf("%s = %+v\nwant %q", sql, err, want)
		}
	}
	if _, err := e.PrepareLive(alice, "SELEC"); err == nil || err.Code != sqlengine.WSCodeInvalidSQL {
		t.Errorf("garbage = %+v", err)
	}
	if _, err := e.PrepareLive(alice, "SELECT * FROM system.users"); err == nil || err.Code != sqlengine.WSCodeUnauthorized ||
		err.Message != "Permission denied: Cannot subscribe to system table 'system:users': insufficient privileges. Only DBA and system roles can subscribe to system tables." {
		t.Errorf("system table = %+v", err)
	}
	if _, err := e.PrepareLive(alice, "SELECT * FROM app.cfg"); err == nil || err.Code != sqlengine.WSCodeUnauthorized ||
		err.Message != "Permission denied: Cannot subscribe to shared table 'app:cfg': access level 'private' requires elevated privileges." {
		t.Errorf("private shared table = %+v", err)
	}
	// A dropped table ends the live query's reads and notifications.
	q := prepare(t, e, alice, "SELECT * FROM app.messages")
	rec := record(t, e)
	exec(t, e, dba, "DROP TABLE app.messages")
	setupMessagesTableOnly(t, e)
	exec(t, e, alice, "INSERT INTO app.messages (id) VALUES (1)")
	for _, ch := range rec.take() {
		if _, _, _, ok := q.Notification(ch); ok {
			t.Error("old live query sees the recreated table's changes")
		}
	}
	if _, _, err := q.Page(nil, e.MaxSeq(), 10); err == nil {
		t.Error("Page on a dropped table succeeded")
	}
}

func setupMessagesTableOnly(t *testing.T, e *sqlengine.Engine) {
	exec(t, e, root, "CREATE USER TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT, author TEXT, created_at TIMESTAMP)")
}

func TestLiveStreamTable(t *testing.T) {
	clk := testkit.NewClock(fixtureTime)
	e := newEngine(t, sqlengine.Options{Now: clk.Now})
	exec(t, e, root, "CREATE NAMESPACE app")
	exec(t, e, root, "CREATE STREAM TABLE app.events (kind TEXT, n INT) WITH (TTL_SECONDS = 10)")
	rec := record(t, e)
	q := prepare(t, e, alice, "SELECT * FROM app.events")
	exec(t, e, alice, "INSERT INTO app.events VALUES ('a', 1)")
	chs := rec.take()
	_, rows, _, ok := q.Notification(chs[0])
	if !ok || keysOf(rows[0]) != "_seq,kind,n" || rows[0]["n"] != int64(1) {
		t.Errorf("stream insert = %v %v", rows, ok)
	}
	if got := asJSON(t, q.Schema()); len(got.([]any)) != 3 {
		t.Errorf("stream schema = %v", got)
	}
	clk.Advance(11 * time.Second)
	if got := query(t, e, alice, "SELECT * FROM app.events").Rows; len(got) != 0 {
		t.Errorf("expired stream rows still visible: %v", got)
	}
}

// The Go-side filter (notifications) and the SQLite filter (initial
// pages) must agree on every operator.
func TestLiveFilterAgreesWithInitialLoad(t *testing.T) {
	filters := []string{
		"body LIKE 'he%'", "body ILIKE 'HE%'", "body NOT LIKE '%o'", "id IN (1, 3, 5)", "id NOT IN (2)",
		"id BETWEEN 2 AND 4", "author IS NULL", "author IS NOT NULL", "id % 2 = 0", "id * 2 > 5 OR body = 'x'",
		"created_at >= '2026-05-04T20:00:02Z'", "UPPER(body) = 'HEY'", "COALESCE(author, 'none') = 'none'",
		"LENGTH(body) < 4", "NOT (id = 1 AND body = 'hello')", "body || author = 'heyz'",
	}
	clk := testkit.NewClock(fixtureTime)
	e := newEngine(t, sqlengine.Options{Now: clk.Now})
	setupMessages(t, e)
	rec := record(t, e)
	rows := []string{
		"(1, 'hello', 'a', NOW())", "(2, 'hey', 'z', NOW())", "(3, 'x', NULL, NOW())",
		"(4, 'help', 'b', NOW())", "(5, 'yo', NULL, NOW())", "(6, NULL, 'c', NOW())",
	}
	for _, r := range rows {
		exec(t, e, alice, "INSERT INTO app.messages VALUES "+r)
		clk.Advance(time.Second)
	}
	chs := rec.take()
	for _, f := range filters {
		q := prepare(t, e, alice, "SELECT id FROM app.messages WHERE "+f)
		page, _, err := q.Page(nil, e.MaxSeq(), 0)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var fromPage, fromChanges []any
		for _, r := range page {
			fromPage = append(fromPage, r["id"])
		}
		for _, ch := range chs {
			if _, rs, _, ok := q.Notification(ch); ok {
				fromChanges = append(fromChanges, rs[0]["id"])
			}
		}
		if !reflect.DeepEqual(fromPage, fromChanges) {
			t.Errorf("WHERE %s: initial load %v, notifications %v", f, fromPage, fromChanges)
		}
		if len(fromPage) == 0 || len(fromPage) == len(rows) {
			t.Errorf("WHERE %s selects %v: the case does not discriminate", f, fromPage)
		}
	}
}
