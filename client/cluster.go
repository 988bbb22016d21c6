package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// This file reads what a KalamDB server says about its Raft cluster: the
// unauthenticated, localhost-only GET /v1/api/cluster/health and the
// system.cluster and system.cluster_groups views (dba and system roles
// only). Every server answers them, a standalone one as a one-node
// cluster (jamals86/KalamDB: backend/crates/kalamdb-api/src/http/cluster/health.rs,
// backend/crates/kalamdb-views/src/cluster.rs,
// backend/crates/kalamdb-views/src/cluster_groups.rs).

// ClusterHealth is the body of GET /v1/api/cluster/health: the answering
// node's view of its cluster. Status is "healthy" (a Meta leader is known
// and this node is active), "degraded" or "unhealthy"; the endpoint
// answers 200 either way. The fields stand in upstream's source order and
// absent values are null: kalamtest serves this type as the endpoint's body.
type ClusterHealth struct {
	Status               string       `json:"status"`
	Version              string       `json:"version"`
	BuildDate            string       `json:"build_date"`
	IsClusterMode        bool         `json:"is_cluster_mode"`
	ClusterID            string       `json:"cluster_id"`
	NodeID               int64        `json:"node_id"`
	IsLeader             bool         `json:"is_leader"` // leads the Meta group
	TotalGroups          int64        `json:"total_groups"`
	GroupsLeading        int64        `json:"groups_leading"`
	CurrentTerm          int64        `json:"current_term"`
	LastApplied          *int64       `json:"last_applied"` // Meta group
	MillisSinceQuorumAck *int64       `json:"millis_since_quorum_ack"`
	Nodes                []NodeHealth `json:"nodes"`
}

// NodeHealth is one member node in a ClusterHealth. ReplicationLag is
// known for other nodes only on the Meta leader.
type NodeHealth struct {
	NodeID             int64    `json:"node_id"`
	Role               string   `json:"role"`   // leader, follower, learner, candidate, shutdown
	Status             string   `json:"status"` // active, offline, joining, catching_up, unknown
	APIAddr            string   `json:"api_addr"`
	IsSelf             bool     `json:"is_self"`
	IsLeader           bool     `json:"is_leader"`
	ReplicationLag     *int64   `json:"replication_lag"`
	CatchupProgressPct *int64   `json:"catchup_progress_pct"`
	Hostname           *string  `json:"hostname"`
	MemoryUsageMB      *int64   `json:"memory_usage_mb"`
	CPUUsagePercent    *float64 `json:"cpu_usage_percent"`
	UptimeSeconds      *int64   `json:"uptime_seconds"`
	UptimeHuman        *string  `json:"uptime_human"`
}

// ClusterHealth reads GET /v1/api/cluster/health of this client's server.
// It sends no credentials (the endpoint reads none). A server answers it
// to localhost peers only: anyone else gets an *Error with Status 403.
func (c *Client) ClusterHealth(ctx context.Context) (*ClusterHealth, error) {
	return c.ClusterHealthAt(ctx, c.URL())
}

