// Package sqlengine is the embedded SQL engine behind kalamtest: KalamDB's
// SQL surface (namespaces, USER/SHARED/STREAM tables, soft deletes, the
// _seq Snowflake column, system.users and system.live) parsed by hand and
// executed on an in-memory SQLite database (modernc.org/sqlite, pure Go).
//
// The engine knows nothing about HTTP or WebSockets. The server calls Exec
// for /v1/api/sql, PrepareLive/Page/Last for subscriptions, and OnChange +
// LiveQuery.Notification to fan committed row changes out to live queries.
// Every method is safe for concurrent use.
package sqlengine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Roles, lowercase as on the wire.
const (
	RoleUser    = "user"
	RoleService = "service"
	RoleDBA     = "dba"
	RoleSystem  = "system"
)

// Caller is the authenticated user a statement runs as. UserID is the
// canonical user id (what the server puts in as_user and auth_success.user);
// it scopes USER tables and answers CURRENT_USER(). Role is lowercase:
// user, service, dba or system.
type Caller struct {
	UserID string
	Role   string
}

// IsAdmin reports whether the caller has an admin role (dba or system):
// admins see unredacted error messages with details and may read system
// tables.
func (c Caller) IsAdmin() bool { return c.Role == RoleDBA || c.Role == RoleSystem }

// Options configure an Engine. The zero value is usable.
type Options struct {
	// Now is the clock used for _seq generation and NOW(); nil means
	// time.Now. _seq stays strictly increasing even if the clock stalls or
	// goes backwards.
	Now func() time.Time
	// WorkerID is the 10-bit Snowflake worker id (1–1023) placed in _seq;
	// 0 means 1, upstream's default node id (the fixtures' _seq values
	// carry worker 1).
	WorkerID int64
	// DefaultNamespace is used for unqualified table names when a request
	// carries no namespace; "" means "default", as upstream.
	DefaultNamespace string
}

// Error is a failed statement. For Exec it carries the HTTP status and the
// SQL error code (EMPTY_SQL, PARAMS_WITH_BATCH, INVALID_SQL,
// TABLE_NOT_FOUND, SQL_EXECUTION_ERROR, PERMISSION_DENIED, ...); Message is
// already redacted for non-admin callers and Details (the statement SQL) is
// set only for admins, so the server copies them verbatim into
// {"error":{"code","message","details"}}. For PrepareLive it carries the
// WebSocket error code (INVALID_SQL, NOT_FOUND, UNAUTHORIZED,
// SUBSCRIPTION_FAILED) with the exact upstream message; Status is 0 then.
type Error struct {
	Status  int
	Code    string
	Message string
	Details string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Details != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Details)
	}
	return e.Code + ": " + e.Message
}

// Request is one /v1/api/sql call.
type Request struct {
	// SQL is one or more statements separated by ';'.
	SQL string
	// Params bind $1, $2, ...: JSON scalars as decoded by encoding/json
	// with UseNumber (string, json.Number, bool, nil); float64 and Go
	// integers are accepted too.
	Params []any
	// Namespace is the request's namespace_id: the namespace of
	// unqualified table names. "" means Options.DefaultNamespace.
	Namespace string
	// Forwarded runs the request as a cluster leader runs one forwarded by
	// a follower (CoreClusterHandler::handle_forward_sql upstream): one
	// result per statement with no folding of DML counts, never the
	// single-SELECT shape, and a failing statement is 400 INVALID_INPUT
	// (could not be prepared) or SQL_EXECUTION_ERROR "Statement N failed:
	// …" with no details.
	Forwarded bool
}

// Result is one entry of the response's results array.
type Result struct {
	// Schema is set for queries (IsQuery) and omitted (nil) for DML/DDL.
	Schema []client.SchemaField
	// Rows are positional, in schema order, with values already in
	// KalamDB's JSON encoding (section 3.8): BIGINT as string, INT as
	// int64, BOOLEAN as bool, TIMESTAMP as int64 µs, TEXT as string, NULL
	// as nil. Nil for DML/DDL.
	Rows [][]any
	// RowCount is rows returned (queries) or rows affected (DML).
	RowCount int
	// Message is set for DML/DDL ("Inserted 1 row(s)") and empty for
	// queries.
	Message string
	// IsQuery is true for SELECT-like statements.
	IsQuery bool
}

