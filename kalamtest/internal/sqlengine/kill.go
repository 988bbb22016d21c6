package sqlengine

import (
	"context"
	"fmt"
	"strings"
)

// This file holds KILL LIVE QUERY, which ends a subscription on the server
// without telling its client (upstream
// backend/crates/kalamdb-dialect/src/ddl/kill_live_query.rs,
// backend/crates/kalamdb-handlers/crates/admin/src/jobs/kill_live_query.rs,
// backend/crates/kalamdb-live/src/manager/queries_manager.rs).

// killLiveQueryStmt is KILL LIVE QUERY '<user_id>-<connection_id>-<subscription_id>'.
type killLiveQueryStmt struct {
	liveID, user, conn, sub string
}

func (killLiveQueryStmt) isStmt() {}

// KillOutcome is what the server did for a KILL LIVE QUERY (SetLiveKiller).
type KillOutcome int

// Outcomes of a kill.
const (
	// Killed: the connection exists; its subscription, if it had one with
	// that id, is gone (upstream also succeeds for an id it no longer holds).
	Killed KillOutcome = iota
	// KillNoConnection: no open connection has that id.
	KillNoConnection
	// KillUnauthenticated: the connection has not authenticated.
	KillUnauthenticated
)

// parseKillLiveQuery parses the statement as upstream does: by text, not
// tokens. Only the exact prefixes "KILL LIVE QUERY" and "kill live query"
// are cut off (so other spellings that the classifier let through fail
// here, as upstream), then quotes around the id, then the id is split at
// its first two dashes.
func parseKillLiveQuery(sql string) (killLiveQueryStmt, error) {
	s := strings.TrimSpace(sql)
	if !strings.HasPrefix(strings.ToUpper(s), "KILL LIVE QUERY") {
		return killLiveQueryStmt{}, &parseError{"Expected KILL LIVE QUERY statement"}
	}
	rest, ok := strings.CutPrefix(s, "KILL LIVE QUERY")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "kill live query"); !ok {
			return killLiveQueryStmt{}, &parseError{"Live query ID is required"}
		}
	}
	id := strings.TrimSpace(strings.Trim(strings.TrimSpace(rest), "'\"`"))
	if id == "" {
		return killLiveQueryStmt{}, &parseError{"Live query ID cannot be empty"}
	}
	parts := strings.SplitN(id, "-", 3)
	if len(parts) < 3 {
		return killLiveQueryStmt{}, &parseError{fmt.Sprintf("Invalid live_query_id format: %s. Expected: {user_id}-{connection_id}-{subscription_id}", id)}
	}
	return killLiveQueryStmt{liveID: id, user: parts[0], conn: parts[1], sub: parts[2]}, nil
}

// killLiveQuery runs the statement: DBA and system only, then the
// server's killer. It runs without the engine lock (the killer takes the
// server's locks).
func (e *Engine) killLiveQuery(ctx context.Context, c Caller, s killLiveQueryStmt) (Result, *kerr) {
	if !c.IsAdmin() {
		return Result{}, errf(kindUnauthorized, "KILL LIVE QUERY requires DBA or System role")
	}
	e.lmu.RLock()
	kill := e.liveKiller
	e.lmu.RUnlock()
	outcome := KillNoConnection
	if kill != nil {
		outcome = kill(ctx, s.conn, s.sub)
	}
	switch outcome {
	case KillNoConnection:
		return Result{}, errf(kindNotFound, "Connection not found for live query: %s", s.liveID)
	case KillUnauthenticated:
		return Result{}, errf(kindInvalidOperation, "Connection not authenticated")
	}
	return Result{Message: "Live query killed: " + s.liveID}, nil
}
