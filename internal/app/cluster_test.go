package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// clusterConn is what a live connection offers the Cluster view.
type clusterConn interface {
	ui.Conn
	ui.SQL
	ui.Cluster
}

// The adapter over a real three-node cluster: the poll names every node
// and group leader and follows a leader move; OpenNode opens another node
// with the same credentials under a unique name; CompareReplica sees an
// insert held back by the replication lag on the follower's side only,
// until the follower applies it.
func TestBackendCluster(t *testing.T) {
	cl := testkit.StartCluster(t, 3, "alice-pw", "admin-pw", kalamtest.WithReplicationLag(time.Hour))
	testkit.CreateTables(t, cl.Node(1), "messages")
	b := NewBackend(session.NewManager(), nil, nil)
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := b.Open(ctx, ui.LoginRequest{Name: "alice", URL: cl.Node(1).URL, Auth: "password", User: "alice", Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	cc, ok := c.(clusterConn)
	if !ok {
		t.Fatalf("a live connection (%T) does not offer ui.Cluster", c)
	}
	info, err := cc.PollCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// alice is a user: the health endpoint, and it says why.
	if info.Source != string(session.SourceHealth) || !strings.Contains(info.SourceNote, "dba") || len(info.Nodes) != 3 ||
		info.MetaLeader != 1 || len(info.Groups) != 1 || info.Groups[0].Name != "10 meta" {
		t.Fatalf("poll as alice: %+v", info)
	}
	for _, n := range info.Nodes {
		if !n.Answered || !n.TokenOK {
			t.Errorf("node %d: %+v", n.ID, n)
		}
	}
	if err := cl.MoveLeader(kalamtest.MetaGroup, 2); err != nil {
		t.Fatal(err)
	}
	if info, err = cc.PollCluster(ctx); err != nil || info.MetaLeader != 2 || len(info.Changes) != 1 || info.Groups[0].ChangedAt.IsZero() {
		t.Fatalf("after the move: %+v, %v", info, err)
	}
	if err := cl.MoveLeader(kalamtest.MetaGroup, 1); err != nil {
		t.Fatal(err)
	}

	// Node 2 opened by another spelling of its address is still node 2:
	// the view matches tabs to nodes by Node, not by the URL's text.
	node2 := strings.Replace(cl.Node(2).URL, "127.0.0.1", "localhost", 1)
	if node2 == cl.Node(2).URL {
		t.Fatalf("kalamtest node URL %q is not on 127.0.0.1", node2)
	}
	other, err := cc.OpenNode(ctx, node2, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if other.ID() != "alice#2" || other.Snapshot().URL != node2 {
		t.Fatalf("OpenNode: %s on %s", other.ID(), other.Snapshot().URL)
	}
	if got, want := other.Snapshot().Node, info.Nodes[1].Node; got == "" || got != want || info.Nodes[1].URL == node2 {
		t.Fatalf("the tab on %s has Node %q; the poll's node 2 (%s) has %q: want the same node", node2, got, info.Nodes[1].URL, want)
	}
	if c.Snapshot().Node != info.Nodes[0].Node || c.Snapshot().Node == info.Nodes[1].Node {
		t.Fatalf("the first tab's Node %q should be node 1's (%q) only", c.Snapshot().Node, info.Nodes[0].Node)
	}
	oc := other.(clusterConn)
	const sql = "SELECT * FROM app.messages"
	subA, err := cc.Subscribe(ctx, sql, ui.SubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	subB, err := oc.Subscribe(ctx, sql, ui.SubOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Query(ctx, "INSERT INTO app.messages (id, body) VALUES (7, 'held back')"); err != nil {
		t.Fatal(err)
	}
	compare := func() ui.ReplicaDiff {
		d, err := cc.CompareReplica(subA, other, subB, ui.ReplicaQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := testkit.Poll(t, "the insert on node 1's side only", compare, func(d ui.ReplicaDiff) bool { return d.OnlyA == 1 })
	if len(d.Rows) != 1 || d.Rows[0].Kind != "only-a" || d.Rows[0].B != nil || d.Rows[0].A[1].Text != "held back" {
		t.Fatalf("lagging diff: %+v", d)
	}
	cl.SetReplicationLag(0)
	testkit.Poll(t, "node 2 caught up", compare, func(d ui.ReplicaDiff) bool { return d.Clean() && d.Keys == 1 })
}
