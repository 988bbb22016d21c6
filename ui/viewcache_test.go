package ui

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/theme"
)

// fresh renders m with no cache at all: the reference every cached View
// must equal.
func fresh(m Model) string {
	m.rc = nil
	return m.View().Content
}

// requireFresh fails when the cached view differs from a fresh render.
func requireFresh(t *testing.T, what string, m Model) string {
	t.Helper()
	got, want := m.View().Content, fresh(m)
	if got != want {
		t.Fatalf("%s: the cached view is stale\ncached:\n%s\nfresh:\n%s", what, ansi.Strip(got), ansi.Strip(want))
	}
	return got
}

// TestViewCacheMatchesFreshRender drives the dashboard (full colour, and
// with the no-colour theme) through a long pseudo-random mix of keys,
// palette commands (theme switches, filters, reveal), mouse events,
// resizes, new frames, notices and clock steps, and checks after every
// message that the cached View equals a render without any cache.
func TestViewCacheMatchesFreshRender(t *testing.T) {
	keys := []string{"enter", "esc", "tab", "up", "down", "space", "1", "2", "3", "j", "k", "g", "G", "F",
		"/", "d", "t", "v", "y", "e", "c", "R", "u", "p", "+", "-", "x", "X", "s", "U", "l", "h", "?",
		"n", "]", "[", "a", "(", "*"}
	commands := []string{"theme light", "theme dark", "theme none", "reveal", "hide", "filter change", "filter", "regex ^c",
		"frames", "token", "data", "help", "connect", "compress off", "compress on"}
	for _, st := range []theme.Styles{theme.New(true), theme.NoColor()} {
		rng := rand.New(rand.NewPCG(7, uint64(len(t.Name()))))
		clk := &testClock{t: stubEpoch}
		b := newStubBackend(clk.now)
		m := New(b, WithStyles(st, true), WithClock(clk.now), WithoutTicks(), WithExportDir(t.TempDir()),
			WithLogin(LoginDefaults{URL: "http://127.0.0.1:38080", User: "admin", Password: "pw"}))
		m = drive(m, tea.WindowSizeMsg{Width: 150, Height: 40}, keyPress("enter"))
		c := b.conns[0]
		w, h := 150, 40
		for i := range 800 {
			var msgs []tea.Msg
			switch r := rng.IntN(100); {
			case r < 65:
				msgs = []tea.Msg{keyPress(keys[rng.IntN(len(keys))])}
			case r < 70:
				msgs = []tea.Msg{keyPress(":")}
				for _, r := range commands[rng.IntN(len(commands))] {
					msgs = append(msgs, tea.KeyPressMsg{Code: r, Text: string(r)})
				}
				msgs = append(msgs, keyPress("enter"))
			case r < 72:
				msgs = []tea.Msg{tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl}}
			case r < 76:
				w, h = 40+rng.IntN(160), 10+rng.IntN(50)
				msgs = []tea.Msg{tea.WindowSizeMsg{Width: w, Height: h}}
			case r < 80:
				msgs = []tea.Msg{tea.MouseClickMsg{X: rng.IntN(w), Y: rng.IntN(h), Button: tea.MouseLeft}}
			case r < 84:
				msgs = []tea.Msg{tea.MouseWheelMsg{X: rng.IntN(w), Y: rng.IntN(h), Button: tea.MouseWheelDown}}
			case r < 85:
				msgs = []tea.Msg{tea.MouseMotionMsg{X: rng.IntN(w), Y: rng.IntN(h)}}
			case r < 92:
				body := fmt.Sprintf(`{"type":"change","n":%d,"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}`, i)
				c.log.add(textFrame(clk.t, "in", "change", "events", body))
				msgs = []tea.Msg{eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}}}
			case r < 94:
				msgs = []tea.Msg{eventsMsg{{ConnID: c.id, Kind: EventNotice, Text: fmt.Sprintf("notice %d", i), Err: i%2 == 0}}}
			case r < 97:
				// Time passes with no message: countdowns and notices must
				// still move on the next View.
				clk.advance(time.Duration(rng.IntN(3000)) * time.Millisecond)
			default:
				clk.advance(time.Second)
				msgs = []tea.Msg{tickMsg(clk.t)}
			}
			for _, msg := range msgs {
				m = drive(m, msg)
			}
			if m.quitting {
				m.quitting = false
			}
			requireFresh(t, fmt.Sprintf("colour %v, step %d (%v)", st.Colour, i, msgs), m)
		}
	}
}

// TestViewUnchangedIsServedFromCache: with nothing changed, View returns
// the very same string (the same bytes, not a re-render that happens to be
// equal) on every screen, and a message that changes nothing (mouse
// motion) keeps it.
func TestViewUnchangedIsServedFromCache(t *testing.T) {
	for _, keys := range [][]string{nil, {"tab"}, {"2"}, {"?"}, {"n"}, {"3"}} {
		m, _, _ := loggedIn(t, 160, 48)
		for _, k := range keys {
			m = drive(m, keyPress(k))
		}
		a, b := m.View().Content, m.View().Content
		if a != b {
			t.Fatalf("%v: two Views of one state differ", keys)
		}
		if unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%v: the second View re-rendered an unchanged screen", keys)
		}
		m = drive(m, tea.MouseMotionMsg{X: 3, Y: 3})
		if c := m.View().Content; c != a {
			t.Errorf("%v: mouse motion changed the screen", keys)
		}
	}
}

