package ui

import (
	"math/rand/v2"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestRandomInputNeverPanics drives the model with a long pseudo-random
// mix of keys, pastes, mouse events, events and resizes (including tiny
// sizes) and checks every frame still fits the terminal.
func TestRandomInputNeverPanics(t *testing.T) {
	keys := []string{"enter", "esc", "tab", "up", "down", "space", "1", "2", "3", "j", "k", "g", "G", "F",
		"/", "d", "t", "v", "y", "e", "c", "R", "u", "p", "+", "-", "x", "X", "s", "U", "l", "h", "?", ":",
		"n", "]", "[", "a", "(", "*"}
	rng := rand.New(rand.NewPCG(1, 2))
	m, b, clk := loggedIn(t, 100, 30)
	c := b.conns[0]
	w, h := 100, 30
	for i := 0; i < 500; i++ {
		var msg tea.Msg
		switch r := rng.IntN(100); {
		case r < 80:
			msg = keyPress(keys[rng.IntN(len(keys))])
		case r < 84:
			w, h = 20+rng.IntN(180), 5+rng.IntN(60)
			msg = tea.WindowSizeMsg{Width: w, Height: h}
		case r < 88:
			msg = tea.MouseClickMsg{X: rng.IntN(w), Y: rng.IntN(h), Button: tea.MouseLeft}
		case r < 92:
			msg = tea.MouseWheelMsg{X: rng.IntN(w), Y: rng.IntN(h), Button: tea.MouseWheelDown}
		case r < 95:
			msg = tea.PasteMsg{Content: "SELECT 1"}
		case r < 98:
			c.log.add(textFrame(clk.t, "in", "change", "events", `{"type":"change"}`))
			msg = eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}}
		default:
			clk.advance(7e8)
			msg = tickMsg(clk.t)
		}
		m = drive(m, msg)
		if m.quitting {
			// q or :quit — start again rather than stop exploring.
			m, b, clk = loggedIn(t, w, h)
			c = b.conns[0]
			continue
		}
		requireFits(t, "random step", m.View().Content, w, h)
		if t.Failed() {
			t.Fatalf("after step %d (%T %v)", i, msg, msg)
		}
	}
}
