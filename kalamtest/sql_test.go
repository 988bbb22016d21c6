package kalamtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/internal/fixtures"
	"github.com/kalamdash/kalamdash/kalamtest"
)

func TestSQLEnvelopes(t *testing.T) {
	s := newKT(t)
	root := s.login(t, "root", "RootPass123!")
	alice := s.login(t, "alice", alicePW)

	r := s.sql(t, root.access, "CREATE NAMESPACE app")
	if r.status != 200 {
		t.Fatalf("ddl: %d %s", r.status, r.body)
	}
	checkFixtureExact(t, "http-sql-response-ddl.json", withTook(t, r.body, 12.005))
	s.mustSQL(t, root.access, messagesDDL)

	r = s.sql(t, alice.access, "INSERT INTO app.messages (id, body, author, created_at) VALUES (1, 'hello', 'alice', 1777924795000000)")
	checkFixtureExact(t, "http-sql-response-insert.json", withTook(t, r.body, 3.417))
	s.mustSQL(t, alice.access, "INSERT INTO app.messages (id, body, author, created_at) VALUES (2, 'second message', 'alice', 1777924796000000)")

	// The fixture's request body, as sent.
	r = doHTTP(t, "POST", s.URL+"/v1/api/sql", string(mustRead(t, "http-sql-request.json")), map[string]string{"Authorization": "Bearer " + alice.access})
	if r.status != 200 {
		t.Fatalf("select: %d %s", r.status, r.body)
	}
	checkFixture(t, "http-sql-response-select.json", r.body)
	if !strings.HasSuffix(string(r.body), `"error":null}`) {
		t.Errorf("streamed SELECT must end with \"error\":null: %s", r.body)
	}
	fix := fixtures.Load(t, "http-sql-response-select.json").(map[string]any)
	got := fixtures.Decode(t, r.body).(map[string]any)
	if a, b := mustMarshal(fix["results"].([]any)[0].(map[string]any)["schema"]), mustMarshal(got["results"].([]any)[0].(map[string]any)["schema"]); string(a) != string(b) {
		t.Errorf("schema\n got %s\nwant %s", b, a)
	}
	var answer struct{ Took *float64 }
	if err := json.Unmarshal(r.body, &answer); err != nil || answer.Took == nil {
		t.Fatalf("select answer without a numeric took (%v): %s", err, r.body)
	}
	if took := *answer.Took; took != float64(int64(took*1000+0.5))/1000 {
		t.Errorf("took %v not rounded to 3 decimals", took)
	}

	// params + namespace_id.
	r = doHTTP(t, "POST", s.URL+"/v1/api/sql", string(mustRead(t, "http-sql-request-params-namespace.json")), map[string]string{"Authorization": "Bearer " + alice.access})
	if r.status != 200 || len(r.json(t)["results"].([]any)[0].(map[string]any)["rows"].([]any)) != 2 {
		t.Errorf("params+namespace: %d %s", r.status, r.body)
	}

	r = s.sql(t, alice.access, "SELEC * FROM app.messages")
	if r.status != 400 {
		t.Fatalf("invalid sql: %d %s", r.status, r.body)
	}
	checkFixture(t, "http-sql-response-error-invalid-sql.json", r.body)

	r = doHTTP(t, "POST", s.URL+"/v1/api/sql", `{"sql":"SELECT 1; SELECT 2","params":[1]}`, map[string]string{"Authorization": "Bearer " + alice.access})
	checkFixtureExact(t, "http-sql-response-error-params-with-batch.json", withTook(t, r.body, 0.127))
	r = s.sql(t, alice.access, "  ")
	checkFixtureExact(t, "http-sql-response-error-empty-sql.json", withTook(t, r.body, 0.052))

	for body, want := range map[string]string{
		`{"sql":`:                            "Invalid JSON payload: Json deserialize error: ",
		`{"query":"SELECT 1"}`:               "Invalid JSON payload: Json deserialize error: missing field `sql`",
		`{"sql":"SELECT $1","params":[[1]]}`: "Parameter $1 invalid: Array parameters not yet supported",
	} {
		r = doHTTP(t, "POST", s.URL+"/v1/api/sql", body, map[string]string{"Authorization": "Bearer " + alice.access})
		m := r.json(t)
		e, _ := m["error"].(map[string]any)
		if r.status != 400 || e == nil || !strings.HasPrefix(e["message"].(string), want) {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	r = doHTTP(t, "POST", s.URL+"/v1/api/sql", `{"sql":"SELECT 1"}`, map[string]string{"Authorization": "Bearer " + alice.access, "Content-Type": "text/plain"})
	if e := r.json(t)["error"].(map[string]any); r.status != 400 || e["code"] != "INVALID_INPUT" || e["message"] != "Invalid JSON payload: Content type error" {
		t.Errorf("content type: %d %s", r.status, r.body)
	}

	// CURRENT_USER() and multi-statement batches (no trailing error key).
	r = s.sql(t, alice.access, "SELECT CURRENT_USER()")
	if !strings.Contains(string(r.body), `"alice"`) {
		t.Errorf("CURRENT_USER: %s", r.body)
	}
	r = s.sql(t, alice.access, "INSERT INTO app.messages (id, body, author, created_at) VALUES (3, 'c', 'alice', 1); SELECT * FROM app.messages")
	if r.status != 200 || strings.Contains(string(r.body), `"error"`) {
		t.Errorf("batch: %d %s", r.status, r.body)
	}
}

// Bad input on every surface never crashes the server or disturbs another
// connection.
func TestBadInputNeverCrashes(t *testing.T) {
	l := newLive(t)
	watcher := l.dialAuthed(t, l.alice.access, "")
	watcher.subscribe("w", "SELECT * FROM app.messages", "")

	junk := []string{
		`{}`, `[]`, `null`, `"x"`, `1e999`, `{"type":null}`, `{"type":"subscribe"}`,
		`{"type":"subscribe","subscription":null}`, `{"type":"subscribe","subscription":[]}`,
		`{"type":"subscribe","subscription":{"id":"a","sql":"SELECT * FROM app.messages","options":{"from":1.5}}}`,
		`{"type":"subscribe","subscription":{"id":"a","sql":"SELECT * FROM app.messages","options":{"last_rows":-1}}}`,
		`{"type":"subscribe","subscription":{"id":"a","sql":"SELECT * FROM app.messages","options":"x"}}`,
		`{"type":"subscribe","subscription":{"id":"a","sql":"` + strings.Repeat("(", 5000) + `"}}`,
		`{"type":"subscribe","subscription":{"id":"a","sql":"SELECT * FROM app.messages WHERE id = 'x' OR"}}`,
		`{"type":"next_batch","subscription_id":"a","last_seq_id":99999999999999999999}`,
		`{"type":"authenticate","method":"basic","token":"x","protocol":{"serialization":"json","compression":"gzip"}}`,
		`{"type":"authenticate","method":"jwt","token":"x","protocol":{"serialization":"xml","compression":"gzip"}}`,
		"\x00\xff", strings.Repeat("[", 100000),
	}
	var wg sync.WaitGroup
	for i, m := range junk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, _, err := l.dial(t, "", bearer(l.alice.access))
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), ktWait)
			defer cancel()
			_ = w.c.Write(ctx, websocket.MessageText, []byte(m))
			b := make([]byte, i*7%64+1)
			_ = w.c.Write(ctx, websocket.MessageBinary, b)
			for {
				if _, err := w.readErr(2 * time.Second); err != nil {
					return
				}
			}
		}()
	}
	for _, body := range []string{"", "{", `{"sql":null}`, `{"sql":"DROP TABLE app.messages; DROP NAMESPACE app"}`, `{"sql":"SELECT * FROM system.users"}`, strings.Repeat("x", 1<<16)} {
		_ = doHTTP(t, "POST", l.URL+"/v1/api/sql", body, map[string]string{"Authorization": "Bearer " + l.alice.access})
		_ = doHTTP(t, "POST", l.URL+"/v1/api/auth/login", body, nil)
		_ = doHTTP(t, "POST", l.URL+"/v1/api/auth/refresh", body, map[string]string{"Authorization": "Bearer " + body})
	}
	wg.Wait()

	l.insertMessages(t, l.alice.access, 1, 1)
	if f := watcher.readType("change"); rowsOf(t, f)[0]["id"] != "1" {
		t.Errorf("watcher: %s", f.text)
	}
	watcher.sentinel()
	if r := doHTTP(t, "GET", l.URL+"/health", "", nil); r.status != 200 {
		t.Errorf("health after abuse: %d", r.status)
	}
}

