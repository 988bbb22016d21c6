package ui

import (
	"slices"
	"strconv"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// BenchmarkEventBatchUpdateView measures the dashboard's hot path under a
// 10 000 frames/s stream: every 50 ms coalescing window brings one
// eventsMsg for 500 new frames, which Update applies (snapshot, page of the
// visible window, detail render of the newest frame) and View renders.
// One op is one window; at 10 000 frames/s the UI must finish an op in well
// under 50 ms. The frames/s metric is how many frames per second this path
// could absorb on this machine if it did nothing else.
func BenchmarkEventBatchUpdateView(b *testing.B) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"160x48", 160, 48}} {
		b.Run(size.name, func(b *testing.B) {
			const perWindow = 500 // 10 000 frames/s × 50 ms
			clk := &testClock{t: stubEpoch}
			be := newStubBackend(clk.now)
			m := New(be, WithStyles(theme.New(true), true), WithClock(clk.now), WithoutTicks(), WithLogin(LoginDefaults{URL: "http://127.0.0.1:1", User: "admin"}))
			m = drive(m, tea.WindowSizeMsg{Width: size.w, Height: size.h}, keyPress("enter"))
			c := be.conns[0]
			// A realistic change frame, and a history of 100 000 frames.
			body := `{"type":"change","subscription_id":"metrics","change_type":"update","rows":[{"id":"3","name":"rps","value":44.9,"updated_at":1795868612510000,"_seq":"385043031729"}]}`
			gz := c.frame(stubEpoch, "in", "change", "metrics", body, true)
			for i := 0; i < 100_000; i++ {
				c.log.add(gz)
			}
			m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 100_000}})
			c.log.frames = slices.Grow(c.log.frames, perWindow*b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Appending is the session's job (measured there); time only
				// the UI's Update and View.
				b.StopTimer()
				for j := 0; j < perWindow; j++ {
					gz.Time = gz.Time.Add(100 * time.Microsecond)
					c.log.add(gz)
				}
				b.StartTimer()
				tm, _ := m.Update(eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: perWindow}, {ConnID: c.id, Kind: EventStats}})
				m = tm.(Model)
				_ = m.View()
			}
			b.StopTimer()
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(1/perOp, "renders/s")
			b.ReportMetric(perWindow/perOp, "frames/s")
		})
	}
}

// BenchmarkKeyUpdateView measures one navigation key plus a render on a
// 100 000-frame history (the cost of scrolling while frames stream in).
func BenchmarkKeyUpdateView(b *testing.B) {
	clk := &testClock{t: stubEpoch}
	be := newStubBackend(clk.now)
	m := New(be, WithStyles(theme.New(true), true), WithClock(clk.now), WithoutTicks(), WithLogin(LoginDefaults{URL: "http://127.0.0.1:1", User: "admin"}))
	m = drive(m, tea.WindowSizeMsg{Width: 120, Height: 36}, keyPress("enter"))
	c := be.conns[0]
	f := textFrame(stubEpoch, "in", "change", "metrics", `{"type":"change","subscription_id":"metrics","change_type":"insert","rows":[{"id":"1"}]}`)
	for i := 0; i < 100_000; i++ {
		c.log.add(f)
	}
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 100_000}})
	b.ReportAllocs()
	b.ResetTimer()
	benchKeys(b, m, keyPress("k"), keyPress("j"), 100)
}

// benchKeys runs b.N rounds of Update and View, each with one key: first
// for run rounds, then second for run rounds, and so on (scrolling one
// way, then back, so the selection stays inside the history).
func benchKeys(b *testing.B, m Model, first, second tea.KeyPressMsg, run int) {
	b.Helper()
	for i := range b.N {
		k := first
		if i/run%2 == 1 {
			k = second
		}
		tm, _ := m.Update(k)
		m = tm.(Model)
		_ = m.View()
	}
}

// BenchmarkDataViewLiveRows measures the Data view under a live feed: every
// op changes one visible row (a cache miss), so the whole table is made
// safe, measured and laid out again. Clean ASCII cells take safetext's
// fast path; the hostile case has an escape sequence in every row.
func BenchmarkDataViewLiveRows(b *testing.B) {
	for _, c := range []struct{ name, body string }{{"clean", "hello from row"}, {"hostile", hostileEscapes}} {
		b.Run(c.name, func(b *testing.B) {
			clk := &testClock{t: stubEpoch}
			be := newStubBackend(clk.now)
			m := New(be, WithStyles(theme.New(true), true), WithClock(clk.now), WithoutTicks(), WithLogin(LoginDefaults{URL: "http://127.0.0.1:1", User: "admin"}))
			m = drive(m, tea.WindowSizeMsg{Width: 120, Height: 40}, keyPress("enter"), keyPress("3"))
			conn := be.conns[0]
			sub := Sub{ID: "sub-1", SQL: "SELECT * FROM demo.messages", Status: "ready", Columns: []string{"id", "body", "author", "created_at", "_seq"}, PK: "id"}
			for i := range 200 {
				sub.Rows = append(sub.Rows, Row{Key: strconv.Itoa(i), Values: texts(strconv.Itoa(i), c.body, "alice", "2026-11-28T12:00:00Z", strconv.Itoa(1000+i))})
			}
			conn.snap.Subs = []Sub{sub}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sub.Rows[i%20].Values[4] = Cell{Text: strconv.Itoa(2000 + i)}
				tm, _ := m.Update(eventsMsg{{ConnID: conn.id, Kind: EventRows}})
				m = tm.(Model)
				_ = m.View()
			}
		})
	}
}
