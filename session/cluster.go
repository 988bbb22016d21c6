package session

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// This file holds what a connection knows about its server's Raft
// cluster: PollCluster reads it from the node the connection is on
// (system.cluster and system.cluster_groups for the dba and system roles,
// else the localhost-only /v1/api/cluster/health), asks every node
// directly whether it answers and whether the connection's token works
// there, and compares the result with the previous poll, so leader moves
// and nodes going down are noticed as they happen (kalamdb-protocol.md §9).
// A standalone server answers as a one-node cluster.

// ClusterSource says where a ClusterState's nodes and leaders came from.
type ClusterSource string

// Cluster sources.
const (
	// SourceViews: system.cluster and system.cluster_groups, with a
	// leader per Raft group.
	SourceViews ClusterSource = "system.cluster_groups"
	// SourceHealth: /v1/api/cluster/health, which names only the Meta
	// group's leader.
	SourceHealth ClusterSource = "/v1/api/cluster/health"
	// SourceNone: the node answered neither.
	SourceNone ClusterSource = ""
)

// MaxClusterChanges is how many leader and node changes a connection
// remembers.
const MaxClusterChanges = 20

// ClusterState is one poll of the cluster, as the connection's node sees
// it plus what each node answered itself. Text fields hold what the
// server sent: sanitise them before they reach a terminal.
type ClusterState struct {
	ClusterID string
	Source    ClusterSource
	// SourceNote says why the source is what it is ("group leaders need
	// the dba role: …"); "" when every view was read.
	SourceNote string
	Nodes      []ClusterNodeState // by node id
	Groups     []ClusterGroupState
	MetaLeader int64 // 0 while none is known
	PolledAt   time.Time
	// Err is why the connection's node could not be asked this time
	// (it is down, say): Nodes and Groups are then the last known ones.
	Err string
	// Changes are the leader and node changes seen so far, oldest first.
	Changes []ClusterChange
	// Token is the fingerprint of the access token tried on every node
	// ("" when the connection has none, e.g. auth none).
	Token string
}

// ClusterNodeState is one member node.
type ClusterNodeState struct {
	ID       int64
	URL      string // base URL the node is reached at (from its api_addr)
	APIAddr  string // as the server reported it
	Role     string // leader, follower, … of the Meta group
	Status   string // active, offline, joining, catching_up, unknown
	IsSelf   bool   // the node the connection is on
	IsLeader bool   // leads the Meta group
	// GroupsLeading and TotalGroups count Raft groups (0 total: unknown).
	GroupsLeading, TotalGroups int64
	// Applied is the node's last applied log index, as the node said
	// itself when it answered, else as the connection's node knows it;
	// nil when unknown. Lag is how many entries it is behind the leader
	// (the server's replication_lag, else the difference of applied
	// indexes), nil when unknown.
	Applied, Lag *int64
	Version      string
	Hostname     string
	// Answered: the node answered the direct probe; ProbeErr says why
	// not (connection refused, timeout).
	Answered bool
	ProbeErr string
	// TokenOK: the connection's token was accepted by the node's
	// /v1/api/auth/me; TokenErr is the refusal or failure. Both are zero
	// when the token was not tried (no token).
	TokenOK  bool
	TokenErr string
	// ChangedAt is when the node's status or reachability last changed
	// (zero: not since the first poll). Its role follows the Meta
	// group's leader, whose moves are the group's changes.
	ChangedAt time.Time
}

// ClusterGroupState is one Raft group with its leader.
type ClusterGroupState struct {
	ID        int64  // 10 Meta, 100+n user shard n, 200+n shared shard n
	Type      string // meta, user_data, shared_data
	Leader    int64  // node id, 0 while none is known
	Term      int64
	ChangedAt time.Time // when its leader last changed (zero: not seen)
}

