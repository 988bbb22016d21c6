package sqlengine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/fixtures"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// resultJSON renders a result the way the server puts it in "results".
func resultJSON(t *testing.T, r sqlengine.Result, asUser string) any {
	t.Helper()
	m := map[string]any{"row_count": r.RowCount, "as_user": asUser}
	if len(r.Schema) > 0 {
		m["schema"] = r.Schema
	}
	if r.IsQuery {
		m["rows"] = r.RawRows()
	} else {
		m["message"] = r.Message
	}
	return asJSON(t, m)
}

func firstResult(t *testing.T, fx any) any {
	t.Helper()
	return fx.(map[string]any)["results"].([]any)[0]
}

func TestResultsMatchFixtures(t *testing.T) {
	clk := testkit.NewClock(fixtureTime)
	e := newEngine(t, sqlengine.Options{Now: clk.Now})

	ddl := exec(t, e, root, "CREATE NAMESPACE app")
	want := firstResult(t, fixtures.Load(t, "http-sql-response-ddl.json"))
	got := resultJSON(t, ddl.Results[0], "root")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CREATE NAMESPACE result = %v, want %v", got, want)
	}
	if ddl.SingleSelect {
		t.Error("DDL must not use the streamed single-SELECT shape")
	}

	exec(t, e, root, "CREATE USER TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT, author TEXT, created_at TIMESTAMP)")
	ins := exec(t, e, alice, "INSERT INTO app.messages (id, body, author, created_at) VALUES (1, 'hello', 'alice', 1777924795000000)")
	want = firstResult(t, fixtures.Load(t, "http-sql-response-insert.json"))
	if got := resultJSON(t, ins.Results[0], "alice"); !reflect.DeepEqual(got, want) {
		t.Errorf("INSERT result = %v, want %v", got, want)
	}
	clk.Advance(time.Millisecond)
	exec(t, e, alice, "INSERT INTO app.messages (id, body, author, created_at) VALUES (2, 'second message', 'alice', '2026-05-04T19:59:56Z')")

	sel := exec(t, e, alice, "SELECT * FROM app.messages")
	if !sel.SingleSelect {
		t.Error("a single SELECT must report SingleSelect")
	}
	fx := firstResult(t, fixtures.Load(t, "http-sql-response-select.json")).(map[string]any)
	got = resultJSON(t, sel.Results[0], "alice")
	if d := strings.Join(fixtures.ShapeDiffs("result", fx, got), "; "); d != "" {
		t.Fatalf("SELECT * shape differs from fixture: %s\n got %v", d, got)
	}
	gm := got.(map[string]any)
	if !reflect.DeepEqual(gm["schema"], fx["schema"]) {
		t.Errorf("schema = %v\nwant %v", gm["schema"], fx["schema"])
	}
	// Values other than _seq equal the fixture's; the first _seq is the
	// fixture's exactly (same clock, worker 0).
	for i, row := range gm["rows"].([]any) {
		wrow := fx["rows"].([]any)[i].([]any)
		for j, cell := range row.([]any) {
			if j == 4 {
				continue
			}
			if !reflect.DeepEqual(cell, wrow[j]) {
				t.Errorf("row %d col %d = %v, want %v", i, j, cell, wrow[j])
			}
		}
	}
	if seq := gm["rows"].([]any)[0].([]any)[4]; seq != "309781227110404096" {
		t.Errorf("first _seq = %v, want the fixture's 309781227110404096", seq)
	}
}

