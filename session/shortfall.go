package session

import (
	"fmt"
	"strings"
	"time"
)

// ShortfallWait is how long the changes of a statement run over HTTP have
// to arrive on a subscription to the same table before the shortfall is
// reported.
const ShortfallWait = 2 * time.Second

// Shortfall says that a statement run on this connection wrote more rows
// to a subscribed table than changes arrived on the subscription: changes
// were lost (most likely dropped by the server's notification queue while
// the socket was busy). Verify tells which.
type Shortfall struct {
	Time    time.Time // when the statement ran
	SQL     string
	Rows    int // rows the statement reported written
	Arrived int // changes that arrived within ShortfallWait
}

// pendingWrite is a statement whose changes a subscription waits for.
type pendingWrite struct {
	at      time.Time
	sql     string
	rows    int
	changes int // the table's live changes before the statement
}

// watchedWrite is a statement about to run and the subscriptions that
// should see its changes, with their change counts before it.
type watchedWrite struct {
	sql     string
	changes map[*liveTable]int
}

// watchWrites returns the live whole-table subscriptions (no WHERE: a
// filter may rightly leave changes out) of the one table the statements
// of sql write to, or nil. It runs before the statement, so changes arriving
// before its answer count.
func (c *Conn) watchWrites(sql string) *watchedWrite {
	table, ok := writtenTable(sql)
	if !ok {
		return nil
	}
	w := &watchedWrite{sql: sql, changes: map[*liveTable]int{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.subs {
		q, err := parseSnapshotSQL(t.snap.SQL)
		// A table still loading gets no changes for rows its load has
		// not reached yet, so only live tables are watched.
		if err == nil && q.where == "" && strings.EqualFold(q.from, table) && t.snap.Status == SubReady {
			w.changes[t] = t.liveChanges()
		}
	}
	if len(w.changes) == 0 {
		return nil
	}
	return w
}

// expectWrites records, for the subscriptions w watches, how many changes
// the statement's answer says should arrive.
func (c *Conn) expectWrites(w *watchedWrite, res *QueryResult) {
	if w == nil || res == nil {
		return
	}
	rows := 0
	for _, r := range res.Results {
		if r.Message != "" && len(r.Schema) == 0 {
			rows += r.RowCount
		}
	}
	if rows == 0 {
		return
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, changes := range w.changes {
		if p := t.pending; p != nil {
			p.rows += rows // back-to-back statements add up
			continue
		}
		t.pending = &pendingWrite{at: now, sql: w.sql, rows: rows, changes: changes}
	}
}

// liveChanges counts the changes that arrived live (initial rows aside:
// a load still running when a statement is sent is not its changes).
func (t *liveTable) liveChanges() int { return t.snap.Inserts + t.snap.Updates + t.snap.Deletes }

// checkPending settles a pending write: met when as many changes arrived,
// a Shortfall once ShortfallWait passed without them.
func (t *liveTable) checkPending(now time.Time) {
	p := t.pending
	if p == nil {
		return
	}
	arrived := t.liveChanges() - p.changes
	switch {
	case arrived >= p.rows:
		t.pending = nil
	case now.Sub(p.at) >= ShortfallWait:
		t.pending = nil
		t.snap.Shortfall = &Shortfall{Time: p.at, SQL: p.sql, Rows: p.rows, Arrived: arrived}
		t.snap.Verified = nil // an earlier check no longer says how the rows are
		t.note("shortfall", fmt.Sprintf("a statement wrote %d rows; %d changes arrived", p.rows, arrived), now)
	}
}

// writtenTable returns the one table the INSERT, UPDATE or DELETE
// statements of sql write to; false when there are none, other
// statements, or several tables.
func writtenTable(sql string) (string, bool) {
	table := ""
	for _, stmt := range strings.Split(sql, ";") {
		words := strings.Fields(stmt)
		if len(words) == 0 {
			continue
		}
		var t string
		switch strings.ToUpper(words[0]) {
		case "INSERT", "DELETE":
			want := "INTO"
			if strings.EqualFold(words[0], "DELETE") {
				want = "FROM"
			}
			if len(words) < 3 || !strings.EqualFold(words[1], want) {
				return "", false
			}
			t = words[2]
		case "UPDATE":
			if len(words) < 2 {
				return "", false
			}
			t = words[1]
		default:
			return "", false
		}
		t, _, _ = strings.Cut(t, "(")
		if table != "" && !strings.EqualFold(table, t) {
			return "", false
		}
		table = t
	}
	return table, table != ""
}
