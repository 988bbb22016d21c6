package sqlengine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// BenchmarkInsertNotify measures one single-row INSERT through Exec plus
// turning its change into a subscription's notification, the per-write
// cost of a live table.
func BenchmarkInsertNotify(b *testing.B) {
	e := newEngine(b, sqlengine.Options{})
	setupMessages(b, e)
	q, err := e.PrepareLive(alice, "SELECT id, body FROM app.messages WHERE author = 'alice'")
	if err != nil {
		b.Fatal(err)
	}
	delivered := 0
	defer e.OnChange(func(ch sqlengine.Change) {
		if _, _, _, ok := q.Notification(ch); ok {
			delivered++
		}
	})()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, xerr := e.Exec(ctx, alice, sqlengine.Request{SQL: "INSERT INTO app.messages (id, body, author) VALUES ($1, 'hello', 'alice')", Params: []any{int64(i)}})
		if xerr != nil {
			b.Fatal(xerr)
		}
	}
	b.StopTimer()
	if delivered != b.N {
		b.Fatalf("delivered %d of %d", delivered, b.N)
	}
}

// insertRowsSQL is one INSERT of rows 0 to n-1 into app.messages.
func insertRowsSQL(n int) string {
	var sb strings.Builder
	sb.WriteString("INSERT INTO app.messages (id, body) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, "(%d, 'row %d')", i, i)
	}
	return sb.String()
}

// BenchmarkInsert5000 measures a 5 000-row multi-row INSERT, the setup of
// the big initial-load scenarios.
func BenchmarkInsert5000(b *testing.B) {
	sql := insertRowsSQL(5000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEngine(b, sqlengine.Options{})
		setupMessages(b, e)
		b.StartTimer()
		exec(b, e, alice, sql)
	}
}

// BenchmarkPage measures reading one 1 000-row page of a 5 000-row table.
func BenchmarkPage(b *testing.B) {
	e := newEngine(b, sqlengine.Options{})
	setupMessages(b, e)
	exec(b, e, alice, insertRowsSQL(5000))
	q, err := e.PrepareLive(alice, "SELECT * FROM app.messages")
	if err != nil {
		b.Fatal(err)
	}
	boundary := e.MaxSeq()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rows, _, err := q.Page(nil, boundary, 1000); err != nil || len(rows) != 1000 {
			b.Fatal(len(rows), err)
		}
	}
}