func TestNamespaceAndTableDDL(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	msg := func(r sqlengine.ExecResult) string { return r.Results[0].Message }

	if got := msg(exec(t, e, dba, "CREATE NAMESPACE IF NOT EXISTS app")); got != "Namespace 'app' created successfully" {
		t.Errorf("create = %q", got)
	}
	if got := msg(exec(t, e, dba, "CREATE NAMESPACE IF NOT EXISTS app")); got != "Namespace 'app' already exists" {
		t.Errorf("create again = %q", got)
	}
	err := execErr(t, e, dba, "CREATE NAMESPACE app")
	if err.Code != sqlengine.CodeSQLExecutionError || err.Message != "Statement 1 failed: Already exists: Namespace 'app' already exists" || err.Details != "CREATE NAMESPACE app" {
		t.Errorf("duplicate namespace error = %+v", err)
	}
	err = execErr(t, e, alice, "CREATE NAMESPACE mine")
	if err.Status != http.StatusForbidden || err.Code != sqlengine.CodePermissionDenied ||
		err.Message != "Admin privileges (DBA or System role) required for namespace operations" {
		t.Errorf("non-admin namespace error = %+v", err)
	}

	for _, tc := range []struct {
		sql, want string
	}{
		{"CREATE TABLE app.shared1 (id INT PRIMARY KEY, v TEXT)", "CREATE TABLE via Raft consensus: shared table app.shared1 created successfully"},
		{"CREATE USER TABLE app.u1 (id BIGINT PRIMARY KEY)", "CREATE TABLE via Raft consensus: user table app.u1 created successfully"},
		{"CREATE TABLE app.u2 (id BIGINT PRIMARY KEY) WITH (TYPE = 'USER', FLUSH_POLICY = 'rows:1000')", "CREATE TABLE via Raft consensus: user table app.u2 created successfully"},
		{"CREATE STREAM TABLE app.events (kind TEXT, n INT) WITH (TTL_SECONDS = 60)", "CREATE TABLE via Raft consensus: stream table app.events created successfully"},
		{"CREATE TABLE IF NOT EXISTS app.u1 (id BIGINT PRIMARY KEY)", "CREATE TABLE via Raft consensus: shared table app.u1 created successfully"},
	} {
		if got := msg(exec(t, e, dba, tc.sql)); got != tc.want {
			t.Errorf("%s\n got %q\nwant %q", tc.sql, got, tc.want)
		}
	}

	// Upstream parse errors are INVALID_SQL, redacted for non-admins.
	checkFailures(t, e,
		failing{who: dba, sql: "CREATE STREAM TABLE app.s2 (id INT)", code: sqlengine.CodeInvalidSQL,
			message: "Invalid CREATE TABLE statement: STREAM tables must specify 'TTL_SECONDS'"},
		failing{who: alice, sql: "CREATE STREAM TABLE app.s2 (id INT)", code: sqlengine.CodeInvalidSQL,
			message: "SQL statement is invalid or not allowed", redacted: true},
		failing{who: dba, sql: "CREATE TABLE app.nopk (v TEXT)",
			message: "Statement 1 failed: Invalid operation: Shared tables require a PRIMARY KEY column"},
		failing{who: dba, sql: "CREATE USER TABLE ghost.t (id INT PRIMARY KEY)",
			message: "Statement 1 failed: Invalid operation: Namespace 'ghost' does not exist. Create it first with CREATE NAMESPACE ghost"},
		failing{who: alice, sql: "CREATE SHARED TABLE app.s3 (id INT PRIMARY KEY)", status: http.StatusForbidden,
			message: "Statement 1 failed: Unauthorized: Insufficient privileges to create shared tables"},
	)
	exec(t, e, alice, "CREATE USER TABLE app.todo (id BIGINT PRIMARY KEY DEFAULT SNOWFLAKE_ID(), title TEXT NOT NULL, done BOOLEAN DEFAULT false)")

	err = execErr(t, e, alice, "DROP TABLE app.todo")
	if err.Status != http.StatusForbidden || err.Code != sqlengine.CodePermissionDenied {
		t.Errorf("user dropping table = %+v", err)
	}
	if got := msg(exec(t, e, dba, "DROP TABLE IF EXISTS app.nothing")); got != "Table app.nothing does not exist (skipped)" {
		t.Errorf("drop if exists = %q", got)
	}
	if got := msg(exec(t, e, dba, "DROP TABLE app.todo")); !strings.HasPrefix(got, "Table app.todo dropped successfully. Cleanup job: ") {
		t.Errorf("drop = %q", got)
	}
	err = execErr(t, e, alice, "SELECT * FROM app.todo")
	if err.Code != sqlengine.CodeSQLExecutionError || err.Message != "SQL statement failed" {
		t.Errorf("dropped table, non-admin = %+v", err)
	}
	err = execErr(t, e, dba, "SELECT * FROM app.todo")
	if err.Message != "Statement 1 failed: Table not found: Error during planning: table 'kalam.app.todo' not found" || err.Details != "SELECT * FROM app.todo" {
		t.Errorf("dropped table, admin = %+v", err)
	}
	if got := msg(exec(t, e, dba, "DROP NAMESPACE app")); got != "Namespace 'app' dropped successfully" {
		t.Errorf("drop namespace = %q", got)
	}
	execErr(t, e, dba, "SELECT * FROM app.u1")
}

