package session

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func TestLiveTableAppliesChanges(t *testing.T) {
	now := time.Unix(100, 0)
	tb := newLiveTable("s", "SELECT * FROM app.t", 0, now)
	seq := int64(7)
	tb.ack([]SchemaField{
		{Name: "id", DataType: json.RawMessage(`"BigInt"`), Flags: []string{"pk", "nn", "uq"}},
		{Name: "name", DataType: json.RawMessage(`"Text"`)},
		{Name: "_seq", DataType: json.RawMessage(`"BigInt"`)},
	}, BatchControl{Status: "loading", HasMore: true, LastSeqID: &seq}, 0, false, now)
	if tb.snap.Status != SubLoading || len(tb.pk) != 1 || !tb.snap.Columns[0].PK || tb.snap.Columns[1].Type != "Text" {
		t.Fatalf("after ack %+v", tb.snap)
	}
	tb.upsert(Row{"id": "1", "name": "a", "email": "x", "_seq": "8"}, ChangeInitial, now)
	tb.upsert(Row{"id": "2", "name": "b", "_seq": "9"}, ChangeInitial, now)
	tb.batch(BatchControl{BatchNum: 1, Status: "ready"}, now)
	// An update's row is the whole new version: a column it leaves out
	// (email) was set to NULL, as KalamDB omits NULLs from update rows.
	tb.upsert(Row{"id": "1", "name": "A", "_seq": "10"}, ChangeUpdate, now.Add(time.Second))
	tb.markDeleted(Row{"id": "2", "_seq": "11"}, now.Add(time.Second))
	tb.gap("missed changes", now)
	s := tb.snapshot(now.Add(time.Second))
	if s.Status != SubReady || s.LastSeq != 11 || s.Rows != 2 || len(s.Gaps) != 1 {
		t.Errorf("snapshot %+v", s)
	}
	rows := tb.page(now.Add(time.Second), 0, 10)
	if r := rows[0]; r.Values["name"] != "A" || r.Values["email"] != nil || r.Change != ChangeUpdate || r.Seq != 10 {
		t.Errorf("updated row %+v", r)
	}
	if r := rows[1]; r.Change != ChangeDelete || !r.Recent(now.Add(time.Second)) {
		t.Errorf("deleted row %+v", r)
	}
	// The deleted row goes once its marker fades.
	if rows := tb.page(now.Add(time.Second+RecentChange), 0, 10); len(rows) != 1 || rows[0].Key != "1" {
		t.Errorf("after fade %+v", rows)
	}
}

func TestLiveTableIsBounded(t *testing.T) {
	now := time.Unix(0, 0)
	tb := newLiveTable("s", "q", 0, now)
	for i := 0; i < DefaultLiveRowCap+5; i++ {
		tb.upsert(Row{"id": fmt.Sprint(i)}, ChangeInsert, now)
	}
	s := tb.snapshot(now)
	if s.Rows != DefaultLiveRowCap || s.Evicted != 5 {
		t.Errorf("rows %d evicted %d", s.Rows, s.Evicted)
	}
	if r := tb.page(now, 0, 1); r[0].Key != "5" {
		t.Errorf("oldest kept %q", r[0].Key)
	}
	// Keys still resolve after dropping: an update finds its row.
	tb.upsert(Row{"id": "9000", "v": 1}, ChangeUpdate, now)
	if s := tb.snapshot(now); s.Rows != DefaultLiveRowCap {
		t.Errorf("update added a row: %d", s.Rows)
	}
	for i := 0; i < 20; i++ {
		tb.gap("g", now)
	}
	tb.gap("last", now)
	if s := tb.snapshot(now); len(s.Gaps) != MaxGapWarnings || s.Gaps[MaxGapWarnings-1].Detail != "last" {
		t.Errorf("gaps %d", len(s.Gaps))
	}
}

// BenchmarkLiveTableInsertAtCap measures an insert into a full live table
// (each one drops the oldest row): it must not re-index the table.
func BenchmarkLiveTableInsertAtCap(b *testing.B) {
	now := time.Unix(0, 0)
	tb := newLiveTable("s", "q", 0, now)
	for i := 0; i < DefaultLiveRowCap; i++ {
		tb.upsert(Row{"id": fmt.Sprint(i)}, ChangeInsert, now)
	}
	b.ResetTimer()
	for i := range b.N {
		tb.upsert(Row{"id": strconv.Itoa(DefaultLiveRowCap + i)}, ChangeInsert, now)
	}
}

// TestLiveTableCountsDeletedRows: the count of rows marked deleted, which
// lets prune skip its scan, stays exact through random inserts, updates,
// deletes, evictions at a small cap, fades and a reset.
func TestLiveTableCountsDeletedRows(t *testing.T) {
	now := time.Unix(0, 0)
	tb := newLiveTable("s", "q", 50, now)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		key := strconv.Itoa(rng.IntN(120))
		switch rng.IntN(5) {
		case 0, 1:
			tb.upsert(Row{"id": key}, ChangeInsert, now)
		case 2:
			tb.upsert(Row{"id": key}, ChangeUpdate, now)
		case 3:
			tb.markDeleted(Row{"id": key}, now)
		case 4:
			tb.prune(now)
		}
		if i == 4000 {
			tb.reset(now)
		}
		want := 0
		for _, r := range tb.rows {
			if r.Change == ChangeDelete {
				want++
			}
		}
		if tb.deleted != want {
			t.Fatalf("step %d: counted %d deleted rows, the table holds %d", i, tb.deleted, want)
		}
	}
}
