package kalamtest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// Raft group ids as upstream numbers them
// (jamals86/KalamDB: backend/crates/kalamdb-sharding/src/group_id.rs).
const (
	MetaGroup         int64 = 10
	userShardGroup0   int64 = 100
	sharedShardGroup0 int64 = 200
	// clusterUserShards is upstream's default user shard count of a
	// multi-node cluster (kalamdb-configs cluster.rs); a standalone
	// server has one.
	clusterUserShards = 8
	// DefaultReplicationTimeout is cluster.replication_timeout_ms: how long
	// a subscribe with options waits for its node to catch up.
	DefaultReplicationTimeout = 5 * time.Second
)

// raftGroup is one Raft group: its leader node and term.
type raftGroup struct {
	id     int64
	kind   string // meta, user_data, shared_data
	leader int64  // node id, 0 while no leader is known
	term   int64
}

// cluster is the membership every node of a cluster shares, and a
// standalone server's one-node cluster. The data set is one SQL engine;
// what makes nodes differ is leadership (where SQL is forwarded) and each
// node's own apply position (when its subscribers see a change).
type cluster struct {
	id         string
	userShards int
	lag        atomic.Int64 // time.Duration: how long after a commit a follower applies it
	replWait   time.Duration

	mu     sync.Mutex
	nodes  []*Server // nodes[i] has node id i+1
	groups []raftGroup
}

func newCluster(id string, userShards int, lag, replWait time.Duration) *cluster {
	c := &cluster{id: id, userShards: userShards, replWait: replWait}
	c.lag.Store(int64(lag))
	// Node 1 bootstraps the cluster, so it leads every group at first.
	c.groups = append(c.groups, raftGroup{id: MetaGroup, kind: "meta", leader: 1, term: 1})
	for i := range userShards {
		c.groups = append(c.groups, raftGroup{id: userShardGroup0 + int64(i), kind: "user_data", leader: 1, term: 1})
	}
	c.groups = append(c.groups, raftGroup{id: sharedShardGroup0, kind: "shared_data", leader: 1, term: 1})
	return c
}

// standaloneClusterID is upstream's cluster id without a [cluster]
// section: the hostname, else "kalamdb".
func standaloneClusterID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "kalamdb"
}

// userGroup is the user shard holding a user's rows. Upstream hashes the
// user id with Rust's DefaultHasher; this is a stable stand-in (FNV-1a),
// so which shard a user lands in differs from upstream.
func (c *cluster) userGroup(userID string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(userID))
	return userShardGroup0 + int64(h.Sum64()%uint64(c.userShards))
}

// routeGroup is the group of a statement route (0: answered locally).
func (c *cluster) routeGroup(r sqlengine.Route, userID string) int64 {
	switch r {
	case sqlengine.RouteUserShard:
		return c.userGroup(userID)
	case sqlengine.RouteSharedShard:
		return sharedShardGroup0
	case sqlengine.RouteMeta:
		return MetaGroup
	}
	return 0
}

// changeGroup is the group whose log carried a change.
func (c *cluster) changeGroup(ch sqlengine.Change) int64 {
	if ch.Owner != "" {
		return c.userGroup(ch.Owner)
	}
	return sharedShardGroup0
}

func (c *cluster) members() []*Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Server(nil), c.nodes...)
}

func (c *cluster) node(id int64) *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id < 1 || int(id) > len(c.nodes) {
		return nil
	}
	return c.nodes[id-1]
}

// leaderOf returns the leader node id of a group (0: none known).
func (c *cluster) leaderOf(group int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, g := range c.groups {
		if g.id == group {
			return g.leader
		}
	}
	return 0
}

func (c *cluster) groupList() []raftGroup {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]raftGroup(nil), c.groups...)
}

// reachable reports whether a node takes part in the cluster: serving and
// not partitioned.
func (s *Server) reachable() bool { return !s.down.Load() && !s.partitioned.Load() }

// reelect moves the leadership of every group led by a node that is no
// longer reachable to the lowest reachable node, with a new term, as an
// election would; with no reachable node the group has no leader.
func (c *cluster) reelect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next int64
	for i, n := range c.nodes {
		if n.reachable() {
			next = int64(i + 1)
			break
		}
	}
	for i := range c.groups {
		g := &c.groups[i]
		if g.leader != 0 && c.nodes[g.leader-1].reachable() {
			continue
		}
		if g.leader != next {
			g.leader = next
			g.term++
		}
	}
}

// Cluster is a running emulated KalamDB Raft cluster: Nodes()[i] is node
// i+1, a *Server with its own listener, HTTP API and /v1/ws, over one
// replicated data set. See NewCluster.
type Cluster struct {
	c     *cluster
	nodes []*Server
}

// NewCluster starts an n-node cluster (n ≥ 1) with upstream's multi-node
// layout: a Meta group, 8 user shards and one shared shard, all led by
// node 1 at first. Options apply to every node (users, secret, TTLs, demo
// …); WithAddr gives node 1's address, and node k listens on its port
// plus k-1 (with port 0 every node takes a free port).
// WithReplicationLag delays when followers apply changes.
func NewCluster(n int, opts ...Option) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("kalamtest: a cluster needs at least one node, not %d", n)
	}
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	host, port, err := splitPort(cfg.addr)
	if err != nil {
		return nil, err
	}
	cl := newCluster("kalamdb-cluster", clusterUserShards, cfg.replLag, cfg.replWait)
	first, err := newServerState(cfg, cl)
	if err != nil {
		return nil, err
	}
	nodes := []*Server{first}
	for range n - 1 {
		nodes = append(nodes, first.addPeer())
	}
	if n > 1 {
		for _, s := range nodes {
			s.seqs.Store(&nodeSeqs{worker: s.nodeID})
		}
	}
	out := &Cluster{c: cl, nodes: nodes}
	for i, s := range nodes {
		addr := net.JoinHostPort(host, "0")
		if port != 0 {
			addr = net.JoinHostPort(host, strconv.Itoa(port+i))
		}
		if err := s.start(addr); err != nil {
			_ = out.Close()
			return nil, err
		}
	}
	first.startBackground()
	return out, nil
}