func TestUserTablesAreIsolated(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	exec(t, e, alice, "INSERT INTO app.messages (id, body) VALUES (1, 'from alice')")
	// Same primary key, different owner: no conflict.
	exec(t, e, bob, "INSERT INTO app.messages (id, body) VALUES (1, 'from bob'), (2, 'bob again')")

	for _, tc := range []struct {
		c    sqlengine.Caller
		want [][]any
	}{
		{alice, [][]any{{"1", "from alice"}}},
		{bob, [][]any{{"1", "from bob"}, {"2", "bob again"}}},
		{root, [][]any{}},
	} {
		if got := query(t, e, tc.c, "SELECT id, body FROM app.messages").Rows; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s sees %v, want %v", tc.c.UserID, got, tc.want)
		}
	}
	if r := exec(t, e, alice, "UPDATE app.messages SET body = 'x' WHERE id > 0"); r.Results[0].Message != "Updated 1 row(s)" {
		t.Errorf("alice's update touched %v", r.Results[0])
	}
	if r := exec(t, e, alice, "DELETE FROM app.messages WHERE id = 2"); r.Results[0].Message != "Deleted 0 row(s)" {
		t.Errorf("alice deleted bob's row: %v", r.Results[0])
	}
	if got := query(t, e, bob, "SELECT body FROM app.messages WHERE id = 1").Rows; !reflect.DeepEqual(got, [][]any{{"from bob"}}) {
		t.Errorf("bob's row changed by alice: %v", got)
	}
}

func TestSharedTablePermissions(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	exec(t, e, dba, "CREATE NAMESPACE app")
	exec(t, e, dba, "CREATE SHARED TABLE app.private_cfg (k TEXT PRIMARY KEY, v TEXT)")
	exec(t, e, dba, "CREATE SHARED TABLE app.public_cfg (k TEXT PRIMARY KEY, v TEXT) WITH (ACCESS_LEVEL = 'PUBLIC')")
	exec(t, e, svc, "INSERT INTO app.private_cfg VALUES ('a', '1')")
	exec(t, e, svc, "INSERT INTO app.public_cfg VALUES ('a', '1')")

	// Shared rows are visible to every caller allowed to read.
	if got := query(t, e, dba, "SELECT v FROM app.private_cfg").Rows; !reflect.DeepEqual(got, [][]any{{"1"}}) {
		t.Errorf("dba reads %v", got)
	}
	if got := query(t, e, alice, "SELECT v FROM app.public_cfg").Rows; !reflect.DeepEqual(got, [][]any{{"1"}}) {
		t.Errorf("user reads public table: %v", got)
	}
	if err := execErr(t, e, alice, "SELECT * FROM app.private_cfg"); err.Status != http.StatusForbidden || err.Code != sqlengine.CodePermissionDenied {
		t.Errorf("user reads private table: %+v", err)
	}
	if err := execErr(t, e, alice, "INSERT INTO app.public_cfg VALUES ('b', '2')"); err.Status != http.StatusForbidden {
		t.Errorf("user writes public table: %+v", err)
	}
}

func TestSoftDeleteAndSeq(t *testing.T) {
	clk := testkit.NewClock(fixtureTime)
	e := newEngine(t, sqlengine.Options{Now: clk.Now, WorkerID: 3})
	setupMessages(t, e)
	exec(t, e, alice, "INSERT INTO app.messages (id, body) VALUES (1, 'a'), (2, 'b')")
	before := e.MaxSeq()

	exec(t, e, alice, "DELETE FROM app.messages WHERE id = 1")
	if e.MaxSeq() <= before {
		t.Fatalf("delete did not write a new version: MaxSeq %d -> %d", before, e.MaxSeq())
	}
	if got := query(t, e, alice, "SELECT id FROM app.messages").Rows; !reflect.DeepEqual(got, [][]any{{"2"}}) {
		t.Errorf("after delete: %v", got)
	}
	if got := query(t, e, alice, "SELECT COUNT(*) AS n FROM app.messages"); !reflect.DeepEqual(got.Rows, [][]any{{"1"}}) || got.Schema[0].Name != "n" {
		t.Errorf("count after delete: %+v", got)
	}
	// The deleted key can be inserted again.
	exec(t, e, alice, "INSERT INTO app.messages (id, body) VALUES (1, 'again')")
	got := query(t, e, alice, "SELECT id, body, _seq, _deleted FROM app.messages")
	if len(got.Rows) != 2 || got.Rows[0][1] != "again" || got.Rows[0][3] != false {
		t.Fatalf("after re-insert: %v", got.Rows)
	}
	seq, err := strconv.ParseInt(got.Rows[0][2].(string), 10, 64)
	if err != nil || seq != e.MaxSeq() {
		t.Errorf("_seq %v is not the latest version %d", got.Rows[0][2], e.MaxSeq())
	}
	// Snowflake layout: 41 bits ms since 2024-01-01, 10 bits worker.
	if ms := seq >> 22; ms != fixtureTime.UnixMilli()-1704067200000 {
		t.Errorf("_seq ms part = %d", ms)
	}
	if w := seq >> 12 & 0x3ff; w != 3 {
		t.Errorf("_seq worker = %d, want 3", w)
	}
}

