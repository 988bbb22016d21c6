package sqlengine

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// bindParams replaces $n placeholders with literals. It fails when a
// placeholder has no value.
func bindParams(x expr, params []any) (expr, error) {
	var err error
	out := mapExpr(x, func(x expr) expr {
		if p, ok := x.(paramExpr); ok {
			if p.n > len(params) {
				if err == nil {
					err = fmt.Errorf("Parameter count mismatch: expected %d parameters, got %d", p.n, len(params))
				}
				return litExpr{nil}
			}
			return litExpr{normParam(params[p.n-1])}
		}
		return x
	})
	return out, err
}

// normParam turns a decoded JSON scalar into an internal literal value.
func normParam(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return string(x)
	case float64:
		return x
	case float32:
		return float64(x)
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return normUint(uint64(x))
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64:
		return normUint(x)
	case int64, string, bool, nil:
		return x
	}
	return fmt.Sprint(v)
}

func normUint(u uint64) any {
	if u > math.MaxInt64 {
		return strconv.FormatUint(u, 10)
	}
	return int64(u)
}

// mapExpr rebuilds x bottom-up, applying f to every node.
func mapExpr(x expr, f func(expr) expr) expr {
	if x == nil {
		return nil
	}
	switch n := x.(type) {
	case binExpr:
		n.l, n.r = mapExpr(n.l, f), mapExpr(n.r, f)
		return f(n)
	case unExpr:
		n.x = mapExpr(n.x, f)
		return f(n)
	case isNullExpr:
		n.x = mapExpr(n.x, f)
		return f(n)
	case inExpr:
		n.x = mapExpr(n.x, f)
		list := make([]expr, len(n.list))
		for i, it := range n.list {
			list[i] = mapExpr(it, f)
		}
		n.list = list
		return f(n)
	case betweenExpr:
		n.x, n.lo, n.hi = mapExpr(n.x, f), mapExpr(n.lo, f), mapExpr(n.hi, f)
		return f(n)
	case likeExpr:
		n.x, n.pat = mapExpr(n.x, f), mapExpr(n.pat, f)
		return f(n)
	case funcExpr:
		args := make([]expr, len(n.args))
		for i, a := range n.args {
			args[i] = mapExpr(a, f)
		}
		n.args = args
		return f(n)
	case castExpr:
		n.x = mapExpr(n.x, f)
		return f(n)
	}
	return f(x)
}

// resolveConsts evaluates constant functions (NOW(), CURRENT_USER(), ...)
// and casts of literals once, so SQLite and Go filters see plain literals.
func resolveConsts(x expr, ctx *evalCtx) (expr, error) {
	var err error
	out := mapExpr(x, func(x expr) expr {
		switch n := x.(type) {
		case funcExpr:
			if constFuncs[n.name] {
				v, e := evalFunc(n, ctx)
				if e != nil && err == nil {
					err = e
				}
				return litExpr{v}
			}
		case castExpr:
			if l, ok := n.x.(litExpr); ok {
				v, e := coerce(l.v, n.typ)
				if e != nil && err == nil {
					err = e
				}
				return litExpr{v}
			}
		}
		return x
	})
	return out, err
}

// coerceLiterals converts literals compared with a typed column to the
// column's internal representation (e.g. a timestamp string to µs), as
// DataFusion's type coercion does.
func coerceLiterals(x expr, colType func(string) (kalamType, bool)) expr {
	typeOf := func(x expr) (kalamType, bool) {
		if c, ok := x.(colExpr); ok {
			return colType(c.name)
		}
		return kalamType{}, false
	}
	conv := func(x expr, t kalamType) expr {
		if l, ok := x.(litExpr); ok && l.v != nil {
			if v, err := coerce(l.v, t); err == nil {
				return litExpr{v}
			}
		}
		return x
	}
	return mapExpr(x, func(x expr) expr {
		switch n := x.(type) {
		case binExpr:
			switch n.op {
			case "=", "<>", "<", "<=", ">", ">=", "IS", "IS NOT":
				if t, ok := typeOf(n.l); ok {
					n.r = conv(n.r, t)
				} else if t, ok := typeOf(n.r); ok {
					n.l = conv(n.l, t)
				}
				return n
			}
		case inExpr:
			if t, ok := typeOf(n.x); ok {
				for i := range n.list {
					n.list[i] = conv(n.list[i], t)
				}
			}
			return n
		case betweenExpr:
			if t, ok := typeOf(n.x); ok {
				n.lo, n.hi = conv(n.lo, t), conv(n.hi, t)
			}
			return n
		}
		return x
	})
}

