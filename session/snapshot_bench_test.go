package session

import (
	"context"
	"testing"
	"time"
)

// BenchmarkConnSnapshot is what the UI pays per render: a connection with
// a full rotation history and a subscription of 200 rows.
func BenchmarkConnSnapshot(b *testing.B) {
	e := newEnv(b)
	seedItems(b, e, "alice", 200)
	c := e.open("alice", "alice", "alice-pw")
	id, err := c.Subscribe(context.Background(), "SELECT * FROM app.items", SubscribeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	eventually(b, "rows loaded", func() bool { s, _ := c.Subscription(id); return s.Rows == 200 })
	if err := c.SetPolicy(Periodic(time.Second)); err != nil {
		b.Fatal(err)
	}
	e.clock.Advance(MaxHistory * time.Second)
	if n := len(c.Snapshot().History); n != MaxHistory {
		b.Fatalf("history %d", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s := c.Snapshot()
		_ = c.SubRows(s.Subs[0].ID, 0, 50)
	}
}
