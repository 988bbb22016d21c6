package ui

import (
	"fmt"
	"strings"

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
// hex dump of the wire bytes. The frame is laid out once per frame, mode,
// width and reveal state (detaildoc.go); View renders the lines it shows,
// and keeps them fitted while they stay in view.
type detail struct {
	keys   DetailKeyMap
	mode   int
	offset int
	height int

	frame Frame
	has   bool
	key   detailKey
	doc   *detailDoc
	// gen numbers the frame and layout shown: show takes a new number
	// whenever it changes them, and the pane's View cache keys on it.
	gen uint64
	// fitted holds rendered lines fitted to fitW cells, by line number:
	// the lines in view and recently in view (see window).
	fitted map[int]string
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

// show selects the frame to display and lays it out if anything changed.
// stID identifies st (see Model.stID).
func (d *detail) show(st theme.Styles, stID uint64, f Frame, ok bool, width int, hide secrets) {
	if !ok {
		if d.has {
			d.gen = nextRenderID()
		}
		d.has, d.doc, d.fitted, d.key = false, nil, nil, detailKey{}
		return
	}
	k := detailKey{id: f.ID, conn: f.ConnID, mode: d.mode, width: width, reveal: hide == nil, colour: st.Colour}
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
	d.doc = layoutDetail(st, d.json, f, d.mode, width, hide)
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
	d.offset = clamp(d.offset, 0, max(d.doc.len()-d.height, 0))
	return true
}

func (d *detail) scroll(delta int) {
	d.offset = clamp(d.offset+delta, 0, max(d.doc.len()-d.height, 0))
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
	info := safeIn(&st, st.Muted, fmt.Sprintf(" %s %s · wire %s · decoded %s%s · %s%s",
		f.Dir, f.Opcode, humanBytes(int64(f.WireSize)), humanBytes(int64(f.DecodedSize)), ratio, f.Encoding, extra))
	n := d.doc.len()
	if n > d.height {
		info += st.Muted.Render(fmt.Sprintf(" · %d/%d", d.offset+1, n))
	}
	lines := make([]string, 0, d.height+1)
	lines = append(lines, fit(title+info, width))
	lines = d.window(lines, max(d.offset, 0), min(d.offset+d.height, n), width)
	return boxFitted(lines, width, d.height+1)
}

// window appends lines [from, to) fitted to width cells. Lines already
// fitted are reused; when some are missing, the window and a window's
// worth of lines either side are rendered together (highlighting shares
// one pass), so scrolling line by line renders once per page, not once
// per line.
func (d *detail) window(dst []string, from, to, width int) []string {
	h := to - from
	if d.fitW != width || d.fitted == nil || len(d.fitted) > 8*h+256 {
		d.fitW, d.fitted = width, make(map[int]string, 3*h)
	}
	for i := from; i < to; i++ {
		if _, ok := d.fitted[i]; !ok {
			lo, hi := max(from-h, 0), min(to+h, d.doc.len())
			for j, l := range d.doc.lines(lo, hi) {
				if _, ok := d.fitted[lo+j]; !ok {
					d.fitted[lo+j] = fit(l, width)
				}
			}
			break
		}
	}
	for i := from; i < to; i++ {
		dst = append(dst, d.fitted[i])
	}
	return dst
}

// secrets hides the secrets in frame text: the Backend's Redact while they
// are hidden, nil once the user revealed them (ctrl+r). What counts as a
// secret is the backend's knowledge: the UI only decides when to ask.
type secrets func([]byte) []byte

// mask returns b with its secrets hidden, or b itself when revealed.
func (s secrets) mask(b []byte) []byte {
	if s == nil || len(b) == 0 {
		return b
	}
	return s(b)
}

// jsonStyle converts theme styles to tidwall/pretty's escape pairs.
func jsonStyle(st theme.Styles) *pretty.Style {
	pair := func(s lipgloss.Style) [2]string {
		open, close := stylePair(s)
		return [2]string{open, close}
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

// closeHintLines renders a close hint wrapped at width, muted: the pane
// shows all of it however narrow.
func closeHintLines(st theme.Styles, h string, width int) []string {
	var out []string
	for _, l := range strings.Split(lipgloss.Wrap(h, max(width, 1), " "), "\n") {
		out = append(out, st.Muted.Render(l))
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
