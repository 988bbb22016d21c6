package sqlengine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/kalamdash/kalamdash/client"
)

// schemaCol is one column of a subscription's schema.
type schemaCol = outCol

func liveErr(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// invalidLive wraps a QueryParseError the way LiveError::InvalidSql
// displays it upstream (the prefix really appears twice).
func invalidLive(msg string) *Error {
	return liveErr(WSCodeInvalidSQL, "Invalid SQL: Invalid SQL: "+msg)
}

const liveShapeMsg = "Subscription query supports only SELECT ... FROM ... [WHERE ...]."

func (e *Engine) prepareLive(c Caller, sqlText string) (*LiveQuery, *Error) {
	st, err := parseStatement(sqlText)
	if err != nil {
		if errors.Is(err, errUnsupported) {
			return nil, invalidLive("Only SELECT queries are supported for subscriptions")
		}
		return nil, liveErr(WSCodeInvalidSQL, "Invalid SQL: Parse error: Failed to parse SQL: "+err.Error())
	}
	s, ok := st.(selectStmt)
	if !ok {
		return nil, invalidLive("Only SELECT queries are supported for subscriptions")
	}
	switch {
	case len(s.orderBy) > 0:
		return nil, invalidLive("Subscription query does not support ORDER BY. Only SELECT ... FROM ... [WHERE ...] is supported.")
	case s.limit != nil || s.offset != nil, s.distinct, s.having != nil:
		return nil, invalidLive(liveShapeMsg)
	case len(s.groupBy) > 0:
		return nil, invalidLive("Subscription query does not support GROUP BY. Only SELECT ... FROM ... [WHERE ...] is supported.")
	case s.from == nil:
		return nil, invalidLive("Subscription query requires exactly one table in the FROM clause.")
	}
	star := false
	var proj []string
	for _, it := range s.items {
		if it.star {
			star = true
			continue
		}
		name := exprName(it.x)
		if ce, ok := it.x.(colExpr); ok {
			name = ce.name
		}
		if name == colSeq || name == colDeleted {
			return nil, invalidLive("Subscription query cannot project system columns '_seq' or '_deleted'.")
		}
		proj = append(proj, name)
	}
	if s.from.ns == "" {
		return nil, liveErr(WSCodeInvalidSQL, "Invalid SQL: Query must use namespace.table format")
	}
	tid := s.from.ns + ":" + s.from.name
	if s.from.ns == systemNamespace && !c.IsAdmin() {
		return nil, liveErr(WSCodeUnauthorized, fmt.Sprintf("Permission denied: Cannot subscribe to system table '%s': insufficient privileges. Only DBA and system roles can subscribe to system tables.", tid))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, liveErr(WSCodeSubscriptionFailed, "engine is closed")
	}
	def, ok := e.tables[s.from.ns+"."+s.from.name]
	if !ok {
		return nil, liveErr(WSCodeNotFound, "Not found: Table not found: "+tid)
	}
	if def.typ == tableShared {
		if k := canRead(c, def); k != nil {
			return nil, liveErr(WSCodeUnauthorized, fmt.Sprintf("Permission denied: Cannot subscribe to shared table '%s': access level '%s' requires elevated privileges.", tid, lowerASCII(def.access)))
		}
	}
	q := &LiveQuery{e: e, caller: c, def: def, ns: def.ns, table: def.name, sql: sqlText, star: star || len(proj) == 0}
	if q.star {
		q.cols = def.starColumns()
	} else {
		// Upstream keeps only projected names that exist in the table.
		for _, name := range proj {
			if _, ok := def.col(name); ok && !slices.Contains(q.cols, name) {
				q.cols = append(q.cols, name)
			}
		}
	}
	for _, name := range q.cols {
		t, _ := def.colType(name)
		q.fields = append(q.fields, schemaCol{name: name, typ: t, flags: def.flagsOf(name)})
	}
	if !q.star {
		q.cols = append(q.cols, colSeq)
	}
	if s.where != nil {
		x, err := bindParams(s.where, nil)
		if err == nil {
			x, err = resolveConsts(x, &evalCtx{now: e.now(), user: c.UserID})
		}
		if err != nil {
			return nil, invalidLive(err.Error())
		}
		x = coerceLiterals(x, def.colType)
		r := &renderer{colType: def.colType, def: def}
		if _, rerr := r.render(x); rerr != nil {
			return nil, liveErr(WSCodeSubscriptionFailed, rerr.Error())
		}
		q.where = x
	}
	return q, nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func (q *LiveQuery) schema() []client.SchemaField { return schemaOf(q.fields) }

// scan reads visible rows with after < _seq <= boundary matching the
// filter, in the given order, at most limit rows (limit < 0: all).
func (q *LiveQuery) scan(after *int64, boundary int64, desc bool, limit int) ([]client.Row, error) {
	e := q.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("sqlengine: engine is closed")
	}
	if cur, ok := e.tables[q.def.fullName()]; !ok || cur != q.def {
		return nil, fmt.Errorf("Table not found: %s", q.def.tableID())
	}
	where, args := e.baseFilter(q.def, q.caller)
	where += " AND " + quoteIdent(colSeq) + " <= ?"
	args = append(args, boundary)
	if after != nil {
		where += " AND " + quoteIdent(colSeq) + " > ?"
		args = append(args, *after)
	}
	if q.where != nil {
		r := &renderer{colType: q.def.colType, def: q.def}
		w, err := r.render(q.where)
		if err != nil {
			return nil, err
		}
		where += " AND " + w
		args = append(args, r.args...)
	}
	tail := "ORDER BY " + quoteIdent(colSeq)
	if desc {
		tail += " DESC"
	}
	if limit >= 0 {
		tail += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := scanRows(context.Background(), e.on(nil), q.def, where, args, tail)
	if err != nil {
		return nil, err
	}
	out := make([]client.Row, len(rows))
	for i, r := range rows {
		out[i] = q.project(r.vals)
	}
	return out, nil
}

func (q *LiveQuery) page(after *int64, boundary int64, limit int) ([]client.Row, bool, error) {
	if limit <= 0 {
		rows, err := q.scan(after, boundary, false, -1)
		return rows, false, err
	}
	rows, err := q.scan(after, boundary, false, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}

func (q *LiveQuery) last(n int, boundary int64) ([]client.Row, error) {
	if n <= 0 {
		return []client.Row{}, nil
	}
	rows, err := q.scan(nil, boundary, true, n)
	if err != nil {
		return nil, err
	}
	slices.Reverse(rows)
	return rows, nil
}

// project builds the wire row of a stored row: every column for SELECT *
// (user columns, _seq, and _deleted where the table has it), else the
// projected columns plus _seq.
func (q *LiveQuery) project(vals map[string]any) client.Row {
	row := make(client.Row, len(q.cols))
	for _, name := range q.cols {
		v, ok := vals[name]
		if !ok {
			continue
		}
		t, _ := q.def.colType(name)
		row[name] = wireValue(v, t)
	}
	return row
}

func (q *LiveQuery) wire(name string, v any) any {
	t, _ := q.def.colType(name)
	return wireValue(v, t)
}

func (q *LiveQuery) notification(ch Change) (string, []client.Row, []client.Row, bool) {
	if ch.tbl != q.def {
		return "", nil, nil, false
	}
	if q.def.perUser() && ch.Owner != q.caller.UserID {
		return "", nil, nil, false
	}
	if q.where != nil {
		v, err := eval(q.where, &evalCtx{row: ch.newRow, user: q.caller.UserID})
		if b, _ := v.(bool); err != nil || !b {
			return "", nil, nil, false
		}
	}
	switch ch.Type {
	case client.ChangeInsert:
		return ch.Type, []client.Row{q.project(ch.newRow)}, nil, true
	case client.ChangeDelete:
		if !q.def.hasDeleted() {
			// Stream tables delete for real; upstream sends only the row id.
			return ch.Type, nil, []client.Row{{"row_id": strconv.FormatInt(ch.Seq, 10)}}, true
		}
		return ch.Type, nil, []client.Row{q.project(ch.newRow)}, true
	case client.ChangeUpdate:
		newRow := client.Row{colSeq: q.wire(colSeq, ch.newRow[colSeq])}
		oldRow := client.Row{colSeq: q.wire(colSeq, ch.oldRow[colSeq])}
		if pk := q.def.pk; pk != "" {
			newRow[pk] = q.wire(pk, ch.newRow[pk])
			oldRow[pk] = q.wire(pk, ch.oldRow[pk])
		}
		for _, name := range q.cols {
			if name[0] == '_' || name == q.def.pk {
				continue
			}
			nv, old := ch.newRow[name], ch.oldRow[name]
			if nv != nil {
				newRow[name] = q.wire(name, nv)
			}
			if !sameValue(old, nv) {
				oldRow[name] = q.wire(name, old)
			}
		}
		return ch.Type, []client.Row{newRow}, []client.Row{oldRow}, true
	}
	return "", nil, nil, false
}

// sameValue compares two internal values for equality (NULL == NULL).
func sameValue(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if x, ok := a.([]byte); ok {
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	}
	return a == b
}
