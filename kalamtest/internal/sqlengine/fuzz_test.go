package sqlengine_test

import (
	"context"
	"testing"

	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// FuzzExec feeds arbitrary SQL (and one parameter) to Exec and
// PrepareLive: nothing may panic, and failures must carry a code.
func FuzzExec(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM app.messages WHERE id = $1",
		"INSERT INTO app.messages (id, body) VALUES ($1, 'x'), (2, NULL)",
		"UPDATE app.messages SET body = body || $1 WHERE id IN (1, 2) AND NOT (author IS NULL)",
		"DELETE FROM app.messages WHERE created_at > '2024-01-01' OR id BETWEEN 1 AND $1",
		"SELECT COUNT(*), MAX(id) FROM app.messages GROUP BY author HAVING COUNT(*) > 1 ORDER BY 1 DESC LIMIT 2 OFFSET 1",
		"CREATE TABLE app.t (id INT PRIMARY KEY DEFAULT 1, d DECIMAL(5,2), e EMBEDDING(2)) WITH (TYPE='USER')",
		"SELECT CAST($1 AS BIGINT), -1.5e3, 'a''b', \"quoted\" FROM app.messages",
		"CREATE NAMESPACE x; DROP NAMESPACE x; SELECT 1; -- c",
	} {
		f.Add(s, "1")
	}
	f.Fuzz(func(t *testing.T, sql, param string) {
		e, err := sqlengine.New(sqlengine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		ctx := context.Background()
		if _, xerr := e.Exec(ctx, root, sqlengine.Request{SQL: "CREATE NAMESPACE app; CREATE USER TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT, author TEXT, created_at TIMESTAMP)"}); xerr != nil {
			t.Fatal(xerr)
		}
		for _, c := range []sqlengine.Caller{root, alice} {
			if _, xerr := e.Exec(ctx, c, sqlengine.Request{SQL: sql, Params: []any{param}}); xerr != nil && (xerr.Code == "" || xerr.Message == "") {
				t.Errorf("error without code/message: %+v", xerr)
			}
			_, _ = e.Exec(ctx, c, sqlengine.Request{SQL: sql})
			if q, xerr := e.PrepareLive(c, sql); xerr == nil {
				_, _, _ = q.Page(nil, e.MaxSeq(), 10)
				_, _ = q.Last(3, e.MaxSeq())
			} else if xerr.Code == "" {
				t.Errorf("live error without code: %+v", xerr)
			}
		}
	})
}