// ClusterChange is one leader move or node change, in words.
type ClusterChange struct {
	Time  time.Time
	Group int64 // the group whose leader moved (the first of several that moved alike); 0 for a node change
	Moved int   // how many groups moved alike in this change (0 for a node change)
	Node  int64 // the node concerned (the new leader for a move)
	Text  string
}

// clusterProbeTimeout bounds each direct probe of a node, so a node that
// swallows packets costs one poll this long at most.
const clusterProbeTimeout = 3 * time.Second

// LastCluster returns the last polled cluster state (false before any
// poll).
func (c *Conn) LastCluster() (ClusterState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cluster == nil {
		return ClusterState{}, false
	}
	return c.cluster.clone(), true
}

// PollCluster reads the cluster as the connection's node sees it, probes
// every node directly (cluster health, and the connection's token on
// /v1/api/auth/me), records what changed since the last poll (a
// NoticeEvent says so) and returns the new state. A node that does not
// answer is reported with its error, not returned as one: the error is
// only for a connection that is closed.
func (c *Conn) PollCluster(ctx context.Context) (ClusterState, error) {
	cl, err := c.client()
	if err != nil {
		return ClusterState{}, err
	}
	c.mu.Lock()
	var prev *ClusterState
	if c.cluster != nil {
		p := c.cluster.clone()
		prev = &p
	}
	c.mu.Unlock()

	st := readCluster(ctx, cl)
	st.PolledAt = c.clock.Now()
	if st.Source == SourceNone && prev != nil {
		// The node did not answer: keep what was known, say why.
		st.ClusterID, st.Nodes, st.Groups, st.MetaLeader = prev.ClusterID, prev.Nodes, prev.Groups, prev.MetaLeader
		st.Source, st.SourceNote = prev.Source, prev.SourceNote
		for i := range st.Nodes {
			st.Nodes[i].Answered, st.Nodes[i].ProbeErr = false, "" // probed again below
		}
	}
	access, _ := cl.Credentials()
	st.Token = client.Fingerprint(access)
	probeNodes(ctx, cl, st.Nodes, access != "")
	deriveLag(st.Nodes)

	changes := st.diff(prev)
	c.mu.Lock()
	if prev != nil {
		st.Changes = prev.Changes
	}
	st.Changes = append(st.Changes, changes...)
	if n := len(st.Changes); n > MaxClusterChanges {
		st.Changes = slices.Clone(st.Changes[n-MaxClusterChanges:])
	}
	c.cluster = &st
	out := st.clone()
	c.mu.Unlock()
	if text := changesNotice(changes); text != "" {
		c.notice(NoticeWarn, text, "the Cluster view shows what moved")
	}
	return out, nil
}

