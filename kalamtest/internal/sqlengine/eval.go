package sqlengine

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// evalCtx is what a Go-side evaluation can see: one row (internal values
// by column name), the statement clock and caller, and an id generator.
type evalCtx struct {
	row   map[string]any
	now   time.Time
	user  string
	genID func() int64
}

// evalAll evaluates each of xs in order, stopping at the first error.
func evalAll(ctx *evalCtx, xs ...expr) ([]any, error) {
	out := make([]any, len(xs))
	for i, x := range xs {
		v, err := eval(x, ctx)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// eval evaluates x. NULL is nil; comparisons follow SQL three-valued logic.
func eval(x expr, ctx *evalCtx) (any, error) {
	switch x := x.(type) {
	case litExpr:
		return x.v, nil
	case colExpr:
		if ctx.row == nil {
			return nil, fmt.Errorf("Schema error: No field named %s.", x.name)
		}
		v, ok := ctx.row[x.name]
		if !ok {
			return nil, fmt.Errorf("Schema error: No field named %s.", x.name)
		}
		return v, nil
	case paramExpr:
		return nil, fmt.Errorf("No value found for placeholder with name $%d", x.n)
	case unExpr:
		v, err := eval(x.x, ctx)
		if err != nil || v == nil {
			return nil, err
		}
		if x.op == "NOT" {
			b, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("Cannot apply NOT to a non-boolean value")
			}
			return !b, nil
		}
		switch n := v.(type) {
		case int64:
			return -n, nil
		case float64:
			return -n, nil
		}
		return nil, fmt.Errorf("Cannot negate a non-numeric value")
	case binExpr:
		return evalBinary(x, ctx)
	case isNullExpr:
		v, err := eval(x.x, ctx)
		if err != nil {
			return nil, err
		}
		return (v == nil) != x.not, nil
	case inExpr:
		v, err := eval(x.x, ctx)
		if err != nil || v == nil {
			return nil, err
		}
		sawNull := false
		for _, it := range x.list {
			w, err := eval(it, ctx)
			if err != nil {
				return nil, err
			}
			if w == nil {
				sawNull = true
				continue
			}
			if c, ok := compare(v, w); ok && c == 0 {
				return !x.not, nil
			}
		}
		if sawNull {
			return nil, nil
		}
		return x.not, nil
	case betweenExpr:
		vs, err := evalAll(ctx, x.x, x.lo, x.hi)
		if err != nil {
			return nil, err
		}
		v, lo, hi := vs[0], vs[1], vs[2]
		if v == nil || lo == nil || hi == nil {
			return nil, nil
		}
		c1, ok1 := compare(v, lo)
		c2, ok2 := compare(v, hi)
		if !ok1 || !ok2 {
			return nil, nil
		}
		return (c1 >= 0 && c2 <= 0) != x.not, nil
	case likeExpr:
		vs, err := evalAll(ctx, x.x, x.pat)
		if err != nil {
			return nil, err
		}
		v, p := vs[0], vs[1]
		if v == nil || p == nil {
			return nil, nil
		}
		s, ps := toText(v), toText(p)
		if x.ci {
			s, ps = strings.ToLower(s), strings.ToLower(ps)
		}
		return likeMatch(s, ps) != x.not, nil
	case funcExpr:
		return evalFunc(x, ctx)
	case castExpr:
		v, err := eval(x.x, ctx)
		if err != nil {
			return nil, err
		}
		return coerce(v, x.typ)
	}
	return nil, fmt.Errorf("unsupported expression")
}

func evalBinary(x binExpr, ctx *evalCtx) (any, error) {
	l, err := eval(x.l, ctx)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "AND", "OR":
		r, err := eval(x.r, ctx)
		if err != nil {
			return nil, err
		}
		lb, lok := l.(bool)
		rb, rok := r.(bool)
		if x.op == "AND" {
			if (lok && !lb) || (rok && !rb) {
				return false, nil
			}
			if lok && rok {
				return true, nil
			}
			return nil, nil
		}
		if (lok && lb) || (rok && rb) {
			return true, nil
		}
		if lok && rok {
			return false, nil
		}
		return nil, nil
	}
	r, err := eval(x.r, ctx)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "IS", "IS NOT":
		eq := l == nil && r == nil
		if l != nil && r != nil {
			c, ok := compare(l, r)
			eq = ok && c == 0
		}
		return eq == (x.op == "IS"), nil
	}
	if l == nil || r == nil {
		return nil, nil
	}
	switch x.op {
	case "=", "<>", "<", "<=", ">", ">=":
		c, ok := compare(l, r)
		if !ok {
			return nil, fmt.Errorf("Cannot compare %s with %s", typeName(l), typeName(r))
		}
		switch x.op {
		case "=":
			return c == 0, nil
		case "<>":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	case "||":
		return toText(l) + toText(r), nil
	case "+", "-", "*", "/", "%":
		return arith(x.op, l, r)
	}
	return nil, fmt.Errorf("unsupported operator %s", x.op)
}

func typeName(v any) string {
	switch v.(type) {
	case int64:
		return "Int64"
	case float64:
		return "Float64"
	case string:
		return "Utf8"
	case bool:
		return "Boolean"
	}
	return "Null"
}

