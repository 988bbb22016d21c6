package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/kalamdash/kalamdash/theme"
)

// clusterShown returns a logged-in model showing the Cluster view after
// its first poll.
func clusterShown(t *testing.T, w, h int) (Model, *stubBackend, *testClock) {
	t.Helper()
	m, b, clk := loggedIn(t, w, h)
	m = drive(m, keyPress("4"))
	if m.current().view != viewCluster {
		t.Fatalf("4 did not open the Cluster view:\n%s", screen(m))
	}
	return m, b, clk
}

// The Cluster view lists the nodes with role, status, applied index, lag,
// the groups they lead, the token check and the tab on each, where the
// leaders come from, and how old the poll is.
func TestClusterViewShowsTheNodes(t *testing.T) {
	m, _, clk := clusterShown(t, 120, 36)
	requireContains(t, m, "4 Cluster", "Cluster kalamdb-cluster · 3 nodes · as of just now", "from system.cluster_groups",
		"1 ★ •  leader   active", "1200", "10/10", "http://127.0.0.1:38081", "10 meta→1", "200 shared→1", "Changes 0")
	// Tab 1 is on node 1.
	for _, l := range strings.Split(screen(m), "\n") {
		if strings.HasPrefix(l, " 1 ★") && !strings.Contains(l, "✓     1 ") {
			t.Errorf("node 1's row does not show the token check and tab 1: %q", l)
		}
	}
	clk.advance(time.Second)
	m = drive(m, tickMsg(clk.t)) // too soon to poll again
	requireContains(t, m, "as of 1s ago")
	requireFits(t, "cluster view", m.View().Content, 120, 36)
	m = drive(m, keyPress("?"))
	requireContains(t, m, "4        cluster", "o        open every node", "d        replicas side by side")
}

// A leader move shows on the next poll: the group's new leader marked,
// the change listed, and the meta leader's star moved; a stopped node
// shows as unreachable with its error.
func TestClusterViewFollowsALeaderMoveAndAStoppedNode(t *testing.T) {
	m, b, clk := clusterShown(t, 120, 36)
	b.cluster.moveLeader(3)
	b.cluster.down[2] = "connection refused"
	clk.advance(clusterPollEvery)
	m = drive(m, tickMsg(clk.t))
	requireContains(t, m, "10 meta→3 (term 2)", "Changes 1", "group 10 meta: leader node 1 → node 3 (term 2)",
		"3 ★    leader", "unreachable", "✗ node 2 does not answer: connection refused")
	// The mark fades: half a minute later the group is drawn plainly.
	clk.advance(clusterMarkFor)
	m = drive(m, tickMsg(clk.t))
	requireContains(t, m, "10 meta→3  100→1")
}

// Tabs are matched to nodes by the backend's Node identity, not by the
// text of their URLs: a tab whose URL spells node 1 another way is on
// node 1 (its TABS cell, and o opens nodes 2 and 3 only); a tab without
// an identity (a recording) is on no node.
func TestClusterTabsMatchNodesByIdentity(t *testing.T) {
	m, b, clk := clusterShown(t, 120, 36)
	c := b.conns[0]
	c.snap.URL = "http://localhost:38080" // its Node stays node 1's
	clk.advance(clusterPollEvery)
	m = drive(m, tickMsg(clk.t))
	if m.current().snap.URL != c.snap.URL {
		t.Fatalf("the tab did not take its new snapshot: %s", m.current().snap.URL)
	}
	node1Tabs := func(m Model) string {
		for _, l := range strings.Split(screen(m), "\n") {
			if strings.HasPrefix(l, " 1 ★") {
				return l
			}
		}
		t.Fatalf("no node 1 row:\n%s", screen(m))
		return ""
	}
	if l := node1Tabs(m); !strings.Contains(l, "✓     1 ") {
		t.Errorf("node 1's row does not count the tab on localhost:38080: %q", l)
	}
	c.snap.Node = ""
	clk.advance(clusterPollEvery)
	m = drive(m, tickMsg(clk.t))
	if l := node1Tabs(m); strings.Contains(l, "✓     1 ") {
		t.Errorf("a tab without a node identity is counted on node 1: %q", l)
	}
	c.snap.Node = "http://127.0.0.1:38080"
	clk.advance(clusterPollEvery)
	m = drive(m, tickMsg(clk.t))
	m = drive(m, keyPress("o"))
	if len(m.tabs) != 3 {
		t.Fatalf("o opened %d tabs in all, want nodes 2 and 3 only (3 tabs)", len(m.tabs))
	}
	requireContains(t, m, "2 node2", "3 node3")
}

// o opens a connection to every node no tab is on, named by node; the
// TABS column then shows one tab per node.
func TestClusterOpenEveryNode(t *testing.T) {
	m, b, _ := clusterShown(t, 120, 36)
	m = drive(m, keyPress("o"))
	if len(m.tabs) != 3 || len(b.conns) != 3 {
		t.Fatalf("o opened %d tabs (%d connections), want 3", len(m.tabs), len(b.conns))
	}
	requireContains(t, m, "2 node2", "3 node3", "node 3 opened as tab 3")
	for i, l := range strings.Split(screen(m), "\n") {
		for node, tab := range map[string]string{" 2 ": "✓     2 ", " 3 ": "✓     3 "} {
			if strings.HasPrefix(l, node) && !strings.Contains(l, tab) {
				t.Errorf("line %d: node row %q without its tab", i, l)
			}
		}
	}
	m = drive(m, keyPress("o"))
	requireContains(t, m, "every node already has a tab")
}

