package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/kalamdash/kalamdash/theme"
)

// This file draws the Cluster view: the nodes with their role, status,
// applied index, lag, the groups they lead, whether the token works there
// and which tabs are on them; the leader of each Raft group; the leader
// moves and node changes seen; and the replicas pane, one live query on
// two nodes side by side. Everything the server sent (ids, addresses,
// hostnames, versions, errors, rows) goes through safe.

// clusterView renders the current tab's Cluster view in width×height.
func (m *Model) clusterView(t *tab, height int) string {
	st := *m.st
	if t.can.cluster == nil {
		return box([]string{st.TitleFocused.Render("Cluster"),
			st.Muted.Render("  this connection cannot ask its server about the cluster (a recording or a relay): open a live connection")}, m.width, height)
	}
	if t.cl.replicas && t.cl.cmp != nil {
		return m.replicasView(t, height)
	}
	return box(m.nodesLines(t, height), m.width, height)
}

// clusterAge says how old the shown poll is, and whether one is running;
// polled says the view polls by itself (the Token view polls on C only).
func (m *Model) clusterAge(p *clusterPanel, polled bool) string {
	if p.info == nil {
		if p.polling {
			return "polling…"
		}
		return "not polled yet"
	}
	s := "as of just now"
	if age := m.now().Sub(p.info.PolledAt).Truncate(time.Second); age > 0 {
		s = fmt.Sprintf("as of %s ago", age)
	}
	if polled {
		s += fmt.Sprintf(" (polled every %s while shown)", clusterPollEvery)
	}
	if p.polling {
		s += " · polling…"
	}
	return s
}

