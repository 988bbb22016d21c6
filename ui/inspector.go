package ui

import (
	"fmt"
	"regexp"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// inspector is the virtualised frame list. It never holds the whole log:
// after every change it asks the FrameSource for the filtered length and
// the one page that is visible, so its cost does not depend on how many
// frames the log holds.
type inspector struct {
	keys   InspectorKeyMap
	filter FrameFilter
	input  textinput.Model
	// editing is true while the filter input has the keyboard.
	editing   bool
	filterErr string

	follow    bool
	paused    bool
	pausedNew int // frames that arrived while paused

	total  int // filtered length at the last sync
	cursor int // index of the selected frame in the filtered view
	top    int // index of the first visible row
	rows   []Frame
	// prevConn is the socket number of the frame just above the window.
	prevConn uint64
	height   int // visible frame rows (excluding title and header)
	width    int
}

func newInspector(st theme.Styles) inspector {
	in := newInput(st, "/", "text or regex (ctrl+r toggles regex)")
	return inspector{keys: DefaultInspectorKeyMap(), input: in, follow: true}
}

// selected returns the selected frame, if any.
func (m *inspector) selected() (Frame, bool) {
	i := m.cursor - m.top
	if i < 0 || i >= len(m.rows) {
		return Frame{}, false
	}
	return m.rows[i], true
}

// sync re-reads the filtered length and the visible page. appended is the
// number of frames that arrived since the last sync (0 for navigation).
func (m *inspector) sync(src FrameSource, appended int) {
	if src == nil {
		return
	}
	if m.paused {
		// Keep the page frozen so the user can read it; count what arrives.
		m.pausedNew += appended
		return
	}
	m.total = src.Len(m.filter)
	if m.follow {
		m.cursor = m.total - 1
	}
	m.cursor = clamp(m.cursor, 0, m.total-1)
	h := max(m.height, 1)
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+h {
		m.top = m.cursor - h + 1
	}
	m.top = clamp(m.top, 0, max(m.total-h, 0))
	m.rows = src.Page(m.filter, m.top, h)
	// Remember the socket of the frame above the window, so the first
	// visible frame of a new socket is marked even at the window's top.
	m.prevConn = 0
	if m.top > 0 {
		if p := src.Page(m.filter, m.top-1, 1); len(p) == 1 {
			m.prevConn = p[0].ConnID
		}
	}
}

// move shifts the selection by delta rows and leaves follow mode unless the
// selection lands on the newest frame.
func (m *inspector) move(src FrameSource, delta int) {
	m.cursor = clamp(m.cursor+delta, 0, m.total-1)
	m.follow = m.cursor == m.total-1 && delta > 0
	m.sync(src, 0)
}

// Update handles keys while the frame list has focus. It returns whether
// the key was consumed.
func (m *inspector) Update(msg tea.KeyPressMsg, src FrameSource) (bool, tea.Cmd) {
	if m.editing {
		return true, m.updateFilter(msg, src)
	}
	page := max(m.height-1, 1)
	switch {
	case key.Matches(msg, m.keys.Up):
		m.move(src, -1)
	case key.Matches(msg, m.keys.Down):
		m.move(src, 1)
	case key.Matches(msg, m.keys.PageUp):
		m.move(src, -page)
	case key.Matches(msg, m.keys.PageDown):
		m.move(src, page)
	case key.Matches(msg, m.keys.Top):
		m.follow = false
		m.cursor = 0
		m.sync(src, 0)
	case key.Matches(msg, m.keys.Bottom), key.Matches(msg, m.keys.Follow):
		m.follow = true
		m.paused = false
		m.pausedNew = 0
		m.sync(src, 0)
	case key.Matches(msg, m.keys.Pause):
		m.paused = !m.paused
		if !m.paused {
			m.pausedNew = 0
			m.sync(src, 0)
		}
	case key.Matches(msg, m.keys.Filter):
		m.editing = true
		m.input.SetValue(m.filter.Text)
		m.input.CursorEnd()
		return true, m.input.Focus()
	case key.Matches(msg, m.keys.ClearFilter):
		if m.filter == (FrameFilter{}) {
			return false, nil
		}
		m.filter = FrameFilter{}
		m.filterErr = ""
		m.sync(src, 0)
	case key.Matches(msg, m.keys.Direction):
		m.filter.Dir = map[string]string{"": "in", "in": "out", "out": ""}[m.filter.Dir]
		m.sync(src, 0)
	case key.Matches(msg, m.keys.Class):
		m.filter.Class = map[string]string{"": "data", "data": "control", "control": "http", "http": ""}[m.filter.Class]
		m.sync(src, 0)
	default:
		return false, nil
	}
	return true, nil
}

func (m *inspector) updateFilter(msg tea.KeyPressMsg, src FrameSource) tea.Cmd {
	switch msg.String() {
	case "enter":
		text := m.input.Value()
		if m.filter.Regex {
			if _, err := regexp.Compile(text); err != nil {
				m.filterErr = "bad regex: " + err.Error()
				return nil
			}
		}
		m.filterErr = ""
		m.filter.Text = text
		m.editing = false
		m.input.Blur()
		m.follow = true
		m.sync(src, 0)
		return nil
	case "esc":
		m.editing = false
		m.filterErr = ""
		m.input.Blur()
		return nil
	case "ctrl+r":
		m.filter.Regex = !m.filter.Regex
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

// clickRow selects the frame shown on visible row i.
func (m *inspector) clickRow(src FrameSource, i int) {
	if i < 0 || i >= len(m.rows) {
		return
	}
	m.cursor = m.top + i
	m.follow = false
	m.sync(src, 0)
}

// column widths of the frame list for a given total width.
type frameCols struct{ time, op, typ, sub, size, enc int }

func layoutCols(width int) frameCols {
	c := frameCols{time: 12, op: 6, size: 8, enc: 5}
	if width < 70 {
		c.time = 8
		c.size = 7
	}
	// gutter + time + arrow + op + wire + decoded + enc, each with a space.
	fixed := 1 + c.time + 1 + 2 + c.op + 1 + c.size + 1 + c.size + 1 + c.enc + 1
	flex := max(width-fixed, 8)
	c.typ = flex * 3 / 5
	c.sub = flex - c.typ - 1
	if c.sub < 4 {
		c.typ = flex
		c.sub = 0
	}
	return c
}

func encMarker(enc string) string {
	switch enc {
	case "gzip+json":
		return "gz"
	case "msgpack":
		return "mp"
	case "gzip+msgpack":
		return "gz+mp"
	}
	return ""
}

func (m *inspector) header(st *theme.Styles, width int) string {
	c := layoutCols(width)
	var b strings.Builder
	b.WriteString(" ")
	b.WriteString(fit("TIME", c.time) + " ")
	b.WriteString("↕ ")
	b.WriteString(fit("OP", c.op) + " ")
	b.WriteString(fit("TYPE", c.typ) + " ")
	if c.sub > 0 {
		b.WriteString(fit("SUB", c.sub) + " ")
	}
	b.WriteString(fitLeft("WIRE", c.size) + " ")
	b.WriteString(fitLeft("DECODED", c.size) + " ")
	b.WriteString(fit("ENC", c.enc))
	return st.Header.Render(fit(b.String(), width))
}

// rowStyles are the styled pieces rows share (direction arrows, the
// new-socket mark, encoding markers), rendered once per style set rather
// than once per row. A nil *rowStyles renders them on each call.
type rowStyles struct {
	stID          uint64
	in, out, sock string
	enc           map[string]string // fitted marker → styled
}

func newRowStyles(st *theme.Styles, stID uint64) *rowStyles {
	return &rowStyles{stID: stID, in: st.In.Render("↓"), out: st.Out.Render("↑"), sock: st.Info.Render("↻"), enc: map[string]string{}}
}

func (p *rowStyles) arrow(st *theme.Styles, out bool) string {
	switch {
	case p != nil && out:
		return p.out
	case p != nil:
		return p.in
	case out:
		return st.Out.Render("↑")
	}
	return st.In.Render("↓")
}

func (p *rowStyles) socket(st *theme.Styles) string {
	if p == nil {
		return st.Info.Render("↻")
	}
	return p.sock
}

func (p *rowStyles) encoding(st *theme.Styles, s string) string {
	if p == nil {
		return st.Warn.Render(s)
	}
	v, ok := p.enc[s]
	if !ok {
		v = st.Warn.Render(s)
		p.enc[s] = v
	}
	return v
}

// row renders one frame row (pieces may be nil). Rows other than the
// selected one come out exactly width cells wide (fit is their last step).
func (m *inspector) row(st *theme.Styles, pieces *rowStyles, f Frame, width int, sel, newSocket bool) string {
	c := layoutCols(width)
	ts := f.Time.Format("15:04:05.000")
	if c.time < 12 {
		ts = f.Time.Format("15:04:05")
	}
	// The selected row is rendered plain and styled as a whole: inner
	// styles would reset its background halfway through.
	arrow := "↓"
	if f.Dir == "out" {
		arrow = "↑"
	}
	if !sel {
		arrow = pieces.arrow(st, f.Dir == "out")
	}
	typ := f.Type
	switch {
	case f.Opcode == "close":
		typ = fmt.Sprintf("close %d %s", f.CloseCode, f.CloseReason)
	case f.Opcode == "http" && f.Status != 0:
		typ = fmt.Sprintf("%s %d", shortHTTP(f.Type), f.Status)
	case f.Opcode == "http":
		typ = shortHTTP(f.Type)
	case typ == "":
		typ = "-"
	}
	if f.Err != "" {
		typ = "⚠ " + typ
	}
	if f.Composed {
		typ = "✎ " + typ // written by hand in the composer
	}
	dec := "-"
	if f.DecodedSize > 0 {
		dec = humanBytes(int64(f.DecodedSize))
	}
	enc := encMarker(f.Encoding)
	cols := []string{
		fit(ts, c.time), arrow, fit(safe(st, f.Opcode), c.op), fit(safe(st, typ), c.typ),
	}
	if c.sub > 0 {
		cols = append(cols, fit(safe(st, f.Sub), c.sub))
	}
	cols = append(cols, fitLeft(humanBytes(int64(f.WireSize)), c.size), fitLeft(dec, c.size))
	gutter := " "
	if newSocket {
		gutter = "↻" // first frame of a new socket (reconnect, compression switch)
	}
	if sel {
		gutter = ">"
		line := gutter + strings.Join(cols, " ") + " " + fit(enc, c.enc)
		return within(st.Selected, fit(line, width))
	}
	encS := fit(enc, c.enc)
	if enc != "" {
		encS = pieces.encoding(st, encS)
	}
	if newSocket {
		gutter = pieces.socket(st)
	}
	line := gutter + strings.Join(cols, " ") + " " + encS
	if f.Err != "" {
		line = within(st.Err, line)
	}
	return fit(line, width)
}

// title describes the list state in one line.
func (m *inspector) title(st *theme.Styles, focused bool, width int) string {
	if m.editing {
		mode := "text"
		if m.filter.Regex {
			mode = "regex"
		}
		m.input.SetWidth(max(width-20, 10))
		return fit(m.input.View()+st.Muted.Render(" ["+mode+"]"), width)
	}
	ts := st.Title
	if focused {
		ts = st.TitleFocused
	}
	parts := []string{ts.Render(fmt.Sprintf("Frames %d", m.total))}
	switch {
	case m.paused:
		parts = append(parts, st.BadgeWarn.Render(fmt.Sprintf("PAUSED +%d", m.pausedNew)))
	case m.follow:
		parts = append(parts, st.OK.Render("following"))
	}
	if m.filter.Text != "" {
		q := m.filter.Text
		if m.filter.Regex {
			q = "/" + q + "/"
		} else {
			q = fmt.Sprintf("%q", q)
		}
		parts = append(parts, safeIn(st, st.Info, "filter "+q))
	}
	if m.filter.Dir != "" {
		parts = append(parts, st.Info.Render("dir "+m.filter.Dir))
	}
	if m.filter.Class != "" {
		parts = append(parts, st.Info.Render("type "+m.filter.Class))
	}
	if m.filter.Sub != "" {
		parts = append(parts, safeIn(st, st.Info, "sub "+m.filter.Sub))
	}
	if m.filterErr != "" {
		parts = append(parts, safeIn(st, st.Err, m.filterErr))
	}
	return fit(strings.Join(parts, st.Muted.Render(" · ")), width)
}

// View renders the list into exactly width×(height+2) cells.
func (m *inspector) View(st theme.Styles, focused bool, width int) string {
	return m.render(&st, focused, width, nil)
}

// render is View; with rows set, the header and rows come from (and go to)
// its cache.
func (m *inspector) render(st *theme.Styles, focused bool, width int, rows *rowRenderer) string {
	lines := make([]string, 0, m.height+2)
	lines = append(lines, fit(m.title(st, focused, width), width))
	switch {
	case m.editing && m.filterErr != "":
		lines = append(lines, fit(safeIn(st, st.Err, " "+m.filterErr), width))
	case rows != nil:
		lines = append(lines, rows.header(m, st, width))
	default:
		lines = append(lines, fit(m.header(st, width), width))
	}
	if m.total == 0 {
		msg := "no frames yet"
		if m.filter != (FrameFilter{}) {
			msg = "no frames match the filter (esc clears it)"
		}
		lines = append(lines, fit(st.Muted.Render("  "+msg), width))
	}
	prev := m.prevConn
	for i, f := range m.rows {
		newSocket := f.ConnID != 0 && prev != 0 && f.ConnID != prev
		if f.ConnID != 0 {
			prev = f.ConnID
		}
		sel := m.top+i == m.cursor
		if rows != nil {
			lines = append(lines, rows.row(m, st, f, width, sel, newSocket))
		} else {
			lines = append(lines, fit(m.row(st, nil, f, width, sel, newSocket), width))
		}
	}
	if rows != nil {
		rows.done()
	}
	// Every line is fitted to width already.
	return boxFitted(lines, width, m.height+2)
}

// shortHTTP drops the API prefix from an HTTP exchange's type so the
// endpoint fits the column: "POST /v1/api/auth/login" → "POST auth/login".
func shortHTTP(t string) string {
	return strings.Replace(t, " /v1/api/", " ", 1)
}
