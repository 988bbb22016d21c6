package ui

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/tidwall/pretty"

	"github.com/kalamdash/kalamdash/theme"
)

// Detail view modes.
const (
	modePretty = iota
	modeRaw
	modeHex
	numModes
)

var modeNames = [numModes]string{"pretty", "raw", "hex"}

// detail shows one frame: pretty highlighted JSON, the raw wire text, or a
// hex dump of the wire bytes. The rendered lines are cached per frame, mode,
// width and reveal state, so scrolling and re-rendering cost nothing.
type detail struct {
	keys   DetailKeyMap
	mode   int
	offset int
	height int

	frame Frame
	has   bool
	key   detailKey
	lines []string
	// gen numbers the frame and lines shown: show takes a new number
	// whenever it changes them, and the pane's View cache keys on it.
	gen uint64
	// fitted holds lines already fitted to fitW cells ("" = not yet).
	fitted []string
	fitW   int
	// json is the highlighter's escapes for the styles numbered jsonID.
	json   *pretty.Style
	jsonID uint64
}

type detailKey struct {
	id     uint64
	conn   uint64
	mode   int
	width  int
	reveal bool
	colour bool
}

func newDetail() detail { return detail{keys: DefaultDetailKeyMap()} }

// show selects the frame to display and renders it if anything changed.
// stID identifies st (see Model.stID).
func (d *detail) show(st theme.Styles, stID uint64, f Frame, ok bool, width int, reveal bool) {
	if !ok {
		if d.has {
			d.gen = nextRenderID()
		}
		d.has, d.lines, d.fitted, d.key = false, nil, nil, detailKey{}
		return
	}
	k := detailKey{id: f.ID, conn: f.ConnID, mode: d.mode, width: width, reveal: reveal, colour: st.Colour}
	if d.has && k == d.key {
		return
	}
	if f.ID != d.frame.ID || !d.has {
		d.offset = 0
	}
	d.frame, d.has, d.key = f, true, k
	if d.jsonID != stID || d.json == nil {
		d.json, d.jsonID = jsonStyle(st), stID
	}
	d.lines = renderDetail(st, d.json, f, d.mode, width, reveal)
	d.fitted = nil
	d.gen = nextRenderID()
}

// Update handles keys while the detail pane has focus.
func (d *detail) Update(msg tea.KeyPressMsg) bool {
	page := max(d.height-1, 1)
	switch {
	case key.Matches(msg, d.keys.Up):
		d.offset--
	case key.Matches(msg, d.keys.Down):
		d.offset++
	case key.Matches(msg, d.keys.PageUp):
		d.offset -= page
	case key.Matches(msg, d.keys.PageDown):
		d.offset += page
	case key.Matches(msg, d.keys.Mode):
		d.mode = (d.mode + 1) % numModes
		d.key = detailKey{} // force a re-render on the next show
		d.offset = 0
	default:
		return false
	}
	d.offset = clamp(d.offset, 0, max(len(d.lines)-d.height, 0))
	return true
}

func (d *detail) scroll(delta int) {
	d.offset = clamp(d.offset+delta, 0, max(len(d.lines)-d.height, 0))
}

// View renders the pane into exactly width×(height+1) cells.
func (d *detail) View(st theme.Styles, focused bool, width int) string {
	ts := st.Title
	if focused {
		ts = st.TitleFocused
	}
	if !d.has {
		return box([]string{ts.Render("Detail"), st.Muted.Render("  select a frame")}, width, d.height+1)
	}
	f := d.frame
	title := ts.Render(fmt.Sprintf("#%d %s", f.ID, modeNames[d.mode]))
	ratio := ""
	if f.WireSize > 0 && f.DecodedSize > 0 && f.DecodedSize != f.WireSize {
		ratio = fmt.Sprintf(" (%.1f×)", float64(f.DecodedSize)/float64(f.WireSize))
	}
	extra := ""
	if f.ConnID != 0 {
		extra += fmt.Sprintf(" · socket #%d", f.ConnID)
	}
	if f.Duration > 0 {
		extra += " · took " + shortDur(f.Duration)
	}
	info := st.Muted.Render(fmt.Sprintf(" %s %s · wire %s · decoded %s%s · %s%s",
		f.Dir, f.Opcode, humanBytes(int64(f.WireSize)), humanBytes(int64(f.DecodedSize)), ratio, f.Encoding, extra))
	if len(d.lines) > d.height {
		info += st.Muted.Render(fmt.Sprintf(" · %d/%d", d.offset+1, len(d.lines)))
	}
	lines := make([]string, 0, d.height+1)
	lines = append(lines, fit(title+info, width))
	for i := max(d.offset, 0); i < min(d.offset+d.height, len(d.lines)); i++ {
		lines = append(lines, d.fittedLine(i, width))
	}
	return boxFitted(lines, width, d.height+1)
}

// fittedLine returns fit(d.lines[i], width), measuring each line once per
// render of the frame: scrolling a large frame only measures the lines
// that scroll into view.
func (d *detail) fittedLine(i, width int) string {
	if d.fitW != width || len(d.fitted) != len(d.lines) {
		d.fitW, d.fitted = width, make([]string, len(d.lines))
	}
	if d.fitted[i] == "" {
		d.fitted[i] = fit(d.lines[i], width)
	}
	return d.fitted[i]
}

