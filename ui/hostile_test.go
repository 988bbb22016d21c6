package ui

import (
	"errors"
	"fmt"
	"image/color"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/theme"
)

// This file checks that text from outside never reaches the terminal raw:
// whatever a backend returns, every screen holds only the theme's own
// escape sequences, fits the terminal, and shows the hostile bytes as
// markers.

// The rows of issue 14: an OSC title change, a clear-screen and a colour
// change, and a value with a newline and a carriage return.
const (
	hostileEscapes = "A\x1b]0;PWNED-TITLE\x07B\x1b[2J\x1b[31mRED"
	hostileLines   = "line1\nline2\rCR"
)

// TestHostileRowsRenderInert: the rows in a live subscription and
// in a SQL console result render on one line each, with the ESC and BEL as
// markers, the rest readable, and no escape sequence but the theme's.
func TestHostileRowsRenderInert(t *testing.T) {
	for _, tc := range []struct {
		st  theme.Styles
		sgr bool
	}{{theme.New(true), true}, {theme.NoColor(), true}, {plainStyles(), false}} {
		st := tc.st
		m, b, clk := loggedIn(t, 120, 30)
		m.setStyles(st)
		c := b.conns[0]
		c.snap.Subs = []Sub{{ID: "sub-1", SQL: "SELECT * FROM demo.messages", Status: "ready", Columns: []string{"id", "body"}, PK: "id",
			Rows: []Row{{Key: "1", Values: texts("1", hostileEscapes)}, {Key: "2", Values: texts("2", hostileLines), Change: "insert", ChangedAt: clk.t}}}}
		m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventRows}}, keyPress("3"))
		m = drive(m, queryMsg{connID: c.id, res: QueryResult{Columns: []string{"id", "body"}, Rows: [][]Cell{texts("1", hostileEscapes), texts("2", hostileLines)}}})
		v := m.View()
		checkScreen(t, "data view", v, 120, 30, tc.sgr)
		plain := ansi.Strip(v.Content)
		for _, want := range []string{`A␛]0;PWNED-TITLE\x07B␛[2J␛[31mRED`, "line1⏎line2␍CR"} {
			if n := strings.Count(plain, want); n != 2 { // the subscription and the console
				t.Errorf("colour %v: %q shows %d times on one line, want 2:\n%s", st.Colour, want, n, plain)
			}
		}
		// The markers are styled apart from the text.
		if marker := st.Marker.Render("␛"); !strings.Contains(v.Content, marker) {
			t.Errorf("colour %v: the ESC marker is not drawn in the Marker style %q", st.Colour, marker)
		}
	}
}

// TestWindowTitleIsSafe: the tab name goes into the window title (an OSC
// string itself) only as markers.
func TestWindowTitleIsSafe(t *testing.T) {
	m, b, _ := loggedIn(t, 100, 30)
	b.conns[0].snap.Name = "prod\x07\x1b]0;PWNED\x07"
	m = drive(m, tickMsg(stubEpoch))
	title := m.View().WindowTitle
	if strings.ContainsAny(title, "\x07\x1b") || !strings.Contains(title, `prod\x07␛]0;PWNED\x07`) {
		t.Fatalf("window title %q", title)
	}
}

// FuzzHostileScreens drives the real Model with the fuzzer's strings in
// every text field a backend returns (profile and tab names, claims,
// rotation and provider errors, close reasons, notices, frame types,
// subscription ids, payloads, columns, rows, SQL results and errors, login
// errors) and checks every screen: with colours off, no escape and no
// control byte but newlines at all; with colours on, only the theme's SGR
// sequences; and always exactly the terminal's height, no line wider than
// it, and a window title free of controls.
func FuzzHostileScreens(f *testing.F) {
	f.Add(hostileEscapes, hostileLines, uint8(60), uint8(14))
	f.Add("\u202eevil\u2066x\u2069", "\xff\xfe\u0085\x7f\t", uint8(0), uint8(0))
	f.Add("日本語\u0301\u200d😀", strings.Repeat("\x1b[1m", 40), uint8(100), uint8(40))
	f.Add("\x9b31m\x9d0;t\x9c", "\r\n\x00\x08\x0c", uint8(250), uint8(3))
	f.Fuzz(func(t *testing.T, a, b string, wb, hb uint8) {
		w, h := minWidth+int(wb)%120, minHeight+int(hb)%30
		hostileScreens(t, theme.New(true), true, a, b, w, h)
		hostileScreens(t, plainStyles(), false, a, b, w, h)
	})
}