func TestServerExecHelper(t *testing.T) {
	l := newLive(t)
	res, err := l.Exec("alice", "INSERT INTO app.messages (id, body, author, created_at) VALUES ($1, $2, $3, 1)", int64(1), "x", "alice")
	if err != nil || len(res) != 1 || res[0].RowCount != 1 {
		t.Fatalf("Exec: %v %+v", err, res)
	}
	res, err = l.Exec("alice", "SELECT id FROM app.messages")
	if err != nil || len(res[0].Rows) != 1 || fmt.Sprint(res[0].Rows[0][0]) != "1" {
		t.Errorf("Exec select: %v %+v", err, res)
	}
	if _, err := l.Exec("nobody", "SELECT 1"); err == nil {
		t.Error("Exec as an unknown user succeeded")
	}
	_ = kalamtest.RoleUser
}

func TestSQLQueryRateLimit(t *testing.T) {
	s := newKT(t, kalamtest.WithQueryRateLimit(2))
	tk := s.login(t, "alice", alicePW)
	var r httpResp
	for i := 0; i < 20; i++ { // real time: a burst of 20 beats a 2/s bucket
		if r = s.sql(t, tk.access, "SELECT 1"); r.status == 429 {
			break
		}
	}
	e, _ := r.json(t)["error"].(map[string]any)
	if r.status != 429 || e["code"] != "RATE_LIMIT_EXCEEDED" || e["message"] != "Too many queries per second. Please slow down." {
		t.Fatalf("no 429 in a burst: %d %s", r.status, r.body)
	}
	bob := s.login(t, "bob", bobPW) // per user: bob is unaffected
	if r := s.sql(t, bob.access, "SELECT 1"); r.status != 200 {
		t.Errorf("bob: %d %s", r.status, r.body)
	}
}