// nodesLines renders the nodes pane.
func (m *Model) nodesLines(t *tab, height int) []string {
	st, w, p := *m.st, m.width, &t.cl
	head := st.TitleFocused.Render("Cluster")
	if p.info != nil && p.info.ClusterID != "" {
		head += " " + safeIn(&st, st.Value, p.info.ClusterID)
	}
	if p.info != nil {
		head += st.Muted.Render(" · " + plural(len(p.info.Nodes), "node"))
	}
	lines := []string{fit(head+st.Muted.Render(" · "+m.clusterAge(p, true)), w)}
	if p.err != "" {
		lines = append(lines, "  "+safeIn(&st, st.Err, truncate("poll failed: "+p.err, w-2)))
	}
	info := p.info
	if info == nil {
		return append(lines, st.Muted.Render("  asking the server… (r polls now)"))
	}
	if info.Err != "" {
		lines = append(lines, "  "+safeIn(&st, st.Err, truncate("this tab's node does not answer: "+info.Err, w-2)))
	}
	switch info.Source {
	case "":
		lines = append(lines, "  "+st.Muted.Render("the server answered neither system.cluster nor /v1/api/cluster/health"))
	default:
		src := "from " + info.Source
		if note := info.SourceNote; note != "" {
			if lipgloss.Width(src+": "+note) <= w-2 {
				src += ": " + note
			} else { // the why on a line of its own
				lines = append(lines, "  "+safeIn(&st, st.Muted, truncate(src+":", w-2)))
				src = "  " + note
			}
		}
		lines = append(lines, "  "+safeIn(&st, st.Muted, truncate(src, w-2)))
	}
	lines = append(lines, "", st.Header.Render(fit(nodeRow("NODE", "ROLE", "STATUS", "APPLIED", "LAG", "LEADS", "TOKEN", "TABS", "ADDRESS", w), w)))
	now := m.now()
	var problems []string
	for _, n := range info.Nodes {
		id := strconv.FormatInt(n.ID, 10)
		if n.IsLeader {
			id += " ★"
		}
		if n.IsSelf {
			id += " •"
		}
		status := safe(&st, n.Status)
		switch {
		case !n.Answered:
			status = st.Err.Render("unreachable")
			problems = append(problems, fmt.Sprintf("node %d does not answer: %s", n.ID, n.ProbeErr))
		case n.Status == "active":
			status = st.OK.Render(status)
		default:
			status = st.Warn.Render(status)
		}
		token := st.Muted.Render("—")
		switch {
		case n.TokenOK:
			token = st.OK.Render("✓")
		case n.TokenErr != "":
			token = st.Err.Render("✗")
			if n.Answered {
				problems = append(problems, fmt.Sprintf("node %d refuses the token: %s", n.ID, n.TokenErr))
			}
		}
		leads := "—"
		if n.TotalGroups > 0 {
			leads = fmt.Sprintf("%d/%d", n.GroupsLeading, n.TotalGroups)
		}
		row := nodeRow(id, safe(&st, n.Role), status, optInt(n.Applied), optInt(n.Lag), leads, token, m.tabNames(n.Node),
			safe(&st, shortAddr(n.URL, w)), w)
		if marked(n.ChangedAt, now) {
			row = within(st.Update, fit(row, w))
		}
		lines = append(lines, row)
	}
	for _, pr := range problems {
		lines = append(lines, "  "+safeIn(&st, st.Err, truncate("✗ "+pr, w-2)))
	}
	lines = append(lines, "  "+st.Muted.Render(truncate("★ Meta leader  • this tab's node  TOKEN: this tab's token works there  TABS: tabs on it", w-2)))

	lines = append(lines, "", st.TitleFocused.Render("Raft group leaders")+st.Muted.Render(" (group→leader node)"))
	if len(info.Groups) == 0 {
		lines = append(lines, "  "+st.Muted.Render("no leader known"))
	}
	lines = append(lines, wrapTokens(groupTokens(st, info.Groups, now), "  ", w)...)

	// Leader moves and node changes, newest first, as many as fit above
	// the key hints.
	room := height - len(lines) - 3
	if room > 0 {
		lines = append(lines, "", st.TitleFocused.Render(fmt.Sprintf("Changes %d", len(info.Changes))))
		if len(info.Changes) == 0 {
			lines = append(lines, "  "+st.Muted.Render("none since this view opened: leader moves and nodes going down show here"))
		}
		for i := len(info.Changes) - 1; i >= 0 && room > 0; i-- {
			ch := info.Changes[i]
			line := "  " + clockTime(ch.Time) + "  " + safe(&st, ch.Text)
			if marked(ch.Time, now) {
				line = within(st.Update, fit(line, w))
			}
			lines = append(lines, truncate(line, w))
			room--
		}
	}
	k := m.clusterKeys
	hints := bindHelps(st, k.Poll, k.OpenAll, k.Compare)
	lines = append(lines, "", "  "+joinFit(hints, st.HelpSep.Render(" • "), w-2))
	return lines
}

// marked reports whether a change at t is recent enough to highlight.
func marked(t, now time.Time) bool { return !t.IsZero() && now.Sub(t) < clusterMarkFor }

func optInt(p *int64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatInt(*p, 10)
}

// nodeRow lays out one row of the nodes table; the address takes what is
// left.
func nodeRow(id, role, status, applied, lag, leads, token, tabs, addr string, w int) string {
	return " " + fit(id, 7) + fit(role, 9) + fit(status, 12) + fitLeft(applied, 8) + fitLeft(lag, 5) + "  " +
		fit(leads, 6) + fit(token, 6) + fit(tabs, 6) + truncate(addr, max(w-nodeRowFixed, 8))
}

// nodeRowFixed is the width of a node row before its address.
const nodeRowFixed = 62

// shortAddr drops the scheme of a node's URL when the whole URL does not
// fit the address column (at 80 columns the host and port are what tells
// nodes apart).
func shortAddr(url string, w int) string {
	if len(url) <= w-nodeRowFixed {
		return url
	}
	for _, p := range []string{"http://", "https://"} {
		url = strings.TrimPrefix(url, p)
	}
	return url
}

