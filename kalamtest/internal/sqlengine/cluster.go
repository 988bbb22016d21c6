package sqlengine

import "context"

// ClusterView is what system.cluster and system.cluster_groups show: the
// answering node's view of its Raft cluster, supplied by the server
// (SetClusterLister). Column order and types follow upstream
// (jamals86/KalamDB: backend/crates/kalamdb-views/src/cluster.rs,
// backend/crates/kalamdb-views/src/cluster_groups.rs).
type ClusterView struct {
	Nodes  []ClusterNodeRecord
	Groups []ClusterGroupRecord
}

// ClusterNodeRecord is one row of system.cluster. Pointer fields are the
// nullable columns.
type ClusterNodeRecord struct {
	ClusterID          string
	NodeID             int64
	Role               string // leader, follower, learner, candidate, shutdown
	Status             string // active, offline, joining, catching_up, unknown
	RPCAddr, APIAddr   string
	IsSelf, IsLeader   bool
	GroupsLeading      int64
	TotalGroups        int64
	CurrentTerm        *int64
	LastAppliedLog     *int64
	LeaderLastLogIndex *int64
	SnapshotIndex      *int64
	CatchupProgressPct *int64
	ReplicationLag     *int64
	Hostname, Version  *string
	MemoryMB           *int64
	MemoryUsageMB      *int64
	CPUUsagePercent    *float64
	UptimeSeconds      *int64
	UptimeHuman        *string
	OS, Arch           *string
}

// ClusterGroupRecord is one row of system.cluster_groups: one Raft group
// as the answering node sees it.
type ClusterGroupRecord struct {
	GroupID              int64 // 10 Meta, 100+n user shard n, 200+n shared shard n
	ClusterID            string
	NodeID               int64
	GroupType            string // meta, user_data, shared_data
	CurrentTerm          *int64
	Vote                 *string // Rust debug text, typed JSON upstream
	LastLogIndex         *int64
	LastApplied          *int64
	Snapshot             *int64
	Purged               *int64
	State                *string // Leader, Follower, … (Rust debug spelling)
	CurrentLeader        *int64
	MillisSinceQuorumAck *int64
}

// SetClusterLister installs the source of system.cluster and
// system.cluster_groups. It is called (without engine locks held) each
// time a statement reads either view, with the context Exec was given.
func (e *Engine) SetClusterLister(fn func(context.Context) ClusterView) {
	e.lmu.Lock()
	e.clusterLister = fn
	e.lmu.Unlock()
}

var (
	sysClusterDef = &tableDef{ns: systemNamespace, name: "cluster", typ: tableSystem, pk: "node_id", sqlName: quoteIdent("system.cluster"),
		cols: []column{
			sysCol("cluster_id", typText, true),
			{name: "node_id", typ: typBigInt, notNull: true, pk: true},
			sysCol("role", typText, true),
			sysCol("status", typText, true),
			sysCol("rpc_addr", typText, true),
			sysCol("api_addr", typText, true),
			sysCol("is_self", typBoolean, true),
			sysCol("is_leader", typBoolean, true),
			sysCol("groups_leading", typInt, true),
			sysCol("total_groups", typInt, true),
			sysCol("current_term", typBigInt, false),
			sysCol("last_applied_log", typBigInt, false),
			sysCol("leader_last_log_index", typBigInt, false),
			sysCol("snapshot_index", typBigInt, false),
			sysCol("catchup_progress_pct", typSmallInt, false),
			sysCol("replication_lag", typBigInt, false),
			sysCol("hostname", typText, false),
			sysCol("version", typText, false),
			sysCol("memory_mb", typBigInt, false),
			sysCol("memory_usage_mb", typBigInt, false),
			sysCol("cpu_usage_percent", typFloat, false),
			sysCol("uptime_seconds", typBigInt, false),
			sysCol("uptime_human", typText, false),
			sysCol("os", typText, false),
			sysCol("arch", typText, false),
		}}
	sysClusterGroupsDef = &tableDef{ns: systemNamespace, name: "cluster_groups", typ: tableSystem, pk: "group_id", sqlName: quoteIdent("system.cluster_groups"),
		cols: []column{
			{name: "group_id", typ: typBigInt, notNull: true, pk: true},
			sysCol("cluster_id", typText, true),
			sysCol("node_id", typBigInt, true),
			sysCol("group_type", typText, true),
			sysCol("current_term", typBigInt, false),
			sysCol("vote", typJSON, false),
			sysCol("last_log_index", typBigInt, false),
			sysCol("last_applied", typBigInt, false),
			sysCol("snapshot", typBigInt, false),
			sysCol("purged", typBigInt, false),
			sysCol("committed", typBigInt, false),
			sysCol("state", typText, false),
			sysCol("current_leader", typBigInt, false),
			sysCol("millis_since_quorum_ack", typBigInt, false),
		}}
)

