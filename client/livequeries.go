package client

import (
	"context"
	"fmt"
)

// LiveQuery is one row of KalamDB's system.live: a subscription held by
// the server node that answered.
type LiveQuery struct {
	// LiveID is {user_id}-{connection_id}-{subscription_id}, what
	// KILL LIVE QUERY takes.
	LiveID         string
	ConnectionID   string
	SubscriptionID string // the id the client chose
	UserID         string
	Query          string
	Status         string
}

// liveQueriesSQL reads the columns of system.live that LiveQuery holds.
const liveQueriesSQL = "SELECT live_id, connection_id, subscription_id, user_id, query, status FROM system.live"

// LiveQueries lists the server's live queries (system.live). KalamDB lets
// only the dba and system roles read it; others get an *Error of kind
// KindSQL with Code PERMISSION_DENIED. A server removes a subscription on
// KILL LIVE QUERY without telling its client, so this list is the only
// way to learn about it. On a cluster it shows only the subscriptions of
// the node that answers.
func (c *Client) LiveQueries(ctx context.Context) ([]LiveQuery, error) {
	res, err := c.Query(ctx, liveQueriesSQL)
	if err != nil {
		return nil, err
	}
	if len(res.Results) != 1 {
		return nil, &Error{Kind: KindProtocol, Op: "live queries", Message: fmt.Sprintf("system.live answered with %d results, want 1", len(res.Results))}
	}
	r := res.Results[0]
	col := map[string]int{}
	for i, name := range r.Columns() {
		col[name] = i
	}
	text := func(row []any, name string) string {
		i, ok := col[name]
		if !ok || i >= len(row) {
			return ""
		}
		if s, ok := row[i].(string); ok {
			return s
		}
		return ""
	}
	out := make([]LiveQuery, 0, len(r.Rows))
	for _, row := range r.Rows {
		out = append(out, LiveQuery{
			LiveID: text(row, "live_id"), ConnectionID: text(row, "connection_id"),
			SubscriptionID: text(row, "subscription_id"), UserID: text(row, "user_id"),
			Query: text(row, "query"), Status: text(row, "status"),
		})
	}
	return out, nil
}
