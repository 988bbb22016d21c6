package session

import (
	"slices"
	"testing"
)

func TestSubRowsQuery(t *testing.T) {
	e := newEnv(t)
	verifyTable(t, e, 0)
	e.srv.MustExec("alice", "INSERT INTO app.items (id, name, note) VALUES (10, 'ten', 'x'), (9, 'nine', 'x'), (100, 'hundred', 'Findme'), (2, 'two', 'x')")
	c := e.open("alice", "alice", "alice-pw")
	id := subscribeItems(t, c, 4)

	keys := func(rows []LiveRow) []string {
		var out []string
		for _, r := range rows {
			out = append(out, r.Key)
		}
		return out
	}
	rows, total := c.SubRowsQuery(id, RowQuery{ByKey: true}, 0, 10)
	if want := []string{"2", "9", "10", "100"}; total != 4 || !slices.Equal(keys(rows), want) {
		t.Errorf("by key: %v (%d), want %v", keys(rows), total, want)
	}
	if rows, total := c.SubRowsQuery(id, RowQuery{ByKey: true}, 1, 2); total != 4 || !slices.Equal(keys(rows), []string{"9", "10"}) {
		t.Errorf("page 1..2 by key: %v (%d)", keys(rows), total)
	}
	if rows, total := c.SubRowsQuery(id, RowQuery{Filter: "FINDME"}, 0, 10); total != 1 || keys(rows)[0] != "100" {
		t.Errorf("filter: %v (%d)", keys(rows), total)
	}
	if rows, total := c.SubRowsQuery(id, RowQuery{Filter: "n", ByKey: true}, 0, 10); total != 3 || !slices.Equal(keys(rows), []string{"9", "10", "100"}) {
		t.Errorf("filter and sort: %v (%d)", keys(rows), total)
	}
	// A change invalidates the cached selection.
	e.srv.MustExec("alice", "UPDATE app.items SET note = 'findme too' WHERE id = 2")
	waitUntil(t, "the update", func() bool {
		_, total := c.SubRowsQuery(id, RowQuery{Filter: "findme"}, 0, 10)
		return total == 2
	}, nil)
	if _, total := c.SubRowsQuery(id, RowQuery{}, 0, 0); total != 4 {
		t.Errorf("arrival order total %d", total)
	}
}

func TestCompareKeys(t *testing.T) {
	keys := []string{"b", "10", "-3", "9", "a", "-20", "007", "0"}
	slices.SortFunc(keys, compareKeys)
	if want := []string{"-20", "-3", "0", "9", "10", "007", "a", "b"}; !slices.Equal(keys, want) {
		t.Errorf("%v, want %v", keys, want)
	}
}
