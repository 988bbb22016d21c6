package ui

import (
	"context"
	"time"
)

// This file declares what the Cluster view needs from a connection: the
// optional Cluster interface and the plain values it returns. A
// connection without it (a recording) shows the view with a note.

// Cluster is what a live connection offers about its server's Raft
// cluster. The calls that block do so on the network; the UI runs them in
// commands.
type Cluster interface {
	// PollCluster reads the cluster as the connection's node sees it,
	// asks every node directly whether it answers, and tries the
	// connection's token on each. A node that does not answer is in the
	// result, with its error; the error return is for a connection that
	// cannot be asked at all (closed).
	PollCluster(ctx context.Context) (ClusterInfo, error)
	// OpenNode opens a connection to another node (its base URL) with
	// this connection's credentials, named name (the backend makes the
	// name unique).
	OpenNode(ctx context.Context, url, name string) (Conn, error)
	// CompareReplica compares subscription sub of this connection with
	// subscription otherSub of other (another tab's connection) by
	// primary key. It reads kept rows only, so Update may call it.
	CompareReplica(sub string, other Conn, otherSub string, q ReplicaQuery) (ReplicaDiff, error)
}

// ClusterInfo is one poll of the cluster. Text fields come from the
// server: the UI draws them through safe.
type ClusterInfo struct {
	ClusterID string
	// Source is where the nodes and leaders came from:
	// "system.cluster_groups" (a leader per group) or
	// "/v1/api/cluster/health" (the Meta leader only); "" when neither
	// answered. SourceNote says why, when it is not the views.
	Source, SourceNote string
	Nodes              []ClusterNode
	Groups             []ClusterGroup
	MetaLeader         int64
	PolledAt           time.Time
	// Err is why the connection's node could not be asked this time;
	// Nodes and Groups are then the last known.
	Err     string
	Changes []ClusterChange // oldest first
	// Token is the fingerprint of the token tried on every node ("":
	// the connection has none).
	Token string
}

// ClusterNode is one member node.
type ClusterNode struct {
	ID                         int64
	URL                        string // base URL it is reached at
	Node                       string // identifies the node, as Snapshot.Node does
	APIAddr                    string
	Role, Status               string
	IsSelf, IsLeader           bool
	GroupsLeading, TotalGroups int64
	Applied, Lag               *int64 // nil: unknown
	Version, Hostname          string
	Answered                   bool   // it answered the direct probe
	ProbeErr                   string // why not
	TokenOK                    bool   // the token was accepted there
	TokenErr                   string
	ChangedAt                  time.Time // status or reachability changed
}

// ClusterGroup is one Raft group and its leader.
type ClusterGroup struct {
	ID        int64
	Name      string // "10 meta", "103 user shard 3"
	Leader    int64  // 0: none known
	Term      int64
	ChangedAt time.Time // its leader moved (zero: not seen)
}

// ClusterChange is one leader move or node change, in words.
type ClusterChange struct {
	Time time.Time
	Text string
}

// ReplicaQuery pages through a replica comparison.
type ReplicaQuery struct {
	Offset, Limit int
	OnlyDiffs     bool
}

// ReplicaDiff is one live query on two connections, compared by key.
type ReplicaDiff struct {
	Columns []string
	Rows    []ReplicaRow // the page asked for, in key order
	Total   int          // rows the query selects
	// OnlyA, OnlyB and Differ count the differing keys; Keys every key;
	// Evicted the keys not compared because one side's row cap evicted
	// them.
	OnlyA, OnlyB, Differ, Keys, Evicted int
}

// Clean reports whether both sides hold the same rows.
func (d ReplicaDiff) Clean() bool { return d.OnlyA+d.OnlyB+d.Differ == 0 }

// ReplicaRow is one key with its cells on each side (nil: that side
// lacks the row).
type ReplicaRow struct {
	Key  string
	A, B []Cell
	// Kind: "" the same on both, "only-a", "only-b", "values".
	Kind string
	// Differ marks, per column, the values that differ.
	Differ []bool
}
