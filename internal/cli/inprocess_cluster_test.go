package cli

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/ui"
)

// TestClusterViewInProcess runs the real program (teatest) on a real
// three-node cluster: the Cluster view shows a leader move made on the
// cluster, o opens a tab per node, and the replicas pane marks an insert
// the lagging follower has not applied yet, then clears it when the
// follower catches up.
func TestClusterViewInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: runs the full program against a cluster")
	}
	cl := testkit.StartCluster(t, 3, "alice-pw", "admin-pw")
	node1 := cl.Node(1)
	testkit.CreateTables(t, node1, "messages")
	for _, q := range []string{"INSERT INTO app.messages (id, body) VALUES (1, 'one')", "INSERT INTO app.messages (id, body) VALUES (2, 'two')"} {
		if _, err := node1.Exec("admin", q); err != nil {
			t.Fatal(err)
		}
	}
	d := startDashboard(t, nil, ui.LoginDefaults{URL: node1.URL, Auth: "password", User: "admin", Password: "admin-pw"}, 120, 36)
	d.key('4')
	d.scr.WaitFor(t, 15*time.Second, "Cluster kalamdb-cluster · 3 nodes", "from system.cluster_groups", "10 meta→1")

	if err := cl.MoveLeader(kalamtest.MetaGroup, 3); err != nil {
		t.Fatal(err)
	}
	d.scr.WaitFor(t, 15*time.Second, "10 meta→3 (term 2)", "group 10 meta: leader node 1 → node 3 (term 2)")

	d.key('o')
	d.scr.WaitFor(t, 15*time.Second, "node2 ●", "node3 ●")

	d.key('3')
	d.key('s')
	d.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	for _, r := range "SELECT * FROM app.messages" {
		d.key(r)
	}
	d.tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	d.scr.WaitFor(t, 15*time.Second, "SELECT * FROM app.messages  ready")
	d.key('4')
	d.key('d')
	d.scr.WaitFor(t, 15*time.Second, "Replicas SELECT * FROM app.messages", "consistent: the 2 rows match")

	// The followers hold the next insert back; node 1 leads admin's shard
	// and applies it at once.
	cl.SetReplicationLag(time.Hour)
	if _, err := node1.Exec("admin", "INSERT INTO app.messages (id, body) VALUES (3, 'held back')"); err != nil {
		t.Fatal(err)
	}
	d.scr.WaitFor(t, 15*time.Second, "1 only on admin@", "held back", "(not on this node yet)")
	cl.SetReplicationLag(0)
	d.scr.WaitFor(t, 15*time.Second, "consistent: the 3 rows match")

	d.quit(t)
}