// hostileScreens renders every screen with outside text a and b.
func hostileScreens(t *testing.T, st theme.Styles, sgr bool, a, b string, w, h int) {
	t.Helper()
	check := func(name string, m Model) {
		t.Helper()
		checkScreen(t, name, m.View(), w, h, sgr)
		if t.Failed() {
			t.FailNow()
		}
	}

	// The login form: hostile profile names, then a login error and hint.
	m, sb, clk := hostileModel(st, w, h)
	sb.profiles = []Profile{{Name: a, URL: "http://h:1", Auth: "password", User: b}, {Name: b, URL: "http://h:2", Auth: "jwt"}}
	m.login = newLoginForm(*m.st, sb.profiles, LoginDefaults{})
	m = drive(m, tea.WindowSizeMsg{Width: w, Height: h}, keyPress("up"), keyPress("right"))
	check("login with profiles", m)
	m = drive(m, openedMsg{err: stubHintErr{msg: a, hint: b}})
	check("login error", m)

	// A connection whose every field is hostile.
	m, sb, clk = hostileModel(st, w, h)
	m = drive(m, keyPress("enter"))
	c := sb.conns[0]
	s := &c.snap
	s.Name, s.URL, s.User, s.Role, s.Serialization = a, b, a, b, a
	s.CloseCode, s.CloseReason, s.LastError, s.Hint = 1008, a, a, b
	tk := &s.Token
	tk.Kind, tk.Source, tk.Subject, tk.Role, tk.Email, tk.Issuer, tk.TokenType, tk.Fingerprint, tk.Phase = a, b, a, b, a, b, a, b, a
	s.Rotations = append(s.Rotations, Rotation{Time: clk.t, Trigger: a, Err: b}, Rotation{Time: clk.t, Trigger: b, OK: true, OldFinger: a, NewFinger: b})
	s.Providers = append(s.Providers, ProviderCall{Time: clk.t, Kind: a, Fingerprint: b}, ProviderCall{Time: clk.t, Kind: b, Err: a})
	s.Subs = []Sub{{ID: a, SQL: b, Status: a, Columns: []string{a, b, "_seq"}, PK: a, Gap: b, Err: a,
		Rows: []Row{{Key: a, Values: texts(a, b, "1")}, {Key: b, Values: texts(b, a), Change: "update", ChangedAt: clk.t}}}}
	for _, fr := range []Frame{
		textFrame(clk.t, "in", a, b, a),
		textFrame(clk.t, "in", b, a, `{"`+a+`":"`+b+`"}`),
		{Time: clk.t, Dir: a, Opcode: b, Encoding: a, Type: b, Sub: a, Wire: []byte(b), Decoded: []byte(a), Err: b, ConnID: 1},
		{Time: clk.t, Dir: "in", Opcode: "close", Encoding: "-", CloseCode: 4000, CloseReason: a, Err: b, ConnID: 2},
		{Time: clk.t, Dir: "out", Opcode: "http", Encoding: "json", Type: "POST /v1/api/" + a, Status: 500, Decoded: []byte(b)},
		{Time: clk.t, Dir: "in", Opcode: "binary", Encoding: b, Type: a, Wire: []byte(a + b), Decoded: []byte(b), ConnID: 2},
	} {
		c.log.add(fr)
	}
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 6}, {ConnID: c.id, Kind: EventNotice, Text: a, Hint: b, Err: true}})
	check("frames with a notice", m)
	for i := range 6 {
		m = drive(m, keyPress("k"))
		for mode := range numModes {
			check(fmt.Sprintf("frame -%d, detail %s", i+1, modeNames[(mode+m.tabs[0].det.mode)%numModes]), m)
			m = drive(m, keyPress("v"))
		}
	}
	m = drive(m, keyPress("/"), tea.PasteMsg{Content: a}, keyPress("enter"))
	check("frames filtered", m)
	m = drive(m, keyPress("3"), keyPress("d"))
	check("frames of a subscription", m)

	clk.advance(6 * time.Second) // the notice expires: the footer says why the connection is down
	s.State = b
	m = drive(m, tickMsg(clk.t))
	check("frames, connection down", m)
	m = drive(m, keyPress("2"))
	check("token", m)
	m = drive(m, keyPress("3"))
	check("data", m)
	m = drive(m, queryMsg{connID: c.id, res: QueryResult{Columns: []string{a, b}, Rows: [][]Cell{texts(a, b), texts(b)}, Message: a, Took: time.Millisecond}})
	check("sql result", m)
	m = drive(m, queryMsg{connID: c.id, err: errors.New(a)})
	check("sql error", m)
	m = drive(m, actionMsg{connID: c.id, what: "refreshAuth", err: errors.New(b)})
	check("action failed", m)
	m = drive(m, subscribedMsg{connID: c.id, err: errors.New(a)})
	check("subscribe failed", m)
}

