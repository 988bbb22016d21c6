package kalamtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// newKTCluster starts an n-node cluster with newKT's users and returns
// its nodes, node k at index k-1, each usable with every helper.
func newKTCluster(t *testing.T, n int, opts ...kalamtest.Option) (*kalamtest.Cluster, []*ktServer) {
	t.Helper()
	clk := newFakeClock()
	cl, err := kalamtest.NewCluster(n, append(ktOptions(clk), opts...)...)
	if err != nil {
		t.Fatalf("NewCluster: %v", err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	var nodes []*ktServer
	for _, s := range cl.Nodes() {
		nodes = append(nodes, &ktServer{Server: s, clock: clk})
	}
	return cl, nodes
}

// resultRows returns a successful single-result answer's rows by column name.
func resultRows(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	res := m["results"].([]any)[0].(map[string]any)
	var cols []string
	for _, f := range res["schema"].([]any) {
		cols = append(cols, f.(map[string]any)["name"].(string))
	}
	var out []map[string]any
	for _, r := range res["rows"].([]any) {
		row := map[string]any{}
		for i, v := range r.([]any) {
			row[cols[i]] = v
		}
		out = append(out, row)
	}
	return out
}

// SQL sent to a follower runs on the group's leader and comes back in the
// leader's forwarded shape: no "error" key even for one SELECT, one result
// per statement (DML counts not folded), failures as 400
// SQL_EXECUTION_ERROR "Statement N failed" without details; the leader
// itself answers in the local shape (jamals86/KalamDB:
// backend/crates/kalamdb-api/src/http/sql/forward.rs,
// backend/crates/kalamdb-core/src/cluster_handler.rs).
func TestClusterFollowerForwardsSQLInTheForwardedShape(t *testing.T) {
	_, nodes := newKTCluster(t, 3)
	leader, follower := nodes[0], nodes[1]
	ops := follower.login(t, "ops", "OpsPass123!") // tokens work on every node
	alice := nodes[2].login(t, "alice", alicePW)

	follower.createMessages(t, ops.access)

	batch := "INSERT INTO app.messages (id, body) VALUES (1, 'a'); INSERT INTO app.messages (id, body) VALUES (2, 'b')"
	r := follower.sql(t, alice.access, batch)
	if r.status != 200 {
		t.Fatalf("forwarded batch: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if _, has := m["error"]; has {
		t.Errorf("forwarded success has an error key: %s", r.body)
	}
	if res := m["results"].([]any); len(res) != 2 || res[0].(map[string]any)["message"] != "Inserted 1 row(s)" {
		t.Errorf("forwarded batch results not one per statement: %s", r.body)
	}
	r = leader.sql(t, alice.access, strings.ReplaceAll(strings.ReplaceAll(batch, "(1,", "(3,"), "(2,", "(4,"))
	if res := r.json(t)["results"].([]any); len(res) != 1 || res[0].(map[string]any)["message"] != "Inserted 2 row(s)" {
		t.Errorf("the leader's own answer is folded: %s", r.body)
	}

	r = follower.sql(t, alice.access, "SELECT id, body FROM app.messages ORDER BY id")
	m = r.json(t)
	if _, has := m["error"]; has || r.status != 200 {
		t.Errorf("forwarded SELECT: %d %s (want no error key)", r.status, r.body)
	}
	if rows := resultRows(t, m); len(rows) != 4 || rows[0]["body"] != "a" {
		t.Errorf("forwarded SELECT rows: %s", r.body)
	}
	if r := leader.sql(t, alice.access, "SELECT id FROM app.messages"); !bytes.HasSuffix(r.body, []byte(`"error":null}`)) {
		t.Errorf("the leader's single SELECT lost its streamed shape: %s", r.body)
	}

	r = follower.sql(t, alice.access, "SELECT nope FROM app.messages")
	m = r.json(t)
	e, _ := m["error"].(map[string]any)
	if r.status != 400 || e["code"] != "SQL_EXECUTION_ERROR" || !strings.HasPrefix(e["message"].(string), "Statement 1 failed: ") {
		t.Errorf("forwarded failure: %d %s", r.status, r.body)
	}
	if _, has := e["details"]; has {
		t.Errorf("forwarded failure has details: %s", r.body)
	}

	// A system table is read where it is asked: no forwarding, the local
	// streamed shape.
	if r := follower.sql(t, ops.access, "SELECT node_id FROM system.cluster WHERE is_self"); !bytes.HasSuffix(r.body, []byte(`"error":null}`)) {
		t.Errorf("system view on a follower was forwarded: %s", r.body)
	}
}

// A follower that cannot reach the leader answers 503 FORWARD_FAILED; a
// multipart upload on a follower gets 503 NOT_LEADER with the leader's
// api_addr (jamals86/KalamDB: backend/crates/kalamdb-api/src/http/sql/forward.rs,
// backend/crates/kalamdb-api/src/http/sql/execute.rs).
func TestClusterForwardFailedAndNotLeader(t *testing.T) {
	cl, nodes := newKTCluster(t, 3)
	ops := nodes[0].login(t, "ops", "OpsPass123!")
	nodes[0].createMessages(t, ops.access)
	alice := nodes[1].login(t, "alice", alicePW)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("sql", `INSERT INTO app.messages (id, body) VALUES (1, FILE("f"))`)
	fw, _ := mw.CreateFormFile("file:f", "f.txt")
	_, _ = fw.Write([]byte("hello"))
	_ = mw.Close()
	req, _ := http.NewRequest("POST", nodes[1].URL+"/v1/api/sql", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+alice.access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	res.Body.Close()
	e, _ := m["error"].(map[string]any)
	if res.StatusCode != 503 || e["code"] != "NOT_LEADER" || e["message"] != "Not leader for shard. Leader: "+nodes[0].URL {
		t.Errorf("upload on a follower: %d %v", res.StatusCode, m)
	}

	if err := cl.Partition(2); err != nil {
		t.Fatal(err)
	}
	r := nodes[1].sql(t, alice.access, "INSERT INTO app.messages (id, body) VALUES (1, 'x')")
	e, _ = r.json(t)["error"].(map[string]any)
	if r.status != 503 || e["code"] != "FORWARD_FAILED" || e["message"] != "Failed to forward request to cluster leader" {
		t.Errorf("partitioned follower: %d %s", r.status, r.body)
	}
	if rows := resultRows(t, nodes[0].mustSQL(t, ops.access, "SELECT COUNT(*) AS n FROM system.users WHERE user_id = 'alice'")); len(rows) != 1 {
		t.Errorf("system table on the leader: %v", rows)
	}
}

// Each node tells its own subscribers about a change when it applies it,
// and a follower applies it after the replication lag: the leader's
// subscriber sees an insert while the follower's does not yet, and the
// follower's sees it once the lag is over; the leader's health counts the
// follower's lag meanwhile (jamals86/KalamDB:
// backend/crates/kalamdb-core/src/applier/executor/dml.rs,
// backend/crates/kalamdb-live/src/lib.rs).
func TestClusterFollowerSubscriptionSeesChangesAfterTheLag(t *testing.T) {
	cl, nodes := newKTCluster(t, 3, kalamtest.WithReplicationLag(time.Hour),
		kalamtest.WithReplicationTimeout(50*time.Millisecond))
	ops := nodes[0].login(t, "ops", "OpsPass123!")
	nodes[0].createMessages(t, ops.access)
	alice := nodes[0].login(t, "alice", alicePW)

	onLeader := nodes[0].dialAuthed(t, alice.access, "")
	onFollower := nodes[1].dialAuthed(t, alice.access, "")
	for _, w := range []*wsc{onLeader, onFollower} {
		w.subscribe("m", "SELECT * FROM app.messages", "")
	}
	nodes[0].mustSQL(t, alice.access, "INSERT INTO app.messages (id, body) VALUES (1, 'hello')")
	if f := onLeader.readType("change"); f.msg["change_type"] != "insert" {
		t.Fatalf("leader subscriber: %s", f.text)
	}
	onFollower.sentinel() // nothing arrived on the follower before the sentinel's answer

	h := doHTTP(t, "GET", nodes[0].URL+"/v1/api/cluster/health", "", nil).json(t)
	lag := h["nodes"].([]any)[1].(map[string]any)["replication_lag"]
	if lag != json.Number("1") {
		t.Errorf("leader's view of node 2's replication_lag = %v, want 1", lag)
	}
	// A subscribe with options waits for the node to catch up, and fails
	// when it cannot within the replication timeout.
	onFollower.send(subscribeMsg("snap", "SELECT * FROM app.messages", "{}"))
	if f := onFollower.readType("error"); f.msg["code"] != "SUBSCRIPTION_FAILED" ||
		!strings.HasPrefix(f.msg["message"].(string), "Execution error: Replication timeout") {
		t.Errorf("subscribe on a lagging follower: %s", f.text)
	}

	cl.SetReplicationLag(0)
	if f := onFollower.readType("change"); f.msg["subscription_id"] != "m" || f.msg["change_type"] != "insert" {
		t.Fatalf("follower subscriber after the lag: %s", f.text)
	}
	onFollower.subscribe("snap2", "SELECT * FROM app.messages", "{}")
	if f := onFollower.readType("initial_data_batch"); len(f.msg["rows"].([]any)) != 1 {
		t.Errorf("caught-up follower's snapshot: %s", f.text)
	}
}

// Moving a group's leader shows in system.cluster and
// system.cluster_groups on every node, with a new term, and SQL then
// follows the new leader (jamals86/KalamDB:
// backend/crates/kalamdb-views/src/cluster.rs,
// backend/crates/kalamdb-views/src/cluster_groups.rs).
func TestClusterMoveLeaderShowsInSystemCluster(t *testing.T) {
	cl, nodes := newKTCluster(t, 3)
	root := nodes[2].login(t, "root", "RootPass123!")
	leaders := func(n *ktServer) map[string]bool {
		out := map[string]bool{}
		for _, r := range resultRows(t, n.mustSQL(t, root.access, "SELECT node_id, role, is_leader FROM system.cluster")) {
			out[r["node_id"].(string)] = r["is_leader"].(bool)
			if r["is_leader"].(bool) != (r["role"] == "leader") {
				t.Errorf("role and is_leader disagree: %v", r)
			}
		}
		return out
	}
	if got := leaders(nodes[2]); len(got) != 3 || !got["1"] || got["2"] {
		t.Fatalf("initial leaders: %v", got)
	}
	if err := cl.MoveLeader(kalamtest.MetaGroup, 2); err != nil {
		t.Fatal(err)
	}
	if got := leaders(nodes[2]); !got["2"] || got["1"] {
		t.Errorf("after the move: %v", got)
	}
	rows := resultRows(t, nodes[0].mustSQL(t, root.access,
		"SELECT group_id, group_type, current_term, state, current_leader, node_id FROM system.cluster_groups WHERE group_type = 'meta'"))
	if len(rows) != 1 || rows[0]["current_leader"] != "2" || rows[0]["current_term"] != "2" || rows[0]["state"] != "Follower" || rows[0]["node_id"] != "1" {
		t.Errorf("node 1's meta group row: %v", rows)
	}
	if n := len(resultRows(t, nodes[0].mustSQL(t, root.access, "SELECT group_id FROM system.cluster_groups"))); n != 10 {
		t.Errorf("%d groups, want upstream's 10 (meta, 8 user shards, 1 shared)", n)
	}
	// Writes follow the leader of their group: with alice's user shard
	// led by node 2, a batch there is answered locally (DML counts folded)
	// and the same batch on node 1 is forwarded (one result per statement).
	if err := cl.MoveLeader(cl.UserGroup("alice"), 2); err != nil {
		t.Fatal(err)
	}
	nodes[0].createMessages(t, root.access)
	alice := nodes[0].login(t, "alice", alicePW)
	batch := "INSERT INTO app.messages (id) VALUES (%d); INSERT INTO app.messages (id) VALUES (%d)"
	if res := nodes[1].mustSQL(t, alice.access, fmt.Sprintf(batch, 1, 2))["results"].([]any); len(res) != 1 {
		t.Errorf("batch on the shard's new leader: %v", res)
	}
	if res := nodes[0].mustSQL(t, alice.access, fmt.Sprintf(batch, 3, 4))["results"].([]any); len(res) != 2 {
		t.Errorf("batch on the former leader (now forwarded): %v", res)
	}
}

// A stopped node closes its sockets with 1001 and refuses connections;
// the groups it led elect another leader; restarted, it serves again and
// its subscribers see new changes (jamals86/KalamDB:
// backend/crates/kalamdb-raft/src/executor/raft.rs for the views).
func TestClusterStopAndRestartNode(t *testing.T) {
	cl, nodes := newKTCluster(t, 3)
	root := nodes[0].login(t, "root", "RootPass123!")
	nodes[0].createMessages(t, root.access)
	alice := nodes[0].login(t, "alice", alicePW)

	w := nodes[0].dialAuthed(t, alice.access, "")
	if err := cl.StopNode(1); err != nil {
		t.Fatal(err)
	}
	w.expectClose(websocket.StatusGoingAway, "Server shutting down")
	_, err := http.Get(nodes[0].URL + "/health")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("stopped node: %v, want connection refused", err)
	}
	rows := resultRows(t, nodes[1].mustSQL(t, root.access, "SELECT node_id, is_leader, status FROM system.cluster"))
	want := map[string]string{"1": "offline", "2": "active", "3": "active"}
	for _, r := range rows {
		if r["status"] != want[r["node_id"].(string)] || r["is_leader"].(bool) != (r["node_id"] == "2") {
			t.Errorf("after stopping node 1, node 2 sees %v", r)
		}
	}
	nodes[2].mustSQL(t, alice.access, "INSERT INTO app.messages (id, body) VALUES (1, 'while down')")

	if err := cl.RestartNode(1); err != nil {
		t.Fatal(err)
	}
	w = nodes[0].dialAuthed(t, alice.access, "")
	w.subscribe("m", "SELECT * FROM app.messages", "{}")
	if f := w.readType("initial_data_batch"); len(f.msg["rows"].([]any)) != 1 {
		t.Errorf("restarted node's snapshot: %s", f.text)
	}
	nodes[1].mustSQL(t, alice.access, "INSERT INTO app.messages (id, body) VALUES (2, 'after')")
	if f := w.readType("change"); f.msg["change_type"] != "insert" {
		t.Errorf("restarted node's subscriber: %s", f.text)
	}
}

// A standalone server answers the cluster views as a one-node cluster:
// node 1, leading a Meta group, one user shard and one shared shard, with
// is_cluster_mode true and api_addr without a scheme (jamals86/KalamDB:
// backend/crates/kalamdb-core/src/app_context.rs,
// backend/crates/kalamdb-raft/src/executor/raft.rs,
// backend/crates/kalamdb-api/src/http/cluster/health.rs).
func TestStandaloneIsAOneNodeCluster(t *testing.T) {
	s := newKT(t)
	ops := s.login(t, "ops", "OpsPass123!")
	rows := resultRows(t, s.mustSQL(t, ops.access, "SELECT * FROM system.cluster"))
	addr := strings.TrimPrefix(s.URL, "http://")
	if len(rows) != 1 || rows[0]["node_id"] != "1" || rows[0]["role"] != "leader" || rows[0]["status"] != "active" ||
		rows[0]["is_self"] != true || rows[0]["total_groups"] != json.Number("3") || rows[0]["api_addr"] != addr {
		t.Errorf("system.cluster = %v", rows)
	}
	var groups []string
	for _, g := range resultRows(t, s.mustSQL(t, ops.access, "SELECT group_id, group_type, state FROM system.cluster_groups ORDER BY group_id")) {
		groups = append(groups, fmt.Sprintf("%v %v %v", g["group_id"], g["group_type"], g["state"]))
	}
	if strings.Join(groups, ", ") != "10 meta Leader, 100 user_data Leader, 200 shared_data Leader" {
		t.Errorf("system.cluster_groups = %v", groups)
	}
	alice := s.login(t, "alice", alicePW)
	if r := s.sql(t, alice.access, "SELECT * FROM system.cluster"); r.status == 200 {
		t.Errorf("system.cluster for a plain user: %d %s", r.status, r.body)
	}
	h := doHTTP(t, "GET", s.URL+"/v1/api/cluster/health", "", nil)
	m := h.json(t)
	if h.status != 200 || m["status"] != "healthy" || m["is_cluster_mode"] != true || m["node_id"] != json.Number("1") ||
		m["is_leader"] != true || m["groups_leading"] != json.Number("3") || len(m["nodes"].([]any)) != 1 {
		t.Errorf("cluster health: %d %s", h.status, h.body)
	}
	if !bytes.Contains(h.body, []byte(`"catchup_progress_pct":null`)) {
		t.Errorf("null fields must be present: %s", h.body)
	}
}

// A cluster whose first node wrote rows while starting (the demo data)
// has every follower exactly caught up, never ahead of the log: the
// changes from before a peer joined are not applied a second time.
func TestClusterPeersDoNotReapplyWhatTheyJoinedWith(t *testing.T) {
	_, nodes := newKTCluster(t, 3, kalamtest.WithDemo(), kalamtest.WithDemoInterval(time.Hour))
	lags := func() []any {
		h := doHTTP(t, "GET", nodes[0].URL+"/v1/api/cluster/health", "", nil).json(t)
		var out []any
		for _, n := range h["nodes"].([]any) {
			out = append(out, n.(map[string]any)["replication_lag"])
		}
		return out
	}
	testkit.Poll(t, "every node caught up, none ahead", lags, func(l []any) bool {
		for _, v := range l {
			if v != json.Number("0") {
				return false
			}
		}
		return true
	})
}

// Each node numbers rows itself when it applies them: the leader keeps
// the _seq it committed with, a follower takes a Snowflake of its own
// clock with its node id as worker, so a from taken on one node means
// other rows on another (jamals86/KalamDB:
// backend/crates/kalamdb-tables/src/user_tables/user_table_provider.rs
// generate_seq_ids, extract_worker_id in
// backend/crates/kalamdb-core/src/app_context.rs; kalamdb-protocol §9.4).
// A resume moved from the leader to a follower replays the rows the
// follower numbered above the from; onto a node whose clock is behind,
// it skips the rows that node numbered below it.
func TestClusterNodesNumberRowsThemselves(t *testing.T) {
	cl, nodes := newKTCluster(t, 3)
	cl.SetClockSkew(3, -time.Hour)
	ops := nodes[0].login(t, "ops", "OpsPass123!")
	nodes[0].mustSQL(t, ops.access, "CREATE NAMESPACE app")
	nodes[0].mustSQL(t, ops.access, messagesDDL)
	alice := nodes[0].login(t, "alice", alicePW)
	nodes[0].mustSQL(t, alice.access, "INSERT INTO app.messages (id, body) VALUES (1, 'a')")

	// BIGINT cells, _seq among them, arrive as strings (protocol §3.8).
	seqOf := func(v any) int64 {
		t.Helper()
		s, _ := v.(string)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("_seq %T %v: want a decimal string", v, v)
		}
		return n
	}
	httpSeq := seqOf(resultRows(t, nodes[0].mustSQL(t, alice.access, "SELECT * FROM app.messages"))[0]["_seq"])
	seqOn := func(n *ktServer, from string) []int64 {
		t.Helper()
		w := n.dialAuthed(t, alice.access, "")
		defer w.c.CloseNow()
		w.send(subscribeMsg("m", "SELECT * FROM app.messages", from))
		w.readType("subscription_ack")
		var out []int64
		for _, r := range w.readType("initial_data_batch").msg["rows"].([]any) {
			out = append(out, seqOf(r.(map[string]any)["_seq"]))
		}
		return out
	}
	on1, on2, on3 := seqOn(nodes[0], "{}"), seqOn(nodes[1], "{}"), seqOn(nodes[2], "{}")
	if len(on1) != 1 || on1[0] != httpSeq {
		t.Fatalf("leader's _seq %v, want the committed %d", on1, httpSeq)
	}
	if len(on2) != 1 || on2[0] <= httpSeq || on2[0]>>12&0x3ff != 2 {
		t.Errorf("follower's _seq %v: want above the leader's %d, worker 2", on2, httpSeq)
	}
	if len(on3) != 1 || on3[0] >= httpSeq || on3[0]>>12&0x3ff != 3 {
		t.Errorf("behind follower's _seq %v: want below the leader's %d, worker 3", on3, httpSeq)
	}

	from := fmt.Sprintf(`{"from":%d}`, httpSeq)
	if got := seqOn(nodes[0], from); len(got) != 0 {
		t.Errorf("resume on the leader from its own last _seq replayed %v", got)
	}
	if got := seqOn(nodes[1], from); len(got) != 1 {
		t.Errorf("resume on node 2 from the leader's _seq: %v, want the row replayed", got)
	}
	nodes[0].mustSQL(t, alice.access, "INSERT INTO app.messages (id, body) VALUES (2, 'b')")
	if got := seqOn(nodes[2], from); len(got) != 0 {
		t.Errorf("resume on node 3 from the leader's _seq: %v, want row 2 skipped", got)
	}
}
