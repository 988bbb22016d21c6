package ui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// tablesConn is the stub connection with LiveTables over rows kept in
// memory, in arrival order, the way the session keeps them.
type tablesConn struct {
	*stubConn
	rows     []Row
	verifies int
	repairs  int
}

func (c *tablesConn) SubRows(id string, q RowQuery, offset, n int) ([]Row, int) {
	var sel []Row
	for _, r := range c.rows {
		if q.Filter == "" || strings.Contains(r.Values[2].Text, q.Filter) {
			sel = append(sel, r)
		}
	}
	if q.ByKey {
		// Numeric keys: shorter is smaller.
		slices.SortFunc(sel, func(a, b Row) int { return cmp.Or(len(a.Key)-len(b.Key), strings.Compare(a.Key, b.Key)) })
	}
	if offset >= len(sel) {
		return nil, len(sel)
	}
	return sel[offset:min(offset+n, len(sel))], len(sel)
}

func (c *tablesConn) Verify(_ context.Context, id string) (Verification, error) {
	c.verifies++
	v := Verification{Time: c.now(), Summary: "mismatch: 172 missing from the live view", Counts: "server rows 1172, live rows 1000",
		Sections: []VerifySection{{Title: "missing from the live view", Count: 172, Causes: "queue drop 172",
			Samples: []string{"key 1001 server _seq 5001: body=\x1b[31mred [queue drop]"}}},
		Causes: []string{"queue drop (172): dropped by the server's notification queue"}}
	c.snap.Subs[0].Verified = &v
	return v, nil
}

func (c *tablesConn) Repair(_ context.Context, id string) error {
	c.repairs++
	c.snap.Subs[0].Verified = nil
	return nil
}

// withTables gives the test model's tab a connection with LiveTables
// holding n rows (keys "1" … n, in arrival order n … 1 so that arrival and
// key order differ).
func withTables(t *testing.T, m Model, n int) (Model, *tablesConn) {
	t.Helper()
	tab := m.tabs[0]
	c := &tablesConn{stubConn: tab.conn.(*stubConn)}
	for i := n; i >= 1; i-- {
		k := fmt.Sprint(i)
		c.rows = append(c.rows, Row{Key: k, Values: []Cell{{Text: k}, {Text: "login"}, {Text: "body " + k}, {Text: "9" + k}}})
	}
	c.snap.Subs[0].Kept, c.snap.Subs[0].Cap, c.snap.Subs[0].Evicted, c.snap.Subs[0].Received = n, 5000, 12, n+12
	tab.conn, tab.can = c, capabilitiesOf(c)
	tab.data.keys = tab.can.dataKeys(DefaultDataKeyMap())
	tab.snap = c.Snapshot()
	return m, c
}

// TestDataViewPagesEveryKeptRow: the Data view follows the newest of all
// kept rows, pages to the oldest, orders by key and filters by text, with
// the counts of kept, evicted and received rows.
func TestDataViewPagesEveryKeptRow(t *testing.T) {
	m, _, _ := loggedIn(t, 120, 40)
	m, _ = withTables(t, m, 1000)
	m = drive(m, keyPress("3"))
	requireContains(t, m, "kept 1\u2009000 (cap 5\u2009000) · evicted 12 · received 1\u2009012", "of 1\u2009000 · arrival order · following", " 1  ")
	m = drive(m, keyPress("g"))
	requireContains(t, m, "rows 1–")
	requireNotContains(t, m, "following")
	if s := screen(m); !strings.Contains(s, " 1000 ") {
		t.Fatalf("the oldest kept row (1000, first to arrive) is not on the first page:\n%s", s)
	}
	m = drive(m, keyPress("pgdown"))
	requireNotContains(t, m, "rows 1–")
	m = drive(m, keyPress("o"))
	requireContains(t, m, "by key")
	m = drive(m, keyPress("/"))
	m = driveText(m, "body 99")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "of 11 · by key", "filter body 99 (esc clears)", " 99 ", " 999 ")
	m = drive(m, keyPress("esc"))
	requireContains(t, m, "of 1\u2009000 · by key")
}

// TestDataViewVerifyAndRepair: v verifies the selected subscription and
// shows the result (server text made inert); R repairs it.
func TestDataViewVerifyAndRepair(t *testing.T) {
	m, _, _ := loggedIn(t, 140, 40)
	m, c := withTables(t, m, 20)
	m = drive(m, keyPress("3"), keyPress("v"))
	if c.verifies != 1 {
		t.Fatalf("v ran %d verifications", c.verifies)
	}
	requireContains(t, m, "MISMATCH", "missing from the live view", "172", "queue drop 172", "key 1001", "␛[31mred", "R: repair")
	if strings.Contains(m.View().Content, "\x1b[31mred") {
		t.Fatal("a sample's escape sequence reached the terminal")
	}
	m = drive(m, keyPress("R"))
	if c.repairs != 1 {
		t.Fatalf("R ran %d repairs", c.repairs)
	}
	requireNotContains(t, m, "MISMATCH")
	requireContains(t, m, "repair events (re-subscribe): done")
}

// TestDataViewWithoutLiveTables: a connection that cannot page or verify
// (a recording) says so for v, R, / and o.
func TestDataViewWithoutLiveTables(t *testing.T) {
	m, _, _ := loggedIn(t, 120, 40)
	m = drive(m, keyPress("3"))
	for k, says := range map[string]string{"v": "verify with server is not available", "R": "repair (re-subscribe) is not available",
		"/": "filter rows is not available", "o": "order: arrival/key is not available"} {
		m = drive(m, keyPress(k))
		requireContains(t, m, says)
	}
}

// TestPaletteVerify: :verify checks the Data view's subscription, :repair
// repairs it.
func TestPaletteVerify(t *testing.T) {
	m, _, _ := loggedIn(t, 140, 40)
	m, c := withTables(t, m, 5)
	m = drive(m, keyPress(":"))
	m = driveText(m, "verify")
	m = drive(m, keyPress("enter"))
	if c.verifies != 1 {
		t.Fatalf(":verify ran %d verifications", c.verifies)
	}
	requireContains(t, m, "MISMATCH", "missing from the live view")
	m = drive(m, keyPress(":"))
	m = driveText(m, "repair events")
	m = drive(m, keyPress("enter"))
	if c.repairs != 1 {
		t.Fatalf(":repair ran %d repairs", c.repairs)
	}
}