// ClusterHealthAt is ClusterHealth against another node, by its base URL
// (http(s)://host:port), with this client's HTTP settings. A transport
// failure is an *Error of kind KindUnreachable or KindTimeout: the node
// does not answer.
func (c *Client) ClusterHealthAt(ctx context.Context, nodeURL string) (*ClusterHealth, error) {
	const op, path = "cluster health", "/v1/api/cluster/health"
	base, err := parseBaseURL(nodeURL)
	if err != nil {
		return nil, err
	}
	r, err := c.doAt(ctx, base, op, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusForbidden {
		return nil, &Error{Kind: KindOther, Op: op, Status: r.status,
			Message: "cluster health answers localhost only: " + snippet(r.body)}
	}
	var h ClusterHealth
	if err := decodeJSON(r.body, &h); err != nil || r.status != http.StatusOK || h.Status == "" {
		return nil, &Error{Kind: KindNotKalamDB, Op: op, Status: r.status, Message: "unexpected cluster health answer: " + snippet(r.body), Err: err}
	}
	return &h, nil
}

// MeAt runs GET /v1/api/auth/me against another node, by its base URL,
// with this client's current access token: the cheapest authenticated
// call, so it tells whether the token works on that node (KalamDB nodes
// share the JWT secret and the users table).
// The token goes only where CredentialsMayGo allows.
func (c *Client) MeAt(ctx context.Context, nodeURL string) (*MeResponse, error) {
	const op, path = "me", "/v1/api/auth/me"
	base, err := parseBaseURL(nodeURL)
	if err != nil {
		return nil, err
	}
	if err := c.CredentialsMayGo(nodeURL); err != nil {
		return nil, err
	}
	if err := c.ensureAuth(ctx); err != nil {
		return nil, err
	}
	r, err := c.doAt(ctx, base, op, http.MethodGet, path, nil, c.bearer())
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, c.authFailure(op, path, r)
	}
	var me MeResponse
	if err := decodeJSON(r.body, &me); err != nil {
		return nil, &Error{Kind: KindNotKalamDB, Op: op, Status: r.status, Message: "answer is not a KalamDB user: " + snippet(r.body), Err: err}
	}
	return &me, nil
}

// ClusterNode is one row of system.cluster: a member node as the
// answering node sees it. Nullable columns are nil when NULL; the Status
// and ReplicationLag of other nodes are known on the Meta leader only.
type ClusterNode struct {
	ClusterID          string
	NodeID             int64
	Role               string // leader, follower, learner, candidate, shutdown (Meta group)
	Status             string // active, offline, joining, catching_up, unknown
	RPCAddr, APIAddr   string
	IsSelf, IsLeader   bool
	GroupsLeading      int64
	TotalGroups        int64
	CurrentTerm        *int64
	LastAppliedLog     *int64
	ReplicationLag     *int64
	CatchupProgressPct *int64
	Hostname, Version  *string
	UptimeHuman        *string
}

// ClusterGroup is one row of system.cluster_groups: a Raft group as the
// answering node sees it. State is Rust's debug spelling (Leader,
// Follower, …); CurrentLeader is a node id, nil while none is known.
type ClusterGroup struct {
	GroupID       int64  // 10 Meta, 100+n user shard n, 200+n shared shard n
	GroupType     string // meta, user_data, shared_data
	NodeID        int64  // the answering node
	CurrentTerm   *int64
	LastLogIndex  *int64
	LastApplied   *int64
	State         *string
	CurrentLeader *int64
}

// ClusterNodes reads system.cluster. KalamDB lets only the dba and system
// roles read it; others get an *Error of kind KindSQL (PERMISSION_DENIED).
// System views are answered by the node itself, never forwarded.
func (c *Client) ClusterNodes(ctx context.Context) ([]ClusterNode, error) {
	rows, err := c.systemRows(ctx, "system.cluster")
	if err != nil {
		return nil, err
	}
	out := make([]ClusterNode, 0, len(rows))
	for _, r := range rows {
		out = append(out, ClusterNode{
			ClusterID: r.text("cluster_id"), NodeID: r.int("node_id"), Role: r.text("role"), Status: r.text("status"),
			RPCAddr: r.text("rpc_addr"), APIAddr: r.text("api_addr"), IsSelf: r.bool("is_self"), IsLeader: r.bool("is_leader"),
			GroupsLeading: r.int("groups_leading"), TotalGroups: r.int("total_groups"),
			CurrentTerm: r.intPtr("current_term"), LastAppliedLog: r.intPtr("last_applied_log"),
			ReplicationLag: r.intPtr("replication_lag"), CatchupProgressPct: r.intPtr("catchup_progress_pct"),
			Hostname: r.textPtr("hostname"), Version: r.textPtr("version"), UptimeHuman: r.textPtr("uptime_human"),
		})
	}
	return out, nil
}