func TestSeqStrictlyIncreasingWithStalledClock(t *testing.T) {
	clk := testkit.NewClock(fixtureTime)
	e := newEngine(t, sqlengine.Options{Now: clk.Now})
	setupMessages(t, e)
	var b strings.Builder
	b.WriteString("INSERT INTO app.messages (id) VALUES ")
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d)", i)
	}
	exec(t, e, alice, b.String())
	clk.Advance(-time.Hour) // a clock stepping back must not reuse ids
	exec(t, e, alice, "INSERT INTO app.messages (id) VALUES (5000)")
	rows := query(t, e, alice, "SELECT _seq FROM app.messages ORDER BY id").Rows
	last := int64(0)
	for i, r := range rows {
		s, _ := strconv.ParseInt(r[0].(string), 10, 64)
		if s <= last {
			t.Fatalf("row %d: _seq %d not above %d", i, s, last)
		}
		last = s
	}
	if len(rows) != 5001 {
		t.Fatalf("rows = %d", len(rows))
	}
}

func TestRowValueEncoding(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	exec(t, e, root, "CREATE NAMESPACE app")
	exec(t, e, root, `CREATE SHARED TABLE app.types (id BIGINT PRIMARY KEY, i INT, s SMALLINT, b BOOLEAN,
		d DOUBLE, f FLOAT, ts TIMESTAMP, dt DATE, j JSON, u UUID, dec DECIMAL(10, 2), txt VARCHAR(20), n TEXT)`)
	exec(t, e, root, `INSERT INTO app.types VALUES (9007199254740993, 7, -2, true, 1.5, 0.25,
		'2024-01-01T00:00:01Z', '2024-01-02', '{"a":1}', '0190b6b2-8f3c-7a3e-9b1c-2d4e5f6a7b8c', 200.75, 'hi', NULL)`)
	r := query(t, e, root, "SELECT * FROM app.types")
	want := []any{"9007199254740993", int64(7), int64(-2), true, 1.5, 0.25, int64(1704067201000000), int64(19724),
		`{"a":1}`, "0190b6b2-8f3c-7a3e-9b1c-2d4e5f6a7b8c", "200.75", "hi", nil}
	if !reflect.DeepEqual(r.Rows[0][:len(want)], want) {
		t.Errorf("row = %#v\nwant %#v", r.Rows[0][:len(want)], want)
	}
	types := []string{"BigInt", "Int", "SmallInt", "Boolean", "Double", "Float", "Timestamp", "Date", "Json", "Uuid"}
	for i, name := range types {
		if got := r.Schema[i].DataTypeName(); got != name {
			t.Errorf("column %s data_type = %s, want %s", r.Schema[i].Name, got, name)
		}
	}
	if got := string(r.Schema[10].DataType); got != `{"Decimal":{"precision":10,"scale":2}}` {
		t.Errorf("decimal data_type = %s", got)
	}
	exec(t, e, root, "UPDATE app.types SET d = 2 WHERE id = 9007199254740993")
	if raw := query(t, e, root, "SELECT d FROM app.types").RawRows()[0]; string(raw[0]) != "2.0" {
		t.Errorf("integral DOUBLE encodes as %s, want 2.0 like serde_json", raw[0])
	}
	exec(t, e, root, "UPDATE app.types SET d = 1.5 WHERE id = 9007199254740993")
	raw := r.RawRows()[0]
	if string(raw[0]) != `"9007199254740993"` || string(raw[1]) != "7" || string(raw[12]) != "null" {
		t.Errorf("raw cells = %s %s %s", raw[0], raw[1], raw[12])
	}
	// Timestamp literals compare as timestamps.
	if got := query(t, e, root, "SELECT id FROM app.types WHERE ts > '2024-01-01T00:00:00Z' AND b = true").Rows; len(got) != 1 {
		t.Errorf("timestamp comparison found %v", got)
	}
}

