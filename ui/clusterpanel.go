package ui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// This file holds the Cluster view's state and what its keys do: polling
// the cluster while the view is shown, opening a connection to every
// node, and comparing one live query on two nodes (the replicas pane).
// The view itself is drawn in clusterview.go.

// clusterPollEvery is how often the Cluster view asks again while it is
// shown: a leader move shows within it, and a 3-node cluster costs a
// handful of small requests per poll.
const clusterPollEvery = 2 * time.Second

// clusterMarkFor is how long a leader move or node change stays marked.
const clusterMarkFor = 30 * time.Second

// clusterPanel is a tab's Cluster view state.
type clusterPanel struct {
	info     *ClusterInfo // the last poll, nil before any
	err      string       // the last poll failed outright
	polling  bool
	polledAt time.Time // when the last poll started
	replicas bool      // the replicas pane is shown instead of the nodes
	cmp      *replicaPair
}

// replicaPair is a live query compared between this tab and another.
type replicaPair struct {
	other     string // the other tab's connection ID
	sub       string // this tab's subscription
	sql       string
	diff      ReplicaDiff
	err       string
	offset    int
	rows      int // rows the pane shows (set by the view's layout)
	onlyDiffs bool
}

// ClusterKeyMap holds the Cluster view bindings.
type ClusterKeyMap struct {
	OpenAll, Compare, Poll, OnlyDiffs, OtherTab key.Binding
	Up, Down, PageUp, PageDown                  key.Binding
	CheckToken                                  key.Binding // in the Token view
}

// DefaultClusterKeyMap returns the Cluster view bindings.
func DefaultClusterKeyMap() ClusterKeyMap {
	return ClusterKeyMap{
		OpenAll:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open every node")),
		Compare:    key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "replicas side by side")),
		Poll:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "poll now")),
		OnlyDiffs:  key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "only differing rows")),
		OtherTab:   key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "compare with next tab")),
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:     key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		CheckToken: key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "try token on all nodes")),
	}
}

// clusterPolledMsg reports a PollCluster.
type clusterPolledMsg struct {
	connID string
	info   ClusterInfo
	err    error
}

// nodeOpenedMsg reports a connection opened to another node.
type nodeOpenedMsg struct {
	node int64
	conn Conn
	err  error
}

func pollClusterCmd(id string, c Cluster) tea.Cmd {
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		info, err := c.PollCluster(ctx)
		return clusterPolledMsg{connID: id, info: info, err: err}
	})
}

func openNodeCmd(c Cluster, node int64, url, name string) tea.Cmd {
	return background(actionTimeout, func(ctx context.Context) tea.Msg {
		conn, err := c.OpenNode(ctx, url, name)
		return nodeOpenedMsg{node: node, conn: conn, err: err}
	})
}

// clusterPoll starts a poll of the current tab's cluster when its Cluster
// view is shown and the last poll is older than clusterPollEvery (or
// now, when force): the tick calls it every second.
func (m *Model) clusterPoll(force bool) tea.Cmd {
	t := m.current()
	if t == nil || t.can.cluster == nil || t.cl.polling || (t.view != viewCluster && !force) {
		return nil
	}
	now := m.now()
	if !force && !t.cl.polledAt.IsZero() && now.Sub(t.cl.polledAt) < clusterPollEvery {
		return nil
	}
	t.cl.polling, t.cl.polledAt = true, now
	return pollClusterCmd(t.conn.ID(), t.can.cluster)
}

func (m Model) handleClusterPolled(msg clusterPolledMsg) Model {
	t := m.tabByID(msg.connID)
	if t == nil {
		return m
	}
	t.cl.polling = false
	if msg.err != nil {
		t.cl.err = msg.err.Error()
		return m
	}
	info := msg.info
	t.cl.info, t.cl.err = &info, ""
	return m
}

// clusterKey handles a key of the Cluster view.
func (m *Model) clusterKey(t *tab, msg tea.KeyPressMsg) tea.Cmd {
	k := t.can.clusterKeys(m.clusterKeys)
	if what, ok := pressedDisabled(msg, k.OpenAll, k.Compare, k.Poll, k.OnlyDiffs, k.OtherTab); ok {
		m.unavailable(what, false)
		return nil
	}
	if t.can.cluster == nil {
		return nil
	}
	switch {
	case key.Matches(msg, k.Poll):
		return m.clusterPoll(true)
	case key.Matches(msg, k.OpenAll):
		return m.openEveryNode(t)
	case key.Matches(msg, k.Compare):
		if t.cl.replicas {
			t.cl.replicas = false
			return nil
		}
		return m.startCompare(t, "")
	case t.cl.replicas && t.cl.cmp != nil:
		return m.replicasKey(t, msg)
	}
	return nil
}

// replicasKey handles the keys of the replicas pane.
func (m *Model) replicasKey(t *tab, msg tea.KeyPressMsg) tea.Cmd {
	k, p := m.clusterKeys, t.cl.cmp
	page := max(p.rows-1, 1)
	switch {
	case key.Matches(msg, k.OnlyDiffs):
		p.onlyDiffs, p.offset = !p.onlyDiffs, 0
	case key.Matches(msg, k.OtherTab):
		return m.startCompare(t, p.other)
	case key.Matches(msg, k.Up):
		p.offset--
	case key.Matches(msg, k.Down):
		p.offset++
	case key.Matches(msg, k.PageUp):
		p.offset -= page
	case key.Matches(msg, k.PageDown):
		p.offset += page
	default:
		return nil
	}
	p.offset = clamp(p.offset, 0, max(p.diff.Total-p.rows, 0))
	m.compareReplicas(t)
	return nil
}