// ClusterGroups reads system.cluster_groups (dba and system roles only,
// like ClusterNodes).
func (c *Client) ClusterGroups(ctx context.Context) ([]ClusterGroup, error) {
	rows, err := c.systemRows(ctx, "system.cluster_groups")
	if err != nil {
		return nil, err
	}
	out := make([]ClusterGroup, 0, len(rows))
	for _, r := range rows {
		out = append(out, ClusterGroup{
			GroupID: r.int("group_id"), GroupType: r.text("group_type"), NodeID: r.int("node_id"),
			CurrentTerm: r.intPtr("current_term"), LastLogIndex: r.intPtr("last_log_index"),
			LastApplied: r.intPtr("last_applied"), State: r.textPtr("state"), CurrentLeader: r.intPtr("current_leader"),
		})
	}
	return out, nil
}

// namedRow is one result row by column name.
type namedRow map[string]any

// systemRows runs SELECT * FROM view and returns its rows by column name.
func (c *Client) systemRows(ctx context.Context, view string) ([]namedRow, error) {
	res, err := c.Query(ctx, "SELECT * FROM "+view)
	if err != nil {
		return nil, err
	}
	if len(res.Results) != 1 {
		return nil, &Error{Kind: KindProtocol, Op: "query", Message: fmt.Sprintf("%s answered with %d results, want 1", view, len(res.Results))}
	}
	r := res.Results[0]
	cols := r.Columns()
	out := make([]namedRow, 0, len(r.Rows))
	for _, vals := range r.Rows {
		row := make(namedRow, len(cols))
		for i, name := range cols {
			if i < len(vals) {
				row[name] = vals[i]
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func (r namedRow) text(col string) string {
	s, _ := r[col].(string)
	return s
}

func (r namedRow) textPtr(col string) *string {
	if s, ok := r[col].(string); ok {
		return &s
	}
	return nil
}

func (r namedRow) bool(col string) bool {
	b, _ := r[col].(bool)
	return b
}

func (r namedRow) int(col string) int64 {
	if p := r.intPtr(col); p != nil {
		return *p
	}
	return 0
}

// intPtr reads an integer cell: BIGINT arrives as a string over
// /v1/api/sql, smaller integers as JSON numbers; nil for NULL.
func (r namedRow) intPtr(col string) *int64 {
	var n int64
	var err error
	switch v := r[col].(type) {
	case string:
		n, err = strconv.ParseInt(v, 10, 64)
	case json.Number:
		n, err = v.Int64()
	case float64:
		n = int64(v)
	case int64:
		n = v
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return &n
}

// CredentialsMayGo reports whether this client's credentials may be sent
// to the node at nodeURL, which the server named (system.cluster's
// api_addr): a server, or anyone who can change what it answers, must not
// be able to collect the user's token or password by advertising a host.
// They may go to the nodes the user listed (the client's own) and to
// another port of the current node's host, but never from https to plain
// http. Otherwise the error says why and how to allow it.
func (c *Client) CredentialsMayGo(nodeURL string) error {
	target, err := parseBaseURL(nodeURL)
	if err != nil {
		return err
	}
	key := nodeKey(target)
	for _, n := range c.nodes {
		if nodeKey(n) == key {
			return nil
		}
	}
	cur := c.node()
	if cur.Scheme == "https" && target.Scheme != "https" {
		return &Error{Kind: KindOther, Op: "credentials", Message: fmt.Sprintf(
			"not sending credentials to %s: it is plain http and this connection uses https; list it in --url to allow it", shownURL(nodeURL))}
	}
	if hostKey(target) != hostKey(cur) {
		return &Error{Kind: KindOther, Op: "credentials", Message: fmt.Sprintf(
			"not sending credentials to %s: the server named it and it is not in --url; list it there to allow it", shownURL(nodeURL))}
	}
	return nil
}
