package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/theme"
)

func themeFor(name string, cur theme.Styles) theme.Styles {
	switch name {
	case "light":
		return theme.New(false)
	case "dark":
		return theme.New(true)
	case "none", "mono":
		return theme.NoColor()
	}
	return cur
}

// View renders the whole screen. It only formats state prepared by Update.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "kalamdash"
	if t := m.current(); t != nil && !m.loggingIn {
		// A title is a terminal control string itself: a BEL or ESC in the
		// name would end it early and run what follows.
		v.WindowTitle = safetext.Line(fmt.Sprintf("kalamdash — %s (%s)", t.snap.Name, t.snap.State))
	}
	return v
}

func (m *Model) render() string {
	w, h := m.width, m.height
	if m.quitting {
		return ""
	}
	if m.rc == nil {
		// m is View's own copy: an empty cache renders everything afresh.
		m.rc = newRenderCache()
	}
	t := m.current()
	switch {
	case w < minWidth || h < minHeight, !m.loggingIn && t == nil:
		k := [2]int{w, h}
		if v, ok := m.rc.small.get(k); ok {
			return v
		}
		v := box(nil, w, h)
		if w < minWidth || h < minHeight {
			msg := fmt.Sprintf("kalamdash needs at least %d×%d (now %d×%d): enlarge the terminal", minWidth, minHeight, w, h)
			v = box([]string{truncate(msg, w)}, w, h)
		} else if m.waiting != "" {
			return m.waitingView(w, h) // not cached: it follows the styles
		}
		m.rc.small.put(k, v)
		return v
	case m.loggingIn:
		return m.cachedLogin(w, h)
	}
	// Two bars, the body in h-4 lines, the status bar and the footer: the
	// same cells as box over all the lines, built from cached parts.
	k := frameKey{
		top:     m.cachedTopBar(),
		viewBar: m.cachedViewBar(t),
		status:  m.cachedStatus(t),
		footer:  m.cachedFooter(t),
		w:       w, h: h,
	}
	body, fitted := m.cachedBody(t)
	k.block = m.cachedBlock(body, fitted, h-4)
	if v, ok := m.rc.frame.get(k); ok {
		return v
	}
	v := strings.Join([]string{k.top, k.viewBar, k.block, k.status, k.footer}, "\n")
	m.rc.frame.put(k, v)
	return v
}

// waitingView is the screen of a dashboard without tabs that waits for
// its backend to open one (WithoutLogin): the waiting text, wrapped, and
// what the keys do meanwhile.
func (m *Model) waitingView(w, h int) string {
	lines := []string{m.st.App.Render(" kalamdash "), ""}
	for _, l := range strings.Split(lipgloss.Wrap(safe(m.st, m.waiting), clamp(w-4, 20, 100), " "), "\n") {
		lines = append(lines, "  "+l)
	}
	lines = append(lines, "", m.st.Muted.Render("  n opens a connection of your own · q quits"))
	return box(lines, w, h)
}

// tabLabel returns connection tab i's label, its name made safe.
func (m *Model) tabLabel(i int) string {
	t := m.tabs[i]
	dot := "●"
	if t.snap.State != "connected" {
		dot = "○"
	}
	return fmt.Sprintf("%d %s %s", i+1, safe(m.st, t.snap.Name), dot)
}

// tabRanges returns the x ranges of the connection tabs on row 0.
func (m *Model) tabRanges() [][2]int {
	x := lipgloss.Width(" kalamdash ")
	var out [][2]int
	for i := range m.tabs {
		w := lipgloss.Width(m.tabLabel(i)) + 2 // Tab padding
		out = append(out, [2]int{x, x + w})
		x += w
	}
	return out
}

func (m *Model) viewRanges() [][2]int {
	x := 0
	var out [][2]int
	for v := range numViews {
		w := lipgloss.Width(fmt.Sprintf("%d %s", v+1, viewNames[v])) + 2
		out = append(out, [2]int{x, x + w})
		x += w
	}
	return out
}

func (m *Model) topBar() string {
	s := m.st.App.Render(" kalamdash ")
	for i := range m.tabs {
		st := m.st.Tab
		if i == m.active {
			st = m.st.TabActive
		}
		s += within(st, m.tabLabel(i))
	}
	s += m.st.Muted.Render(" n new")
	right := ""
	if t := m.current(); t != nil && t.snap.Demo {
		right = m.st.BadgeInfo.Render("DEMO SERVER")
	}
	if t := m.current(); t != nil && t.reveal {
		right = m.st.BadgeErr.Render("SECRETS REVEALED") + " " + right
	}
	gap := m.width - lipgloss.Width(s) - lipgloss.Width(right)
	if gap < 1 {
		return fit(s, m.width)
	}
	return s + strings.Repeat(" ", gap) + right
}

