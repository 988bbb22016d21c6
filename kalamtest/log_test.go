package kalamtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// One line per request and per connection; no secrets.
func TestLogLinesWithoutSecrets(t *testing.T) {
	var buf testkit.SyncBuffer
	s := newKT(t, kalamtest.WithLogWriter(&buf))
	tk := s.login(t, "alice", alicePW)
	w := s.dialAuthed(t, tk.access, "")
	w.send(authMsg(tk.access))
	w.read()
	_ = w.c.CloseNow()
	_ = s.Close()
	out := buf.String()
	for _, want := range []string{"path=/v1/api/auth/login status=200", "msg=\"ws open\"", "msg=\"ws auth\" conn=1 user=alice", "msg=\"ws close\" conn=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{alicePW, tk.access, tk.refresh, tk.access[:20]} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains a secret:\n%s", out)
		}
	}
}

// Fan-out cost of one committed change to a live subscription, end to end
// (SQL engine → dispatcher → outbox → WebSocket → client decode).
func BenchmarkChangeFanout(b *testing.B) {
	srv, err := kalamtest.NewServer(kalamtest.WithUser("alice", alicePW, "user"), kalamtest.WithUser("ops", "OpsPass123!", "dba"))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.MustExec("ops", "CREATE NAMESPACE app")
	srv.MustExec("ops", messagesDDL)
	s := &ktServer{Server: srv}
	w := s.dialAuthed(b, s.login(b, "alice", alicePW).access, "")
	w.subscribe("b", "SELECT * FROM app.messages", "")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		srv.MustExec("alice", fmt.Sprintf("INSERT INTO app.messages (id, body, author, created_at) VALUES (%d, 'x', 'alice', 1)", i+1))
		w.readType("change")
	}
}