func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("kalamtest: address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("kalamtest: address %q: bad port", addr)
	}
	return host, port, nil
}

// MustNewCluster is NewCluster that panics on error, for tests.
func MustNewCluster(n int, opts ...Option) *Cluster {
	c, err := NewCluster(n, opts...)
	if err != nil {
		panic(err)
	}
	return c
}

// Nodes returns the nodes, node id k at index k-1.
func (cl *Cluster) Nodes() []*Server { return append([]*Server(nil), cl.nodes...) }

// Node returns node id k (1-based), or nil.
func (cl *Cluster) Node(id int) *Server { return cl.c.node(int64(id)) }

// Leader returns the node leading a group (MetaGroup for the Meta group),
// or nil while it has none.
func (cl *Cluster) Leader(group int64) *Server { return cl.c.node(cl.c.leaderOf(group)) }

// UserGroup returns the id of the user shard group that holds a user's rows.
func (cl *Cluster) UserGroup(userID string) int64 { return cl.c.userGroup(userID) }

// SharedGroup is the id of the shared shard group.
func (cl *Cluster) SharedGroup() int64 { return sharedShardGroup0 }

// SetReplicationLag changes how long after a commit followers apply a
// change; changes already waiting are applied by the new lag.
func (cl *Cluster) SetReplicationLag(d time.Duration) {
	cl.c.lag.Store(int64(max(d, 0)))
	for _, n := range cl.nodes {
		n.wakeApply()
	}
}

// MoveLeader makes node id the leader of a group, in a new term (the node
// must be reachable). MoveAllLeaders does it for every group.
func (cl *Cluster) MoveLeader(group int64, node int) error {
	n := cl.c.node(int64(node))
	if n == nil || !n.reachable() {
		return fmt.Errorf("kalamtest: node %d is not a reachable member", node)
	}
	cl.c.mu.Lock()
	defer cl.c.mu.Unlock()
	for i := range cl.c.groups {
		g := &cl.c.groups[i]
		if g.id == group {
			if g.leader != int64(node) {
				g.leader = int64(node)
				g.term++
			}
			n.wakeApply()
			return nil
		}
	}
	return fmt.Errorf("kalamtest: no raft group %d", group)
}

// MoveAllLeaders makes node id the leader of every group.
func (cl *Cluster) MoveAllLeaders(node int) error {
	for _, g := range cl.c.groupList() {
		if err := cl.MoveLeader(g.id, node); err != nil {
			return err
		}
	}
	return nil
}

// StopNode shuts node id down as upstream shuts down (its sockets close
// with 1001, its port refuses connections); it stops applying, and the
// groups it led elect a new leader among the reachable nodes.
func (cl *Cluster) StopNode(node int) error {
	n, err := cl.member(node)
	if err != nil {
		return err
	}
	n.stopServing()
	cl.c.reelect()
	return nil
}

// RestartNode starts a stopped node again on the same address; it catches
// up on the changes it missed (after the replication lag) as a follower.
func (cl *Cluster) RestartNode(node int) error {
	n, err := cl.member(node)
	if err != nil {
		return err
	}
	if !n.down.Load() {
		return nil
	}
	if err := n.start(n.Addr()); err != nil {
		return err
	}
	cl.c.reelect()
	n.wakeApply()
	return nil
}

// member returns node id, or an error naming it when the cluster has none.
func (cl *Cluster) member(node int) (*Server, error) {
	if n := cl.c.node(int64(node)); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("kalamtest: no node %d", node)
}

// Partition cuts node id off from its peers: it keeps serving its clients
// but applies nothing more, cannot forward (FORWARD_FAILED), and the
// groups it led elect a new leader. Heal ends it; the node then catches up.
func (cl *Cluster) Partition(node int) error {
	n, err := cl.member(node)
	if err != nil {
		return err
	}
	n.partitioned.Store(true)
	cl.c.reelect()
	return nil
}

// Heal ends a partition of node id.
func (cl *Cluster) Heal(node int) error {
	n, err := cl.member(node)
	if err != nil {
		return err
	}
	n.partitioned.Store(false)
	cl.c.reelect()
	n.wakeApply()
	return nil
}

// Close stops every node and the shared engine.
func (cl *Cluster) Close() error {
	var errs []error
	for i := len(cl.nodes) - 1; i >= 0; i-- {
		errs = append(errs, cl.nodes[i].Close())
	}
	return errors.Join(errs...)
}

// waitApplied blocks until the node has applied every change committed so
// far (upstream's LiveApplyBarrier before a subscription's snapshot), or
// the replication timeout passes.
func (s *Server) waitApplied(ctx context.Context) error {
	target := s.db.committed.Load()
	deadline := time.NewTimer(s.cl.replWait)
	defer deadline.Stop()
	for {
		sig := s.appliedSignal()
		if s.applied.Load() >= target {
			return nil
		}
		select {
		case <-sig:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("Replication timeout for group %d: committed at %d but not all nodes applied within %dms",
				MetaGroup, target, s.cl.replWait.Milliseconds())
		}
	}
}
