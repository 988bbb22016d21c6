package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// highlightFor is how long an inserted, updated or deleted row stays
// highlighted.
const highlightFor = 3 * time.Second

// dataPanel shows live subscriptions (rows keyed by primary key) and the
// SQL console.
type dataPanel struct {
	keys    DataKeyMap
	sel     int // selected subscription
	scroll  int // first visible row of the selected subscription
	input   textinput.Model
	editing bool
	// subscribing is true when the input starts a subscription rather
	// than running a statement.
	subscribing bool
	running     bool
	result      *QueryResult
	resultSQL   string
	resultErr   string
	history     []string
}

func newDataPanel(st theme.Styles) dataPanel {
	return dataPanel{keys: DefaultDataKeyMap(), input: newInput(st, "sql> ", "SELECT * FROM demo.metrics LIMIT 10")}
}

// sqlRequest is what the data panel asks the root to run.
type sqlRequest struct {
	subscribe bool
	sql       string
	opts      SubOptions
}

// Update handles keys while the data panel has focus; it returns a request
// when the user submitted SQL.
func (d *dataPanel) Update(msg tea.KeyPressMsg, subs []Sub) (bool, tea.Cmd, *sqlRequest) {
	if d.editing {
		switch msg.String() {
		case "esc":
			d.editing = false
			d.input.Blur()
			return true, nil, nil
		case "enter":
			text := strings.TrimSpace(d.input.Value())
			if text == "" {
				return true, nil, nil
			}
			d.history = append(d.history, text)
			d.editing = false
			d.input.Blur()
			req := &sqlRequest{subscribe: d.subscribing, sql: text}
			if d.subscribing {
				req.sql, req.opts = parseSubOptions(text)
			} else {
				d.running = true
				d.resultSQL = text
			}
			return true, nil, req
		case "up":
			if n := len(d.history); n > 0 {
				d.input.SetValue(d.history[n-1])
				d.input.CursorEnd()
			}
			return true, nil, nil
		}
		var cmd tea.Cmd
		d.input, cmd = d.input.Update(msg)
		return true, cmd, nil
	}
	switch {
	case key.Matches(msg, d.keys.Up):
		d.scroll = max(d.scroll-1, 0)
	case key.Matches(msg, d.keys.Down):
		d.scroll++
	case key.Matches(msg, d.keys.NextSub):
		if len(subs) > 0 {
			d.sel = (d.sel + 1) % len(subs)
			d.scroll = 0
		}
	case msg.String() == "h" || msg.String() == "left":
		if len(subs) > 0 {
			d.sel = (d.sel - 1 + len(subs)) % len(subs)
			d.scroll = 0
		}
	case key.Matches(msg, d.keys.Subscribe):
		return true, d.edit(true, "SELECT * FROM demo.messages"), nil
	case key.Matches(msg, d.keys.SQL):
		return true, d.edit(false, ""), nil
	default:
		return false, nil, nil
	}
	return true, nil, nil
}

func (d *dataPanel) edit(subscribe bool, initial string) tea.Cmd {
	d.editing = true
	d.subscribing = subscribe
	if subscribe {
		d.input.Prompt = "subscribe> "
		d.input.Placeholder = "SQL [batch=N] [last=N] (batch=0: only new changes)"
	} else {
		d.input.Prompt = "sql> "
		d.input.Placeholder = "SELECT * FROM demo.metrics LIMIT 10"
	}
	d.input.SetValue(initial)
	d.input.CursorEnd()
	return d.input.Focus()
}

// parseSubOptions splits trailing "batch=N" and "last=N" words off a
// subscription's SQL.
func parseSubOptions(text string) (string, SubOptions) {
	var o SubOptions
	words := strings.Fields(text)
	for len(words) > 0 {
		w := words[len(words)-1]
		k, v, ok := strings.Cut(w, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			break
		}
		switch k {
		case "batch", "batch_size":
			o.BatchSize = &n
		case "last", "last_rows":
			o.LastRows = &n
		default:
			return strings.Join(words, " "), o
		}
		words = words[:len(words)-1]
	}
	return strings.Join(words, " "), o
}

