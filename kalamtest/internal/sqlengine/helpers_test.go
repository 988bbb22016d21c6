package sqlengine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/fixtures"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

var (
	root  = sqlengine.Caller{UserID: "root", Role: sqlengine.RoleSystem}
	dba   = sqlengine.Caller{UserID: "admin", Role: sqlengine.RoleDBA}
	svc   = sqlengine.Caller{UserID: "svc", Role: sqlengine.RoleService}
	alice = sqlengine.Caller{UserID: "alice", Role: sqlengine.RoleUser}
	bob   = sqlengine.Caller{UserID: "bob", Role: sqlengine.RoleUser}
)

// fixtureTime is the fixtures' example instant, 2026-05-04T20:00:00Z.
var fixtureTime = time.Date(2026, 5, 4, 20, 0, 0, 0, time.UTC)

func newEngine(t testing.TB, opts sqlengine.Options) *sqlengine.Engine {
	t.Helper()
	e, err := sqlengine.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func exec(t testing.TB, e *sqlengine.Engine, c sqlengine.Caller, sql string, params ...any) sqlengine.ExecResult {
	t.Helper()
	res, err := e.Exec(context.Background(), c, sqlengine.Request{SQL: sql, Params: params})
	if err != nil {
		t.Fatalf("Exec(%q) as %s: %v", sql, c.UserID, err)
	}
	return res
}

func execNS(t testing.TB, e *sqlengine.Engine, c sqlengine.Caller, ns, sql string, params ...any) sqlengine.ExecResult {
	t.Helper()
	res, err := e.Exec(context.Background(), c, sqlengine.Request{SQL: sql, Params: params, Namespace: ns})
	if err != nil {
		t.Fatalf("Exec(%q) in %s: %v", sql, ns, err)
	}
	return res
}

func execErr(t testing.TB, e *sqlengine.Engine, c sqlengine.Caller, sql string, params ...any) *sqlengine.Error {
	t.Helper()
	res, err := e.Exec(context.Background(), c, sqlengine.Request{SQL: sql, Params: params})
	if err == nil {
		t.Fatalf("Exec(%q) succeeded with %+v, want an error", sql, res)
	}
	return err
}

// failing is a statement that must fail, and the error it must give:
// message always, status and code unless zero; redacted requires empty
// Details (what a non-admin is shown).
type failing struct {
	who      sqlengine.Caller
	sql      string
	status   int
	code     string
	message  string
	redacted bool
}

// checkFailures runs each statement in order and checks its error.
func checkFailures(t *testing.T, e *sqlengine.Engine, cases ...failing) {
	t.Helper()
	for _, c := range cases {
		err := execErr(t, e, c.who, c.sql)
		if err.Message != c.message || c.status != 0 && err.Status != c.status ||
			c.code != "" && err.Code != c.code || c.redacted && err.Details != "" {
			t.Errorf("%s as %s: error %+v\nwant %+v", c.sql, c.who.UserID, err, c)
		}
	}
}

// query runs a single SELECT and returns its only result.
func query(t testing.TB, e *sqlengine.Engine, c sqlengine.Caller, sql string, params ...any) sqlengine.Result {
	t.Helper()
	res := exec(t, e, c, sql, params...)
	if len(res.Results) != 1 || !res.Results[0].IsQuery {
		t.Fatalf("%q: want one query result, got %+v", sql, res)
	}
	return res.Results[0]
}

// setupMessages builds the fixtures' world: namespace app and the USER
// table app.messages.
func setupMessages(t testing.TB, e *sqlengine.Engine) {
	t.Helper()
	exec(t, e, root, "CREATE NAMESPACE app")
	exec(t, e, root, "CREATE USER TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT, author TEXT, created_at TIMESTAMP)")
}

// asJSON round-trips v through encoding/json with UseNumber, giving the
// value a client would decode from the wire.
func asJSON(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return fixtures.Decode(t, b)
}