// RawRows returns Rows marshalled cell by cell, the form of
// client.SQLResult.Rows.
func (r Result) RawRows() [][]json.RawMessage {
	if r.Rows == nil {
		return nil
	}
	out := make([][]json.RawMessage, len(r.Rows))
	for i, row := range r.Rows {
		out[i] = make([]json.RawMessage, len(row))
		for j, v := range row {
			// serde_json writes integral floats as "1.0"; encoding/json
			// would write "1", which reads back as an integer.
			if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1e16 {
				out[i][j] = json.RawMessage(strconv.FormatFloat(f, 'f', 1, 64))
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				b = []byte("null")
			}
			out[i][j] = b
		}
	}
	return out
}

// ExecResult is the outcome of a successful Exec.
type ExecResult struct {
	Results []Result
	// SingleSelect is true when the request was exactly one query: the
	// server then answers in the streamed shape (trailing "error":null, no
	// message key).
	SingleSelect bool
}

// Exec runs the statements of r as caller c. On error nothing after the
// failing statement runs (statements before it stay committed, as
// upstream) and the returned *Error is ready for the response envelope.
func (e *Engine) Exec(ctx context.Context, c Caller, r Request) (ExecResult, *Error) {
	return e.exec(ctx, c, r)
}

// UserRecord is one row of system.users, supplied by the server, which
// owns the users (SetUserLister). Column order and types follow upstream.
type UserRecord struct {
	UserID              string
	PasswordHash        string // shown as is; pass a hash, never a password
	Role                string
	Email               *string
	AuthType            string // "password" when empty
	StorageMode         string // "table" when empty
	StorageID           *string
	FailedLoginAttempts int
	LockedUntil         *time.Time
	LastLoginAt         *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
	LastSeen            *time.Time
	DeletedAt           *time.Time
}

// LiveRecord is one row of system.live (an active subscription), supplied
// by the server (SetLiveLister). Column order and types follow upstream.
type LiveRecord struct {
	LiveID         string // upstream: {user_id}-{connection_id}-{subscription_id}
	ConnectionID   string
	SubscriptionID string
	Namespace      string
	Table          string
	UserID         string
	Query          string
	Options        *string // JSON text of the subscribe options, nil when absent
	Status         string  // "active" when empty
	CreatedAt      time.Time
	LastUpdate     time.Time
	Changes        int64
	LastPingAt     time.Time
	NodeID         int64
}

// SetUserLister installs the source of system.users rows. It is called
// (without engine locks held) each time a statement reads system.users.
func (e *Engine) SetUserLister(fn func() []UserRecord) { e.setUserLister(fn) }

// SetLiveKiller installs what KILL LIVE QUERY calls, after checking the
// caller is DBA or system: remove the subscription from the connection
// (both ids as in system.live's live_id) without telling its client, and
// say whether the connection exists and has authenticated. It is called
// without engine locks held. Without a killer every kill fails as for an
// unknown connection.
func (e *Engine) SetLiveKiller(fn func(ctx context.Context, connectionID, subscriptionID string) KillOutcome) {
	e.setLiveKiller(fn)
}

// SetLiveLister installs the source of system.live rows. It is called
// (without engine locks held) each time a statement reads system.live,
// with the context Exec was given (which says which node answers).
func (e *Engine) SetLiveLister(fn func(context.Context) []LiveRecord) { e.setLiveLister(fn) }

// MaxSeq returns the largest _seq committed so far (0 when none): the
// snapshot boundary of a subscription's initial load.
func (e *Engine) MaxSeq() int64 { return e.maxSeq() }

