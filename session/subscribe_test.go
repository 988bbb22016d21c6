package session

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

func TestSubscriptionLiveTable(t *testing.T) {
	e := newEnv(t)
	if _, err := e.srv.Exec("root", "CREATE NAMESPACE IF NOT EXISTS app"); err != nil {
		t.Fatalf("kalamtest SQL: %v", err)
	}
	e.srv.MustExec("root", "CREATE TABLE app.items (id BIGINT PRIMARY KEY, name TEXT) WITH (TYPE = 'USER')")
	for i := 1; i <= 5; i++ {
		e.srv.MustExec("alice", fmt.Sprintf("INSERT INTO app.items (id, name) VALUES (%d, 'n%d')", i, i))
	}
	c := e.open("alice", "alice", "alice-pw")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := c.Subscribe(ctx, "SELECT * FROM app.items", SubscribeOptions{ID: "items", BatchSize: new(2)})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "initial load ready", func() bool {
		s, _ := c.Subscription(id)
		return s.Status == SubReady && s.Rows == 5
	})
	s, _ := c.Subscription(id)
	if len(s.Columns) == 0 || s.LastSeq == 0 || s.BatchNum < 2 {
		t.Errorf("snapshot %+v", s)
	}
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name) VALUES (6, 'six')")
	e.srv.MustExec("alice", "UPDATE app.items SET name = 'uno' WHERE id = 1")
	e.srv.MustExec("alice", "DELETE FROM app.items WHERE id = 2")
	waitOneOfEach(t, c, id, "live changes")
	byKey := liveRowsByKey(c, id)
	now := e.clock.Now()
	if r := byKey["1"]; r.Change != ChangeUpdate || fmt.Sprint(r.Values["name"]) != "uno" || !r.Recent(now) {
		t.Errorf("row 1 %+v", r)
	}
	if r := byKey["2"]; r.Change != ChangeDelete {
		t.Errorf("row 2 %+v", r)
	}
	if r := byKey["6"]; r.Change != ChangeInsert || fmt.Sprint(r.Values["name"]) != "six" {
		t.Errorf("row 6 %+v", r)
	}
	// Markers fade; deleted rows go.
	e.clock.Advance(RecentChange)
	if rows := c.SubRows(id, 0, 100); len(rows) != 5 || rows[0].Recent(e.clock.Now()) {
		t.Errorf("after fade: %d rows", len(rows))
	}
	// Frames of the subscription are in the log, filterable by its id (the
	// frame pump is not the subscription's: wait for it).
	eventually(t, "the subscription's frames in the log", func() bool { return c.Log().Len(Filter{Subscription: id}) >= 4 })
	if err := c.Unsubscribe(ctx, id); err != nil {
		t.Fatal(err)
	}
	if s, _ := c.Subscription(id); s.Status != SubClosed {
		t.Errorf("status %v", s.Status)
	}
}

// TestUpdateToNullEmptiesTheColumn: after UPDATE … SET note = NULL the live
// row holds no note, although the update frame does not name the column
// (KalamDB leaves NULLs out of an update's rows; the old value is only in
// old_values: upstream backend/crates/kalamdb-live/src/notification.rs).
// Columns the update did not touch keep their values because the server
// sends them again; the insert and the delete around it are unchanged.
func TestUpdateToNullEmptiesTheColumn(t *testing.T) {
	e := newEnv(t)
	e.srv.MustExec("root", "CREATE NAMESPACE IF NOT EXISTS app")
	e.srv.MustExec("root", "CREATE TABLE app.notes (id BIGINT PRIMARY KEY, name TEXT, note TEXT) WITH (TYPE = 'USER')")
	e.srv.MustExec("alice", "INSERT INTO app.notes (id, name, note) VALUES (1, 'one', 'first'), (2, 'two', 'second')")
	c := e.open("alice", "alice", "alice-pw")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := c.Subscribe(ctx, "SELECT * FROM app.notes", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "initial load ready", func() bool {
		s, _ := c.Subscription(id)
		return s.Status == SubReady && s.Rows == 2
	})
	e.srv.MustExec("alice", "UPDATE app.notes SET note = NULL WHERE id = 1")
	e.srv.MustExec("alice", "INSERT INTO app.notes (id, name, note) VALUES (3, 'three', 'third')")
	e.srv.MustExec("alice", "DELETE FROM app.notes WHERE id = 2")
	waitOneOfEach(t, c, id, "the update, insert and delete")
	byKey := liveRowsByKey(c, id)
	if r := byKey["1"]; r.Change != ChangeUpdate || r.Values["note"] != nil || r.Values["name"] != "one" {
		t.Errorf("row 1 after SET note = NULL: %+v (want note NULL, name kept)", r.Values)
	}
	if _, has := byKey["1"].Values["note"]; has {
		t.Errorf("row 1 still has a note column: %+v", byKey["1"].Values)
	}
	if r := byKey["3"]; r.Change != ChangeInsert || r.Values["note"] != "third" || r.Values["name"] != "three" {
		t.Errorf("inserted row 3: %+v", r)
	}
	if r := byKey["2"]; r.Change != ChangeDelete || r.Values["note"] != "second" {
		t.Errorf("deleted row 2: %+v", r)
	}
	// Setting it again brings the value back, in the same row.
	e.srv.MustExec("alice", "UPDATE app.notes SET note = 'again' WHERE id = 1")
	eventually(t, "the second update", func() bool {
		s, _ := c.Subscription(id)
		return s.Updates == 2
	})
	for _, r := range c.SubRows(id, 0, 100) {
		if r.Key == "1" && (r.Values["note"] != "again" || r.Values["name"] != "one") {
			t.Errorf("row 1 after SET note = 'again': %+v", r.Values)
		}
	}
}

func TestSubscriptionResumesAfterReconnect(t *testing.T) {
	e := newEnv(t)
	seedItems(t, e, "alice", 3)
	c := e.open("alice", "alice", "alice-pw")
	ctx := context.Background()
	id, err := c.Subscribe(ctx, "SELECT * FROM app.items", SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "loaded", func() bool { s, _ := c.Subscription(id); return s.Status == SubReady && s.Rows == 3 })
	e.srv.DropAll()
	eventually(t, "resumed", func() bool {
		s, _ := c.Subscription(id)
		return s.Resumes == 1 && c.Snapshot().State == client.StateConnected
	})
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name) VALUES (4, 'after')")
	eventually(t, "live again", func() bool { s, _ := c.Subscription(id); return s.Rows == 4 && s.Inserts == 1 })
	if s, _ := c.Subscription(id); len(s.Gaps) != 0 || s.Status != SubReady {
		t.Errorf("after resume: %+v", s)
	}
}