// viewBar renders the view tabs and the token summary p.
func (m *Model) viewBar(t *tab, p summaryParts) string {
	s := ""
	for v := range numViews {
		label := fmt.Sprintf("%d %s", v+1, viewNames[v])
		if v == t.view {
			s += m.st.TabActive.Render(label)
		} else {
			s += m.st.Tab.Render(label)
		}
	}
	sum := renderSummary(*m.st, p, m.width-lipgloss.Width(s)-2)
	gap := m.width - lipgloss.Width(s) - lipgloss.Width(sum)
	if gap < 2 {
		return fit(s, m.width)
	}
	return s + strings.Repeat(" ", gap) + sum
}

// panes lays out the frames view: the list and the detail pane side by
// side or stacked. Their lines are exactly l.listW and l.detailW cells wide
// (their Views fit every line), so every line of the result is exactly
// m.width cells wide.
func (m *Model) panes(l layoutInfo, list, det string) string {
	if l.side {
		sepSt := m.st.Border
		sep := strings.TrimSuffix(strings.Repeat(sepSt.Render("│")+"\n", l.bodyH), "\n")
		listBlock := boxFitted(strings.Split(list, "\n"), l.listW, l.bodyH)
		detBlock := boxFitted(strings.Split(det, "\n"), l.detailW, l.bodyH)
		return joinH("", listBlock, sep, detBlock)
	}
	return list + "\n" + m.st.Border.Render(strings.Repeat("─", m.width)) + "\n" + det
}

// footer shows a notice, the palette, or the short help of the focused
// panel; noticeOn says whether the notice is still current.
func (m *Model) footer(t *tab, noticeOn bool) string {
	if m.paletteOn {
		m.palette.SetWidth(max(m.width-4, 10))
		return fit(m.palette.View(), m.width)
	}
	if noticeOn {
		st := m.st.Info
		if m.notice.err {
			st = m.st.Err
		}
		return fit(safeIn(m.st, st, m.notice.text), m.width)
	}
	// A connection that is down says why, persistently, in place of the
	// short help (? still shows the full help).
	if s := t.snap; s.LastError != "" && s.State != "connected" && s.State != "" {
		why := safeIn(m.st, m.st.Err, s.LastError)
		if s.Hint != "" {
			why += safeIn(m.st, m.st.Muted, " — "+s.Hint)
		}
		return fit(why, m.width)
	}
	m.help.SetWidth(m.width)
	return fit(m.help.ShortHelpView(m.shortHelp(t)), m.width)
}

// shortHelp returns the footer bindings for the focused panel (help
// leaves out the disabled ones: what the connection lacks).
func (m *Model) shortHelp(t *tab) []key.Binding {
	g := t.can.globalKeys(m.keys)
	switch t.view {
	case viewFrames:
		if t.comp.open {
			c := t.comp.keys
			return []key.Binding{c.Send, c.Template, c.Clear, c.Close,
				key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "new line"))}
		}
		if t.insp.editing {
			return []key.Binding{
				key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
				key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
				key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "text/regex")),
			}
		}
		if t.focus == 1 {
			d := t.det.keys
			return []key.Binding{d.Mode, d.Down, d.Back, g.Compression, g.Help, g.Quit}
		}
		k := t.insp.keys
		return []key.Binding{g.Help, g.ViewToken, k.Filter, k.Pause, k.Direction, k.Class, k.Detail, k.Compose, k.Resend, k.Answer, g.Compression, k.Copy, k.Export, g.Palette, g.Quit}
	case viewToken:
		if t.swap.open {
			sk := t.swap.keys
			return []key.Binding{sk.Swap, sk.SwapOnly, sk.Candidate, sk.Once, sk.Close}
		}
		k := t.can.tokenKeys(m.tokenKeys)
		sk := t.can.steerKeys(m.steerKeys)
		return []key.Binding{g.Help, g.ViewFrames, k.Refresh, k.UseRefresh, k.Policy, k.Longer, k.Swap, k.Expire, k.Drop, g.Compression,
			sk.CompressNext, sk.Drop, sk.Stall, sk.Latency, g.Quit}
	case viewData:
		if t.data.editing {
			return []key.Binding{
				key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run")),
				key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
				key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "history")),
			}
		}
		if t.data.filtering {
			return []key.Binding{
				key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
				key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
			}
		}
		k := t.data.keys
		return []key.Binding{g.Help, k.SQL, k.Subscribe, k.NextSub, k.Verify, k.Repair, k.Filter, k.Order, k.Oldest, k.Newest, g.Quit}
	case viewCluster:
		k := t.can.clusterKeys(m.clusterKeys)
		if t.cl.replicas {
			return []key.Binding{g.Help, k.Compare, k.OnlyDiffs, k.OtherTab, k.Down, k.Up, k.PageDown, g.NextTab, g.Quit}
		}
		return []key.Binding{g.Help, k.Poll, k.OpenAll, k.Compare, g.NextTab, g.ViewData, g.Quit}
	}
	return []key.Binding{g.Help, g.Quit}
}

// helpGroup is one titled group of bindings in the full help.
type helpGroup struct {
	title    string
	bindings []key.Binding
}