// tabNames lists the numbers of the tabs on the node identified by node
// ("1,3"), as the top bar numbers them.
func (m *Model) tabNames(node string) string {
	var parts []string
	for _, i := range m.tabsOn(node) {
		parts = append(parts, strconv.Itoa(i+1))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ",")
}

// groupTokens renders each group as "10 meta→1"; a group whose leader
// moved recently is highlighted, one without a leader in the error style.
func groupTokens(st theme.Styles, groups []ClusterGroup, now time.Time) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		leader := "none"
		if g.Leader != 0 {
			leader = strconv.FormatInt(g.Leader, 10)
		}
		tok := safe(&st, shortGroupName(g)) + "→" + leader
		switch {
		case g.Leader == 0:
			tok = within(st.Err, tok)
		case marked(g.ChangedAt, now):
			tok = within(st.BadgeWarn, tok+fmt.Sprintf(" (term %d)", g.Term))
		}
		out = append(out, tok)
	}
	return out
}

// shortGroupName shortens "103 user shard 3" to "103" and "200 shared
// shard 0" to "200 shared", so ten groups fit a line or two.
func shortGroupName(g ClusterGroup) string {
	switch {
	case strings.Contains(g.Name, "user shard"):
		return strconv.FormatInt(g.ID, 10)
	case strings.Contains(g.Name, "shared"):
		return fmt.Sprintf("%d shared", g.ID)
	case g.Name != "":
		return g.Name
	}
	return strconv.FormatInt(g.ID, 10)
}

// wrapTokens joins tokens with two spaces into lines of at most w cells.
func wrapTokens(tokens []string, indent string, w int) []string {
	var lines []string
	cur := indent
	for _, tok := range tokens {
		if lipgloss.Width(cur)+lipgloss.Width(tok)+2 > w && cur != indent {
			lines = append(lines, cur)
			cur = indent
		}
		if cur != indent {
			cur += "  "
		}
		cur += tok
	}
	if cur != indent {
		lines = append(lines, cur)
	}
	return lines
}