func TestParams(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	exec(t, e, alice, "INSERT INTO app.messages (id, body, author) VALUES ($1, $2, $3)", json.Number("1"), "hi", "alice")
	exec(t, e, alice, "INSERT INTO app.messages (id, body, author) VALUES ($1, $2, $3)", "2", "yo", "bob")
	got := execNS(t, e, alice, "app", "SELECT id, body FROM messages WHERE author = $1", "alice")
	if !reflect.DeepEqual(got.Results[0].Rows, [][]any{{"1", "hi"}}) {
		t.Errorf("namespace_id + params: %v", got.Results[0].Rows)
	}
	if got := query(t, e, alice, "SELECT id FROM app.messages WHERE id > $1 LIMIT $2", float64(0), json.Number("1")).Rows; !reflect.DeepEqual(got, [][]any{{"1"}}) {
		t.Errorf("params in WHERE/LIMIT: %v", got)
	}

	err := execErr(t, e, alice, "SELECT 1; SELECT 2", "x")
	if err.Code != sqlengine.CodeParamsWithBatch || err.Message != "Parameters not supported with multi-statement batches" || err.Status != http.StatusBadRequest {
		t.Errorf("params with batch = %+v", err)
	}
	err = execErr(t, e, alice, "SELECT id FROM app.messages WHERE id = $2", "1")
	if err.Code != sqlengine.CodeSQLExecutionError {
		t.Errorf("missing param = %+v", err)
	}
	err = execErr(t, e, alice, "SELECT $1", []any{1})
	if err.Code != sqlengine.CodeInvalidParameter {
		t.Errorf("array param = %+v", err)
	}
}

func TestBatchFoldsDML(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	res := exec(t, e, alice, `INSERT INTO app.messages (id) VALUES (1), (2);
		INSERT INTO app.messages (id) VALUES (3);
		SELECT COUNT(*) FROM app.messages;
		UPDATE app.messages SET body = 'x' WHERE id < 3;
		DELETE FROM app.messages WHERE id = 3;`)
	if res.SingleSelect {
		t.Error("batch must not be SingleSelect")
	}
	var got []string
	for _, r := range res.Results {
		if r.IsQuery {
			got = append(got, fmt.Sprint("rows:", r.Rows))
		} else {
			got = append(got, fmt.Sprint(r.RowCount, ":", r.Message))
		}
	}
	want := []string{"rows:[[3]]", "3:Inserted 3 row(s)", "2:Updated 2 row(s)", "1:Deleted 1 row(s)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batch results = %q\nwant %q", got, want)
	}

	// A statement error stops the batch; earlier statements stay applied.
	err := execErr(t, e, alice, "INSERT INTO app.messages (id) VALUES (10); INSERT INTO app.messages (id) VALUES (10)")
	if err.Message != "Statement 2 failed: Already exists: Execution error: Already exists: Primary key violation: value '10' already exists in column 'id'" || err.Details != "" {
		t.Errorf("duplicate key error = %+v", err)
	}
	if got := query(t, e, alice, "SELECT id FROM app.messages WHERE id = 10").Rows; len(got) != 1 {
		t.Errorf("first statement rolled back: %v", got)
	}
}

func TestErrors(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	for _, sql := range []string{"", "   ;  ", "-- nothing\n;"} {
		err := execErr(t, e, alice, sql)
		if err.Code != sqlengine.CodeEmptySQL || err.Message != "No SQL statements provided" || err.Status != http.StatusBadRequest {
			t.Errorf("%q: %+v", sql, err)
		}
	}
	checkFailures(t, e, failing{who: alice, sql: "SELEC * FROM app.messages", code: sqlengine.CodeInvalidSQL,
		message: "SQL statement is invalid or not allowed", redacted: true})
	err := execErr(t, e, dba, "SELECT * FROM app.messages WHERE")
	if err.Code != sqlengine.CodeInvalidSQL || !strings.HasPrefix(err.Message, "sql parser error: Expected: an expression, found: EOF") {
		t.Errorf("admin invalid SQL = %+v", err)
	}
	// A parse error anywhere in a batch runs nothing.
	execErr(t, e, alice, "INSERT INTO app.messages (id) VALUES (1); SELEC 1")
	if got := query(t, e, alice, "SELECT id FROM app.messages").Rows; len(got) != 0 {
		t.Errorf("batch with a parse error ran: %v", got)
	}
	checkFailures(t, e,
		failing{who: alice, sql: "INSERT INTO app.messages (body) VALUES ('no id')",
			message: "Statement 1 failed: Already exists: Execution error: NOT NULL constraint violation: column 'id' is missing in row 1 (row index 0)"},
		failing{who: alice, sql: "SELECT nope FROM app.messages",
			message: "Statement 1 failed: Invalid operation: Schema error: No field named nope. Valid fields are app.messages.id, app.messages.body, app.messages.author, app.messages.created_at, app.messages._seq, app.messages._deleted."},
		failing{who: alice, sql: "INSERT INTO app.messages (id) VALUES ('abc')", code: sqlengine.CodeSQLExecutionError,
			message: "SQL statement failed"}, // a bad cast, as a non-admin sees it
	)
	if err := execErr(t, e, alice, "SELECT * FROM system.users"); err.Status != http.StatusForbidden {
		t.Errorf("user reading system.users = %+v", err)
	}
	// Bad input of every sort fails cleanly.
	for _, sql := range []string{"'", "SELECT ((1", "INSERT INTO", "SELECT * FROM a.b.c.d", "CREATE TABLE x (", "\x00", "SELECT 1/0", "SELECT * FROM app.messages LIMIT -1"} {
		if _, err := e.Exec(context.Background(), alice, sqlengine.Request{SQL: sql}); err == nil {
			t.Errorf("%q succeeded", sql)
		}
	}
}

