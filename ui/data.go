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
	keys DataKeyMap
	sel  int // selected subscription
	// offset is the first shown row of the selected subscription, in the
	// order query gives; follow keeps the last rows in view as they come.
	offset int
	follow bool
	room   int // rows the table showed last, for paging
	query  RowQuery
	// filter edits query.Filter (live, as typed) while filtering.
	filter     textinput.Model
	filtering  bool
	showVerify bool            // the selected subscription's last Verify replaces its rows
	verifying  map[string]bool // subscriptions with a Verify in flight
	input      textinput.Model
	editing    bool
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
	return dataPanel{keys: DefaultDataKeyMap(), follow: true, verifying: map[string]bool{},
		input:  newInput(st, "sql> ", "SELECT * FROM demo.metrics LIMIT 10"),
		filter: newInput(st, "filter> ", "text in the key or any value")}
}

// typing reports whether a text input has the keyboard.
func (d *dataPanel) typing() bool { return d.editing || d.filtering }

// dataRequest is what the data panel asks the root to run.
type dataRequest struct {
	kind dataRequestKind
	sql  string // query, subscribe
	opts SubOptions
	sub  string // verify, repair: the subscription
}

type dataRequestKind uint8

const (
	requestQuery dataRequestKind = iota
	requestSubscribe
	requestVerify
	requestRepair
)

