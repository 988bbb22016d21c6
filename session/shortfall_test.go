package session

import (
	"context"
	"testing"
)

// TestShortfallWhenChangesDoNotArrive: a statement run on the connection
// writes rows to a table a subscription watches whole. When the changes
// arrive, nothing is said; when they do not (here a DBA killed the live
// query), the subscription reports the shortfall once ShortfallWait
// has passed (an earlier verification no longer shows), until a clean
// Verify or a Repair.
func TestShortfallWhenChangesDoNotArrive(t *testing.T) {
	e := newEnv(t)
	c, id := openWatchingItems(t, e, 2)
	ctx, cancel := context.WithTimeout(context.Background(), verifyDeadline)
	defer cancel()

	if _, err := c.Query(ctx, "INSERT INTO app.items (id, name, note) VALUES (10, 'a', 'x'), (11, 'b', 'x')"); err != nil {
		t.Fatal(err)
	}
	waitSub(t, c, id, "the two changes", func(s SubSnapshot) bool { return s.Inserts == 2 })
	e.clock.Advance(ShortfallWait)
	if s, _ := c.Subscription(id); s.Shortfall != nil {
		t.Fatalf("shortfall reported although every change arrived: %+v", s.Shortfall)
	}
	if v := verify(t, c, id); !v.Clean() {
		t.Fatalf("Verify before the kill: %s", v.Summary())
	}

	killLive(t, e, "alice", id)
	if _, err := c.Query(ctx, "UPDATE app.items SET note = 'y' WHERE id >= 10"); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Subscription(id); s.Shortfall != nil {
		t.Fatalf("shortfall reported before ShortfallWait: %+v", s.Shortfall)
	}
	e.clock.Advance(ShortfallWait)
	s, _ := c.Subscription(id)
	if f := s.Shortfall; f == nil || f.Rows != 2 || f.Arrived != 0 || !hasHistory(s.History, "shortfall") {
		t.Fatalf("shortfall %+v, history %+v; want 2 rows written, 0 arrived", f, s.History)
	}
	if s.Verified != nil {
		t.Errorf("the clean verification from before the shortfall is still shown: %s", s.Verified.Summary())
	}
	if err := c.Repair(ctx, id); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Subscription(id); s.Shortfall != nil {
		t.Errorf("Repair left the shortfall: %+v", s.Shortfall)
	}
}

func TestWrittenTable(t *testing.T) {
	for sql, want := range map[string]string{
		"INSERT INTO app.t (id) VALUES (1)":                                    "app.t",
		"insert into app.t(id) values (1); INSERT INTO app.t (id) VALUES (2);": "app.t",
		"UPDATE app.t SET a = 1":                                               "app.t",
		"DELETE FROM app.t WHERE id = 1":                                       "app.t",
		"INSERT INTO a.x (id) VALUES (1); DELETE FROM a.y":                     "",
		"SELECT * FROM app.t":                                                  "",
		"INSERT INTO app.t (id) VALUES (1); SELECT 1":                          "",
	} {
		got, ok := writtenTable(sql)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", sql, got, ok, want)
		}
	}
}