// d compares the Data view's selected live query with the same query on
// a tab on another node, subscribing it there first; rows missing on one
// side are marked until both agree.
func TestClusterReplicasSideBySide(t *testing.T) {
	m, b, _ := clusterShown(t, 120, 36)
	m = drive(m, keyPress("d"))
	requireContains(t, m, "no tab on another node")
	m = drive(m, keyPress("o"), keyPress("d"))
	requireContains(t, m, "Replicas SELECT * FROM demo.events", "⇄  node2", "5 only on admin@127.0.0.1:38080 · 0 only on node2", "(not on this node yet)")
	other := b.conns[1]
	if len(other.snap.Subs) != 1 || other.snap.Subs[0].SQL != "SELECT * FROM demo.events" {
		t.Fatalf("the other tab was not subscribed to the same query: %+v", other.snap.Subs)
	}
	// The other node catches up but one value differs.
	rows := append([]Row(nil), b.conns[0].snap.Subs[0].Rows...)
	rows[2] = Row{Key: "103", Values: texts("103", "scroll", `{"x":80,"y":3}`, "2040")}
	other.snap.Subs[0].Rows = rows
	m = drive(m, eventsMsg{{ConnID: other.id, Kind: EventRows}})
	requireContains(t, m, "0 only on admin@127.0.0.1:38080 · 0 only on node2 · 1 with other values")
	m = drive(m, keyPress("f"))
	requireContains(t, m, "only differing rows", "103", "scroll")
	requireNotContains(t, m, "purchase")
	other.snap.Subs[0].Rows = b.conns[0].snap.Subs[0].Rows
	m = drive(m, eventsMsg{{ConnID: other.id, Kind: EventRows}}, keyPress("f"))
	requireContains(t, m, "consistent: the 5 rows match")
	requireFits(t, "replicas", m.View().Content, 120, 36)
	m = drive(m, keyPress("d"))
	requireContains(t, m, "Raft group leaders")
}

// A replica comparison copies both tables, so it is redone only for the
// active tab's visible replicas pane, and only when rows of one of its two
// connections changed (or on the tick).
func TestClusterReplicasRefreshOnlyWhenShown(t *testing.T) {
	m, b, _ := clusterShown(t, 120, 36)
	m = drive(m, keyPress("o"), keyPress("d"))
	requireContains(t, m, "Replicas SELECT * FROM demo.events")
	a, other := b.conns[0], b.conns[1]
	n := a.compares
	m = drive(m, eventsMsg{{ConnID: "elsewhere", Kind: EventRows}}, eventsMsg{{ConnID: other.id, Kind: EventFrames}})
	if a.compares != n {
		t.Fatalf("events not about the pair's rows re-compared %d times", a.compares-n)
	}
	m = drive(m, eventsMsg{{ConnID: other.id, Kind: EventRows}})
	if a.compares != n+1 {
		t.Fatalf("a row event of the other side re-compared %d times, want 1", a.compares-n)
	}
	m = drive(m, keyPress("3"), eventsMsg{{ConnID: other.id, Kind: EventRows}}, tickMsg(time.Now()))
	if a.compares != n+1 {
		t.Fatalf("the hidden pane was re-compared %d times", a.compares-n-1)
	}
	m = drive(m, keyPress("4"))
	if a.compares != n+2 {
		t.Fatalf("showing the pane again re-compared %d times, want 1", a.compares-n-1)
	}
	drive(m, tickMsg(time.Now()))
	if a.compares != n+3 {
		t.Fatalf("the tick re-compared the shown pane %d times, want 1", a.compares-n-2)
	}
}

// The Token view tries the token on every node on A, and shows it.
func TestTokenViewAcrossNodes(t *testing.T) {
	m, b, _ := loggedIn(t, 120, 36)
	m = drive(m, keyPress("2"))
	requireContains(t, m, "Across nodes", "A tries this token on all nodes")
	b.cluster.down[3] = "connection refused"
	m = drive(m, keyPress("A"))
	requireContains(t, m, "✓ node 1", "✓ node 2", "✗ node 3 does not answer: connection refused")
}

// Node ids, addresses, hostnames and errors from the server are drawn
// inert, and the view fits at the smallest sizes.
func TestClusterViewHostileAndSmall(t *testing.T) {
	m, b, clk := loggedIn(t, 80, 24)
	m.setStyles(theme.New(true))
	b.cluster.down[2] = hostileEscapes
	b.cluster.changes = []ClusterChange{{Time: clk.t, Text: "group " + hostileEscapes}}
	m = drive(m, keyPress("4"))
	checkScreen(t, "cluster view", m.View(), 80, 24, true)
	if plain := ansi.Strip(m.View().Content); !strings.Contains(plain, `A␛]0;PWNED-TITLE\x07B`) {
		t.Errorf("the hostile error is not shown as markers:\n%s", plain)
	}
	m = drive(m, keyPress("o"), keyPress("d"))
	checkScreen(t, "replicas view", m.View(), 80, 24, true)
	m = drive(m, keyPress("2"))
	checkScreen(t, "token view across nodes", m.View(), 80, 24, true)
}

// A connection that cannot ask about its cluster (a recording) says so.
func TestClusterViewReadOnly(t *testing.T) {
	m, b, _ := newTestModel(t, 100, 30)
	b.readOnly = true
	m = drive(m, keyPress("enter"), keyPress("4"))
	requireContains(t, m, "cannot ask its server about the cluster")
	m = drive(m, keyPress("o"))
	requireContains(t, m, "open every node is not available: this connection is read-only")
}