// readCluster asks the connection's node: the system views first, then,
// when they are refused (a role below dba), the health endpoint.
func readCluster(ctx context.Context, cl *client.Client) ClusterState {
	self := cl.URL()
	nodes, err := cl.ClusterNodes(ctx)
	if err == nil {
		groups, gerr := cl.ClusterGroups(ctx)
		st := ClusterState{Source: SourceViews}
		for _, n := range nodes {
			st.ClusterID = n.ClusterID
			ns := ClusterNodeState{ID: n.NodeID, APIAddr: n.APIAddr, URL: nodeURL(self, n.APIAddr, n.IsSelf),
				Role: n.Role, Status: n.Status, IsSelf: n.IsSelf, IsLeader: n.IsLeader,
				GroupsLeading: n.GroupsLeading, TotalGroups: n.TotalGroups,
				Applied: n.LastAppliedLog, Lag: n.ReplicationLag, Version: deref(n.Version), Hostname: deref(n.Hostname)}
			if n.IsLeader {
				st.MetaLeader = n.NodeID
			}
			st.Nodes = append(st.Nodes, ns)
		}
		if gerr != nil {
			st.SourceNote = "system.cluster_groups could not be read: " + gerr.Error()
		}
		for _, g := range groups {
			gs := ClusterGroupState{ID: g.GroupID, Type: g.GroupType}
			if g.CurrentLeader != nil {
				gs.Leader = *g.CurrentLeader
			}
			if g.CurrentTerm != nil {
				gs.Term = *g.CurrentTerm
			}
			st.Groups = append(st.Groups, gs)
		}
		sortCluster(&st)
		return st
	}
	viewsErr := err
	h, herr := cl.ClusterHealth(ctx)
	if herr != nil {
		if client.IsSQLError(viewsErr) {
			return ClusterState{Err: fmt.Sprintf("system.cluster: %v; /v1/api/cluster/health: %v", viewsErr, herr)}
		}
		return ClusterState{Err: viewsErr.Error()}
	}
	st := ClusterState{Source: SourceHealth, ClusterID: h.ClusterID}
	if client.IsSQLError(viewsErr) {
		st.SourceNote = "the leader of each group needs the dba role (system.cluster_groups refused it); health names the Meta leader only"
	} else {
		st.SourceNote = "system.cluster could not be read (" + viewsErr.Error() + "); health names the Meta leader only"
	}
	for _, n := range h.Nodes {
		ns := ClusterNodeState{ID: n.NodeID, APIAddr: n.APIAddr, URL: nodeURL(self, n.APIAddr, n.IsSelf),
			Role: n.Role, Status: n.Status, IsSelf: n.IsSelf, IsLeader: n.IsLeader, Lag: n.ReplicationLag, Hostname: deref(n.Hostname)}
		if n.IsSelf {
			ns.GroupsLeading, ns.TotalGroups, ns.Applied, ns.Version = h.GroupsLeading, h.TotalGroups, h.LastApplied, h.Version
		}
		if n.IsLeader {
			st.MetaLeader = n.NodeID
		}
		st.Nodes = append(st.Nodes, ns)
	}
	if st.MetaLeader != 0 {
		st.Groups = []ClusterGroupState{{ID: metaGroupID, Type: "meta", Leader: st.MetaLeader, Term: h.CurrentTerm}}
	}
	sortCluster(&st)
	return st
}

// metaGroupID is the Meta Raft group's id
// (jamals86/KalamDB: backend/crates/kalamdb-sharding/src/group_id.rs).
const metaGroupID = 10

func sortCluster(st *ClusterState) {
	slices.SortFunc(st.Nodes, func(a, b ClusterNodeState) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Groups, func(a, b ClusterGroupState) int { return cmp.Compare(a.ID, b.ID) })
}

// nodeURL is the base URL a node is reached at: the connection's own URL
// for the node it is on, else the node's api_addr (a URL in a multi-node
// cluster; host:port on a standalone server, given the connection's
// scheme).
func nodeURL(self, apiAddr string, isSelf bool) string {
	if isSelf || apiAddr == "" {
		return self
	}
	if strings.Contains(apiAddr, "://") {
		return strings.TrimRight(apiAddr, "/")
	}
	scheme := "http"
	if u, err := url.Parse(self); err == nil && u.Scheme != "" {
		scheme = u.Scheme
	}
	return scheme + "://" + apiAddr
}

// probeNodes asks every node directly, in parallel: its cluster health
// (does it answer, what has it applied) and, with withToken, whether the
// connection's token works there.
func probeNodes(ctx context.Context, cl *client.Client, nodes []ClusterNodeState, withToken bool) {
	ctx, cancel := context.WithTimeout(ctx, clusterProbeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range nodes {
		n := &nodes[i]
		n.TokenOK, n.TokenErr = false, ""
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := cl.ClusterHealthAt(ctx, n.URL)
			switch {
			case err == nil:
				n.Answered = true
				for _, self := range h.Nodes {
					if self.IsSelf && self.NodeID == n.ID {
						n.Status = self.Status
					}
				}
				if h.NodeID == n.ID && h.LastApplied != nil {
					n.Applied = h.LastApplied
				}
			case !answeredAtAll(err) || ctx.Err() != nil:
				n.Answered, n.ProbeErr = false, briefError(err)
			default:
				// It answered, just not with its health (localhost only).
				n.Answered = true
			}
			if !withToken {
				return
			}
			if _, err := cl.MeAt(ctx, n.URL); err != nil {
				n.TokenErr = briefError(err)
			} else {
				n.TokenOK = true
			}
		}()
	}
	wg.Wait()
}

