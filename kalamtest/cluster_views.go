package kalamtest

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// servingNode is the context key of the node answering a request.
type servingNode struct{}

func withNode(ctx context.Context, s *Server) context.Context {
	return context.WithValue(ctx, servingNode{}, s)
}

// nodeOf returns the node answering the request of ctx, else fallback.
func nodeOf(ctx context.Context, fallback *Server) *Server {
	if s, ok := ctx.Value(servingNode{}).(*Server); ok {
		return s
	}
	return fallback
}

// apiAddr is the node's api_addr: "host:port" on a standalone server, the
// configured URL in a multi-node cluster.
func (s *Server) apiAddr() string {
	if len(s.cl.members()) == 1 {
		return s.Addr()
	}
	return s.URL
}

func ptr[T any](v T) *T { return &v }

// clusterView is system.cluster and system.cluster_groups as this node
// sees them: other nodes' status and replication lag are known only on
// the Meta leader (upstream learns them from a peer-statistics refresh;
// here a follower reports them as unknown / null)
// (jamals86/KalamDB: backend/crates/kalamdb-views/src/cluster.rs,
// backend/crates/kalamdb-raft/src/executor/raft.rs).
func (s *Server) clusterView() sqlengine.ClusterView {
	cl := s.cl
	groups := cl.groupList()
	nodes := cl.members()
	metaLeader := cl.leaderOf(MetaGroup)
	logIndex := s.db.logIndex.Load()
	var metaTerm int64
	for _, g := range groups {
		if g.id == MetaGroup {
			metaTerm = g.term
		}
	}
	view := sqlengine.ClusterView{}
	for _, n := range nodes {
		leading := int64(0)
		for _, g := range groups {
			if g.leader == n.nodeID {
				leading++
			}
		}
		self := n == s
		rec := sqlengine.ClusterNodeRecord{
			ClusterID: cl.id, NodeID: n.nodeID, Role: "follower", Status: "unknown",
			RPCAddr: n.Addr(), APIAddr: n.apiAddr(), IsSelf: self, IsLeader: n.nodeID == metaLeader,
			GroupsLeading: leading, TotalGroups: int64(len(groups)), CurrentTerm: ptr(metaTerm),
			LeaderLastLogIndex: ptr(logIndex), Version: ptr(ServerVersion),
			OS: ptr(runtime.GOOS), Arch: ptr(runtime.GOARCH),
		}
		if rec.IsLeader {
			rec.Role = "leader"
		}
		knows := self || (s.nodeID == metaLeader && !s.partitioned.Load())
		if knows {
			rec.Status = "offline"
			if n.reachable() || (self && !n.down.Load()) {
				rec.Status = "active"
			}
			rec.LastAppliedLog = ptr(n.appliedIndex.Load())
			rec.ReplicationLag = ptr(logIndex - n.appliedIndex.Load())
			up := int64(time.Since(n.startedAt()).Seconds())
			rec.UptimeSeconds, rec.UptimeHuman = ptr(up), ptr(humanUptime(up))
		}
		view.Nodes = append(view.Nodes, rec)
	}
	for _, g := range groups {
		state := "Follower"
		if g.leader == s.nodeID {
			state = "Leader"
		}
		rec := sqlengine.ClusterGroupRecord{GroupID: g.id, ClusterID: cl.id, NodeID: s.nodeID, GroupType: g.kind,
			CurrentTerm: ptr(g.term), LastLogIndex: ptr(logIndex), LastApplied: ptr(s.appliedIndex.Load()),
			State: ptr(state)}
		if g.leader != 0 {
			rec.CurrentLeader = ptr(g.leader)
		}
		if g.leader == s.nodeID {
			rec.MillisSinceQuorumAck = ptr(int64(0))
		}
		view.Groups = append(view.Groups, rec)
	}
	return view
}

func humanUptime(sec int64) string {
	d, h, m := sec/86400, sec%86400/3600, sec%3600/60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd %dh %dm", d, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	}
	return fmt.Sprintf("%dm %ds", m, sec%60)
}

// handleClusterHealth is localhost-only and reads no credentials; once
// allowed it is always 200, with the verdict in status
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/http/cluster/health.rs).
// The body is the client's ClusterHealth, whose fields stand in upstream's
// source order and are null, never omitted, when absent
// (kalamdb-api/src/http/cluster/models/cluster_health_response.rs and
// node_health.rs).
func (s *Server) handleClusterHealth(w http.ResponseWriter, r *http.Request) {
	if !isLocalhost(r) {
		writeJSON(w, http.StatusForbidden, struct {
			Error string `json:"error"`
		}{"Access denied. Cluster health is localhost-only."})
		return
	}
	view := s.clusterView()
	out := client.ClusterHealth{Version: ServerVersion, BuildDate: serverBuildDate, IsClusterMode: true,
		ClusterID: s.cl.id, NodeID: s.nodeID, Nodes: []client.NodeHealth{}}
	leaderKnown := false
	for _, n := range view.Nodes {
		if n.IsLeader {
			leaderKnown = true
		}
		if n.IsSelf {
			out.IsLeader, out.TotalGroups, out.GroupsLeading = n.IsLeader, n.TotalGroups, n.GroupsLeading
			out.CurrentTerm, out.LastApplied = *n.CurrentTerm, n.LastAppliedLog
			if n.IsLeader {
				out.MillisSinceQuorumAck = ptr(int64(0))
			}
		}
		out.Nodes = append(out.Nodes, client.NodeHealth{NodeID: n.NodeID, Role: n.Role, Status: n.Status,
			APIAddr: n.APIAddr, IsSelf: n.IsSelf, IsLeader: n.IsLeader, ReplicationLag: n.ReplicationLag,
			UptimeSeconds: n.UptimeSeconds, UptimeHuman: n.UptimeHuman})
	}
	switch {
	case leaderKnown:
		out.Status = "healthy"
	default:
		out.Status = "degraded"
	}
	writeJSON(w, http.StatusOK, out)
}