// hostileModel is newTestModel made cheap for the fuzzer: styles st, and
// a connection without compression (the stub gzips its seed frames
// otherwise, which would dominate each run).
func hostileModel(st theme.Styles, w, h int) (Model, *stubBackend, *testClock) {
	clk := &testClock{t: stubEpoch}
	b := newStubBackend(clk.now)
	m := New(b, WithStyles(st, true), WithClock(clk.now), WithoutTicks(),
		WithLogin(LoginDefaults{URL: "http://127.0.0.1:38080", User: "admin", Password: "pw", NoCompress: true}))
	return drive(m, tea.WindowSizeMsg{Width: w, Height: h}), b, clk
}

// checkScreen checks one rendered view (see FuzzHostileScreens).
// sgr says whether SGR sequences (the theme's) may appear at all.
func checkScreen(t *testing.T, name string, v tea.View, w, h int, sgr bool) {
	t.Helper()
	s := v.Content
	if lines := strings.Split(s, "\n"); len(lines) != h {
		t.Errorf("%s: %d lines, want %d", name, len(lines), h)
	} else {
		for i, l := range lines {
			if lw := ansi.StringWidth(l); lw > w {
				t.Errorf("%s: line %d is %d cells wide (max %d): %q", name, i, lw, w, l)
			}
		}
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s: invalid UTF-8 on screen", name)
	}
	plain := !sgr
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b && plain:
			t.Errorf("%s: escape sequence with colours off at %d: %q", name, i, snippet(s, i))
			return
		case r == 0x1b:
			seq := sgrAt(s[i:])
			if seq == "" || !themeSGR(seq) {
				t.Errorf("%s: escape sequence the theme does not emit at %d: %q", name, i, snippet(s, i))
				return
			}
			n = len(seq)
		case r < 0x20 && r != '\n', r == 0x7f, r >= 0x80 && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			t.Errorf("%s: control %U on screen at %d: %q", name, r, i, snippet(s, i))
			return
		}
		i += n
	}
	if strings.ContainsFunc(v.WindowTitle, func(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }) {
		t.Errorf("%s: window title holds a control: %q", name, v.WindowTitle)
	}
}

func snippet(s string, i int) string { return s[max(i-20, 0):min(i+30, len(s))] }

// sgrAt returns the SGR sequence s starts with, as lipgloss writes them
// (ESC [ digits and semicolons m), or "".
func sgrAt(s string) string {
	if !strings.HasPrefix(s, "\x1b[") {
		return ""
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'm':
			return s[:i+1]
		case c != ';' && (c < '0' || c > '9'):
			return ""
		}
	}
	return ""
}

// themeSGR reports whether an SGR sequence sets only attributes the theme
// uses (bold, faint, italic, underline, reverse, strikethrough and their
// resets) and colours of its palettes.
func themeSGR(seq string) bool {
	params := strings.Split(seq[2:len(seq)-1], ";")
	for i := 0; i < len(params); i++ {
		switch p := params[i]; p {
		case "", "0", "1", "2", "3", "4", "7", "9", "22", "23", "24", "27", "29", "39", "49":
		case "38", "48":
			if i+4 >= len(params) || params[i+1] != "2" {
				return false
			}
			rgb := strings.Join(params[i+2:i+5], ";")
			if !themeColours[rgb] {
				return false
			}
			i += 4
		default:
			return false
		}
	}
	return true
}

// themeColours are the palettes' colours, and those the stub screens show
// (bubbles' defaults where the theme sets none), as SGR "r;g;b".
var themeColours = func() map[string]bool {
	out := map[string]bool{}
	add := func(c color.Color) {
		r, g, b, _ := c.RGBA()
		out[fmt.Sprintf("%d;%d;%d", r>>8, g>>8, b>>8)] = true
	}
	for _, p := range []theme.Palette{theme.DarkPalette(), theme.LightPalette()} {
		v := reflect.ValueOf(p)
		for i := range v.NumField() {
			if c, ok := v.Field(i).Interface().(color.Color); ok && c != nil {
				add(c)
			}
		}
	}
	colourRE := regexp.MustCompile(`[34]8;2;(\d+;\d+;\d+)`)
	for _, sc := range append(Screens(120, 36), ScreensLight(120, 36)...) {
		for _, m := range colourRE.FindAllStringSubmatch(sc.ANSI, -1) {
			out[m[1]] = true
		}
	}
	return out
}()