// Update handles keys while the data panel has focus; it returns a request
// when the user submitted SQL or asked to verify or repair.
func (d *dataPanel) Update(msg tea.KeyPressMsg, subs []Sub) (bool, tea.Cmd, *dataRequest) {
	if d.editing {
		return d.updateInput(msg)
	}
	if d.filtering {
		return d.updateFilter(msg)
	}
	var sel *Sub
	if len(subs) > 0 {
		d.sel = clamp(d.sel, 0, len(subs)-1)
		sel = &subs[d.sel]
	}
	switch {
	case key.Matches(msg, d.keys.Up):
		d.offset, d.follow = max(d.offset-1, 0), false
	case key.Matches(msg, d.keys.Down):
		d.offset++
	case key.Matches(msg, d.keys.PageUp):
		d.offset, d.follow = max(d.offset-max(d.room, 1), 0), false
	case key.Matches(msg, d.keys.PageDown):
		d.offset += max(d.room, 1)
	case key.Matches(msg, d.keys.Oldest):
		d.offset, d.follow = 0, false
	case key.Matches(msg, d.keys.Newest):
		d.follow = true
	case key.Matches(msg, d.keys.NextSub):
		if len(subs) > 0 {
			d.selectSub((d.sel + 1) % len(subs))
		}
	case msg.String() == "h" || msg.String() == "left":
		if len(subs) > 0 {
			d.selectSub((d.sel - 1 + len(subs)) % len(subs))
		}
	case key.Matches(msg, d.keys.Filter):
		d.filtering = true
		d.filter.SetValue(d.query.Filter)
		d.filter.CursorEnd()
		return true, d.filter.Focus(), nil
	case key.Matches(msg, d.keys.Order):
		d.query.ByKey = !d.query.ByKey
		d.offset, d.follow = 0, !d.query.ByKey
	case key.Matches(msg, d.keys.Verify) && sel != nil:
		d.showVerify = true
		if d.verifying[sel.ID] {
			return true, nil, nil
		}
		d.verifying[sel.ID] = true
		return true, nil, &dataRequest{kind: requestVerify, sub: sel.ID}
	case key.Matches(msg, d.keys.Repair) && sel != nil:
		d.showVerify = false
		return true, nil, &dataRequest{kind: requestRepair, sub: sel.ID}
	case key.Matches(msg, d.keys.Back):
		switch {
		case d.showVerify:
			d.showVerify = false
		case d.query.Filter != "":
			d.query.Filter, d.offset = "", 0
		default:
			return false, nil, nil
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

// selectSub shows subscription i from its newest rows.
func (d *dataPanel) selectSub(i int) {
	d.sel, d.offset, d.follow, d.showVerify = i, 0, !d.query.ByKey, false
}

// updateInput handles keys while the SQL console's input has focus.
func (d *dataPanel) updateInput(msg tea.KeyPressMsg) (bool, tea.Cmd, *dataRequest) {
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
		if d.subscribing {
			req := &dataRequest{kind: requestSubscribe}
			req.sql, req.opts = parseSubOptions(text)
			return true, nil, req
		}
		d.running = true
		d.resultSQL = text
		return true, nil, &dataRequest{kind: requestQuery, sql: text}
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

// updateFilter handles keys while the row filter has focus: the rows
// follow the text as it is typed; esc clears it, enter keeps it.
func (d *dataPanel) updateFilter(msg tea.KeyPressMsg) (bool, tea.Cmd, *dataRequest) {
	switch msg.String() {
	case "esc":
		d.query.Filter = ""
		fallthrough
	case "enter":
		d.filtering = false
		d.filter.Blur()
		d.offset = 0
		return true, nil, nil
	}
	var cmd tea.Cmd
	d.filter, cmd = d.filter.Update(msg)
	d.query.Filter, d.offset = d.filter.Value(), 0
	return true, cmd, nil
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

// View renders the panel into exactly width×height cells. lt pages the
// selected subscription's rows; nil shows the rows of the snapshot.
func (d *dataPanel) View(st theme.Styles, subs []Sub, lt LiveRows, now time.Time, focused bool, width, height int) string {
	sqlH := d.sqlHeight(height)
	subsH := height - sqlH
	top := d.subsView(st, subs, lt, now, focused, width, subsH)
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

func (d *dataPanel) subsView(st theme.Styles, subs []Sub, lt LiveRows, now time.Time, focused bool, width, height int) string {
	ts := st.Title
	if focused && !d.typing() {
		ts = st.TitleFocused
	}
	var lines []string
	if len(subs) == 0 {
		hint := "  none: press s to subscribe with SQL (options: batch=N last=N; batch=0 shows only new changes)"
		if !d.keys.Subscribe.Enabled() {
			hint = "  none: this read-only connection shows the subscriptions it was seen making"
		}
		lines = append(lines, ts.Render("Subscriptions"), st.Muted.Render(hint))
		return box(lines, width, height)
	}
	d.sel = clamp(d.sel, 0, len(subs)-1)
	var tabs []string
	for i, s := range subs {
		label := fmt.Sprintf("%s %s %d", s.ID, s.Status, keptRows(s))
		if i == d.sel {
			tabs = append(tabs, safeIn(&st, st.TabActive, label))
		} else {
			tabs = append(tabs, safeIn(&st, st.Tab, label))
		}
	}
	lines = append(lines, ts.Render("Subscriptions ")+joinFit(tabs, "", width-14))
	s := subs[d.sel]
	_, verifies := lt.(LiveTables)
	lines = append(lines, d.subHeader(st, s, verifies, width)...)
	if d.showVerify {
		lines = append(lines, d.verifyLines(st, s, verifies, width)...)
		return box(lines, width, height)
	}
	return box(append(lines, d.rowLines(st, s, lt, now, width, height-len(lines))...), width, height)
}

// keptRows is how many rows s holds.
func keptRows(s Sub) int {
	if s.Cap > 0 {
		return s.Kept
	}
	return len(s.Rows)
}

// subHeader is the selected subscription's info, counts and warnings.
func (d *dataPanel) subHeader(st theme.Styles, s Sub, live bool, width int) []string {
	var status string
	switch s.Status {
	case "ready":
		status = safeIn(&st, st.OK, s.Status)
	case "killed", "failed":
		status = safeIn(&st, st.BadgeErr, s.Status)
	default:
		status = safeIn(&st, st.Warn, s.Status)
	}
	info := truncate(safeIn(&st, st.Muted, s.SQL), max(width/2, 10)) + "  " + status +
		st.Muted.Render(fmt.Sprintf("  last seq %d  changes %d", s.LastSeq, s.Changes))
	lines := []string{info}
	if s.Cap > 0 {
		counts := fmt.Sprintf("kept %s (cap %s) · evicted %s · received %s", thousands(s.Kept), thousands(s.Cap),
			thousands(s.Evicted), thousands(s.Received))
		lines = append(lines, st.Muted.Render(counts))
	}
	if s.Gap != "" {
		lines = append(lines, st.BadgeWarn.Render("SEQ GAP")+" "+safeIn(&st, st.Warn, s.Gap))
	}
	if s.Err != "" {
		lines = append(lines, safeIn(&st, st.Err, "error: "+s.Err))
	}
	if s.Shortfall != "" {
		hint := ""
		if live {
			hint = " — v: verify"
		}
		lines = append(lines, st.BadgeWarn.Render("CHANGES MISSING?")+" "+safeIn(&st, st.Warn, s.Shortfall+hint))
	}
	if s.Failover != "" {
		badge, style := st.BadgeInfo.Render("FAILOVER"), st.Muted
		if s.FailoverLost {
			badge, style = st.BadgeWarn.Render("FAILOVER"), st.Warn
		}
		lines = append(lines, badge+" "+safeIn(&st, style, s.Failover))
	}
	switch v := s.Verified; {
	case d.verifying[s.ID]:
		lines = append(lines, st.BadgeInfo.Render("VERIFYING")+" "+st.Muted.Render("reading the server's rows…"))
	case v != nil && v.Clean:
		lines = append(lines, st.BadgeOK.Render("VERIFIED")+" "+safeIn(&st, st.OK, clockTime(v.Time)+" "+v.Summary))
	case v != nil:
		lines = append(lines, st.BadgeErr.Render("MISMATCH")+" "+safeIn(&st, st.Err, clockTime(v.Time)+" "+v.Summary)+
			st.Muted.Render(" — v: details · R: repair"))
	}
	return lines
}

// rowLines is the rows table: a header, the rows from offset that fit in
// height-1 lines, and a position line.
func (d *dataPanel) rowLines(st theme.Styles, s Sub, lt LiveRows, now time.Time, width, height int) []string {
	// Columns sized to their content; system columns other than _seq hidden.
	var idx []int
	for i, c := range s.Columns {
		if strings.HasPrefix(c, "_") && c != "_seq" {
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 || height < 3 {
		return nil
	}
	room := height - 2 // header and position line
	d.room = room
	visible, total := d.pageRows(s, lt, room)
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
	lines := []string{within(st.Header, fit(" "+joinCells(headers, widths), width))}
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
	for len(lines) < room+1 {
		lines = append(lines, "")
	}
	return append(lines, d.positionLine(st, len(visible), total))
}

// pageRows fetches the rows from offset that fit in room (following the
// last rows when follow is on) and returns them with the total the query
// selects. Without lt only the snapshot's rows are there, unfiltered.
func (d *dataPanel) pageRows(s Sub, lt LiveRows, room int) ([]Row, int) {
	total := len(s.Rows)
	if lt != nil {
		_, total = lt.SubRows(s.ID, d.query, 0, 0)
	}
	last := max(total-room, 0)
	if d.follow || d.offset >= last {
		d.offset, d.follow = last, true
	}
	d.offset = clamp(d.offset, 0, last)
	if lt != nil {
		rows, _ := lt.SubRows(s.ID, d.query, d.offset, room)
		return rows, total
	}
	return s.Rows[d.offset:min(d.offset+room, total)], total
}

// positionLine says which rows show, in what order, under what filter.
func (d *dataPanel) positionLine(st theme.Styles, shown, total int) string {
	order := "arrival order"
	if d.query.ByKey {
		order = "by key"
	}
	pos := fmt.Sprintf(" rows %s–%s of %s · %s", thousands(min(d.offset+1, total)), thousands(d.offset+shown), thousands(total), order)
	if d.follow && total > shown {
		pos += " · following"
	}
	line := st.Muted.Render(pos)
	switch {
	case d.filtering:
		d.filter.SetWidth(20)
		line += "  " + d.filter.View()
	case d.query.Filter != "":
		line += st.Muted.Render(" · filter ") + safeIn(&st, st.Warn, d.query.Filter) + st.Muted.Render(" (esc clears)")
	}
	return line
}

// verifyLines shows the selected subscription's last verification.
func (d *dataPanel) verifyLines(st theme.Styles, s Sub, live bool, width int) []string {
	v := s.Verified
	if v == nil {
		msg := "  no verification yet: press v to compare the rows with the server's"
		if d.verifying[s.ID] {
			msg = "  reading the server's rows…"
		}
		if !live {
			msg = "  this connection cannot verify (read-only: a recording, or an application watched through kalamdash proxy)"
		}
		return []string{st.Muted.Render(msg)}
	}
	lines := []string{st.Title.Render("Verification ") + st.Muted.Render(clockTime(v.Time)+" · "+v.Counts)}
	for _, sec := range v.Sections {
		style := st.Muted
		if sec.Count > 0 && !strings.HasPrefix(sec.Title, "changed") {
			style = st.Err
		}
		line := style.Render(fmt.Sprintf("  %-40s %s", sec.Title, thousands(sec.Count)))
		if sec.Causes != "" {
			line += safeIn(&st, st.Warn, "  "+sec.Causes)
		}
		lines = append(lines, line)
		for _, smp := range sec.Samples {
			lines = append(lines, truncate("    "+safe(&st, smp), width))
		}
	}
	for _, c := range v.Causes {
		lines = append(lines, truncate(safeIn(&st, st.Warn, "  cause "+c), width))
	}
	return append(lines, st.Muted.Render("  v: verify again · R: repair (re-subscribe) · esc: back to the rows"))
}

// thousands writes n with thin spaces between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(" ")
		}
		b.WriteRune(c)
	}
	return b.String()
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
	} else if !d.keys.SQL.Enabled() {
		lines = append(lines, st.Muted.Render("  none on this connection: it is read-only"))
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