// TestViewCacheFollowsSelection: moving the selection re-renders the list
// row highlight and the detail pane of the newly selected frame.
func TestViewCacheFollowsSelection(t *testing.T) {
	m, _, _ := loggedIn(t, 160, 48)
	before := requireFresh(t, "start", m)
	sel, _ := m.current().insp.selected()
	m = drive(m, keyPress("k"))
	after := requireFresh(t, "after k", m)
	now, _ := m.current().insp.selected()
	if now.ID == sel.ID || before == after {
		t.Fatalf("k did not move the selection (frame %d → %d)", sel.ID, now.ID)
	}
	if s := ansi.Strip(after); !strings.Contains(s, fmt.Sprintf("#%d ", now.ID)) {
		t.Fatalf("detail pane does not show frame #%d:\n%s", now.ID, s)
	}
	// Back to the first frame: the same screen as before, from the cache
	// or not.
	m = drive(m, keyPress("j"))
	if again := requireFresh(t, "after j", m); again != before {
		t.Fatal("returning to the first selection shows a different screen")
	}
}

// TestViewCacheFollowsSize: a resize re-lays every part at the new size.
func TestViewCacheFollowsSize(t *testing.T) {
	m, _, _ := loggedIn(t, 120, 36)
	_ = m.View()
	for _, sz := range [][2]int{{160, 48}, {100, 30}, {120, 36}, {200, 60}} {
		m = drive(m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		v := requireFresh(t, fmt.Sprint(sz), m)
		requireFits(t, fmt.Sprint(sz), v, sz[0], sz[1])
		if n := len(strings.Split(v, "\n")); n != sz[1] {
			t.Fatalf("%v: %d lines", sz, n)
		}
		if lw := ansi.StringWidth(strings.Split(v, "\n")[0]); lw != sz[0] {
			t.Fatalf("%v: top bar is %d cells wide", sz, lw)
		}
	}
}

// TestViewCacheFollowsReveal: secrets appear when revealed and are masked
// again when hidden — the detail pane's cache must not keep the revealed
// render.
func TestViewCacheFollowsReveal(t *testing.T) {
	m, b, _ := loggedIn(t, 160, 48)
	m, jwt := withAuthFrame(m, b)
	ctrlR := tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl}
	for i, want := range []bool{false, true, false, true, false} {
		if i > 0 {
			m = drive(m, ctrlR)
		}
		s := ansi.Strip(requireFresh(t, fmt.Sprintf("reveal step %d", i), m))
		if got := strings.Contains(s, jwt); got != want {
			t.Fatalf("step %d: token shown %v, want %v:\n%s", i, got, want, s)
		}
	}
}

// TestViewCacheFollowsTheme: switching the theme re-renders every part in
// the new colours, and switching back gives the first screen again.
func TestViewCacheFollowsTheme(t *testing.T) {
	clk := &testClock{t: stubEpoch}
	b := newStubBackend(clk.now)
	m := New(b, WithStyles(theme.New(true), false), WithClock(clk.now), WithoutTicks(),
		WithLogin(LoginDefaults{URL: "http://127.0.0.1:38080", User: "admin", Password: "pw"}))
	m = drive(m, tea.WindowSizeMsg{Width: 160, Height: 48}, keyPress("enter"))
	dark := requireFresh(t, "dark", m)
	for _, step := range []struct {
		name string
		msg  tea.Msg
	}{
		{"light", tea.BackgroundColorMsg{Color: ansi.White}},
		{"dark", tea.BackgroundColorMsg{Color: ansi.Black}},
	} {
		m = drive(m, step.msg)
		v := requireFresh(t, step.name, m)
		if (v == dark) != (step.name == "dark") {
			t.Fatalf("after the %s background the screen is unchanged=%v", step.name, v == dark)
		}
	}
	m = drive(m, keyPress(":"))
	m = driveText(m, "theme none")
	m = drive(m, keyPress("enter"))
	if v := requireFresh(t, "none", m); strings.Contains(v, "\x1b[38;2;") {
		t.Fatal("the no-colour theme still shows colours from the cache")
	}
}

// TestViewCacheCopiesDiverge: Update returns copies that share the cache;
// two copies moved apart from one state each render their own screen.
func TestViewCacheCopiesDiverge(t *testing.T) {
	base, _, _ := loggedIn(t, 160, 48)
	base = drive(base, keyPress("k"), keyPress("k"))
	up := drive(base, keyPress("k"))
	// up and base share the tab (a pointer), so give down its own model.
	down, _, _ := loggedIn(t, 160, 48)
	down.rc = up.rc // one cache for both
	down = drive(down, keyPress("k"))
	for i := range 3 {
		a := requireFresh(t, fmt.Sprintf("up %d", i), up)
		c := requireFresh(t, fmt.Sprintf("down %d", i), down)
		if a == c {
			t.Fatal("two different selections rendered the same screen")
		}
	}
}

