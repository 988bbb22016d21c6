package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func seedItems(t testing.TB, e *env, user string, n int) {
	t.Helper()
	e.srv.MustExec("root", "CREATE NAMESPACE IF NOT EXISTS app")
	e.srv.MustExec("root", "CREATE TABLE IF NOT EXISTS app.items (id BIGINT PRIMARY KEY, name TEXT) WITH (TYPE = 'USER')")
	for i := 1; i <= n; i++ {
		e.srv.MustExec(user, fmt.Sprintf("INSERT INTO app.items (id, name) VALUES (%d, '%s')", i, strings.Repeat("x", 40)))
	}
}

func TestStatsSamplesTrafficPerSecond(t *testing.T) {
	e := newEnv(t)
	seedItems(t, e, "alice", 200)
	c := e.open("alice", "alice", "alice-pw")
	e.clock.Advance(time.Second) // baseline sample
	id, err := c.Subscribe(context.Background(), "SELECT * FROM app.items", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "rows loaded", func() bool { s, _ := c.Subscription(id); return s.Rows == 200 })
	e.clock.Advance(time.Second)
	e.clock.Advance(time.Second)
	s := c.Snapshot()
	if len(s.History) != 0 {
		t.Errorf("rotations %v", triggers(s.History))
	}
	st := s.Stats
	if len(st.History) != 2 {
		t.Fatalf("samples %+v", st.History)
	}
	if st.History[0].FramesIn < 2 || st.History[0].BytesIn <= 0 || st.History[0].FramesOut < 1 {
		t.Errorf("first second %+v", st.History[0])
	}
	if st.History[1].FramesIn != 0 {
		t.Errorf("quiet second %+v", st.History[1])
	}
	if st.FramesIn < 3 || st.WireBytesIn == 0 || st.DecodedBytesIn < st.WireBytesIn {
		t.Errorf("counters %+v", st.Counters)
	}
	// 200 rows of 40 x's arrive gzip-compressed: decoded is much larger.
	if st.CompressionRatio < 2 {
		t.Errorf("compression ratio %.2f", st.CompressionRatio)
	}
	if want := (st.History[0].FramesIn + st.History[1].FramesIn) / 2; st.FramesInRate != want {
		t.Errorf("rate %.2f, want %.2f", st.FramesInRate, want)
	}
}

func TestUnauthorizedQueryIsRecordedAsRotation(t *testing.T) {
	e := newEnv(t)
	seedItems(t, e, "alice", 1)
	c := e.open("alice", "alice", "alice-pw")
	before := c.Snapshot().Access
	e.clock.Advance(time.Second)
	e.srv.ExpireTokens()
	// /sql answers TOKEN_EXPIRED; the client logs in again and retries.
	res, err := c.Query(context.Background(), "SELECT * FROM app.items")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 1 || len(res.Results[0].Rows) != 1 {
		t.Errorf("result %+v", res.Results)
	}
	eventually(t, "401 rotation", func() bool { return len(c.Snapshot().History) == 1 })
	s := c.Snapshot()
	r := s.History[0]
	if r.Trigger != TriggerUnauthorized || r.Method != MethodClient || !r.OK() || r.Trigger.String() != "401" {
		t.Errorf("rotation %+v", r)
	}
	if s.Access.Fingerprint == before.Fingerprint {
		t.Error("access token unchanged")
	}
}
