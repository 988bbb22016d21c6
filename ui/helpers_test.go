package ui

import (
	"os"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/theme"
)

// testClock is a settable clock for deterministic countdowns.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newTestModel returns a model over a stub backend with the no-colour
// theme, a fixed clock and no ticks, sized w×h.
func newTestModel(t *testing.T, w, h int) (Model, *stubBackend, *testClock) {
	t.Helper()
	clk := &testClock{t: stubEpoch}
	b := newStubBackend(clk.now)
	b.redact = redact.Text
	m := New(b, WithStyles(theme.NoColor(), true), WithClock(clk.now), WithoutTicks(),
		WithExportDir(t.TempDir()),
		WithLogin(LoginDefaults{URL: "http://127.0.0.1:38080", User: "admin", Password: "secret-pw",
			Banner: "Demo server on 127.0.0.1:38080 — press Enter. Real server: kalamdash --url https://…"}))
	m = drive(m, tea.WindowSizeMsg{Width: w, Height: h})
	return m, b, clk
}

// loggedIn returns a test model already past the login form.
func loggedIn(t *testing.T, w, h int) (Model, *stubBackend, *testClock) {
	m, b, clk := newTestModel(t, w, h)
	m = drive(m, keyPress("enter"))
	if m.loggingIn || len(m.tabs) != 1 {
		t.Fatalf("login did not open a tab:\n%s", screen(m))
	}
	return m, b, clk
}

// withAuthFrame logs an outbound authenticate frame carrying a JWT on the
// first connection and lets m see it; it returns the token.
func withAuthFrame(m Model, b *stubBackend) (Model, string) {
	c := b.conns[0]
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"
	c.log.add(textFrame(stubEpoch, "out", "authenticate", "", `{"type":"authenticate","method":"jwt","token":"`+jwt+`"}`))
	return drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}}), jwt
}

// screen returns the plain text of the current view.
func screen(m Model) string { return ansi.Strip(m.View().Content) }

func requireContains(t *testing.T, m Model, want ...string) {
	t.Helper()
	s := screen(m)
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Fatalf("screen lacks %q:\n%s", w, s)
		}
	}
}

func requireNotContains(t *testing.T, m Model, bad ...string) {
	t.Helper()
	s := screen(m)
	for _, b := range bad {
		if strings.Contains(s, b) {
			t.Fatalf("screen unexpectedly contains %q:\n%s", b, s)
		}
	}
}

// requireFits checks the view is exactly h lines of at most w cells.
func requireFits(t *testing.T, name, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d", name, len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("%s: line %d is %d cells wide (max %d): %q", name, i, lw, w, ansi.Strip(l))
		}
	}
}

func TestMain(m *testing.M) {
	// The theme must not depend on the developer's terminal.
	os.Unsetenv("NO_COLOR")
	os.Exit(m.Run())
}

// drawnCell is one cell of a line as a terminal draws it.
type drawnCell struct {
	text  string
	attrs uint8 // uv.Attr* bits, underline folded in as underlineAttr
}

// underlineAttr marks an underlined cell in drawnCell.attrs (the emulator
// keeps underline apart from the other attributes).
const underlineAttr = 1 << 7

// drawnCells feeds one rendered line into a w-cell virtual terminal and
// returns its cells up to the line's width: what the user sees, however
// the SGR sequences nest.
func drawnCells(t *testing.T, line string, w int) []drawnCell {
	t.Helper()
	emu := vt.NewEmulator(w, 1)
	if _, err := emu.Write([]byte(line)); err != nil {
		t.Fatalf("vt: %v", err)
	}
	out := make([]drawnCell, min(ansi.StringWidth(line), w))
	for x := range out {
		c := emu.CellAt(x, 0)
		if c == nil {
			t.Fatalf("vt: no cell %d", x)
		}
		out[x] = drawnCell{text: c.Content, attrs: c.Style.Attrs}
		if c.Style.Underline != ansi.UnderlineNone {
			out[x].attrs |= underlineAttr
		}
	}
	return out
}

// sgrAttrs is the attributes a terminal gives a letter drawn in style.
func sgrAttrs(t *testing.T, style lipgloss.Style) uint8 {
	t.Helper()
	return drawnCells(t, lipgloss.NewStyle().Inherit(style).Render("x"), 1)[0].attrs
}