// TestViewCacheFollowsClock: countdowns move and notices expire on the
// next View even when no message arrived in between.
func TestViewCacheFollowsClock(t *testing.T) {
	m, b, clk := loggedIn(t, 120, 36)
	m = drive(m, eventsMsg{{ConnID: b.conns[0].id, Kind: EventNotice, Text: "hello there"}})
	first := requireFresh(t, "start", m)
	if !strings.Contains(ansi.Strip(first), "hello there") {
		t.Fatal("notice not shown")
	}
	clk.advance(time.Second)
	second := requireFresh(t, "+1s", m)
	if second == first {
		t.Fatal("the access countdown did not move after a second")
	}
	clk.advance(5 * time.Second)
	if s := ansi.Strip(requireFresh(t, "+6s", m)); strings.Contains(s, "hello there") {
		t.Fatal("the notice outlived its five seconds")
	}
}

// TestTokenViewCacheFollowsClockAndSnapshot: the token view moves with the
// clock without any message, and shows a rotation the backend changed in
// place (the cache keeps its own copy of the snapshot it compares).
func TestTokenViewCacheFollowsClockAndSnapshot(t *testing.T) {
	m, b, clk := loggedIn(t, 120, 36)
	m = drive(m, keyPress("2"))
	first := requireFresh(t, "token view", m)
	clk.advance(time.Second)
	if requireFresh(t, "token view +1s", m) == first {
		t.Fatal("the token view's countdowns did not move after a second")
	}
	c := b.conns[0]
	c.snap.Rotations[len(c.snap.Rotations)-1].Trigger = "edited-in-place"
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventRotation}})
	if s := ansi.Strip(requireFresh(t, "rotation edited", m)); !strings.Contains(s, "edited-in-place") {
		t.Fatalf("the token view kept the old rotation:\n%s", s)
	}
}

// TestDataViewCacheFollowsRowsClockAndConsole: on the data view, a change
// highlight ends when its time is up (no message needed), a row the backend
// changed in place shows its new value, typed SQL appears, and a query
// result replaces the console's hint.
func TestDataViewCacheFollowsRowsClockAndConsole(t *testing.T) {
	m, b, clk := loggedIn(t, 120, 36)
	m = drive(m, keyPress("3"))
	lit := requireFresh(t, "highlighted", m)
	clk.advance(highlightFor + time.Second)
	if requireFresh(t, "highlight over", m) == lit {
		t.Fatal("the insert highlight did not end")
	}
	c := b.conns[0]
	c.snap.Subs[0].Rows[0].Values[1] = Cell{Text: "edited-in-place"}
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventRows}})
	requireFresh(t, "row edited", m)
	requireContains(t, m, "edited-in-place")
	m = drive(m, keyPress("enter"))
	m = driveText(m, "SELECT 42")
	requireFresh(t, "typing", m)
	requireContains(t, m, "SELECT 42")
	m = drive(m, keyPress("enter"))
	requireFresh(t, "result", m)
	requireContains(t, m, "3 rows in 4ms")
}

// TestWrapLinesKeepsFittingLines checks the assumption wrapLines' fast
// path rests on: the wrapper returns a line that fits unchanged. The
// corpus is every detail line of the stub's frames and of a large batch,
// highlighted in each theme and raw, at several widths.
func TestWrapLinesKeepsFittingLines(t *testing.T) {
	_, b, _ := loggedIn(t, 120, 36)
	var bodies []string
	for _, f := range b.conns[0].log.frames {
		bodies = append(bodies, string(f.Decoded))
	}
	bodies = append(bodies, largeJSON(64<<10), `{"wide":"日本語のテキスト😀","esc":"a\u001b[31mred"}`, "plain text with  spaces   and a very long word "+strings.Repeat("x", 300))
	checked := 0
	for _, st := range []theme.Styles{theme.New(true), theme.New(false), theme.NoColor()} {
		for _, width := range []int{20, 57, 80, 118} {
			for _, body := range bodies {
				for _, mode := range []int{modePretty, modeRaw} {
					f := textFrame(stubEpoch, "in", "x", "", body)
					var text string
					if mode == modePretty {
						lines := renderDetail(st, jsonStyle(st), f, mode, width, nil)
						text = strings.Join(lines, "\n")
					} else {
						text = body
					}
					for _, l := range strings.Split(text, "\n") {
						if cellWidth(l) > width {
							continue
						}
						checked++
						if w := lipgloss.Wrap(l, width, ""); w != l {
							t.Fatalf("width %d: Wrap changed a line that fits:\n%q\n%q", width, l, w)
						}
					}
				}
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d lines checked", checked)
	}
}
