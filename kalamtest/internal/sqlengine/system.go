package sqlengine

import (
	"context"
	"sort"
	"strings"
	"time"
)

// systemRows is a snapshot of a system table's rows, collected before the
// engine lock is taken and materialised into SQLite for the query.
type systemRows struct {
	def  *tableDef
	rows [][]any // internal values in def.cols order
}

func sysCol(name string, t kalamType, notNull bool) column {
	return column{name: name, typ: t, notNull: notNull}
}

// Column lists follow upstream's ordinal order (kalamdb-system models).
var (
	sysUsersDef = &tableDef{ns: systemNamespace, name: "users", typ: tableSystem, pk: "user_id", sqlName: quoteIdent("system.users"),
		cols: []column{
			{name: "user_id", typ: typText, notNull: true, pk: true},
			sysCol("password_hash", typText, true),
			sysCol("role", typText, true),
			sysCol("email", typText, false),
			sysCol("auth_type", typText, true),
			sysCol("auth_data", typJSON, false),
			sysCol("storage_mode", typText, true),
			sysCol("storage_id", typText, false),
			sysCol("failed_login_attempts", typInt, true),
			sysCol("locked_until", typTimestamp, false),
			sysCol("last_login_at", typTimestamp, false),
			sysCol("created_at", typTimestamp, true),
			sysCol("updated_at", typTimestamp, true),
			sysCol("last_seen", typTimestamp, false),
			sysCol("deleted_at", typTimestamp, false),
		}}
	sysLiveDef = &tableDef{ns: systemNamespace, name: "live", typ: tableSystem, pk: "live_id", sqlName: quoteIdent("system.live"),
		cols: []column{
			{name: "live_id", typ: typText, notNull: true, pk: true},
			sysCol("connection_id", typText, true),
			sysCol("subscription_id", typText, true),
			sysCol("namespace_id", typText, true),
			sysCol("table_name", typText, true),
			sysCol("user_id", typText, true),
			sysCol("query", typText, true),
			sysCol("options", typJSON, false),
			sysCol("status", typText, true),
			sysCol("created_at", typTimestamp, true),
			sysCol("last_update", typTimestamp, true),
			sysCol("changes", typBigInt, true),
			sysCol("last_ping_at", typTimestamp, true),
			sysCol("node_id", typBigInt, true),
		}}
	sysNamespacesDef = &tableDef{ns: systemNamespace, name: "namespaces", typ: tableSystem, pk: "namespace_id", sqlName: quoteIdent("system.namespaces"),
		cols: []column{
			{name: "namespace_id", typ: typText, notNull: true, pk: true},
			sysCol("name", typText, true),
			sysCol("table_count", typInt, true),
		}}
	sysTablesDef = &tableDef{ns: systemNamespace, name: "tables", typ: tableSystem, pk: "table_id", sqlName: quoteIdent("system.tables"),
		cols: []column{
			{name: "table_id", typ: typText, notNull: true, pk: true},
			sysCol("namespace_id", typText, true),
			sysCol("table_name", typText, true),
			sysCol("table_type", typText, true),
			sysCol("access_level", typText, false),
			sysCol("ttl_seconds", typBigInt, false),
		}}
)

// System timestamps are stored in microseconds like user TIMESTAMP
// columns, so they encode the same way on the wire.
func tsPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func ts(t time.Time) any {
	if t.IsZero() {
		return int64(0)
	}
	return t.UnixMicro()
}

func strPtr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// collectSystem snapshots the rows of system.<name>, calling the server's
// listers; it must run without e.mu held. It returns nil for an unknown
// system table.
func (e *Engine) collectSystem(ctx context.Context, name string) *systemRows {
	e.lmu.RLock()
	users, live, cluster := e.userLister, e.liveLister, e.clusterLister
	e.lmu.RUnlock()
	switch name {
	case "users":
		sr := &systemRows{def: sysUsersDef}
		if users != nil {
			for _, u := range users() {
				sr.rows = append(sr.rows, []any{u.UserID, u.PasswordHash, u.Role, strPtr(u.Email),
					orDefault(u.AuthType, "password"), nil, orDefault(u.StorageMode, "table"), strPtr(u.StorageID),
					int64(u.FailedLoginAttempts), tsPtr(u.LockedUntil), tsPtr(u.LastLoginAt), ts(u.CreatedAt),
					ts(u.UpdatedAt), tsPtr(u.LastSeen), tsPtr(u.DeletedAt)})
			}
		}
		return sr
	case "live":
		sr := &systemRows{def: sysLiveDef}
		if live != nil {
			for _, l := range live(ctx) {
				sr.rows = append(sr.rows, []any{l.LiveID, l.ConnectionID, l.SubscriptionID, l.Namespace, l.Table,
					l.UserID, l.Query, strPtr(l.Options), orDefault(l.Status, "active"), ts(l.CreatedAt),
					ts(l.LastUpdate), l.Changes, ts(l.LastPingAt), l.NodeID})
			}
		}
		return sr
	case "cluster", "cluster_groups":
		var view ClusterView
		if cluster != nil {
			view = cluster(ctx)
		}
		if name == "cluster" {
			return view.nodeRows()
		}
		return view.groupRows()
	case "namespaces":
		return &systemRows{def: sysNamespacesDef} // filled under the lock
	case "tables":
		return &systemRows{def: sysTablesDef}
	}
	return nil
}

// materialize (re)writes the system table's SQLite copy. Caller holds mu.
func (e *Engine) materialize(ctx context.Context, sr *systemRows) error {
	switch sr.def {
	case sysNamespacesDef:
		names := make([]string, 0, len(e.namespaces))
		for n := range e.namespaces {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			count := int64(0)
			for _, t := range e.tables {
				if t.ns == n {
					count++
				}
			}
			sr.rows = append(sr.rows, []any{n, n, count})
		}
	case sysTablesDef:
		keys := make([]string, 0, len(e.tables))
		for k := range e.tables {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t := e.tables[k]
			var access, ttl any
			if t.typ == tableShared {
				access = strings.ToLower(t.access)
			}
			if t.typ == tableStream {
				ttl = t.ttl
			}
			sr.rows = append(sr.rows, []any{t.fullName(), t.ns, t.name, t.typ.String(), access, ttl})
		}
	}
	var ddl strings.Builder
	ddl.WriteString("CREATE TABLE IF NOT EXISTS " + sr.def.sqlName + " (")
	marks := make([]string, len(sr.def.cols))
	for i, c := range sr.def.cols {
		if i > 0 {
			ddl.WriteString(", ")
		}
		ddl.WriteString(quoteIdent(c.name) + " " + c.typ.sqliteType())
		marks[i] = "?"
	}
	ddl.WriteString(")")
	if _, err := e.conn.ExecContext(ctx, ddl.String()); err != nil {
		return err
	}
	if _, err := e.conn.ExecContext(ctx, "DELETE FROM "+sr.def.sqlName); err != nil {
		return err
	}
	ins := "INSERT INTO " + sr.def.sqlName + " VALUES (" + strings.Join(marks, ", ") + ")"
	for _, row := range sr.rows {
		args := make([]any, len(row))
		for i, v := range row {
			args[i] = toSQLite(v)
		}
		if _, err := e.on(nil).ExecContext(ctx, ins, args...); err != nil {
			return err
		}
	}
	return nil
}