// jwtRE and secretFieldRE find secrets in frame text. The client already
// redacts its tapped copies; the UI masks again so frames captured while
// secrets were revealed are hidden as soon as reveal is turned off.
var (
	jwtRE         = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	secretFieldRE = regexp.MustCompile(`("(?:password|token|access_token|refresh_token|authorization|Authorization)"\s*:\s*")[^"]+(")`)
)

// redact masks secrets in text unless reveal is set. Each expression runs
// only when text holds a literal it cannot match without, so a large frame
// with no secrets is not scanned by the regexp engine at all.
func redact(b []byte, reveal bool) []byte {
	if reveal || len(b) == 0 {
		return b
	}
	if bytes.Contains(b, []byte("eyJ")) {
		b = jwtRE.ReplaceAll(b, []byte("«redacted»"))
	}
	if bytes.Contains(b, []byte(`"password"`)) || bytes.Contains(b, []byte(`token"`)) || bytes.Contains(b, []byte(`uthorization"`)) {
		b = secretFieldRE.ReplaceAll(b, []byte("${1}«redacted»${2}"))
	}
	return b
}

// jsonStyle converts theme styles to tidwall/pretty's escape pairs.
func jsonStyle(st theme.Styles) *pretty.Style {
	pair := func(s lipgloss.Style) [2]string {
		out := s.Render("\x00")
		i := strings.IndexByte(out, 0)
		if i < 0 {
			return [2]string{}
		}
		return [2]string{out[:i], out[i+1:]}
	}
	return &pretty.Style{
		Key:    pair(st.JSONKey),
		String: pair(st.JSONString),
		Number: pair(st.JSONNumber),
		True:   pair(st.JSONConst),
		False:  pair(st.JSONConst),
		Null:   pair(st.JSONConst),
		Escape: pair(st.JSONConst),
	}
}

// renderDetail renders a frame's lines; js is jsonStyle(st).
func renderDetail(st theme.Styles, js *pretty.Style, f Frame, mode, width int, reveal bool) []string {
	var out []string
	if f.Err != "" {
		out = append(out, st.Err.Render("decode problem: "+f.Err))
	}
	if f.Opcode == "close" {
		out = append(out, fmt.Sprintf("close code %d %s", f.CloseCode, f.CloseReason))
		if h := closeHint(f.CloseCode); h != "" {
			out = append(out, st.Muted.Render(h))
		}
	}
	switch mode {
	case modePretty:
		body := redact(f.Decoded, reveal)
		if len(body) == 0 {
			body = redact(f.Wire, reveal)
		}
		if len(body) == 0 {
			return append(out, st.Muted.Render("(empty payload)"))
		}
		if json.Valid(body) {
			p := pretty.PrettyOptions(body, &pretty.Options{Width: max(width-2, 20), Indent: "  ", SortKeys: false})
			if st.Colour {
				p = pretty.Color(p, js)
			}
			out = append(out, wrapLines(strings.TrimRight(string(p), "\n"), width)...)
		} else {
			out = append(out, wrapLines(string(body), width)...)
		}
	case modeRaw:
		w := redact(f.Wire, reveal)
		if !utf8.Valid(w) || f.Opcode == "binary" {
			out = append(out, st.Warn.Render(fmt.Sprintf("binary frame (%s, %s on the wire): press v for hex", f.Encoding, humanBytes(int64(f.WireSize)))),
				st.Muted.Render("press c to reconnect with compress=false and read frames as text"))
			return out
		}
		out = append(out, wrapLines(string(w), width)...)
	case modeHex:
		w := f.Wire
		if !reveal && utf8.Valid(w) {
			w = redact(w, false)
		}
		const maxHex = 64 << 10 // a hex dump of more is not readable anyway
		if len(w) > maxHex {
			w = w[:maxHex]
		}
		for _, l := range strings.Split(strings.TrimRight(hex.Dump(w), "\n"), "\n") {
			out = append(out, truncate(l, width))
		}
	}
	return out
}

// wrapLines hard-wraps text at width cells, keeping ANSI sequences intact.
// Lines that fit are kept as they are (most lines of pretty JSON): the
// wrapper is the costly part of rendering a large frame.
func wrapLines(s string, width int) []string {
	if width <= 0 {
		return nil
	}
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if cellWidth(l) <= width && !strings.ContainsAny(l, "\t\r") {
			out = append(out, l)
			continue
		}
		w := lipgloss.Wrap(l, width, "")
		out = append(out, strings.Split(w, "\n")...)
	}
	return out
}

// closeHint says in plain words what a WebSocket close code usually means.
func closeHint(code int) string {
	switch code {
	case 1000:
		return "normal closure"
	case 1001:
		return "server going away (restart or shutdown): reconnecting resumes subscriptions"
	case 1006:
		return "connection lost without a close frame (network, proxy or server crash)"
	case 1008:
		return "policy violation: the token was rejected or expired — refresh (R) and reconnect"
	case 1009:
		return "a frame exceeded the 16 MiB read limit; the dashboard reconnects and resumes"
	case 1011:
		return "server error (for example an authenticate message without protocol)"
	case 1013:
		return "server overloaded: try again later"
	}
	return ""
}