// renderer turns an expression into SQLite SQL with bound arguments.
type renderer struct {
	colType func(string) (kalamType, bool) // nil when there is no FROM
	def     *tableDef                      // for error messages; may be nil
	aliases map[string]bool
	args    []any
}

var sqliteFuncs = map[string]string{
	"COUNT": "count", "SUM": "sum", "MIN": "min", "MAX": "max", "AVG": "avg",
	"LOWER": "lower", "UPPER": "upper", "LENGTH": "length", "CHAR_LENGTH": "length",
	"CHARACTER_LENGTH": "length", "COALESCE": "coalesce", "IFNULL": "ifnull", "NVL": "ifnull",
	"NULLIF": "nullif", "ABS": "abs", "ROUND": "round", "TRIM": "trim", "CONCAT": "concat",
	"SUBSTR": "substr", "SUBSTRING": "substr", "REPLACE": "replace",
}

var aggregateFuncs = map[string]bool{"COUNT": true, "SUM": true, "MIN": true, "MAX": true, "AVG": true}

func (r *renderer) render(x expr) (string, error) {
	switch n := x.(type) {
	case litExpr:
		if n.v == nil {
			return "NULL", nil
		}
		r.args = append(r.args, toSQLite(n.v))
		return "?", nil
	case colExpr:
		if r.colType != nil {
			if _, ok := r.colType(n.name); ok {
				return quoteIdent(n.name), nil
			}
		}
		if r.aliases[n.name] && n.qual == "" {
			return quoteIdent(n.name), nil
		}
		return "", noField(r.def, n.name)
	case paramExpr:
		return "", errf(kindPlain, "No value found for placeholder with name $%d", n.n)
	case unExpr:
		s, err := r.render(n.x)
		if err != nil {
			return "", err
		}
		if n.op == "NOT" {
			return "(NOT " + s + ")", nil
		}
		return "(-" + s + ")", nil
	case binExpr:
		p, err := r.renderAll(n.l, n.r)
		if err != nil {
			return "", err
		}
		return "(" + p[0] + " " + n.op + " " + p[1] + ")", nil
	case isNullExpr:
		s, err := r.render(n.x)
		if err != nil {
			return "", err
		}
		if n.not {
			return "(" + s + " IS NOT NULL)", nil
		}
		return "(" + s + " IS NULL)", nil
	case inExpr:
		p, err := r.renderAll(append([]expr{n.x}, n.list...)...)
		if err != nil {
			return "", err
		}
		op := " IN "
		if n.not {
			op = " NOT IN "
		}
		return "(" + p[0] + op + "(" + strings.Join(p[1:], ", ") + "))", nil
	case betweenExpr:
		p, err := r.renderAll(n.x, n.lo, n.hi)
		if err != nil {
			return "", err
		}
		op := " BETWEEN "
		if n.not {
			op = " NOT BETWEEN "
		}
		return "(" + p[0] + op + p[1] + " AND " + p[2] + ")", nil
	case likeExpr:
		p, err := r.renderAll(n.x, n.pat)
		if err != nil {
			return "", err
		}
		s, pat := p[0], p[1]
		if n.ci {
			s, pat = "lower("+s+")", "lower("+pat+")"
		}
		op := " LIKE "
		if n.not {
			op = " NOT LIKE "
		}
		return "(" + s + op + pat + ")", nil
	case funcExpr:
		name, ok := sqliteFuncs[n.name]
		if !ok {
			return "", errf(kindPlain, "Error during planning: Invalid function '%s'", strings.ToLower(n.name))
		}
		if n.star {
			if n.name != "COUNT" {
				return "", errf(kindPlain, "Error during planning: %s(*) is not supported", strings.ToLower(n.name))
			}
			return "count(*)", nil
		}
		parts, err := r.renderAll(n.args...)
		if err != nil {
			return "", err
		}
		d := ""
		if n.distinct {
			d = "DISTINCT "
		}
		return name + "(" + d + strings.Join(parts, ", ") + ")", nil
	case castExpr:
		s, err := r.render(n.x)
		if err != nil {
			return "", err
		}
		return "CAST(" + s + " AS " + n.typ.sqliteType() + ")", nil
	}
	return "", errf(kindPlain, "unsupported expression")
}