func TestSelectFeatures(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	exec(t, e, alice, `INSERT INTO app.messages (id, body, author) VALUES
		(3, 'Charlie', 'c'), (1, 'alpha', 'a'), (2, 'Bravo', 'b'), (4, NULL, 'a')`)
	for _, tc := range []struct {
		sql  string
		want [][]any
	}{
		{"SELECT id FROM app.messages", [][]any{{"1"}, {"2"}, {"3"}, {"4"}}}, // default PK order
		{"SELECT id FROM app.messages ORDER BY id DESC LIMIT 2", [][]any{{"4"}, {"3"}}},
		{"SELECT id FROM app.messages ORDER BY id LIMIT 2 OFFSET 1", [][]any{{"2"}, {"3"}}},
		{"SELECT id FROM app.messages WHERE body LIKE 'B%'", [][]any{{"2"}}},
		{"SELECT id FROM app.messages WHERE body ILIKE 'b%'", [][]any{{"2"}}},
		{"SELECT id FROM app.messages WHERE body IS NULL", [][]any{{"4"}}},
		{"SELECT id FROM app.messages WHERE id IN (1, 3) OR author = 'b'", [][]any{{"1"}, {"2"}, {"3"}}},
		{"SELECT id FROM app.messages WHERE id BETWEEN 2 AND 3 AND NOT author = 'c'", [][]any{{"2"}}},
		{"SELECT author, COUNT(*) AS n FROM app.messages GROUP BY author ORDER BY n DESC, author LIMIT 1", [][]any{{"a", "2"}}},
		{"SELECT UPPER(author) AS a FROM app.messages WHERE id = 1", [][]any{{"A"}}},
		{"SELECT CURRENT_USER()", [][]any{{"alice"}}},
		{"SELECT 1 + 2 AS three", [][]any{{"3"}}},
	} {
		if got := query(t, e, alice, tc.sql).Rows; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s\n got %v\nwant %v", tc.sql, got, tc.want)
		}
	}
}

func TestSystemTables(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e.SetUserLister(func() []sqlengine.UserRecord {
		return []sqlengine.UserRecord{
			{UserID: "alice", PasswordHash: "$2b$12$hash", Role: "user", CreatedAt: created, UpdatedAt: created},
			{UserID: "root", PasswordHash: "$2b$12$hash", Role: "system", CreatedAt: created, UpdatedAt: created},
		}
	})
	e.SetLiveLister(func(context.Context) []sqlengine.LiveRecord {
		return []sqlengine.LiveRecord{{LiveID: "alice-c1-sub-1", ConnectionID: "c1", SubscriptionID: "sub-1",
			Namespace: "app", Table: "messages", UserID: "alice", Query: "SELECT * FROM app.messages", Changes: 3}}
	})
	r := query(t, e, dba, "SELECT user_id, role, created_at FROM system.users WHERE role = 'user'")
	if !reflect.DeepEqual(r.Rows, [][]any{{"alice", "user", created.UnixMicro()}}) {
		t.Errorf("system.users = %v", r.Rows)
	}
	r = query(t, e, root, "SELECT subscription_id, changes, status FROM system.live")
	if !reflect.DeepEqual(r.Rows, [][]any{{"sub-1", "3", "active"}}) {
		t.Errorf("system.live = %v", r.Rows)
	}
	if r := query(t, e, root, "SELECT COUNT(*) FROM system.namespaces"); !reflect.DeepEqual(r.Rows, [][]any{{"1"}}) {
		t.Errorf("system.namespaces count = %v", r.Rows)
	}
	if err := execErr(t, e, root, "SELECT * FROM system.nope"); err.Code != sqlengine.CodeSQLExecutionError {
		t.Errorf("unknown system table = %+v", err)
	}
}

