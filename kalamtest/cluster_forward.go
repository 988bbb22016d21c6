package kalamtest

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/kalamtest/internal/sqlengine"
)

// forwardTarget is upstream's forward_sql_if_follower decision: each
// statement's group (its route), the Meta group when they disagree, and
// nothing to do when no statement has a group or this node leads it
// (jamals86/KalamDB: backend/crates/kalamdb-api/src/http/sql/forward.rs).
// ok is false when the request runs here.
func (s *Server) forwardTarget(c sqlengine.Caller, in sqlInput) (group int64, ok bool) {
	for _, r := range s.db.e.Routes(c, in.sql, in.ns) {
		g := s.cl.routeGroup(r, c.UserID)
		switch {
		case g == 0:
		case group == 0:
			group = g
		case group != g:
			group = MetaGroup
		}
	}
	if group == 0 || s.cl.leaderOf(group) == s.nodeID {
		return 0, false
	}
	return group, true
}

// forwardedEnvelope is the leader's answer to a forwarded request
// (ForwardedResponse in jamals86/KalamDB:
// backend/crates/kalamdb-core/src/cluster_handler.rs): error omitted on
// success, took unrounded.
type forwardedEnvelope struct {
	Status  string          `json:"status"`
	Results []sqlResult     `json:"results"`
	Took    serdeFloat      `json:"took"`
	Error   *forwardedError `json:"error,omitempty"`
}

type forwardedError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// forward relays the whole request to the group's leader and its answer
// back unchanged. The follower answers 503 FORWARD_FAILED itself when it
// cannot reach a leader (none known, the leader down, or either side
// partitioned), as upstream does when the gRPC call fails.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, group int64, u user, in sqlInput, start time.Time) {
	leader := s.cl.node(s.cl.leaderOf(group))
	if leader == nil || !leader.reachable() || s.partitioned.Load() {
		s.log.Info("sql forward failed", "node", s.nodeID, "group", group)
		writeJSON(w, http.StatusServiceUnavailable, sqlEnvelope{Status: "error", Results: []sqlResult{}, Took: tookMS(start),
			Error: &client.SQLError{Code: "FORWARD_FAILED", Message: "Failed to forward request to cluster leader"}})
		return
	}
	status, body := leader.executeForwarded(r.Context(), u, in)
	s.log.Info("sql forwarded", "node", s.nodeID, "group", group, "leader", leader.nodeID, "status", status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// executeForwarded is the leader's side (handle_forward_sql): it runs the
// request as its own node and answers in the forwarded shape.
func (s *Server) executeForwarded(ctx context.Context, u user, in sqlInput) (int, []byte) {
	start := time.Now()
	took := func() serdeFloat { return serdeFloat(float64(time.Since(start).Nanoseconds()) / 1e6) }
	ctx = withNode(context.WithoutCancel(ctx), s)
	res, xerr := s.db.e.Exec(ctx, sqlengine.Caller{UserID: u.id, Role: u.role},
		sqlengine.Request{SQL: in.sql, Params: in.params, Namespace: in.ns, Forwarded: true})
	var env forwardedEnvelope
	status := http.StatusOK
	if xerr != nil {
		status = xerr.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		env = forwardedEnvelope{Status: "error", Results: []sqlResult{}, Took: took(),
			Error: &forwardedError{Code: xerr.Code, Message: xerr.Message}}
	} else {
		env = forwardedEnvelope{Status: "success", Results: resultsOf(res, u), Took: took()}
	}
	b, err := json.Marshal(env)
	if err != nil {
		return http.StatusBadGateway, []byte(`{"status":"error","results":[],"took":0,"error":{"code":"FORWARD_FAILED","message":"bad forwarded answer"}}`)
	}
	return status, b
}

// uploadLeaderHint is upstream's answer to a multipart upload on a node
// that does not lead the first statement's group: files cannot be
// forwarded, so the client is told where the leader is (data groups only)
// and may retry there (jamals86/KalamDB:
// backend/crates/kalamdb-api/src/http/sql/execute.rs). follower is false
// when this node leads it.
func (s *Server) uploadLeaderHint(c sqlengine.Caller, in sqlInput) (msg string, follower bool) {
	for _, r := range s.db.e.Routes(c, in.sql, in.ns) {
		g := s.cl.routeGroup(r, c.UserID)
		if g == 0 {
			continue
		}
		if s.cl.leaderOf(g) == s.nodeID {
			return "", false
		}
		if leader := s.cl.node(s.cl.leaderOf(g)); leader != nil && g != MetaGroup {
			return "Not leader for shard. Leader: " + leader.apiAddr(), true
		}
		return "Not leader for shard. Leader unknown", true
	}
	return "", false
}