// View renders the panel into exactly width×height cells.
func (d *dataPanel) View(st theme.Styles, subs []Sub, now time.Time, focused bool, width, height int) string {
	sqlH := d.sqlHeight(height)
	subsH := height - sqlH
	top := d.subsView(st, subs, now, focused, width, subsH)
	bottom := d.sqlView(st, focused, width, sqlH)
	return top + "\n" + bottom
}

// sqlHeight is how many of height lines the SQL console takes.
func (d *dataPanel) sqlHeight(height int) int {
	if d.result == nil && d.resultErr == "" && !d.running {
		return 4
	}
	return clamp(height/3, 4, 12)
}

// tableRoom is how many rows of s fit under its title, info, warnings and
// table header in height lines.
func tableRoom(s Sub, height int) int {
	above := 2
	if s.Gap != "" {
		above++
	}
	if s.Err != "" {
		above++
	}
	return height - above - 1
}

// rowWindow clamps scroll so the last row can reach the bottom and returns
// it with the rows that fit in room.
func rowWindow(rows []Row, scroll, room int) (int, []Row) {
	scroll = clamp(scroll, 0, max(len(rows)-room, 0))
	return scroll, rows[scroll:min(scroll+max(room, 0), len(rows))]
}

func (d *dataPanel) subsView(st theme.Styles, subs []Sub, now time.Time, focused bool, width, height int) string {
	ts := st.Title
	if focused && !d.editing {
		ts = st.TitleFocused
	}
	var lines []string
	if len(subs) == 0 {
		lines = append(lines, ts.Render("Subscriptions"),
			st.Muted.Render("  none: press s to subscribe with SQL (options: batch=N last=N; batch=0 shows only new changes)"))
		return box(lines, width, height)
	}
	d.sel = clamp(d.sel, 0, len(subs)-1)
	var tabs []string
	for i, s := range subs {
		label := fmt.Sprintf("%s %s %d", s.ID, s.Status, len(s.Rows))
		if i == d.sel {
			tabs = append(tabs, safeIn(&st, st.TabActive, label))
		} else {
			tabs = append(tabs, safeIn(&st, st.Tab, label))
		}
	}
	lines = append(lines, ts.Render("Subscriptions ")+joinFit(tabs, "", width-14))
	s := subs[d.sel]
	status := safeIn(&st, st.OK, s.Status)
	if s.Status != "ready" {
		status = safeIn(&st, st.Warn, s.Status)
	}
	info := truncate(safeIn(&st, st.Muted, s.SQL), max(width/2, 10)) + "  " + status +
		st.Muted.Render(fmt.Sprintf("  last seq %d  changes %d", s.LastSeq, s.Changes))
	lines = append(lines, info)
	if s.Gap != "" {
		lines = append(lines, st.BadgeWarn.Render("SEQ GAP")+" "+safeIn(&st, st.Warn, s.Gap))
	}
	if s.Err != "" {
		lines = append(lines, safeIn(&st, st.Err, "error: "+s.Err))
	}
	// Columns sized to their content; system columns other than _seq hidden.
	var idx []int
	for i, c := range s.Columns {
		if strings.HasPrefix(c, "_") && c != "_seq" {
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return box(lines, width, height)
	}
	var visible []Row
	d.scroll, visible = rowWindow(s.Rows, d.scroll, tableRoom(s, height))
	headers := make([]string, len(idx))
	cells := make([][]string, len(visible))
	for j, i := range idx {
		headers[j] = safe(&st, s.Columns[i])
		if s.Columns[i] == s.PK {
			headers[j] += "*"
		}
	}
	for r, row := range visible {
		cells[r] = make([]string, len(idx))
		for j, i := range idx {
			if i < len(row.Values) {
				cells[r][j] = cellText(&st, row.Values[i])
			}
		}
	}
	widths := columnWidths(headers, cells, width-1)
	lines = append(lines, within(st.Header, fit(" "+joinCells(headers, widths), width)))
	for r, row := range visible {
		line := fit(" "+joinCells(cells[r], widths), width)
		if row.Change != "" && now.Sub(row.ChangedAt) < highlightFor {
			switch row.Change {
			case "insert":
				line = within(st.Insert, line)
			case "update":
				line = within(st.Update, line)
			case "delete":
				line = within(st.Delete, line)
			}
		}
		lines = append(lines, line)
	}
	return box(lines, width, height)
}

func (d *dataPanel) sqlView(st theme.Styles, focused bool, width, height int) string {
	ts := st.Title
	if focused && d.editing {
		ts = st.TitleFocused
	}
	lines := []string{st.Border.Render(strings.Repeat("─", 2)) + " " + ts.Render("SQL console") + " " +
		st.Border.Render(strings.Repeat("─", max(width-16, 0)))}
	if d.editing {
		d.input.SetWidth(max(width-14, 10))
		lines = append(lines, d.input.View())
	} else {
		lines = append(lines, st.Muted.Render("  enter: type SQL · s: subscribe · ↑ in the prompt recalls history"))
	}
	switch {
	case d.running:
		lines = append(lines, truncate(safeIn(&st, st.Muted, "  running: "+d.resultSQL), width))
	case d.resultErr != "":
		lines = append(lines, safeIn(&st, st.Err, "  "+d.resultErr))
	case d.result != nil:
		r := d.result
		lines = append(lines, safeIn(&st, st.Muted, fmt.Sprintf("  %d rows in %s  %s", len(r.Rows), shortDur(r.Took), r.Message)))
		if len(r.Columns) > 0 {
			n := max(height-len(lines)-1, 0)
			headers := safeCells(&st, r.Columns)
			rows := make([][]string, min(n, len(r.Rows)))
			for i := range rows {
				rows[i] = cellTexts(&st, r.Rows[i])
			}
			widths := columnWidths(headers, rows, width-1)
			lines = append(lines, within(st.Header, fit(" "+joinCells(headers, widths), width)))
			for _, row := range rows {
				lines = append(lines, fit(" "+joinCells(row, widths), width))
			}
		}
	}
	return box(lines, width, height)
}

// columnWidths sizes columns to their widest cell (header included), then
// shrinks the widest ones until the row fits total cells.
func columnWidths(headers []string, rows [][]string, total int) []int {
	w := make([]int, len(headers))
	for i, h := range headers {
		w[i] = cellWidth(h)
	}
	for _, r := range rows {
		for i := range w {
			if i < len(r) {
				w[i] = max(w[i], min(cellWidth(r[i]), 40))
			}
		}
	}
	sum := func() int {
		s := 0
		for _, x := range w {
			s += x + 2
		}
		return s
	}
	for sum() > total {
		wi := 0
		for i := range w {
			if w[i] > w[wi] {
				wi = i
			}
		}
		if w[wi] <= 4 {
			break
		}
		w[wi]--
	}
	return w
}

// nullText is what a NULL cell reads, drawn in theme.Styles.Null.
const nullText = "NULL"

// cellText is a cell as a table draws it: a NULL reads NULL in the Null
// style, so it differs from an empty string and from the text "NULL" (a
// highlighted row keeps its style around it: within); a value is outside
// text, made safe.
func cellText(st *theme.Styles, c Cell) string {
	if c.Null {
		return st.Null.Render(nullText)
	}
	return safe(st, c.Text)
}

// cellTexts is cellText over a row's cells.
func cellTexts(st *theme.Styles, cells []Cell) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = cellText(st, c)
	}
	return out
}

// safeCells returns outside cells made safe for display (see safe).
func safeCells(st *theme.Styles, cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = safe(st, c)
	}
	return out
}

// joinCells lays out one table row with two spaces between columns.
func joinCells(cells []string, widths []int) string {
	var b strings.Builder
	for i, wd := range widths {
		v := ""
		if i < len(cells) {
			v = cells[i]
		}
		b.WriteString(fit(v, wd))
		b.WriteString("  ")
	}
	return b.String()
}