func TestConcurrentCallers(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	var changes sync.Map
	remove := e.OnChange(func(ch sqlengine.Change) { changes.Store(ch.Seq, ch.Owner) })
	defer remove()
	var wg sync.WaitGroup
	users := []sqlengine.Caller{alice, bob, {UserID: "carol", Role: sqlengine.RoleUser}, {UserID: "dave", Role: sqlengine.RoleService}}
	for _, u := range users {
		wg.Add(1)
		go func(u sqlengine.Caller) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := e.Exec(context.Background(), u, sqlengine.Request{SQL: fmt.Sprintf("INSERT INTO app.messages (id) VALUES (%d)", i)}); err != nil {
					t.Errorf("%s insert %d: %v", u.UserID, i, err)
					return
				}
				if _, err := e.Exec(context.Background(), u, sqlengine.Request{SQL: "SELECT COUNT(*) FROM app.messages"}); err != nil {
					t.Errorf("%s select: %v", u.UserID, err)
					return
				}
			}
		}(u)
	}
	wg.Wait()
	for _, u := range users {
		if got := query(t, e, u, "SELECT COUNT(*) FROM app.messages").Rows; !reflect.DeepEqual(got, [][]any{{"50"}}) {
			t.Errorf("%s count = %v", u.UserID, got)
		}
	}
	n := 0
	changes.Range(func(any, any) bool { n++; return true })
	if n != 200 {
		t.Errorf("listener saw %d distinct changes, want 200", n)
	}
}

func TestDefaultsAndGeneratedKeys(t *testing.T) {
	clk := testkit.NewClock(fixtureTime)
	e := newEngine(t, sqlengine.Options{Now: clk.Now})
	exec(t, e, root, "CREATE NAMESPACE app")
	exec(t, e, alice, `CREATE USER TABLE app.todo (
		id BIGINT PRIMARY KEY DEFAULT SNOWFLAKE_ID(),
		title TEXT NOT NULL,
		done BOOLEAN DEFAULT false,
		owner TEXT DEFAULT CURRENT_USER(),
		at TIMESTAMP DEFAULT NOW(),
		prio INT DEFAULT 3)`)
	exec(t, e, alice, "CREATE USER TABLE app.seq (id BIGINT AUTO_INCREMENT PRIMARY KEY, v TEXT)")
	exec(t, e, alice, "CREATE USER TABLE app.ser (id BIGSERIAL PRIMARY KEY, v TEXT)")
	exec(t, e, alice, "INSERT INTO app.todo (title) VALUES ('one'), ('two')")
	r := query(t, e, alice, "SELECT id, done, owner, at, prio FROM app.todo ORDER BY id")
	if len(r.Rows) != 2 || r.Rows[0][0] == r.Rows[1][0] {
		t.Fatalf("generated ids = %v", r.Rows)
	}
	if got := r.Rows[0][1:]; !reflect.DeepEqual(got, []any{false, "alice", fixtureTime.UnixMicro(), int64(3)}) {
		t.Errorf("defaults = %#v", got)
	}
	for _, tbl := range []string{"app.seq", "app.ser"} {
		exec(t, e, alice, "INSERT INTO "+tbl+" (v) VALUES ('a')")
		if got := query(t, e, alice, "SELECT id FROM "+tbl).Rows; len(got) != 1 || got[0][0] == nil {
			t.Errorf("%s generated id = %v", tbl, got)
		}
	}
	err := execErr(t, e, alice, "INSERT INTO app.todo (title) VALUES (NULL)")
	if err.Message != "Statement 1 failed: Already exists: Execution error: NOT NULL constraint violation: column 'title' cannot be NULL (row 1)" {
		t.Errorf("NULL into NOT NULL = %+v", err)
	}
	err = execErr(t, e, alice, "UPDATE app.todo SET id = 5 WHERE title = 'one'")
	if err.Code != sqlengine.CodeSQLExecutionError || err.Message != "Statement 1 failed: Already exists: Error during planning: UPDATE cannot modify primary key column 'id'" {
		t.Errorf("PK update = %+v", err)
	}
	for _, sql := range []string{"UPDATE app.todo SET done = true", "DELETE FROM app.todo"} {
		if err := execErr(t, e, dba, sql); err.Code != sqlengine.CodeSQLExecutionError || !strings.HasSuffix(err.Message, "requires a WHERE clause") {
			t.Errorf("%s = %+v", sql, err)
		}
	}
}