// sameNode reports whether two Node identities (Snapshot.Node,
// ClusterNode.Node) are the same node; an unknown one is no node.
func sameNode(a, b string) bool { return a != "" && a == b }

// tabsOn returns the tabs whose connection is on the node identified by
// node.
func (m *Model) tabsOn(node string) []int {
	var out []int
	for i, t := range m.tabs {
		if sameNode(t.snap.Node, node) {
			out = append(out, i)
		}
	}
	return out
}

// openEveryNode opens a connection to each node no tab is on yet, with
// the current tab's credentials.
func (m *Model) openEveryNode(t *tab) tea.Cmd {
	if t.cl.info == nil || len(t.cl.info.Nodes) == 0 {
		m.say(true, "the cluster's nodes are not known yet: wait for the first poll (r polls now)")
		return nil
	}
	var cmds []tea.Cmd
	for _, n := range t.cl.info.Nodes {
		if len(m.tabsOn(n.Node)) > 0 {
			continue
		}
		cmds = append(cmds, openNodeCmd(t.can.cluster, n.ID, n.URL, fmt.Sprintf("node%d", n.ID)))
	}
	if len(cmds) == 0 {
		m.say(false, "every node already has a tab")
		return nil
	}
	m.say(false, "opening %d connections, one per node, with this tab's credentials…", len(cmds))
	return tea.Batch(cmds...)
}

func (m Model) handleNodeOpened(msg nodeOpenedMsg) Model {
	if msg.err != nil {
		m.say(true, "opening node %d failed: %v", msg.node, msg.err)
		return m
	}
	m.addTab(msg.conn, "")
	m.relayout()
	m.say(false, "node %d opened as tab %d (] switches to it)", msg.node, len(m.tabs))
	return m
}

// startCompare compares the live query selected in the Data view with the
// same query on the next tab after the one named after (on another node),
// subscribing it there when it is not.
func (m *Model) startCompare(t *tab, after string) tea.Cmd {
	if len(t.snap.Subs) == 0 {
		m.say(true, "no live query to compare: subscribe to one first (3, then s)")
		return nil
	}
	sub := t.snap.Subs[clamp(t.data.sel, 0, len(t.snap.Subs)-1)]
	other := m.peerTab(t, after)
	if other == nil {
		m.say(true, "no tab on another node to compare with: o opens a connection to every node")
		return nil
	}
	p := &replicaPair{other: other.conn.ID(), sub: sub.ID, sql: sub.SQL}
	if t.cl.cmp != nil && t.cl.cmp.sub == sub.ID {
		p.onlyDiffs = t.cl.cmp.onlyDiffs
	}
	t.cl.cmp, t.cl.replicas = p, true
	m.compareReplicas(t)
	if _, ok := subWithSQL(other.snap.Subs, sub.SQL); ok {
		return nil
	}
	q := other.can.sql
	if q == nil {
		p.err = "the other tab cannot subscribe (read-only)"
		return nil
	}
	m.say(false, "subscribing %s to the same query", other.snap.Name)
	return subscribeCmd(other.conn.ID(), q, sub.SQL, SubOptions{})
}

// peerTab returns the first tab after the one with ID after (or after t)
// whose connection is on another node than t's.
func (m *Model) peerTab(t *tab, after string) *tab {
	start := 0
	for i, x := range m.tabs {
		if (after == "" && x == t) || (after != "" && x.conn.ID() == after) {
			start = i
		}
	}
	for j := 1; j <= len(m.tabs); j++ {
		x := m.tabs[(start+j)%len(m.tabs)]
		if x != t && !sameNode(x.snap.Node, t.snap.Node) {
			return x
		}
	}
	return nil
}

// subWithSQL finds a subscription running sql that has not ended.
func subWithSQL(subs []Sub, sql string) (string, bool) {
	for _, s := range subs {
		if s.SQL == sql && s.Status != "error" && s.Status != "closed" && s.Status != "failed" {
			return s.ID, true
		}
	}
	return "", false
}

// compareReplicas refreshes t's replica comparison from both tabs' kept
// rows (no network).
func (m *Model) compareReplicas(t *tab) {
	p := t.cl.cmp
	if p == nil || t.can.cluster == nil {
		return
	}
	other := m.tabByID(p.other)
	if other == nil {
		p.err = "the other tab was closed: t compares with the next one"
		return
	}
	otherSub, ok := subWithSQL(other.snap.Subs, p.sql)
	if !ok {
		p.err = "waiting for " + other.snap.Name + " to subscribe…"
		return
	}
	p.rows = max(m.layout().bodyH-5, 1)
	d, err := t.can.cluster.CompareReplica(p.sub, other.conn, otherSub, ReplicaQuery{Offset: p.offset, Limit: p.rows, OnlyDiffs: p.onlyDiffs})
	if err != nil {
		p.err = err.Error()
		return
	}
	p.diff, p.err = d, ""
	if p.offset > 0 && p.offset >= d.Total {
		p.offset = max(d.Total-p.rows, 0)
	}
}

// refreshReplicas re-compares the active tab's replica pair when its
// replicas pane is on screen and the change concerns one of its two
// connections (changed holds connection ids; nil means any, as on the
// once-a-second tick). A comparison copies and sorts both tables under both
// connections' locks, so hidden panes and unrelated tabs are left until they
// are shown again.
func (m *Model) refreshReplicas(changed map[string]bool) {
	t := m.current()
	if t == nil || t.view != viewCluster || !t.cl.replicas || t.cl.cmp == nil {
		return
	}
	if changed != nil && !changed[t.conn.ID()] && !changed[t.cl.cmp.other] {
		return
	}
	m.compareReplicas(t)
}
