package session

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

const (
	clusterAlicePW = "alice-cluster-pw"
	clusterAdminPW = "admin-cluster-pw"
)

// clusterEnv is an n-node kalamtest cluster and a real-clock manager.
func clusterEnv(t *testing.T, n int, opts ...kalamtest.Option) (*kalamtest.Cluster, *Manager) {
	t.Helper()
	cl := testkit.StartCluster(t, n, clusterAlicePW, clusterAdminPW, opts...)
	m := NewManager(WithPumpInterval(5 * time.Millisecond))
	t.Cleanup(func() { _ = m.CloseAll() })
	return cl, m
}

// openOn opens a password connection named name as user on url.
func openOn(t *testing.T, m *Manager, name, url, user, pw string) *Conn {
	t.Helper()
	c, err := m.Open(ctxT(t), Profile{Name: name, URL: url, User: user, Password: pw})
	if err != nil {
		t.Fatalf("open %s on %s: %v", name, url, err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func poll(t *testing.T, c *Conn) ClusterState {
	t.Helper()
	st, err := c.PollCluster(ctxT(t))
	if err != nil {
		t.Fatalf("PollCluster: %v", err)
	}
	return st
}

func groupLeader(st ClusterState, id int64) int64 {
	for _, g := range st.Groups {
		if g.ID == id {
			return g.Leader
		}
	}
	return -1
}

// A dba's poll reads every group's leader from system.cluster_groups;
// moving the Meta leader shows in system.cluster (the node's is_leader
// and role) and as a recorded change with a notice, and the token is
// accepted on every node.
func TestPollClusterSeesALeaderMove(t *testing.T) {
	cl, m := clusterEnv(t, 3)
	admin := openOn(t, m, "admin", cl.Node(2).URL, "admin", clusterAdminPW)

	st := poll(t, admin)
	if st.Source != SourceViews || len(st.Nodes) != 3 || len(st.Groups) != 10 || st.MetaLeader != 1 {
		t.Fatalf("first poll: source %q, %d nodes, %d groups, meta leader %d", st.Source, len(st.Nodes), len(st.Groups), st.MetaLeader)
	}
	for _, n := range st.Nodes {
		if !n.Answered || !n.TokenOK || n.URL != cl.Node(int(n.ID)).URL || n.IsSelf != (n.ID == 2) {
			t.Errorf("node %d: %+v", n.ID, n)
		}
	}
	if len(st.Changes) != 0 {
		t.Errorf("the first poll recorded changes: %+v", st.Changes)
	}

	if err := cl.MoveLeader(kalamtest.MetaGroup, 3); err != nil {
		t.Fatal(err)
	}
	st = poll(t, admin)
	if st.MetaLeader != 3 || groupLeader(st, kalamtest.MetaGroup) != 3 || groupLeader(st, cl.SharedGroup()) != 1 {
		t.Fatalf("after moving the meta leader to node 3: meta leader %d, groups %+v", st.MetaLeader, st.Groups)
	}
	for _, n := range st.Nodes {
		if wantRole := map[bool]string{true: "leader", false: "follower"}[n.ID == 3]; n.Role != wantRole || n.IsLeader != (n.ID == 3) {
			t.Errorf("system.cluster after the move: node %d role %q leader %v", n.ID, n.Role, n.IsLeader)
		}
	}
	var moved bool
	for _, g := range st.Groups {
		if g.ID == kalamtest.MetaGroup && !g.ChangedAt.IsZero() {
			moved = true
		}
		if g.ID != kalamtest.MetaGroup && !g.ChangedAt.IsZero() {
			t.Errorf("group %d marked changed", g.ID)
		}
	}
	if !moved || len(st.Changes) == 0 || !strings.Contains(st.Changes[0].Text, "10 meta: leader node 1 → node 3") {
		t.Errorf("the move was not recorded: %+v", st.Changes)
	}
	testkit.Receive(t, m.Events(), "a notice of the leader move", func(ev Event) bool {
		n, ok := ev.(NoticeEvent)
		return ok && strings.Contains(n.Text, "leader node 1 → node 3")
	})
	if last, ok := admin.LastCluster(); !ok || last.MetaLeader != 3 {
		t.Errorf("LastCluster: %+v, %v", last.MetaLeader, ok)
	}

	// Every group moving at once is one notice, not ten.
	if err := cl.MoveAllLeaders(2); err != nil {
		t.Fatal(err)
	}
	poll(t, admin)
	testkit.Receive(t, m.Events(), "one notice for every group's move", func(ev Event) bool {
		n, ok := ev.(NoticeEvent)
		return ok && strings.Contains(n.Text, "10 group leaders moved (10 to node 2)")
	})
}

// A user may not read the system views: the poll falls back to the
// health endpoint, says why, and still names the Meta leader. A
// standalone server is a one-node cluster.
func TestPollClusterWithoutDBAUsesHealth(t *testing.T) {
	cl, m := clusterEnv(t, 3)
	alice := openOn(t, m, "alice", cl.Node(1).URL, "alice", clusterAlicePW)
	st := poll(t, alice)
	if st.Source != SourceHealth || !strings.Contains(st.SourceNote, "dba") || st.MetaLeader != 1 || len(st.Nodes) != 3 {
		t.Fatalf("poll as a user: source %q (%s), meta leader %d, %d nodes", st.Source, st.SourceNote, st.MetaLeader, len(st.Nodes))
	}

	srv := testkit.Start(t, clusterAlicePW, clusterAdminPW)
	solo := openOn(t, m, "solo", srv.URL, "admin", clusterAdminPW)
	st = poll(t, solo)
	if len(st.Nodes) != 1 || !st.Nodes[0].IsSelf || st.Nodes[0].URL != strings.TrimRight(srv.URL, "/") || len(st.Groups) != 3 {
		t.Fatalf("standalone server: %+v", st)
	}
}

// A stopped node shows as not answering, with the error, and the token
// as not checked there; after a restart it answers again, and both are
// recorded as changes.
func TestPollClusterStoppedNode(t *testing.T) {
	cl, m := clusterEnv(t, 3)
	admin := openOn(t, m, "admin", cl.Node(1).URL, "admin", clusterAdminPW)
	poll(t, admin)
	if err := cl.StopNode(3); err != nil {
		t.Fatal(err)
	}
	st := poll(t, admin)
	n3 := st.Nodes[2]
	if n3.Answered || n3.ProbeErr == "" || n3.TokenOK || n3.TokenErr == "" || n3.Status != "offline" || n3.ChangedAt.IsZero() {
		t.Fatalf("stopped node 3: %+v", n3)
	}
	for _, n := range st.Nodes[:2] {
		if !n.Answered || !n.TokenOK {
			t.Errorf("node %d: %+v", n.ID, n)
		}
	}
	if err := cl.RestartNode(3); err != nil {
		t.Fatal(err)
	}
	st = poll(t, admin)
	if n3 := st.Nodes[2]; !n3.Answered || !n3.TokenOK || n3.Status != "active" {
		t.Fatalf("restarted node 3: %+v", n3)
	}
	var texts []string
	for _, ch := range st.Changes {
		texts = append(texts, ch.Text)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "node 3: does not answer") || !strings.Contains(all, "node 3: answers again") {
		t.Errorf("changes: %s", all)
	}
}

// The node a connection is on going down is no error of the poll: the
// last known nodes stay, with why the node could not be asked.
func TestPollClusterOwnNodeDown(t *testing.T) {
	cl, m := clusterEnv(t, 2)
	admin := openOn(t, m, "admin", cl.Node(2).URL, "admin", clusterAdminPW)
	poll(t, admin)
	if err := cl.StopNode(2); err != nil {
		t.Fatal(err)
	}
	st := poll(t, admin)
	if st.Err == "" || len(st.Nodes) != 2 || st.Nodes[1].Answered || !st.Nodes[0].Answered {
		t.Fatalf("own node down: err %q, nodes %+v", st.Err, st.Nodes)
	}
}

// A connection that fails over to another node (--url listing the
// nodes) is found on its new node by the next poll, which says so.
func TestPollClusterFollowsAFailover(t *testing.T) {
	cl, m := clusterEnv(t, 3)
	admin := openOn(t, m, "admin", cl.Node(2).URL+","+cl.Node(3).URL, "admin", clusterAdminPW)
	if st := poll(t, admin); !st.Nodes[1].IsSelf {
		t.Fatalf("first poll: the connection is not on node 2: %+v", st.Nodes)
	}
	if err := cl.StopNode(2); err != nil {
		t.Fatal(err)
	}
	testkit.Poll(t, "the connection on node 3", func() string { return admin.Snapshot().URL }, func(u string) bool {
		return u == strings.TrimRight(cl.Node(3).URL, "/")
	})
	st := poll(t, admin)
	if !st.Nodes[2].IsSelf || st.Nodes[1].IsSelf || st.Nodes[1].Answered {
		t.Fatalf("after the failover: %+v", st.Nodes)
	}
	var texts []string
	for _, ch := range st.Changes {
		texts = append(texts, ch.Text)
	}
	if all := strings.Join(texts, "\n"); !strings.Contains(all, "node 3: this connection is on it now") || !strings.Contains(all, "node 2: does not answer") {
		t.Errorf("changes: %s", all)
	}
}

// The same live query on the leader and on a lagging follower: an insert
// is on the leader's side only until the follower applies it, then the
// two agree again.
func TestCompareReplicasMarksALaggedRow(t *testing.T) {
	cl, m := clusterEnv(t, 3)
	testkit.CreateTables(t, cl.Node(1), "messages")
	testkit.Insert(t, cl.Node(1), 1, 4, "before")
	a := openOn(t, m, "node1", cl.Node(1).URL, "alice", clusterAlicePW)
	b, err := m.OpenOnNode(ctxT(t), a, cl.Node(2).URL, "node2")
	if err != nil {
		t.Fatalf("OpenOnNode: %v", err)
	}
	if got := b.Snapshot().URL; got != strings.TrimRight(cl.Node(2).URL, "/") {
		t.Fatalf("the node-2 connection is on %s", got)
	}
	const sql = "SELECT * FROM app.messages"
	for _, c := range []*Conn{a, b} {
		if _, err := c.Subscribe(ctxT(t), sql, SubscribeOptions{ID: "msgs"}); err != nil {
			t.Fatalf("subscribe on %s: %v", c.Name(), err)
		}
	}
	compare := func() ReplicaDiff {
		d, err := CompareReplicas(a, "msgs", b, "msgs", ReplicaQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	testkit.Poll(t, "both sides loaded the 3 rows", compare, func(d ReplicaDiff) bool { return d.Keys == 3 && d.Clean() })

	cl.SetReplicationLag(time.Hour) // the follower holds the insert until released
	testkit.Insert(t, cl.Node(1), 4, 5, "lagged")
	d := testkit.Poll(t, "the insert on the leader's side only", compare, func(d ReplicaDiff) bool { return d.OnlyA == 1 })
	if d.OnlyB != 0 || d.Differ != 0 || d.Total != 4 {
		t.Fatalf("diff while lagging: %+v", d)
	}
	only, err := CompareReplicas(a, "msgs", b, "msgs", ReplicaQuery{OnlyDiffs: true})
	if err != nil || len(only.Rows) != 1 || only.Rows[0].Key != "4" || only.Rows[0].Kind != DiffMissing || only.Rows[0].B != nil {
		t.Fatalf("only the differing rows: %+v, %v", only, err)
	}

	cl.SetReplicationLag(0)
	testkit.Poll(t, "the follower caught up", compare, func(d ReplicaDiff) bool { return d.Clean() && d.Keys == 4 })

	// A value changed on one side only is a difference of values.
	cl.SetReplicationLag(time.Hour)
	if _, err := cl.Node(1).Exec("alice", "UPDATE app.messages SET body = 'edited' WHERE id = 2"); err != nil {
		t.Fatal(err)
	}
	d = testkit.Poll(t, "the update on the leader's side only", compare, func(d ReplicaDiff) bool { return d.Differ == 1 })
	for _, r := range d.Rows {
		if r.Key == "2" && (r.Kind != DiffValues || len(r.Columns) != 1 || r.Columns[0] != "body") {
			t.Errorf("row 2: %+v", r)
		}
	}
	cl.SetReplicationLag(0)
	testkit.Poll(t, "the update caught up", compare, func(d ReplicaDiff) bool { return d.Clean() })
	if _, err := CompareReplicas(a, "msgs", b, "nope", ReplicaQuery{}); err == nil {
		t.Error("comparing with a missing subscription succeeded")
	}
}

// A row one side's cap evicted is not a difference: that side no longer
// keeps it, which says nothing about its node.
func TestCompareReplicasSetsEvictedRowsAside(t *testing.T) {
	cl, m := clusterEnv(t, 2)
	testkit.CreateTables(t, cl.Node(1), "messages")
	testkit.Insert(t, cl.Node(1), 1, 4, "row")
	capped := NewManager(WithPumpInterval(5*time.Millisecond), WithLiveRowCap(2))
	t.Cleanup(func() { _ = capped.CloseAll() })
	a := openOn(t, capped, "capped", cl.Node(1).URL, "alice", clusterAlicePW)
	b := openOn(t, m, "full", cl.Node(2).URL, "alice", clusterAlicePW)
	for _, c := range []*Conn{a, b} {
		if _, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", SubscribeOptions{ID: "msgs"}); err != nil {
			t.Fatal(err)
		}
	}
	compare := func() ReplicaDiff {
		d, err := CompareReplicas(a, "msgs", b, "msgs", ReplicaQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := testkit.Poll(t, "the capped side keeping 2 rows, the other 3", compare, func(d ReplicaDiff) bool { return d.Keys == 2 && d.Evicted == 1 })
	if !d.Clean() {
		t.Fatalf("an evicted row counted as a difference: %+v", d)
	}
}

// TestClusterDiffFoldsLikeMoves: when a stopped leader hands every group to
// the same node in the same term, the change list says so once, naming the
// groups as ranges; a group that moved elsewhere keeps its own line.
func TestClusterDiffFoldsLikeMoves(t *testing.T) {
	groups := func(leader func(id int64) int64, term int64) []ClusterGroupState {
		var gs []ClusterGroupState
		for _, id := range []int64{10, 100, 101, 102, 103, 104, 105, 106, 107, 200} {
			gs = append(gs, ClusterGroupState{ID: id, Type: "user_data", Leader: leader(id), Term: term})
		}
		return gs
	}
	prev := &ClusterState{Groups: groups(func(int64) int64 { return 1 }, 1)}
	now := &ClusterState{PolledAt: time.Unix(100, 0), Groups: groups(func(id int64) int64 {
		if id == 104 {
			return 3
		}
		return 2
	}, 2)}
	changes := now.diff(prev)
	if len(changes) != 2 {
		t.Fatalf("%d changes, want 2: %+v", len(changes), changes)
	}
	if changes[0].Moved != 9 || changes[1].Moved != 1 {
		t.Errorf("moved counts %d and %d, want 9 and 1", changes[0].Moved, changes[1].Moved)
	}
	if want := "groups 10, 100–103, 105–107, 200: leader node 1 → node 2 (term 2)"; changes[0].Text != want {
		t.Errorf("folded change %q, want %q", changes[0].Text, want)
	}
	if !strings.HasPrefix(changes[1].Text, "group ") || !strings.HasSuffix(changes[1].Text, ": leader node 1 → node 3 (term 2)") {
		t.Errorf("the single move %q", changes[1].Text)
	}
	for _, g := range now.Groups {
		if !g.ChangedAt.Equal(now.PolledAt) {
			t.Errorf("group %d not marked as changed", g.ID)
		}
	}
}

// A node tab opened from a token-file or token-command tab (o in the
// Cluster view) gets its credentials from the same source, not a copy of
// the token: it connects with the source's token, names the source as the
// original does, and a token rotated in the source is the one a provider
// refresh of the node tab picks up.
func TestOpenOnNodeKeepsTheCredentialSource(t *testing.T) {
	cl, m := clusterEnv(t, 2)
	for _, tc := range []struct {
		name    string
		profile func(path string) Profile
	}{
		{"file", func(path string) Profile { return Profile{Auth: AuthTokenFile, TokenFile: path} }},
		{"command", func(path string) Profile { return Profile{Auth: AuthTokenCommand, TokenCommand: "cat '" + path + "'"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token")
			now := time.Now()
			first := mintToken(t, kalamtest.DefaultJWTSecret, "alice", "user", time.Hour, now.Add(-time.Minute))
			testkit.WriteFile(t, path, first)
			p := tc.profile(path)
			p.Name, p.URL = tc.name+"1", cl.Node(1).URL
			a, err := m.Open(ctxT(t), p)
			if err != nil {
				t.Fatalf("open on node 1: %v", err)
			}
			b, err := m.OpenOnNode(ctxT(t), a, cl.Node(2).URL, tc.name+"2")
			if err != nil {
				t.Fatalf("OpenOnNode: %v", err)
			}
			if pa, pb := a.Profile(), b.Profile(); pb.Mode() != pa.Mode() || pb.CredentialSource() != pa.CredentialSource() {
				t.Fatalf("node tab's credentials: %s (%s), want the original's %s (%s)", pb.Mode(), pb.CredentialSource(), pa.Mode(), pa.CredentialSource())
			}
			if got := b.Snapshot().Access.Fingerprint; got != client.Fingerprint(first) {
				t.Fatalf("node tab connected with token %s, want the source's %s", got, client.Fingerprint(first))
			}
			rotated := mintToken(t, kalamtest.DefaultJWTSecret, "alice", "user", time.Hour, now)
			testkit.WriteFile(t, path, rotated)
			r, err := b.RefreshWith(ctxT(t), MethodProvider)
			if err != nil || !r.OK() || r.NewFingerprint != client.Fingerprint(rotated) {
				t.Fatalf("provider refresh of the node tab: %+v, %v; want the rotated token %s", r, err, client.Fingerprint(rotated))
			}
			if got := b.Snapshot().Access.Fingerprint; got != client.Fingerprint(rotated) {
				t.Fatalf("node tab uses %s after the refresh, want the rotated %s", got, client.Fingerprint(rotated))
			}
		})
	}
}

// Node and group ids come from the server: ids far apart (a difference
// past int64) still sort in order.
func TestSortClusterHostileIDs(t *testing.T) {
	st := ClusterState{
		Nodes:  []ClusterNodeState{{ID: math.MaxInt64}, {ID: math.MinInt64}, {ID: 2}, {ID: -1}},
		Groups: []ClusterGroupState{{ID: 100}, {ID: math.MinInt64}, {ID: math.MaxInt64}, {ID: 10}},
	}
	sortCluster(&st)
	var nodes, groups []int64
	for _, n := range st.Nodes {
		nodes = append(nodes, n.ID)
	}
	for _, g := range st.Groups {
		groups = append(groups, g.ID)
	}
	if want := []int64{math.MinInt64, -1, 2, math.MaxInt64}; !slices.Equal(nodes, want) {
		t.Errorf("nodes sorted %v, want %v", nodes, want)
	}
	if want := []int64{math.MinInt64, 10, 100, math.MaxInt64}; !slices.Equal(groups, want) {
		t.Errorf("groups sorted %v, want %v", groups, want)
	}
}