// PrepareLive validates a subscription's SQL for caller c and returns the
// live query. Only `SELECT cols|* FROM ns.table [WHERE expr]` is accepted.
// Errors carry WebSocket codes and the exact upstream messages, e.g.
// INVALID_SQL "Invalid SQL: Query must use namespace.table format",
// NOT_FOUND "Not found: Table not found: app:missing", UNAUTHORIZED.
func (e *Engine) PrepareLive(c Caller, sql string) (*LiveQuery, *Error) {
	return e.prepareLive(c, sql)
}

// Schema returns the subscription's schema, as upstream builds it: for
// SELECT * every column including _seq (and _deleted on USER/SHARED
// tables); for a projection only the projected columns that exist (rows
// still carry _seq).
func (q *LiveQuery) Schema() []client.SchemaField { return q.schema() }

// Namespace returns the subscribed table's namespace.
func (q *LiveQuery) Namespace() string { return q.ns }

// Table returns the subscribed table's name (without namespace).
func (q *LiveQuery) Table() string { return q.table }

// Page returns up to limit rows of the initial load: rows with
// after < _seq <= boundary (after nil = from the start), not soft-deleted,
// matching the filter and visible to the caller, ascending by _seq,
// projected (always keeping _seq). hasMore reports whether more rows
// remain below the boundary. limit <= 0 means no limit.
func (q *LiveQuery) Page(after *int64, boundary int64, limit int) (rows []client.Row, hasMore bool, err error) {
	return q.page(after, boundary, limit)
}

// Last returns the newest n rows with _seq <= boundary (same visibility
// rules as Page), in ascending _seq order.
func (q *LiveQuery) Last(n int, boundary int64) ([]client.Row, error) {
	return q.last(n, boundary)
}

// Change is one committed row change, delivered to OnChange listeners in
// commit order. Its row data is private; turn it into a subscription's
// payload with LiveQuery.Notification.
type Change struct {
	// Namespace and Table name the changed table.
	Namespace, Table string
	// Owner is the owning user id for USER tables, "" otherwise.
	Owner string
	// Type is client.ChangeInsert, client.ChangeUpdate or client.ChangeDelete.
	Type string
	// Seq is the _seq of the new version (for a delete: the tombstone).
	Seq int64

	oldRow, newRow map[string]any // internal (wire-encoded) values by column
	tbl            *tableDef
}

// OnChange registers fn to be called synchronously after each committed
// row change, in commit order, from the goroutine that made the change,
// while the engine lock is held. fn must not block and must not call
// Exec, PrepareLive, Page or Last (they would deadlock); MaxSeq and
// LiveQuery.Notification are safe. Copy the Change into a queue instead.
// remove unregisters fn and may be called more than once.
func (e *Engine) OnChange(fn func(Change)) (remove func()) { return e.onChange(fn) }

// Notification turns a change into this subscription's wire payload, or
// ok=false when the change is not visible to it (another table, another
// user's USER table row, WHERE filter not matched by the relevant row).
// Shapes follow protocol section 3.6: insert → rows; update → rows
// (non-null projected columns + PK + _seq) and old_values (changed
// columns + PK + old _seq); delete → old_values (the tombstone row).
func (q *LiveQuery) Notification(ch Change) (changeType string, rows, oldValues []client.Row, ok bool) {
	return q.notification(ch)
}

// UnstoredInserts builds the changes that inserting rows into ns.table
// would publish — each with the next _seq, in order — without storing the
// rows or publishing anything: the caller fans them out itself. The
// firehose uses it for a table whose rows are generated, never kept (its
// initial load is always empty). Values are in the engine's internal form
// (int64 for BIGINT, string for TEXT).
func (e *Engine) UnstoredInserts(ns, table string, rows []map[string]any) ([]Change, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	def, ok := e.tables[ns+"."+table]
	if !ok {
		return nil, fmt.Errorf("table %s.%s not found", ns, table)
	}
	out := make([]Change, len(rows))
	for i, row := range rows {
		seq := e.nextSeq()
		row[colSeq] = seq
		if def.hasDeleted() {
			row[colDeleted] = false
		}
		out[i] = Change{Namespace: def.ns, Table: def.name, Type: client.ChangeInsert, Seq: seq, newRow: row, tbl: def}
	}
	return out, nil
}