func int64Ptr(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func float64Ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func (v ClusterView) nodeRows() *systemRows {
	sr := &systemRows{def: sysClusterDef}
	for _, n := range v.Nodes {
		sr.rows = append(sr.rows, []any{n.ClusterID, n.NodeID, n.Role, n.Status, n.RPCAddr, n.APIAddr,
			n.IsSelf, n.IsLeader, n.GroupsLeading, n.TotalGroups, int64Ptr(n.CurrentTerm), int64Ptr(n.LastAppliedLog),
			int64Ptr(n.LeaderLastLogIndex), int64Ptr(n.SnapshotIndex), int64Ptr(n.CatchupProgressPct),
			int64Ptr(n.ReplicationLag), strPtr(n.Hostname), strPtr(n.Version), int64Ptr(n.MemoryMB),
			int64Ptr(n.MemoryUsageMB), float64Ptr(n.CPUUsagePercent), int64Ptr(n.UptimeSeconds),
			strPtr(n.UptimeHuman), strPtr(n.OS), strPtr(n.Arch)})
	}
	return sr
}

func (v ClusterView) groupRows() *systemRows {
	sr := &systemRows{def: sysClusterGroupsDef}
	for _, g := range v.Groups {
		sr.rows = append(sr.rows, []any{g.GroupID, g.ClusterID, g.NodeID, g.GroupType, int64Ptr(g.CurrentTerm),
			strPtr(g.Vote), int64Ptr(g.LastLogIndex), int64Ptr(g.LastApplied), int64Ptr(g.Snapshot),
			int64Ptr(g.Purged), nil, strPtr(g.State), int64Ptr(g.CurrentLeader), int64Ptr(g.MillisSinceQuorumAck)})
	}
	return sr
}

// Route is where a cluster sends one statement: upstream's
// prepared_statement_target_group
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/http/sql/forward.rs).
type Route int

const (
	// RouteLocal statements run on the node that received them: reads of
	// system tables and views, and anything that cannot be prepared (the
	// local execution then reports the error).
	RouteLocal Route = iota
	// RouteUserShard statements go to the caller's user shard: DML and
	// SELECTs on USER and STREAM tables.
	RouteUserShard
	// RouteSharedShard statements go to the shared shard: DML and SELECTs
	// on SHARED tables.
	RouteSharedShard
	// RouteMeta statements go to the Meta group: every other write (DDL,
	// KILL LIVE QUERY, …).
	RouteMeta
)

// Routes returns the route of each statement of sql, or nil when the text
// does not split into statements (the local execution reports why).
func (e *Engine) Routes(c Caller, sql, ns string) []Route {
	raw := fastSingleStatement(sql)
	if raw == nil {
		var err error
		if raw, err = splitStatements(sql); err != nil {
			return nil
		}
	}
	if ns == "" {
		ns = e.defaultNamespace
	}
	out := make([]Route, 0, len(raw))
	for _, s := range raw {
		st, perr := e.prepare(c, s)
		if perr != nil {
			out = append(out, RouteLocal)
			continue
		}
		out = append(out, e.route(st, ns))
	}
	return out
}

func (e *Engine) route(st statement, ns string) Route {
	var ref *tableRef
	switch s := st.(type) {
	case selectStmt:
		if s.from == nil {
			return RouteLocal
		}
		ref = s.from
	case insertStmt:
		ref = &s.ref
	case updateStmt:
		ref = &s.ref
	case deleteStmt:
		ref = &s.ref
	default:
		return RouteMeta
	}
	e.mu.Lock()
	def, kerr := e.lookup(*ref, ns)
	e.mu.Unlock()
	_, isSelect := st.(selectStmt)
	switch {
	case kerr != nil && isSelect:
		return RouteLocal
	case kerr != nil:
		return RouteMeta // upstream: a DML whose table is unknown goes to Meta
	}
	switch def.typ {
	case tableUser, tableStream:
		return RouteUserShard
	case tableShared:
		return RouteSharedShard
	}
	if isSelect {
		return RouteLocal
	}
	return RouteMeta
}