// fullHelp renders the bindings, grouped, for ? . The focused view's group
// comes right after the global one (then, on a watched application, its
// steering keys). When the terminal is too narrow for
// every group with whole descriptions, the others are left out from the
// last (and the title says so), so what the user is looking at is readable
// rather than every description cut to a stub.
func (m *Model) fullHelp(t *tab, height int) string {
	g := t.can.globalKeys(m.keys)
	k := t.insp.keys
	d := t.det.keys
	tk := t.can.tokenKeys(m.tokenKeys)
	dk := t.data.keys
	sk := t.can.steerKeys(m.steerKeys)
	ck := t.can.clusterKeys(m.clusterKeys)
	global := helpGroup{"global", []key.Binding{g.ViewFrames, g.ViewToken, g.ViewData, g.ViewCluster, g.NextFocus, g.NextTab, g.PrevTab, g.NewConn, g.Palette, g.Compression, g.Reveal, g.Help, g.Quit}}
	frames := helpGroup{"frames", []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Pause, k.Filter, k.ClearFilter, k.Direction, k.Class, k.Detail, k.Copy, k.Export, k.Compose, k.Resend, k.Answer}}
	detail := helpGroup{"detail", []key.Binding{d.Mode, d.Up, d.Down, d.Back}}
	token := helpGroup{"token", []key.Binding{tk.Refresh, tk.UseRefresh, tk.Policy, tk.Longer, tk.Reconnect, tk.Swap, tk.ClearSwap, tk.Expire, tk.Drop, ck.CheckToken}}
	cluster := helpGroup{"cluster", []key.Binding{ck.Poll, ck.OpenAll, ck.Compare, ck.OnlyDiffs, ck.OtherTab, ck.Down, ck.Up}}
	data := helpGroup{"data/sql", []key.Binding{dk.SQL, dk.Subscribe, dk.Unsubscribe, dk.NextSub, dk.Frames, dk.Up, dk.Down, dk.PageUp, dk.PageDown, dk.Oldest, dk.Newest,
		dk.Filter, dk.Order, dk.Verify, dk.Repair, dk.CheckLive, dk.Back}}
	var groups []helpGroup
	switch {
	case t.view == viewToken:
		groups = []helpGroup{global, token, frames, detail, data, cluster}
	case t.view == viewData:
		groups = []helpGroup{global, data, frames, detail, token, cluster}
	case t.view == viewCluster:
		groups = []helpGroup{global, cluster, frames, detail, token, data}
	case t.focus == 1:
		groups = []helpGroup{global, detail, frames, token, data, cluster}
	default:
		groups = []helpGroup{global, frames, detail, token, data, cluster}
	}
	keep := 2 // the global group and the focused view's, whatever the size
	if t.can.steering != nil {
		// A watched application: its steering keys come right after the
		// focused view's, in every view, and are always kept.
		steer := helpGroup{"app (kalamdash proxy)", []key.Binding{sk.CompressNext, sk.Drop, sk.Stall, sk.Latency}}
		groups = slices.Insert(groups, 2, steer)
		keep = 3
	}
	title := m.st.TitleFocused.Render("Help") + m.st.Muted.Render(" (any key closes) · filter: / then text, ctrl+r regex · subscribe options: batch=N last=N (0: only new changes)")
	colH := max(height-1, 1)
	// As many groups as fit with whole descriptions, the kept ones always
	// (cut to fit only if even those do not).
	n := len(groups)
	cols, natural := m.helpColumns(groups, colH)
	for n > keep && len(cols)*(natural+1)-1 > m.width {
		n--
		cols, natural = m.helpColumns(groups[:n], colH)
	}
	if n < len(groups) {
		title = m.st.TitleFocused.Render("Help") + m.st.Muted.Render(" (any key closes) · this view's keys; a wider terminal shows every view's")
	}
	colW := clamp(min(natural, (m.width-len(cols)+1)/max(len(cols), 1)), 10, 40)
	blocks := make([]string, len(cols))
	for i, c := range cols {
		blocks[i] = box(c, colW, colH)
	}
	return fit(title, m.width) + "\n" + joinH(" ", blocks...)
}

// helpColumns flows groups down columns of colH lines, never leaving a
// group title alone at the bottom of a column, and returns them with the
// width of the widest line (every description whole).
func (m *Model) helpColumns(groups []helpGroup, colH int) (cols [][]string, natural int) {
	var cur []string
	push := func(l string) {
		if len(cur) == colH {
			cols, cur = append(cols, cur), nil
		}
		cur = append(cur, l)
		natural = max(natural, ansi.StringWidth(l))
	}
	for _, grp := range groups {
		if !slices.ContainsFunc(grp.bindings, key.Binding.Enabled) {
			continue // a read-only connection's token keys, say: no title alone
		}
		if len(cur) > 0 && len(cur)+3 > colH {
			cols, cur = append(cols, cur), nil
		}
		if len(cur) > 0 {
			push("")
		}
		push(m.st.TitleFocused.Render(grp.title))
		for _, b := range grp.bindings {
			if b.Enabled() {
				h := b.Help()
				push(m.st.HelpKey.Render(fit(h.Key, 9)) + m.st.HelpDesc.Render(h.Desc))
			}
		}
	}
	if len(cur) > 0 {
		cols = append(cols, cur)
	}
	return cols, natural
}