// plainStyles is the theme with every style empty: nothing on screen may
// then hold an escape sequence at all.
func plainStyles() theme.Styles {
	st := theme.NoColor()
	v := reflect.ValueOf(&st).Elem()
	blank := reflect.ValueOf(lipgloss.NewStyle())
	for i := range v.NumField() {
		if f := v.Field(i); f.Type() == blank.Type() {
			f.Set(blank)
		}
	}
	return st
}

// TestWithinKeepsTheOuterStyle: a row styled as a whole (the selected
// frame, a highlighted change) keeps its style after a marker, which ends
// with a full reset.
func TestWithinKeepsTheOuterStyle(t *testing.T) {
	st := theme.New(true)
	open, _ := stylePair(st.Selected)
	row := within(st.Selected, "a"+safe(&st, "\x1b")+"b")
	if want := reset + open + "b"; !strings.Contains(row, want) {
		t.Fatalf("after the marker the row does not reopen its style: %q", row)
	}
	if safe(&st, "\x1b") != st.Marker.Render("␛") {
		t.Fatalf("safe draws the marker as %q, Marker.Render as %q", safe(&st, "\x1b"), st.Marker.Render("␛"))
	}
	if s := "plain ascii"; safe(&st, s) != s {
		t.Fatalf("clean text changed")
	}
}

// TestSafeDocLineBreaks: a document's newlines and CRLF line ends (HTTP
// exchanges) stay line breaks; a lone carriage return, which would
// overwrite the start of the line, is a marker.
func TestSafeDocLineBreaks(t *testing.T) {
	st := theme.NoColor()
	got := string(safeDoc(&st, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\nline1\nline2\rCR")))
	if want := "GET / HTTP/1.1\nHost: x\n\nline1\nline2" + st.Marker.Render("␍") + "CR"; got != want {
		t.Fatalf("safeDoc = %q, want %q", got, want)
	}
}

// TestPrettyJSONKeepsColourAfterMarker: a marker inside a highlighted JSON
// string ends with a reset; the string's colour opens again after it.
func TestPrettyJSONKeepsColourAfterMarker(t *testing.T) {
	st := theme.New(true)
	f := textFrame(stubEpoch, "in", "x", "", "{\"k\":\"ab\u0085cd\"}")
	d := layoutDetail(st, jsonStyle(st), f, modePretty, 60, nil)
	str, _ := stylePair(st.JSONString)
	marker := st.Marker.Render("<U+0085>")
	if got := strings.Join(d.lines(0, d.len()), "\n"); !strings.Contains(got, marker+str+"cd") {
		t.Fatalf("the string colour is not reopened after the marker: %q", got)
	}
}

// TestWithinKeepsTheRowStyleAroundStyledRuns: a styled run inside a styled
// line (a marker, a NULL) keeps its own attributes on every cell and the
// line's style holds on every cell around and under it, whatever the
// style (reverse, underline, strikethrough, padded), as a terminal draws
// it. lipgloss draws underline and strikethrough letter by letter, which
// once ended a NULL's italics after its first letter.
func TestWithinKeepsTheRowStyleAroundStyledRuns(t *testing.T) {
	st := theme.NoColor()
	null := cellText(&st, Cell{Null: true})
	marked := safe(&st, "\x1b")
	line := "a " + null + " " + marked + " b"
	nullAt, markerAt := 2, 2+len(nullText)+1
	for name, style := range map[string]lipgloss.Style{
		"selected": st.Selected, "update": st.Update, "delete": st.Delete,
		"header": st.Header, "active tab": st.TabActive, "error": st.Err,
	} {
		out := within(style, line)
		pad := style.GetPaddingLeft()
		cells := drawnCells(t, out, 40)
		if got, want := ansi.Strip(out), strings.Repeat(" ", pad)+ansi.Strip(line)+strings.Repeat(" ", style.GetPaddingRight()); got != want {
			t.Errorf("%s: reads %q, want %q", name, got, want)
		}
		outer := sgrAttrs(t, style)
		for x := pad; x < pad+ansi.StringWidth(line); x++ {
			want := outer
			switch i := x - pad; {
			case i >= nullAt && i < nullAt+len(nullText):
				want |= sgrAttrs(t, st.Null)
			case i == markerAt:
				want |= sgrAttrs(t, st.Marker)
			}
			if cells[x].attrs != want {
				t.Errorf("%s: cell %d (%q) has attributes %08b, want %08b: %q", name, x, cells[x].text, cells[x].attrs, want, out)
			}
		}
	}
}