// renderAll renders each of xs in order, stopping at the first error.
func (r *renderer) renderAll(xs ...expr) ([]string, error) {
	out := make([]string, len(xs))
	for i, x := range xs {
		s, err := r.render(x)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// exprType infers the KalamDataType of an expression's result.
func exprType(x expr, colType func(string) (kalamType, bool)) kalamType {
	switch n := x.(type) {
	case colExpr:
		if colType != nil {
			if t, ok := colType(n.name); ok {
				return t
			}
		}
	case litExpr:
		switch n.v.(type) {
		case int64:
			return typBigInt
		case float64:
			return typDouble
		case bool:
			return typBoolean
		}
		return typText
	case binExpr:
		switch n.op {
		case "+", "-", "*", "/", "%":
			lt, rt := exprType(n.l, colType), exprType(n.r, colType)
			switch {
			case lt.isFloat() || rt.isFloat():
				return typDouble
			case lt == typBigInt || rt == typBigInt:
				return typBigInt
			case lt.isInteger() && rt.isInteger():
				return typInt
			}
			return typDouble
		case "||":
			return typText
		}
		return typBoolean
	case unExpr:
		if n.op == "NOT" {
			return typBoolean
		}
		return exprType(n.x, colType)
	case isNullExpr, inExpr, betweenExpr, likeExpr:
		return typBoolean
	case castExpr:
		return n.typ
	case funcExpr:
		switch n.name {
		case "COUNT", "SNOWFLAKE_ID":
			return typBigInt
		case "SUM":
			if len(n.args) == 1 && exprType(n.args[0], colType).isInteger() {
				return typBigInt
			}
			return typDouble
		case "AVG", "ROUND":
			return typDouble
		case "MIN", "MAX", "ABS", "COALESCE", "IFNULL", "NVL", "NULLIF":
			if len(n.args) > 0 {
				return exprType(n.args[0], colType)
			}
		case "LENGTH", "CHAR_LENGTH", "CHARACTER_LENGTH":
			return typInt
		case "NOW":
			return typTimestamp
		case "CURRENT_DATE":
			return typDate
		}
		return typText
	}
	return typText
}

// exprName is the output column name DataFusion gives an unaliased
// expression (column name, or a rendering like "count(*)").
func exprName(x expr) string {
	switch n := x.(type) {
	case colExpr:
		return n.name
	case litExpr:
		switch v := n.v.(type) {
		case nil:
			return "NULL"
		case int64:
			return "Int64(" + strconv.FormatInt(v, 10) + ")"
		case float64:
			return "Float64(" + strconv.FormatFloat(v, 'g', -1, 64) + ")"
		case bool:
			return "Boolean(" + strconv.FormatBool(v) + ")"
		case string:
			return "Utf8(\"" + v + "\")"
		}
	case binExpr:
		return exprName(n.l) + " " + n.op + " " + exprName(n.r)
	case unExpr:
		if n.op == "NOT" {
			return "NOT " + exprName(n.x)
		}
		return "(- " + exprName(n.x) + ")"
	case isNullExpr:
		if n.not {
			return exprName(n.x) + " IS NOT NULL"
		}
		return exprName(n.x) + " IS NULL"
	case funcExpr:
		if n.star {
			return strings.ToLower(n.name) + "(*)"
		}
		parts := make([]string, len(n.args))
		for i, a := range n.args {
			parts[i] = exprName(a)
		}
		d := ""
		if n.distinct {
			d = "DISTINCT "
		}
		return strings.ToLower(n.name) + "(" + d + strings.Join(parts, ",") + ")"
	case castExpr:
		return "CAST(" + exprName(n.x) + " AS " + n.typ.arrowName() + ")"
	}
	return "expr"
}

// hasAggregate reports whether x contains an aggregate call.
func hasAggregate(x expr) bool {
	found := false
	mapExpr(x, func(x expr) expr {
		if f, ok := x.(funcExpr); ok && aggregateFuncs[f.name] {
			found = true
		}
		return x
	})
	return found
}

// noField is DataFusion's unknown-column error, which upstream classifies
// as InvalidOperation (shown to every caller).
func noField(def *tableDef, name string) *kerr {
	if def == nil {
		return errf(kindInvalidOperation, "Schema error: No field named %s.", name)
	}
	var valid []string
	for _, c := range def.starColumns() {
		valid = append(valid, def.fullName()+"."+c)
	}
	return errf(kindInvalidOperation, "Schema error: No field named %s. Valid fields are %s.", name, strings.Join(valid, ", "))
}
