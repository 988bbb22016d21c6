package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/theme"
)

// TestDataViewDrawsNullDistinctly: a NULL cell reads NULL in the Null
// style, the text "NULL" reads the same letters unstyled, and an empty
// string stays empty; in a highlighted row the NULL keeps the row's
// highlight around it.
func TestDataViewDrawsNullDistinctly(t *testing.T) {
	for _, colour := range []bool{true, false} {
		st := theme.New(true)
		if !colour {
			st = theme.NoColor()
		}
		now := stubEpoch
		sub := Sub{ID: "notes", Status: "ready", Columns: []string{"id", "name", "note"}, PK: "id", Rows: []Row{
			{Key: "1", Values: []Cell{{Text: "1"}, {Text: "NULL"}, {Null: true}}},
			{Key: "2", Values: []Cell{{Text: "2"}, {Text: ""}, {Null: true}}, Change: "update", ChangedAt: now},
		}}
		var d dataPanel
		out := d.subsView(st, []Sub{sub}, nil, now, true, 60, 10)
		lines := strings.Split(out, "\n")
		row1, row2 := lines[3], lines[4]
		if got := strings.Fields(ansi.Strip(row1)); strings.Join(got, "|") != "1|NULL|NULL" {
			t.Fatalf("colour=%v: row 1 reads %q", colour, got)
		}
		null := st.Null.Render(nullText)
		if n := strings.Count(row1, null); n != 1 {
			t.Errorf("colour=%v: row 1 has %d styled NULLs, want 1 (the NULL, not the text): %q", colour, n, row1)
		}
		if got := strings.Fields(ansi.Strip(row2)); strings.Join(got, "|") != "2|NULL" {
			t.Errorf("colour=%v: row 2 reads %q (want an empty name, then NULL)", colour, got)
		}
		// As a terminal draws it: every cell of the highlighted row in the
		// row's style, the NULL's four in the Null style on top of it.
		rowAttrs, nullAttrs := sgrAttrs(t, st.Update), sgrAttrs(t, st.Null)
		cells := drawnCells(t, row2, 60)
		plain := ansi.Strip(row2)
		at := strings.Index(plain, nullText)
		for x, c := range cells {
			want := rowAttrs
			if x >= at && x < at+len(nullText) {
				want = rowAttrs | nullAttrs
			}
			if c.attrs != want {
				t.Errorf("colour=%v: cell %d (%q) of the highlighted row has attributes %08b, want %08b: %q", colour, x, c.text, c.attrs, want, row2)
			}
		}
		if !strings.HasPrefix(row2, "\x1b[") || strings.HasPrefix(row1, "\x1b[") {
			t.Errorf("colour=%v: only the highlighted row should start styled: %q, %q", colour, row1, row2)
		}
		requireFits(t, "subsView", out, 60, 10)
	}
}

// TestTypingUInTheConsoleKeepsSubscriptions: U unsubscribes only outside
// the SQL prompt; typing UPDATE or KILL LIVE QUERY into the prompt must not
// end the selected subscription.
func TestTypingUInTheConsoleKeepsSubscriptions(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	m = drive(m, keyPress("3"), keyPress("enter"))
	m = driveText(m, "UPDATE demo.events SET kind = NULL")
	m = drive(m, keyPress("esc"), keyPress("s"))
	m = driveText(m, "SELECT * FROM demo.UU")
	m = drive(m, keyPress("esc"))
	if n := len(b.conns[0].snap.Subs); n != 2 {
		t.Fatalf("%d subscriptions after typing U in the prompts, want 2", n)
	}
	m = drive(m, keyPress("U"))
	if n := len(b.conns[0].snap.Subs); n != 1 {
		t.Fatalf("%d subscriptions after U outside the prompt, want 1", n)
	}
	_ = m
}

// TestSubscribeBatchZeroIsLiteral: batch=0 and last=0 reach the backend as
// 0, not as "the server's default", and the notice says what they mean.
func TestSubscribeBatchZeroIsLiteral(t *testing.T) {
	sql, o := parseSubOptions("SELECT * FROM demo.events batch=0")
	if sql != "SELECT * FROM demo.events" || o.BatchSize == nil || *o.BatchSize != 0 || o.LastRows != nil || !o.SkipsExisting() {
		t.Fatalf("parseSubOptions(batch=0) = %q %+v", sql, o)
	}
	if _, o := parseSubOptions("SELECT * FROM demo.events"); o.BatchSize != nil || o.LastRows != nil || o.SkipsExisting() {
		t.Fatalf("no options parsed as %+v", o)
	}
	if _, o := parseSubOptions("SELECT * FROM demo.events last=0"); o.LastRows == nil || *o.LastRows != 0 || !o.SkipsExisting() {
		t.Fatalf("parseSubOptions(last=0) = %+v", o)
	}
	m, _, _ := loggedIn(t, 120, 30)
	m = drive(m, keyPress("3"), keyPress("s")) // the prompt starts with a SELECT
	m = driveText(m, " batch=0")
	m = drive(m, keyPress("enter"))
	requireContains(t, m, "existing rows skipped (batch/last=0), only new changes will show")
}

// TestCheckLiveKeyAndKilledStatus: L asks the connection to check its
// subscriptions against system.live and shows the answer; a subscription
// the server killed reads "killed", with why, instead of live.
func TestCheckLiveKeyAndKilledStatus(t *testing.T) {
	m, b, _ := loggedIn(t, 120, 30)
	m = drive(m, keyPress("3"), keyPress("L"))
	requireContains(t, m, "system.live: 2 live")
	c := b.conns[0]
	c.snap.Subs[0].Status = "killed"
	c.snap.Subs[0].Err = "killed on the server: system.live no longer lists it"
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventRows}})
	requireContains(t, m, "events killed", "error: killed on the server: system.live no longer lists it")
	requireNotContains(t, m, "events ready")
}
