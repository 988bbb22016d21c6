package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// A dba reads system.cluster and system.cluster_groups from the node it
// is connected to; a user is refused (dba and system roles only), while
// the localhost-only health endpoint answers without credentials
// (jamals86/KalamDB: backend/crates/kalamdb-views/src/cluster.rs,
// backend/crates/kalamdb-session/src/permissions.rs,
// backend/crates/kalamdb-api/src/http/cluster/health.rs).
func TestClusterViewsAndHealth(t *testing.T) {
	cl := testkit.StartCluster(t, 3, alicePW, adminPW)
	node2 := cl.Node(2)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	admin := lazyAs(t, node2.URL, "admin", adminPW)
	nodes, err := admin.ClusterNodes(ctx)
	if err != nil {
		t.Fatalf("ClusterNodes: %v", err)
	}
	if len(nodes) != 3 {
		t.Fatalf("system.cluster has %d rows, want 3: %+v", len(nodes), nodes)
	}
	for _, n := range nodes {
		if n.IsSelf != (n.NodeID == 2) || n.IsLeader != (n.NodeID == 1) || n.APIAddr != cl.Node(int(n.NodeID)).URL {
			t.Errorf("node %d as node 2 sees it: %+v", n.NodeID, n)
		}
	}
	groups, err := admin.ClusterGroups(ctx)
	if err != nil {
		t.Fatalf("ClusterGroups: %v", err)
	}
	if len(groups) != 10 {
		t.Fatalf("system.cluster_groups has %d rows, want 10 (meta, 8 user shards, shared)", len(groups))
	}
	if err := cl.MoveLeader(kalamtest.MetaGroup, 3); err != nil {
		t.Fatal(err)
	}
	groups, err = admin.ClusterGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		want := int64(1)
		if g.GroupID == kalamtest.MetaGroup {
			want = 3
		}
		if g.CurrentLeader == nil || *g.CurrentLeader != want {
			t.Errorf("group %d (%s): leader %v, want %d", g.GroupID, g.GroupType, g.CurrentLeader, want)
		}
	}

	alice := lazyAs(t, node2.URL, "alice", alicePW)
	if _, err := alice.ClusterNodes(ctx); !client.IsSQLError(err) {
		t.Errorf("a user reading system.cluster: %v, want a SQL refusal", err)
	}
	h, err := alice.ClusterHealth(ctx)
	if err != nil {
		t.Fatalf("ClusterHealth: %v", err)
	}
	if h.NodeID != 2 || h.IsLeader || len(h.Nodes) != 3 || h.Status != "healthy" {
		t.Errorf("health of node 2 after moving the meta leader to 3: %+v", h)
	}
	h3, err := alice.ClusterHealthAt(ctx, cl.Node(3).URL)
	if err != nil || h3.NodeID != 3 || !h3.IsLeader {
		t.Errorf("health of node 3 asked through node 2's client: %+v, %v", h3, err)
	}
}

// A token issued by one node works on every node (shared secret and users
// table); a stopped node does not answer, and MeAt says so.
func TestMeAtAnotherNode(t *testing.T) {
	cl := testkit.StartCluster(t, 3, alicePW, adminPW)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice := lazyAs(t, cl.Node(1).URL, "alice", alicePW)
	for _, n := range cl.Nodes() {
		me, err := alice.MeAt(ctx, n.URL)
		if err != nil || me.User.ID != "alice" {
			t.Errorf("me at %s: %+v, %v", n.URL, me, err)
		}
	}
	if err := cl.StopNode(3); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.MeAt(ctx, cl.Node(3).URL); !client.IsUnreachable(err) {
		t.Errorf("me at a stopped node: %v, want unreachable", err)
	}
	if _, err := alice.ClusterHealthAt(ctx, "not a url"); err == nil {
		t.Error("a node URL without a scheme was accepted")
	}
}

// lazyAs is lazyClient logged in as user.
func lazyAs(t *testing.T, url, user, pw string) *client.Client {
	t.Helper()
	c, err := client.Connect(ctxT(t), url, client.WithLazyConnect(true), client.WithAuth(client.Basic(user, pw)))
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
