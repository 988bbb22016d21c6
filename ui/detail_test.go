package ui

import (
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestCloseHint1009NamesTheReadLimit: a frame closed with 1009 says which
// limit it hit (16 MiB) and what the dashboard does next, in the detail
// pane and in the status bar.
func TestCloseHint1009NamesTheReadLimit(t *testing.T) {
	m, b, clk := loggedIn(t, 160, 40)
	c := b.conns[0]
	c.log.add(Frame{Time: clk.t, Dir: "out", Opcode: "close", Encoding: "-", CloseCode: 1009,
		CloseReason: "frame over the 16 MiB read limit", ConnID: 1})
	c.snap.State, c.snap.CloseCode = "reconnecting", 1009
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}}, keyPress("G"))
	if f, ok := m.current().insp.selected(); !ok || f.CloseCode != 1009 {
		t.Fatalf("the close frame is not selected: %+v", f)
	}
	want := "a frame exceeded the 16 MiB read limit; the dashboard reconnects and resumes"
	requireContains(t, m, "close code 1009 frame over the 16 MiB read limit", want, "close 1009: "+want)
	requireNotContains(t, m, "reader limit")

	// In a narrow pane the hint wraps instead of being cut.
	m = drive(m, tea.WindowSizeMsg{Width: 140, Height: 40})
	if w := m.layout().detailW; w >= len(want) {
		t.Fatalf("the detail pane is %d wide: too wide to need wrapping", w)
	}
	requireContains(t, m, "a frame exceeded the 16 MiB read limit;", "reconnects and resumes")
}