func TestBatchSplittingAndQuotes(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	setupMessages(t, e)
	res := exec(t, e, alice, "INSERT INTO app.messages (id, body) VALUES (1, 'a;b -- not a comment'); SELECT body FROM app.messages -- trailing\n;")
	if len(res.Results) != 2 || !reflect.DeepEqual(res.Results[0].Rows, [][]any{{"a;b -- not a comment"}}) {
		t.Errorf("batch with quoted ';' = %+v", res.Results)
	}
	// One statement with an unterminated string is INVALID_SQL; inside a
	// batch the splitter reports BATCH_PARSE_ERROR.
	if err := execErr(t, e, dba, "SELECT 'abc"); err.Code != sqlengine.CodeInvalidSQL {
		t.Errorf("single unterminated = %+v", err)
	}
	if err := execErr(t, e, alice, "SELECT 1; SELECT 'abc"); err.Code != sqlengine.CodeBatchParseError || err.Message != "Failed to parse SQL batch" {
		t.Errorf("batch unterminated = %+v", err)
	}
}

func TestCloseAndListenerRemoval(t *testing.T) {
	e, err := sqlengine.New(sqlengine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	setupMessages(t, e)
	n := 0
	remove := e.OnChange(func(sqlengine.Change) { n++ })
	exec(t, e, alice, "INSERT INTO app.messages (id) VALUES (1)")
	remove()
	remove() // idempotent
	exec(t, e, alice, "INSERT INTO app.messages (id) VALUES (2)")
	if n != 1 {
		t.Errorf("listener called %d times, want 1", n)
	}
	q := prepare(t, e, alice, "SELECT * FROM app.messages")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := e.Exec(context.Background(), alice, sqlengine.Request{SQL: "SELECT 1"}); err == nil {
		t.Error("Exec after Close succeeded")
	}
	if _, _, err := q.Page(nil, 1<<62, 10); err == nil {
		t.Error("Page after Close succeeded")
	}
	if _, err := e.PrepareLive(alice, "SELECT * FROM app.messages"); err == nil {
		t.Error("PrepareLive after Close succeeded")
	}
}

func TestHostileNestingIsRefused(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	deep := "SELECT " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)
	if err := execErr(t, e, dba, deep); err.Code != sqlengine.CodeInvalidSQL || err.Message != "sql parser error: recursion limit exceeded" {
		t.Errorf("deep parentheses = %+v", err)
	}
	chain := "SELECT 1" + strings.Repeat("+1", 200000)
	if err := execErr(t, e, dba, chain); err.Code != sqlengine.CodeInvalidSQL {
		t.Errorf("long operator chain = %+v", err)
	}
	if err := execErr(t, e, dba, "SELECT "+strings.Repeat("-", 100000)+"1"); err.Code != sqlengine.CodeInvalidSQL {
		t.Errorf("deep unary = %+v", err)
	}
	if _, err := e.PrepareLive(alice, "SELECT * FROM app.t WHERE "+strings.Repeat("NOT ", 100000)+"true"); err == nil || err.Code != sqlengine.WSCodeInvalidSQL {
		t.Errorf("deep NOT in live query = %+v", err)
	}
}

// A STREAM table's provider refuses every UPDATE with a planning error,
// before any WHERE or SET check of its own; the planner still names an
// unknown column first (jamals86/KalamDB:
// backend/crates/kalamdb-tables/src/stream_tables/stream_table_provider.rs,
// its DataFusion update(); kalamdb-core/src/sql/executor/sql_executor.rs
// sends UPDATE through DataFusion).
func TestStreamTableRefusesUpdate(t *testing.T) {
	e := newEngine(t, sqlengine.Options{})
	exec(t, e, root, "CREATE NAMESPACE app")
	exec(t, e, root, "CREATE STREAM TABLE app.events (kind TEXT, n INT) WITH (TTL_SECONDS = 10)")
	exec(t, e, alice, "INSERT INTO app.events VALUES ('a', 1)")
	const refused = "Error during planning: UPDATE not supported for STREAM tables"
	for _, sql := range []string{"UPDATE app.events SET kind = 'b' WHERE n = 1", "UPDATE app.events SET kind = 'b'"} {
		if err := execErr(t, e, dba, sql); err.Code != sqlengine.CodeSQLExecutionError || !strings.HasSuffix(err.Message, refused) {
			t.Errorf("%s = %+v, want %q", sql, err, refused)
		}
	}
	if err := execErr(t, e, dba, "UPDATE app.events SET nope = 1 WHERE n = 1"); strings.HasSuffix(err.Message, refused) {
		t.Errorf("unknown column = %+v, want the planner's error", err)
	}
	if got := query(t, e, alice, "SELECT kind FROM app.events").Rows; len(got) != 1 || got[0][0] != "a" {
		t.Errorf("rows after refused UPDATEs = %v", got)
	}
}
