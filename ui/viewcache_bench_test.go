package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// benchModel is a logged-in dark-theme dashboard of w×h over the stub.
func benchModel(w, h int) (Model, *stubConn, *testClock) {
	clk := &testClock{t: stubEpoch}
	be := newStubBackend(clk.now)
	m := New(be, WithStyles(theme.New(true), true), WithClock(clk.now), WithoutTicks(),
		WithLogin(LoginDefaults{URL: "http://127.0.0.1:1", User: "admin", Password: "x"}))
	m = drive(m, tea.WindowSizeMsg{Width: w, Height: h}, keyPress("enter"))
	return m, be.conns[0], clk
}

// BenchmarkViewUnchanged is View() with nothing changed since the last one
// — what Bubble Tea pays for every message that changes nothing on screen
// (a mouse event, an unbound key) — on each screen at 120×36.
func BenchmarkViewUnchanged(b *testing.B) {
	for _, sc := range []struct {
		name string
		keys []string
	}{
		{"frames", nil},
		{"frames-wide", nil},
		{"token", []string{"2"}},
		{"data", []string{"3"}},
		{"help", []string{"?"}},
		{"login", []string{"n"}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			w := 120
			if strings.HasSuffix(sc.name, "-wide") {
				w = 160
			}
			m, _, _ := benchModel(w, 36)
			for _, k := range sc.keys {
				m = drive(m, keyPress(k))
			}
			_ = m.View()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				_ = m.View()
			}
		})
	}
}

// BenchmarkMouseMotionUpdateView is one mouse-motion message (reported
// with a button held under MouseModeCellMotion; it changes nothing) and
// the View that Bubble Tea runs after it.
func BenchmarkMouseMotionUpdateView(b *testing.B) {
	m, _, _ := benchModel(120, 36)
	msg := tea.MouseMotionMsg{X: 40, Y: 10, Button: tea.MouseLeft}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		tm, _ := m.Update(msg)
		m = tm.(Model)
		_ = m.View()
	}
}

// largeJSON returns a JSON batch frame body of at least n bytes.
func largeJSON(n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"initial_data_batch","subscription_id":"events","rows":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"%d","kind":"click","payload":{"x":%d,"y":%d,"note":"row %d of a large initial batch"},"_seq":"%d"}`, i, i%80, i%24, i, 1000+i)
	}
	b.WriteString(`],"batch_control":{"batch_num":0,"has_more":false,"status":"ready"}}`)
	return b.String()
}

// BenchmarkDetailPaneLargeFrame has a 1 MB JSON frame selected (pretty
// mode, highlighted): View alone, and scrolling the detail pane by one
// line (key + View), at 160×48 (side by side).
func BenchmarkDetailPaneLargeFrame(b *testing.B) {
	setup := func(b *testing.B) Model {
		m, c, clk := benchModel(160, 48)
		c.log.add(textFrame(clk.t, "in", "initial_data_batch", "events", largeJSON(1<<20)))
		m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}})
		if f, ok := m.current().insp.selected(); !ok || f.DecodedSize < 1<<20 {
			b.Fatalf("the large frame is not selected (%d bytes)", f.DecodedSize)
		}
		_ = m.View()
		return m
	}
	b.Run("View", func(b *testing.B) {
		m := setup(b)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			_ = m.View()
		}
	})
	for _, mode := range []string{"", "-raw", "-hex"} {
		b.Run("select"+mode, func(b *testing.B) {
			// Moving between two large frames: each selection lays one out
			// (in pretty, raw or hex mode).
			m := setup(b)
			c := m.current().conn.(*stubConn)
			c.log.add(textFrame(stubEpoch, "in", "initial_data_batch", "events", largeJSON(1<<20)))
			m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}})
			if mode != "" {
				m = drive(m, keyPress("tab"), keyPress("v"))
				if mode == "-hex" {
					m = drive(m, keyPress("v"))
				}
				m = drive(m, keyPress("tab"))
			}
			b.ReportAllocs()
			b.ResetTimer()
			benchKeys(b, m, keyPress("k"), keyPress("j"), 1)
		})
	}
	b.Run("scroll", func(b *testing.B) {
		m := setup(b)
		m = drive(m, keyPress("tab")) // focus the detail pane
		b.ReportAllocs()
		b.ResetTimer()
		benchKeys(b, m, keyPress("j"), keyPress("k"), 100)
	})
}