// briefError is what a node's probe says about err in one short line:
// the client's message without the operation and the transport's detail
// (the URL is on the node's row already).
func briefError(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Message != "" {
		if ce.Code != "" {
			return ce.Code + ": " + ce.Message
		}
		return ce.Message
	}
	return err.Error()
}

// answeredAtAll reports whether err still means the node answered
// (refused, or not with what was asked), rather than that nothing came
// back (refused connection, timeout).
func answeredAtAll(err error) bool {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Kind != client.KindUnreachable && ce.Kind != client.KindTimeout && ce.Kind != client.KindClosed
	}
	return false
}

// deriveLag fills in the lag of answering nodes the server gave none for:
// how far each is behind the most advanced node's applied index (only
// the Meta leader knows the others' replication_lag).
func deriveLag(nodes []ClusterNodeState) {
	var most *int64
	for _, n := range nodes {
		if n.Answered && n.Applied != nil && (most == nil || *n.Applied > *most) {
			most = n.Applied
		}
	}
	if most == nil {
		return
	}
	for i := range nodes {
		if n := &nodes[i]; n.Lag == nil && n.Applied != nil && n.Answered {
			n.Lag = new(*most - *n.Applied)
		}
	}
}

// diff records on st what changed since prev (nil: the first poll, when
// nothing has changed yet), carrying earlier change times forward, and
// returns the changes.
func (st *ClusterState) diff(prev *ClusterState) []ClusterChange {
	if prev == nil {
		return nil
	}
	return append(st.diffGroups(prev), st.diffNodes(prev)...)
}

// byID indexes xs by their id.
func byID[T any](xs []T, id func(T) int64) map[int64]T {
	out := make(map[int64]T, len(xs))
	for _, x := range xs {
		out[id(x)] = x
	}
	return out
}

// diffGroups records the groups whose leader moved since prev. Groups
// that moved alike (same old and new leader, same term) are one change:
// a stopped node hands all ten of its groups over at once, and ten lines
// saying so would push everything else out of the list.
func (st *ClusterState) diffGroups(prev *ClusterState) []ClusterChange {
	type move struct {
		from, to, term int64
	}
	now := st.PolledAt
	var order []move
	moved := map[move][]*ClusterGroupState{}
	before := byID(prev.Groups, func(g ClusterGroupState) int64 { return g.ID })
	for i := range st.Groups {
		g := &st.Groups[i]
		p, ok := before[g.ID]
		if !ok {
			continue
		}
		g.ChangedAt = p.ChangedAt
		if p.Leader != g.Leader {
			g.ChangedAt = now
			m := move{p.Leader, g.Leader, g.Term}
			if moved[m] == nil {
				order = append(order, m)
			}
			moved[m] = append(moved[m], g)
		}
	}
	var out []ClusterChange
	for _, m := range order {
		gs := moved[m]
		what := "group " + GroupName(gs[0].ID, gs[0].Type)
		if len(gs) > 1 {
			what = "groups " + groupRanges(gs)
		}
		out = append(out, ClusterChange{Time: now, Group: gs[0].ID, Moved: len(gs), Node: m.to,
			Text: fmt.Sprintf("%s: leader %s → %s (term %d)", what, nodeName(m.from), nodeName(m.to), m.term)})
	}
	return out
}

