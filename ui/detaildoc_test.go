package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/theme"
)

// detailCorpus is frames that exercise every path of the detail layout:
// highlighting across the state marks (deep nesting, keys and values with
// quotes, escapes, colons and commas), lines wider than the pane (long
// strings, wide characters), text that is not JSON (tabs, carriage
// returns, escape sequences, a trailing newline), secrets, close frames,
// decode problems, binary frames and empty payloads.
func detailCorpus(t *testing.T, large int) []Frame {
	t.Helper()
	_, b, _ := loggedIn(t, 120, 36)
	frames := slices.Clone(b.conns[0].log.frames)
	var nested strings.Builder
	for i := range 150 {
		fmt.Fprintf(&nested, `{"k%d":[%d,"v,%d:x",{"q\"uo\\te":"a\\\"b","e":"\u00e9\t","n":null,"t":true,"f":false,"x":-1.5e3},`, i, i, i)
	}
	nested.WriteString(`0`)
	for i := 149; i >= 0; i-- {
		nested.WriteString(`]}`)
	}
	bodies := []string{
		largeJSON(large),
		nested.String(),
		`{"wide":"日本語のテキスト😀 ` + strings.Repeat("長い", 60) + `","esc":"a\u001b[31mred","long":"` + strings.Repeat("word ", 90) + `"}`,
		`[[1,2,3],[4,5,6],{"a":[true,false,null]},"` + strings.Repeat("x", 300) + `"]`,
		`["` + strings.Repeat(strings.Repeat("long value ", 10)+`","`, 300) + `end"]`,
		`{"type":"auth_success","access_token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","password":"hunter2"}`,
		"plain text\twith a tab\r\nand a \x1b[31mcolour\x1b[0m and a very long word " + strings.Repeat("y", 250) + "\n",
		"not json {",
		`"just a string"`,
		`17`,
		// Raw C1, bidi and DEL inside keys and strings (valid JSON): markers
		// the highlighter carries on after, in lines that wrap.
		"{\"k\u0085ey\":\"" + strings.Repeat("x\u202e\x7f ", 40) + "\",\"n\":[1,\"\u0085\"]}",
	}
	for _, body := range bodies {
		frames = append(frames, textFrame(stubEpoch, "in", "x", "", body))
	}
	bad := textFrame(stubEpoch, "in", "x", "", `{"a":1}`)
	bad.Err = "msgpack: unexpected byte"
	frames = append(frames, bad,
		Frame{Time: stubEpoch, Dir: "out", Opcode: "close", Encoding: "-", CloseCode: 1009, CloseReason: "too big", ConnID: 1},
		Frame{Time: stubEpoch, Dir: "in", Opcode: "text", Encoding: "json", ConnID: 1},
		Frame{Time: stubEpoch, Dir: "in", Opcode: "binary", Encoding: "gzip+json", Wire: []byte{0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, ConnID: 1})
	return frames
}

// TestDetailLazyMatchesEagerRender: the lazily laid-out detail text has as
// many lines as the whole render had, and every window of it (at the
// start, across the highlighter's state marks, in the middle, at the end,
// and the whole text) is byte for byte the whole render sliced to that
// window, in every mode, colour and no-colour themes, several widths, with
// and without reveal.
func TestDetailLazyMatchesEagerRender(t *testing.T) {
	frames := detailCorpus(t, 256<<10)
	compared := 0
	for _, st := range []theme.Styles{theme.New(true), theme.NoColor()} {
		js := jsonStyle(st)
		for _, width := range []int{0, 20, 57, 118} {
			for fi, f := range frames {
				for mode := range numModes {
					for _, hide := range []secrets{redact.Text, nil} {
						reveal := hide == nil
						want := renderDetail(st, js, f, mode, width, hide)
						doc := layoutDetail(st, js, f, mode, width, hide)
						what := fmt.Sprintf("colour %v width %d frame %d mode %s reveal %v", st.Colour, width, fi, modeNames[mode], reveal)
						if doc.len() != len(want) {
							t.Fatalf("%s: %d lines, the whole render has %d", what, doc.len(), len(want))
						}
						n := len(want)
						for _, o := range []int{0, 1, markEvery - 1, markEvery, markEvery + 1, 5*markEvery + 3, n / 3, n / 2, n - 40, n - 7, n - 1} {
							for _, h := range []int{1, 7, 40} {
								a, b := clamp(o, 0, n), clamp(o+h, 0, n)
								got := doc.lines(a, b)
								if !slices.Equal(got, want[a:b]) {
									t.Fatalf("%s: lines [%d,%d) differ\nlazy:  %q\neager: %q", what, a, b, got, want[a:b])
								}
								compared++
							}
						}
						if n < 5000 && !slices.Equal(doc.lines(0, n), want) {
							t.Fatalf("%s: the whole text differs", what)
						}
					}
				}
			}
		}
	}
	t.Logf("%d windows compared", compared)
}

// TestDetailLazyMegabyteFrame: a 1 MB frame, highlighted and plain, at the
// dashboard's side-by-side width: the same comparison at offsets through
// the whole text.
func TestDetailLazyMegabyteFrame(t *testing.T) {
	f := textFrame(stubEpoch, "in", "initial_data_batch", "events", largeJSON(1<<20))
	for _, st := range []theme.Styles{theme.New(true), theme.NoColor()} {
		js := jsonStyle(st)
		for mode := range numModes {
			want := renderDetail(st, js, f, mode, 71, redact.Text)
			doc := layoutDetail(st, js, f, mode, 71, redact.Text)
			if doc.len() != len(want) {
				t.Fatalf("colour %v mode %s: %d lines, the whole render has %d", st.Colour, modeNames[mode], doc.len(), len(want))
			}
			for o := 0; o < len(want); o += 997 {
				b := min(o+44, len(want))
				if got := doc.lines(o, b); !slices.Equal(got, want[o:b]) {
					t.Fatalf("colour %v mode %s: lines [%d,%d) differ\nlazy:  %q\neager: %q", st.Colour, modeNames[mode], o, b, got, want[o:b])
				}
			}
		}
	}
}

// TestDetailPaneScrollsLargeFrame drives the dashboard: a large frame
// selected, the detail pane focused and scrolled line by line, by pages,
// to the end and back; after every key the pane shows exactly the whole
// render's lines at its offset, fitted.
func TestDetailPaneScrollsLargeFrame(t *testing.T) {
	m, b, clk := loggedIn(t, 160, 48)
	c := b.conns[0]
	c.log.add(textFrame(clk.t, "in", "initial_data_batch", "events", largeJSON(64<<10)))
	m = drive(m, eventsMsg{{ConnID: c.id, Kind: EventFrames, Count: 1}}, keyPress("G"), keyPress("tab"))
	f, ok := m.current().insp.selected()
	if !ok || f.DecodedSize < 64<<10 {
		t.Fatalf("the large frame is not selected (%d bytes)", f.DecodedSize)
	}
	l := m.layout()
	want := renderDetail(*m.st, jsonStyle(*m.st), f, modePretty, l.detailW, redact.Text)
	check := func(what string) {
		t.Helper()
		requireFresh(t, what, m)
		d := &m.current().det
		if d.doc.len() != len(want) {
			t.Fatalf("%s: %d lines, want %d", what, d.doc.len(), len(want))
		}
		pane := strings.Split(d.View(*m.st, true, l.detailW), "\n")
		for i := 1; i < len(pane); i++ {
			j := d.offset + i - 1
			exp := strings.Repeat(" ", l.detailW)
			if j < len(want) {
				exp = fit(want[j], l.detailW)
			}
			if pane[i] != exp {
				t.Fatalf("%s: offset %d, pane line %d is %q, want %q", what, d.offset, i, pane[i], exp)
			}
		}
	}
	check("selected")
	for i := range 150 {
		m = drive(m, keyPress("j"))
		if i%10 == 0 {
			check(fmt.Sprintf("line %d", i))
		}
	}
	for i := range 5 {
		m = drive(m, tea.KeyPressMsg{Code: tea.KeyPgDown})
		check(fmt.Sprintf("page %d", i))
	}
	for range 2000 {
		m = drive(m, tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	check("the end")
	if d := m.current().det; d.offset != len(want)-d.height {
		t.Fatalf("at the end the offset is %d, want %d", d.offset, len(want)-d.height)
	}
	for range 3 {
		m = drive(m, keyPress("k"))
	}
	check("back up")
}

// TestDetailNamesAFailedWriteAsSuch: an inbound frame's Err is a decode
// problem; an outbound frame's (the mark of a write that failed) and an
// HTTP exchange's are shown as they are, not as decode problems.
func TestDetailNamesAFailedWriteAsSuch(t *testing.T) {
	st := theme.New(true)
	for _, tc := range []struct {
		f    Frame
		want string
	}{
		{Frame{Dir: "in", Opcode: "binary", Err: "msgpack: unexpected byte"}, "decode problem: msgpack: unexpected byte"},
		{Frame{Dir: "out", Opcode: "text", Type: "ping", Err: "write failed: broken pipe"}, "write failed: broken pipe"},
		{Frame{Dir: "in", Opcode: "http", Err: "connection refused"}, "connection refused"},
	} {
		d := layoutDetail(st, jsonStyle(st), tc.f, modePretty, 80, nil)
		if len(d.head) == 0 || !strings.Contains(d.head[0], tc.want) ||
			(tc.f.Dir == "out" && strings.Contains(d.head[0], "decode problem")) {
			t.Errorf("%s %s frame with Err %q: detail head %q, want %q first", tc.f.Dir, tc.f.Opcode, tc.f.Err, d.head, tc.want)
		}
	}
}
