package sqlengine

import (
	"context"
	"strings"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

func secondsDur(n int64) time.Duration { return time.Duration(n) * time.Second }

// outCol is one output column of a query.
type outCol struct {
	name  string
	typ   kalamType
	flags []string
}

func schemaOf(cols []outCol) []client.SchemaField {
	out := make([]client.SchemaField, len(cols))
	for i, c := range cols {
		out[i] = client.SchemaField{Name: c.name, DataType: c.typ.dataTypeJSON(), Index: i, Flags: c.flags}
	}
	return out
}

func (e *Engine) selectQuery(ctx context.Context, c Caller, s selectStmt, ns string, params []any, sys *systemRows) (Result, *kerr) {
	ectx := &evalCtx{now: e.now(), user: c.UserID}
	if s.from == nil {
		return selectNoFrom(s, params, ectx)
	}
	var def *tableDef
	if s.from.ns == systemNamespace || (s.from.ns == "" && ns == systemNamespace) {
		if sys == nil {
			return Result{}, errf(kindTableNotFound, "Error during planning: table 'kalam.system.%s' not found", s.from.name)
		}
		if k := canRead(c, sys.def); k != nil {
			return Result{}, k
		}
		if err := e.materialize(ctx, sys); err != nil {
			return Result{}, errf(kindExecution, "%v", err)
		}
		def = sys.def
	} else {
		var k *kerr
		if def, k = e.lookup(*s.from, ns); k != nil {
			return Result{}, k
		}
		if k := canRead(c, def); k != nil {
			return Result{}, k
		}
	}
	prep := func(x expr) (expr, *kerr) {
		x, err := bindParams(x, params)
		if err != nil {
			return nil, errf(kindPlain, "%s", err.Error())
		}
		if x, err = resolveConsts(x, ectx); err != nil {
			return nil, errf(kindExecution, "%s", err.Error())
		}
		return coerceLiterals(x, def.colType), nil
	}
	r := &renderer{colType: def.colType, def: def, aliases: map[string]bool{}}
	// sqlOf prepares x (prep) and renders it as SQLite text.
	sqlOf := func(x expr) (expr, string, *kerr) {
		x, k := prep(x)
		if k != nil {
			return nil, "", k
		}
		text, err := r.render(x)
		if err != nil {
			return nil, "", err.(*kerr)
		}
		return x, text, nil
	}
	for _, it := range s.items {
		if it.alias != "" {
			r.aliases[it.alias] = true
		}
	}
	var cols []outCol
	var list []string
	aggregate := len(s.groupBy) > 0
	for _, it := range s.items {
		if it.star {
			for _, name := range def.starColumns() {
				t, _ := def.colType(name)
				cols = append(cols, outCol{name: name, typ: t, flags: def.flagsOf(name)})
				list = append(list, quoteIdent(name))
			}
			continue
		}
		x, sqlText, k := sqlOf(it.x)
		if k != nil {
			return Result{}, k
		}
		oc := outCol{name: it.alias, typ: exprType(x, def.colType)}
		if ce, ok := x.(colExpr); ok {
			oc.flags = def.flagsOf(ce.name)
		}
		if oc.name == "" {
			oc.name = exprName(x)
		}
		if hasAggregate(x) {
			aggregate = true
		}
		cols = append(cols, oc)
		if it.alias != "" {
			sqlText += " AS " + quoteIdent(it.alias)
		}
		list = append(list, sqlText)
	}
	var q strings.Builder
	q.WriteString("SELECT ")
	if s.distinct {
		q.WriteString("DISTINCT ")
	}
	q.WriteString(strings.Join(list, ", "))
	q.WriteString(" FROM " + def.sqlName + " WHERE ")
	base, bargs := e.baseFilter(def, c)
	if def.typ == tableSystem {
		base, bargs = "1", nil
	}
	q.WriteString(base)
	r.args = append(r.args, bargs...)
	if s.where != nil {
		_, w, k := sqlOf(s.where)
		if k != nil {
			return Result{}, k
		}
		q.WriteString(" AND " + w)
	}
	if len(s.groupBy) > 0 {
		parts := make([]string, len(s.groupBy))
		for i, g := range s.groupBy {
			_, p, k := sqlOf(g)
			if k != nil {
				return Result{}, k
			}
			parts[i] = p
		}
		q.WriteString(" GROUP BY " + strings.Join(parts, ", "))
	}
	if s.having != nil {
		_, h, k := sqlOf(s.having)
		if k != nil {
			return Result{}, k
		}
		q.WriteString(" HAVING " + h)
	}
	switch {
	case len(s.orderBy) > 0:
		parts := make([]string, len(s.orderBy))
		for i, o := range s.orderBy {
			_, p, k := sqlOf(o.x)
			if k != nil {
				return Result{}, k
			}
			if o.desc {
				p += " DESC"
			}
			parts[i] = p
		}
		q.WriteString(" ORDER BY " + strings.Join(parts, ", "))
	case !aggregate && !s.distinct && def.typ != tableSystem:
		// Upstream injects ORDER BY <pk> (or _seq) for deterministic results.
		if def.pk != "" {
			q.WriteString(" ORDER BY " + quoteIdent(def.pk))
		} else {
			q.WriteString(" ORDER BY " + quoteIdent(colSeq))
		}
	}
	if s.limit != nil || s.offset != nil {
		limit, offset := int64(-1), int64(0)
		if s.limit != nil {
			n, k := evalCount(s.limit, params, ectx, "LIMIT")
			if k != nil {
				return Result{}, k
			}
			limit = n
		}
		if s.offset != nil {
			n, k := evalCount(s.offset, params, ectx, "OFFSET")
			if k != nil {
				return Result{}, k
			}
			offset = n
		}
		q.WriteString(" LIMIT ? OFFSET ?")
		r.args = append(r.args, limit, offset)
	}
	rows, err := e.on(nil).QueryContext(ctx, q.String(), r.args...)
	if err != nil {
		return Result{}, errf(kindExecution, "%v", err)
	}
	defer rows.Close()
	out := [][]any{}
	for rows.Next() {
		dest := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return Result{}, errf(kindExecution, "%v", err)
		}
		row := make([]any, len(cols))
		for i, col := range cols {
			row[i] = wireValue(fromSQLite(dest[i], col.typ), col.typ)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return Result{}, errf(kindExecution, "%v", err)
	}
	return Result{Schema: schemaOf(cols), Rows: out, RowCount: len(out), IsQuery: true}, nil
}

// evalCount evaluates a LIMIT/OFFSET expression to a non-negative integer.
func evalCount(x expr, params []any, ectx *evalCtx, what string) (int64, *kerr) {
	x, err := bindParams(x, params)
	if err != nil {
		return 0, errf(kindPlain, "%s", err.Error())
	}
	v, err := eval(x, ectx)
	if err != nil {
		return 0, errf(kindExecution, "%s", err.Error())
	}
	n, err := coerce(v, typBigInt)
	i, _ := n.(int64)
	if err != nil || i < 0 {
		return 0, errf(kindPlain, "Error during planning: %s must be a non-negative integer, got %v", what, v)
	}
	return i, nil
}

// selectNoFrom evaluates a SELECT without FROM (SELECT 1, SELECT
// CURRENT_USER()) in Go.
func selectNoFrom(s selectStmt, params []any, ectx *evalCtx) (Result, *kerr) {
	var cols []outCol
	var row []any
	for _, it := range s.items {
		if it.star {
			return Result{}, errf(kindPlain, "Error during planning: SELECT * with no tables specified is not valid")
		}
		x, err := bindParams(it.x, params)
		if err != nil {
			return Result{}, errf(kindPlain, "%s", err.Error())
		}
		if hasAggregate(x) {
			// Aggregates over the single empty-FROM row.
			if f, ok := x.(funcExpr); ok && f.name == "COUNT" {
				x = litExpr{int64(1)}
			}
		}
		v, err := eval(x, ectx)
		if err != nil {
			return Result{}, errf(kindExecution, "%s", err.Error())
		}
		t := exprType(x, nil)
		name := it.alias
		if name == "" {
			name = exprName(it.x)
		}
		cols = append(cols, outCol{name: name, typ: t})
		row = append(row, wireValue(v, t))
	}
	rows := [][]any{row}
	if s.where != nil {
		x, err := bindParams(s.where, params)
		if err != nil {
			return Result{}, errf(kindPlain, "%s", err.Error())
		}
		v, err := eval(x, ectx)
		if err != nil {
			return Result{}, errf(kindExecution, "%s", err.Error())
		}
		if b, _ := v.(bool); !b {
			rows = [][]any{}
		}
	}
	return Result{Schema: schemaOf(cols), Rows: rows, RowCount: len(rows), IsQuery: true}, nil
}