func arith(op string, l, r any) (any, error) {
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lInt && rInt {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "/", "%":
			if ri == 0 {
				return nil, fmt.Errorf("Arrow error: Divide by zero error")
			}
			if op == "/" {
				return li / ri, nil
			}
			return li % ri, nil
		}
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("Cannot coerce arithmetic expression %s %s %s to valid types", typeName(l), op, typeName(r))
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		return lf / rf, nil
	}
	return math.Mod(lf, rf), nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// compare orders two non-null values; ok=false when they are not comparable.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmp3(x < y, x > y), true
		case float64:
			return cmp3(float64(x) < y, float64(x) > y), true
		case string:
			if n, err := strconv.ParseFloat(y, 64); err == nil {
				return cmp3(float64(x) < n, float64(x) > n), true
			}
		case bool:
			return compare(x, b2i(y))
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmp3(x < float64(y), x > float64(y)), true
		case float64:
			return cmp3(x < y, x > y), true
		case string:
			if n, err := strconv.ParseFloat(y, 64); err == nil {
				return cmp3(x < n, x > n), true
			}
		}
	case string:
		switch y := b.(type) {
		case string:
			return strings.Compare(x, y), true
		case int64, float64:
			c, ok := compare(b, a)
			return -c, ok
		case bool:
			if bv, err := strconv.ParseBool(x); err == nil {
				return compare(bv, y)
			}
		}
	case bool:
		switch y := b.(type) {
		case bool:
			return cmp3(!x && y, x && !y), true
		case int64:
			return compare(b2i(x), y)
		case string:
			c, ok := compare(b, a)
			return -c, ok
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return strings.Compare(string(x), string(y)), true
		}
	}
	return 0, false
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func toText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// likeMatch implements SQL LIKE with % and _ (no escape character) by
// greedy matching with single-point backtracking: O(len(s)·len(p)) time at
// worst, constant memory.
func likeMatch(s, p string) bool {
	sr, pr := []rune(s), []rune(p)
	i, j := 0, 0
	star, mark := -1, 0
	for i < len(sr) {
		switch {
		case j < len(pr) && (pr[j] == '_' || pr[j] == sr[i]) && pr[j] != '%':
			i++
			j++
		case j < len(pr) && pr[j] == '%':
			star, mark = j, i
			j++
		case star >= 0:
			mark++
			i, j = mark, star+1
		default:
			return false
		}
	}
	for j < len(pr) && pr[j] == '%' {
		j++
	}
	return j == len(pr)
}

// constFuncs are evaluated once per statement, before SQL rendering.
var constFuncs = map[string]bool{
	"NOW": true, "CURRENT_USER": true, "CURRENT_DATE": true, "SNOWFLAKE_ID": true,
	"UUID_V7": true, "ULID": true,
}

func evalFunc(f funcExpr, ctx *evalCtx) (any, error) {
	switch f.name {
	case "NOW":
		return ctx.now.UnixMicro(), nil
	case "CURRENT_DATE":
		return ctx.now.Unix() / 86400, nil
	case "CURRENT_USER":
		return ctx.user, nil
	case "SNOWFLAKE_ID":
		if ctx.genID == nil {
			return nil, fmt.Errorf("SNOWFLAKE_ID() is not available here")
		}
		return ctx.genID(), nil
	case "UUID_V7":
		return uuidV7(ctx.now), nil
	case "ULID":
		return ulid(ctx.now), nil
	}
	args := make([]any, len(f.args))
	for i, a := range f.args {
		v, err := eval(a, ctx)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	arg := func(i int) any {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	switch f.name {
	case "LOWER", "UPPER", "TRIM", "LENGTH", "CHAR_LENGTH", "CHARACTER_LENGTH":
		if len(args) != 1 {
			return nil, fmt.Errorf("Error during planning: %s expects 1 argument", strings.ToLower(f.name))
		}
		if args[0] == nil {
			return nil, nil
		}
		s := toText(args[0])
		switch f.name {
		case "LOWER":
			return strings.ToLower(s), nil
		case "UPPER":
			return strings.ToUpper(s), nil
		case "TRIM":
			return strings.TrimSpace(s), nil
		}
		return int64(len([]rune(s))), nil
	case "COALESCE", "IFNULL", "NVL":
		for _, a := range args {
			if a != nil {
				return a, nil
			}
		}
		return nil, nil
	case "NULLIF":
		if c, ok := compare(arg(0), arg(1)); ok && c == 0 {
			return nil, nil
		}
		return arg(0), nil
	case "ABS":
		switch n := arg(0).(type) {
		case int64:
			if n < 0 {
				return -n, nil
			}
			return n, nil
		case float64:
			return math.Abs(n), nil
		}
		return nil, nil
	case "CONCAT":
		var b strings.Builder
		for _, a := range args {
			b.WriteString(toText(a))
		}
		return b.String(), nil
	case "ROUND":
		fv, ok := toFloat(arg(0))
		if !ok {
			return nil, nil
		}
		d := int64(0)
		if n, ok := arg(1).(int64); ok {
			d = n
		}
		p := math.Pow(10, float64(d))
		return math.Round(fv*p) / p, nil
	case "TO_JSON", "JSON":
		b, _ := json.Marshal(arg(0))
		return string(b), nil
	}
	return nil, fmt.Errorf("Error during planning: Invalid function '%s'", strings.ToLower(f.name))
}

func uuidV7(now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	ms := uint64(now.UnixMilli())
	for i := 0; i < 6; i++ {
		b[i] = byte(ms >> (40 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func ulid(now time.Time) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var rnd [10]byte
	_, _ = rand.Read(rnd[:])
	ms := uint64(now.UnixMilli())
	out := make([]byte, 26)
	for i := 9; i >= 0; i-- {
		out[i] = alphabet[ms&31]
		ms >>= 5
	}
	// 80 random bits → 16 characters.
	var acc uint64
	bits := 0
	pos := 10
	for _, c := range rnd {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 && pos < 26 {
			bits -= 5
			out[pos] = alphabet[(acc>>uint(bits))&31]
			pos++
		}
	}
	return string(out)
}