// groupRanges names groups by id, runs of consecutive ids as a range:
// "10, 100–107, 200".
func groupRanges(gs []*ClusterGroupState) string {
	ids := make([]int64, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	slices.Sort(ids)
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d–%d", ids[i], ids[j]))
		} else {
			parts = append(parts, strconv.FormatInt(ids[i], 10))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// diffNodes records the nodes that joined, or whose reachability or
// status changed, since prev.
func (st *ClusterState) diffNodes(prev *ClusterState) []ClusterChange {
	now := st.PolledAt
	var out []ClusterChange
	nodesBefore := byID(prev.Nodes, func(n ClusterNodeState) int64 { return n.ID })
	for i := range st.Nodes {
		n := &st.Nodes[i]
		p, ok := nodesBefore[n.ID]
		if !ok {
			n.ChangedAt = now
			out = append(out, ClusterChange{Time: now, Node: n.ID, Text: fmt.Sprintf("node %d joined", n.ID)})
			continue
		}
		n.ChangedAt = p.ChangedAt
		var what []string
		if p.Answered != n.Answered {
			if n.Answered {
				what = append(what, "answers again")
			} else {
				what = append(what, "does not answer")
			}
		}
		// A node that does not answer has the status the connection's
		// node gives it (unknown on a follower): no news.
		if p.Status != n.Status && n.Status != "" && p.Status != "" && n.Answered && p.Answered {
			what = append(what, fmt.Sprintf("%s → %s", p.Status, n.Status))
		}
		// The connection moved here (it failed over, or was pointed here).
		if n.IsSelf && !p.IsSelf {
			what = append(what, "this connection is on it now")
		}
		if len(what) > 0 {
			n.ChangedAt = now
			out = append(out, ClusterChange{Time: now, Node: n.ID, Text: fmt.Sprintf("node %d: %s", n.ID, strings.Join(what, ", "))})
		}
	}
	return out
}

// changesNotice sums changes up in one line for the footer ("" when
// none): a move of every group at once is one line, not ten.
func changesNotice(changes []ClusterChange) string {
	if len(changes) == 0 {
		return ""
	}
	moves, to := 0, map[int64]int{}
	var nodes []string
	var move string
	for _, ch := range changes {
		if ch.Group != 0 {
			moves += ch.Moved
			to[ch.Node] += ch.Moved
			move = ch.Text
		} else {
			nodes = append(nodes, ch.Text)
		}
	}
	var parts []string
	if moves == 1 {
		parts = append(parts, move)
	}
	if moves > 1 {
		targets := slices.Sorted(func(yield func(int64) bool) {
			for n := range to {
				if !yield(n) {
					return
				}
			}
		})
		var where []string
		for _, n := range targets {
			where = append(where, fmt.Sprintf("%d to %s", to[n], nodeName(n)))
		}
		parts = append(parts, fmt.Sprintf("%d group leaders moved (%s)", moves, strings.Join(where, ", ")))
	}
	parts = append(parts, nodes...)
	return "cluster: " + strings.Join(parts, "; ")
}

// GroupName names a Raft group for people: "meta", "user shard 3",
// "shared shard 0", with its id.
func GroupName(id int64, kind string) string {
	switch {
	case kind == "meta" || id == metaGroupID:
		return fmt.Sprintf("%d meta", id)
	case kind == "user_data" || (id >= 100 && id < 200):
		return fmt.Sprintf("%d user shard %d", id, id-100)
	case kind == "shared_data" || (id >= 200 && id < 300):
		return fmt.Sprintf("%d shared shard %d", id, id-200)
	}
	return fmt.Sprintf("%d %s", id, kind)
}

func nodeName(id int64) string {
	if id == 0 {
		return "none"
	}
	return fmt.Sprintf("node %d", id)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clone copies the state's slices, so a copy handed out shares nothing
// the next poll changes.
func (st ClusterState) clone() ClusterState {
	st.Nodes, st.Groups, st.Changes = slices.Clone(st.Nodes), slices.Clone(st.Groups), slices.Clone(st.Changes)
	return st
}