// replicasView renders the replicas pane: the same live query on this tab
// and another, side by side, by key, the differing rows highlighted.
func (m *Model) replicasView(t *tab, height int) string {
	st, w, p := *m.st, m.width, t.cl.cmp
	other := m.tabByID(p.other)
	otherName, otherURL := p.other, ""
	if other != nil {
		otherName, otherURL = other.snap.Name, other.snap.URL
	}
	d := p.diff
	head := st.TitleFocused.Render("Replicas") + " " + safeIn(&st, st.Value, p.sql)
	lines := []string{truncate(head, w)}
	sides := safe(&st, t.snap.Name) + st.Muted.Render(" ("+safe(&st, t.snap.URL)+")") + "  ⇄  " +
		safe(&st, otherName) + st.Muted.Render(" ("+safe(&st, otherURL)+")")
	lines = append(lines, "  "+truncate(sides, w-2))
	verdict := st.OK.Render(fmt.Sprintf("consistent: the %d rows match", d.Keys))
	if !d.Clean() {
		verdict = st.Err.Render(fmt.Sprintf("%d only on %s · %d only on %s · %d with other values", d.OnlyA, safe(&st, t.snap.Name),
			d.OnlyB, safe(&st, otherName), d.Differ)) + st.Muted.Render(fmt.Sprintf(" · %d keys", d.Keys))
	}
	if d.Evicted > 0 {
		verdict += st.Muted.Render(fmt.Sprintf(" · %d not compared (evicted by a row cap)", d.Evicted))
	}
	if p.err != "" {
		verdict = safeIn(&st, st.Warn, p.err)
	}
	if p.onlyDiffs {
		verdict += st.Muted.Render(" · only differing rows")
	}
	lines = append(lines, "  "+truncate(verdict, w-2))

	// Columns: the key, then each side's non-system columns.
	var cols []int
	for i, c := range d.Columns {
		if !strings.HasPrefix(c, "_") {
			cols = append(cols, i)
		}
	}
	keyW := 3 // as wide as the widest key shown, from "KEY" to 12 cells
	for _, r := range d.Rows {
		keyW = max(keyW, min(lipgloss.Width(safe(&st, r.Key)), 12))
	}
	sideW := max((w-keyW-5)/2, 8) // key, " │ ", side, "│ ", side
	cellW := max(sideW/max(len(cols), 1), 4)
	side := func(cells []Cell, differ []bool, missing string) string {
		if cells == nil {
			return within(st.Err, fit(missing, sideW))
		}
		var b strings.Builder
		for _, i := range cols {
			var txt string
			if i < len(cells) {
				txt = cellText(&st, cells[i])
			}
			c := fit(txt, cellW-1) + " "
			if i < len(differ) && differ[i] {
				c = within(st.Update, c)
			}
			b.WriteString(c)
		}
		return fit(b.String(), sideW)
	}
	var hdr strings.Builder
	for _, i := range cols {
		hdr.WriteString(fit(safe(&st, d.Columns[i]), cellW-1) + " ")
	}
	h := fit(hdr.String(), sideW)
	sep := st.Border.Render("│")
	lines = append(lines, st.Header.Render(fit(fit("KEY", keyW)+" │ "+h+"│ "+h, w)))
	for _, r := range d.Rows {
		k := fit(safe(&st, r.Key), keyW)
		a := side(r.A, r.Differ, "(not on this node yet)")
		b := side(r.B, r.Differ, "(not on this node yet)")
		switch r.Kind {
		case "only-a", "only-b":
			k = within(st.Err, k)
		case "values":
			k = within(st.Update, k)
		}
		lines = append(lines, k+" "+sep+" "+a+sep+" "+b)
	}
	if len(d.Rows) == 0 && p.err == "" {
		lines = append(lines, st.Muted.Render("  no rows"))
	}
	for len(lines) < height-1 {
		lines = append(lines, "")
	}
	k := m.clusterKeys
	pos := ""
	if d.Total > len(d.Rows) {
		pos = st.Muted.Render(fmt.Sprintf("rows %d–%d of %d  ", p.offset+1, p.offset+len(d.Rows), d.Total))
	}
	lines = append(lines[:height-1], "  "+pos+joinFit(bindHelps(st, k.OnlyDiffs, k.OtherTab, k.Down, k.Compare), st.HelpSep.Render(" • "), w-2-lipgloss.Width(pos)))
	return box(lines, w, height)
}

// tokenNodesLines are the Token view's lines about the token on every
// node of the cluster (none for a connection without Cluster).
func (m *Model) tokenNodesLines(t *tab) []string {
	if t.can.cluster == nil {
		return nil
	}
	st, w := *m.st, m.width
	title := st.TitleFocused.Render("Across nodes")
	info := t.cl.info
	if info == nil || len(info.Nodes) == 0 {
		hint := "A tries this token on all nodes of the cluster (the Cluster view, 4, does it on every poll)"
		if t.cl.polling {
			hint = "trying the token on every node…"
		}
		return []string{title + "  " + st.Muted.Render(truncate(hint, w-16))}
	}
	parts := []string{title + st.Muted.Render(" "+m.clusterAge(&t.cl, false)+", A again:")}
	for _, n := range info.Nodes {
		switch {
		case n.TokenOK:
			parts = append(parts, st.OK.Render(fmt.Sprintf("✓ node %d", n.ID)))
		case !n.Answered:
			parts = append(parts, safeIn(&st, st.Err, fmt.Sprintf("✗ node %d does not answer: %s", n.ID, n.ProbeErr)))
		case n.TokenErr != "":
			parts = append(parts, safeIn(&st, st.Err, fmt.Sprintf("✗ node %d refuses it: %s", n.ID, n.TokenErr)))
		default:
			parts = append(parts, st.Muted.Render(fmt.Sprintf("— node %d (no token)", n.ID)))
		}
	}
	return wrapTokens(parts, " ", w)
}

// plural is "1 node", "3 nodes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
