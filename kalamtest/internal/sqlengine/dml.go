package sqlengine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/kalamdash/kalamdash/client"
)

// storedRow is one current row version read back from SQLite.
type storedRow struct {
	rowid int64
	vals  map[string]any // user columns, _seq, and _deleted when the table has it
}

// baseFilter restricts a table scan to what the caller may see: their own
// rows in USER/STREAM tables, live (not soft-deleted) rows, and stream rows
// younger than the table's TTL.
func (e *Engine) baseFilter(def *tableDef, c Caller) (string, []any) {
	var parts []string
	var args []any
	if def.perUser() {
		parts = append(parts, quoteIdent(colOwner)+" = ?")
		args = append(args, c.UserID)
	}
	if def.hasDeleted() {
		parts = append(parts, quoteIdent(colDeleted)+" = 0")
	}
	if def.typ == tableStream && def.ttl > 0 {
		parts = append(parts, quoteIdent(colSeq)+" >= ?")
		args = append(args, seqFloor(e.now().Add(-secondsDur(def.ttl))))
	}
	if len(parts) == 0 {
		return "1", nil
	}
	return strings.Join(parts, " AND "), args
}

// storedColumns is the column list scanRows reads, after rowid.
func storedColumns(def *tableDef) []string {
	cols := []string{colSeq}
	if def.hasDeleted() {
		cols = append(cols, colDeleted)
	}
	for _, c := range def.cols {
		cols = append(cols, c.name)
	}
	return cols
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanRows reads full stored rows of def matching where (SQLite SQL).
func scanRows(ctx context.Context, q querier, def *tableDef, where string, args []any, tail string) ([]storedRow, error) {
	cols := storedColumns(def)
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	query := "SELECT rowid, " + strings.Join(quoted, ", ") + " FROM " + def.sqlName + " WHERE " + where + " " + tail
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedRow
	for rows.Next() {
		dest := make([]any, len(cols)+1)
		ptrs := make([]any, len(dest))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := storedRow{vals: make(map[string]any, len(cols))}
		r.rowid, _ = dest[0].(int64)
		for i, c := range cols {
			t, _ := def.colType(c)
			r.vals[c] = fromSQLite(dest[i+1], t)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// whereSQL prepares a WHERE expression of a DML/query statement.
func (e *Engine) whereSQL(def *tableDef, where expr, params []any, ectx *evalCtx, r *renderer) (string, expr, *kerr) {
	if where == nil {
		return "", nil, nil
	}
	x, err := bindParams(where, params)
	if err != nil {
		return "", nil, errf(kindPlain, "%s", err.Error())
	}
	if x, err = resolveConsts(x, ectx); err != nil {
		return "", nil, errf(kindExecution, "%s", err.Error())
	}
	x = coerceLiterals(x, def.colType)
	s, rerr := r.render(x)
	if rerr != nil {
		return "", nil, rerr.(*kerr)
	}
	return s, x, nil
}

func pkDisplay(v any) string { return toText(v) }

// providerErr is a failure inside a table provider's DML. Upstream it
// travels as DataFusionError::Execution ("Execution error: ...") and is
// re-classified by message; constraint violations become AlreadyExists,
// so the shown text carries both prefixes.
func providerErr(format string, a ...any) *kerr {
	return errf(kindAlreadyExists, "Execution error: "+format, a...)
}

func (e *Engine) insert(ctx context.Context, c Caller, s insertStmt, ns string, params []any) (Result, *kerr) {
	def, k := e.lookupWritable(c, s.ref, ns)
	if k != nil {
		return Result{}, k
	}
	cols := s.cols
	if cols == nil {
		for _, col := range def.cols {
			cols = append(cols, col.name)
		}
	}
	seen := map[string]bool{}
	for _, name := range cols {
		if name == colSeq || name == colDeleted || name == "_commit_seq" {
			return Result{}, errf(kindExecution, "System column violation: cannot insert into system column '%s'", name)
		}
		if _, ok := def.col(name); !ok {
			return Result{}, noField(def, name)
		}
		if seen[name] {
			return Result{}, errf(kindExecution, "Schema error: Schema contains duplicate unqualified field name %s", name)
		}
		seen[name] = true
	}
	ectx := &evalCtx{now: e.now(), user: c.UserID, genID: e.nextSeq}
	owner := ownerOf(c, def)
	tx, err := e.begin(ctx)
	if err != nil {
		return Result{}, errf(kindExecution, "%v", err)
	}
	defer tx.Rollback()
	var changes []Change
	for ri, exprs := range s.rows {
		if len(exprs) != len(cols) {
			return Result{}, errf(kindPlain, "Error during planning: Inserting query must have the same schema length as the table. Expected table schema length: %d, got: %d", len(cols), len(exprs))
		}
		row := make(map[string]any, len(def.cols)+2)
		for i, x := range exprs {
			x, err := bindParams(x, params)
			if err != nil {
				return Result{}, errf(kindPlain, "%s", err.Error())
			}
			v, err := eval(x, ectx)
			if err != nil {
				return Result{}, errf(kindExecution, "%s", err.Error())
			}
			col, _ := def.col(cols[i])
			cv, err := coerce(v, col.typ)
			if err != nil {
				return Result{}, errf(kindExecution, "%s", err.Error())
			}
			row[col.name] = cv
		}
		for _, col := range def.cols {
			if _, ok := row[col.name]; ok {
				continue
			}
			if col.def == nil {
				if col.notNull {
					return Result{}, providerErr("NOT NULL constraint violation: column '%s' is missing in row %d (row index %d)", col.name, ri+1, ri)
				}
				row[col.name] = nil
				continue
			}
			v, err := eval(col.def, ectx)
			if err != nil {
				return Result{}, errf(kindExecution, "%s", err.Error())
			}
			if row[col.name], err = coerce(v, col.typ); err != nil {
				return Result{}, errf(kindExecution, "%s", err.Error())
			}
		}
		for _, col := range def.cols {
			if col.notNull && row[col.name] == nil {
				return Result{}, providerErr("NOT NULL constraint violation: column '%s' cannot be NULL (row %d)", col.name, ri+1)
			}
		}
		replace := int64(-1)
		if def.pk != "" {
			existing, err := scanRows(ctx, e.on(tx), def, quoteIdent(colOwner)+" = ? AND "+quoteIdent(def.pk)+" = ?", []any{owner, toSQLite(row[def.pk])}, "")
			if err != nil {
				return Result{}, errf(kindExecution, "%v", err)
			}
			if len(existing) > 0 {
				if del, _ := existing[0].vals[colDeleted].(bool); !del || !def.hasDeleted() {
					return Result{}, providerErr("Already exists: Primary key violation: value '%s' already exists in column '%s'", pkDisplay(row[def.pk]), def.pk)
				}
				replace = existing[0].rowid
			}
		}
		seq := e.nextSeq()
		row[colSeq] = seq
		if def.hasDeleted() {
			row[colDeleted] = false
		}
		if err := writeRow(ctx, e.on(tx), def, owner, row, replace); err != nil {
			return Result{}, errf(kindExecution, "%v", err)
		}
		changes = append(changes, Change{Namespace: def.ns, Table: def.name, Owner: owner, Type: client.ChangeInsert, Seq: seq, newRow: row, tbl: def})
	}
	if k := e.publish(tx, changes); k != nil {
		return Result{}, k
	}
	n := len(s.rows)
	return Result{RowCount: n, Message: fmt.Sprintf("Inserted %d row(s)", n)}, nil
}

// writeRow inserts row, or overwrites the stored row rowid when >= 0.
func writeRow(ctx context.Context, tx runner, def *tableDef, owner string, row map[string]any, rowid int64) error {
	cols := storedColumns(def)
	args := make([]any, 0, len(cols)+2)
	if rowid >= 0 {
		sets := make([]string, len(cols))
		for i, c := range cols {
			sets[i] = quoteIdent(c) + " = ?"
			args = append(args, toSQLite(row[c]))
		}
		args = append(args, rowid)
		_, err := tx.ExecContext(ctx, "UPDATE "+def.sqlName+" SET "+strings.Join(sets, ", ")+" WHERE rowid = ?", args...)
		return err
	}
	quoted := make([]string, len(cols)+1)
	marks := make([]string, len(cols)+1)
	quoted[0], marks[0] = quoteIdent(colOwner), "?"
	args = append(args, owner)
	for i, c := range cols {
		quoted[i+1], marks[i+1] = quoteIdent(c), "?"
		args = append(args, toSQLite(row[c]))
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO "+def.sqlName+" ("+strings.Join(quoted, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...)
	return err
}

// ownerOf is who owns the rows c writes to def: c itself in a per-user
// table, nobody otherwise.
func ownerOf(c Caller, def *tableDef) string {
	if def.perUser() {
		return c.UserID
	}
	return ""
}

// beginMatch starts an UPDATE or DELETE: a transaction and the rows its
// WHERE matches in it. On success the caller owns tx (and rolls it back
// unless publish commits it).
func (e *Engine) beginMatch(ctx context.Context, c Caller, def *tableDef, where expr, params []any) (*txn, []storedRow, *evalCtx, *kerr) {
	ectx := &evalCtx{now: e.now(), user: c.UserID, genID: e.nextSeq}
	tx, err := e.begin(ctx)
	if err != nil {
		return nil, nil, nil, errf(kindExecution, "%v", err)
	}
	rows, k := e.matchRows(ctx, tx, c, def, where, params, ectx)
	if k != nil {
		tx.Rollback()
		return nil, nil, nil, k
	}
	return tx, rows, ectx, nil
}

// publish commits a write and hands its changes to the subscribers.
func (e *Engine) publish(tx *txn, changes []Change) *kerr {
	if err := tx.Commit(); err != nil {
		return errf(kindExecution, "%v", err)
	}
	e.maxSeq_.Store(e.lastSeq)
	e.emit(changes)
	return nil
}

// matchRows returns the caller-visible rows of def matching where.
func (e *Engine) matchRows(ctx context.Context, tx *txn, c Caller, def *tableDef, where expr, params []any, ectx *evalCtx) ([]storedRow, *kerr) {
	base, args := e.baseFilter(def, c)
	r := &renderer{colType: def.colType, def: def}
	ws, _, k := e.whereSQL(def, where, params, ectx, r)
	if k != nil {
		return nil, k
	}
	if ws != "" {
		base += " AND " + ws
		args = append(args, r.args...)
	}
	rows, err := scanRows(ctx, e.on(tx), def, base, args, "ORDER BY "+quoteIdent(colSeq))
	if err != nil {
		return nil, errf(kindExecution, "%v", err)
	}
	return rows, nil
}

func (e *Engine) update(ctx context.Context, c Caller, s updateStmt, ns string, params []any) (Result, *kerr) {
	def, k := e.lookupWritable(c, s.ref, ns)
	if k != nil {
		return Result{}, k
	}
	sets := make([]setClause, len(s.sets))
	for i, sc := range s.sets {
		if sc.col == colSeq || sc.col == colDeleted || sc.col == "_commit_seq" {
			return Result{}, errf(kindExecution, "System column violation: cannot update system column '%s'", sc.col)
		}
		if _, ok := def.col(sc.col); !ok {
			return Result{}, noField(def, sc.col)
		}
		x, err := bindParams(sc.x, params)
		if err != nil {
			return Result{}, errf(kindPlain, "%s", err.Error())
		}
		sets[i] = setClause{col: sc.col, x: x}
	}
	// The table provider's own checks follow the planner's: a STREAM
	// table refuses every UPDATE before looking at WHERE or SET.
	if def.typ == tableStream {
		return Result{}, errf(kindExecution, "Error during planning: UPDATE not supported for STREAM tables")
	}
	if s.where == nil {
		return Result{}, errf(kindExecution, "Error during planning: UPDATE requires a WHERE clause")
	}
	for _, sc := range sets {
		if sc.col == def.pk {
			return Result{}, errf(kindAlreadyExists, "Error during planning: UPDATE cannot modify primary key column '%s'", sc.col)
		}
	}
	tx, rows, ectx, k := e.beginMatch(ctx, c, def, s.where, params)
	if k != nil {
		return Result{}, k
	}
	defer tx.Rollback()
	owner := ownerOf(c, def)
	var changes []Change
	for ri, old := range rows {
		changed := false
		next := make(map[string]any, len(old.vals))
		for key, v := range old.vals {
			next[key] = v
		}
		ectx.row = old.vals
		for _, sc := range sets {
			v, err := eval(sc.x, ectx)
			if err != nil {
				return Result{}, errf(kindExecution, "%s", err.Error())
			}
			col, _ := def.col(sc.col)
			cv, err := coerce(v, col.typ)
			if err != nil {
				return Result{}, errf(kindExecution, "%s", err.Error())
			}
			if cv == nil && col.notNull {
				return Result{}, providerErr("NOT NULL constraint violation: column '%s' cannot be NULL (row %d)", col.name, ri+1)
			}
			changed = changed || !sameValue(old.vals[sc.col], cv)
			next[sc.col] = cv
		}
		if !changed {
			// Upstream skips a row the assignments leave as it was: no
			// new version, no notification, not counted as affected.
			continue
		}
		seq := e.nextSeq()
		next[colSeq] = seq
		if err := writeRow(ctx, e.on(tx), def, owner, next, old.rowid); err != nil {
			return Result{}, errf(kindExecution, "%v", err)
		}
		changes = append(changes, Change{Namespace: def.ns, Table: def.name, Owner: owner, Type: client.ChangeUpdate, Seq: seq, oldRow: old.vals, newRow: next, tbl: def})
	}
	ectx.row = nil
	if k := e.publish(tx, changes); k != nil {
		return Result{}, k
	}
	return Result{RowCount: len(changes), Message: fmt.Sprintf("Updated %d row(s)", len(changes))}, nil
}

func (e *Engine) delete(ctx context.Context, c Caller, s deleteStmt, ns string, params []any) (Result, *kerr) {
	def, k := e.lookupWritable(c, s.ref, ns)
	if k != nil {
		return Result{}, k
	}
	if s.where == nil {
		return Result{}, errf(kindExecution, "Error during planning: DELETE requires a WHERE clause")
	}
	tx, rows, _, k := e.beginMatch(ctx, c, def, s.where, params)
	if k != nil {
		return Result{}, k
	}
	defer tx.Rollback()
	owner := ownerOf(c, def)
	var changes []Change
	for _, old := range rows {
		if !def.hasDeleted() {
			// Stream tables delete for real.
			if _, err := e.on(tx).ExecContext(ctx, "DELETE FROM "+def.sqlName+" WHERE rowid = ?", old.rowid); err != nil {
				return Result{}, errf(kindExecution, "%v", err)
			}
			seq, _ := old.vals[colSeq].(int64)
			changes = append(changes, Change{Namespace: def.ns, Table: def.name, Owner: owner, Type: client.ChangeDelete, Seq: seq, oldRow: old.vals, newRow: old.vals, tbl: def})
			continue
		}
		tomb := make(map[string]any, len(old.vals))
		for key, v := range old.vals {
			tomb[key] = v
		}
		seq := e.nextSeq()
		tomb[colSeq] = seq
		tomb[colDeleted] = true
		if err := writeRow(ctx, e.on(tx), def, owner, tomb, old.rowid); err != nil {
			return Result{}, errf(kindExecution, "%v", err)
		}
		changes = append(changes, Change{Namespace: def.ns, Table: def.name, Owner: owner, Type: client.ChangeDelete, Seq: seq, oldRow: old.vals, newRow: tomb, tbl: def})
	}
	if k := e.publish(tx, changes); k != nil {
		return Result{}, k
	}
	return Result{RowCount: len(rows), Message: fmt.Sprintf("Deleted %d row(s)", len(rows))}, nil
}
