package sqlengine

import (
	"fmt"
	"strconv"
	"strings"
)

// parser is a recursive-descent parser over one statement's tokens.
type parser struct {
	sql   string
	toks  []token
	i     int
	depth int // nesting of parenthesised/unary expressions
	ops   int // binary operators so far (bounds left-deep chains)
}

// Limits that keep hostile input from exhausting the stack: sqlparser's
// default recursion limit is 50; chains of binary operators are bounded
// separately because they nest without recursing in the parser.
const (
	maxExprDepth = 100
	maxExprOps   = 5000
)

var errTooDeep = &parseError{"sql parser error: recursion limit exceeded"}

// enter guards one level of expression recursion.
func (p *parser) enter() error {
	p.depth++
	if p.depth > maxExprDepth {
		return errTooDeep
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// op counts one binary operator.
func (p *parser) op() error {
	p.ops++
	if p.ops > maxExprOps {
		return errTooDeep
	}
	return nil
}

// parseError is a syntax error, worded like sqlparser's.
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

// parseStatement parses exactly one statement.
func parseStatement(sql string) (statement, error) {
	toks, err := lex(sql)
	if err != nil {
		return nil, &parseError{"sql parser error: " + err.Error()}
	}
	p := &parser{sql: sql, toks: toks}
	st, err := p.statement()
	if err != nil {
		return nil, err
	}
	p.accept(";")
	if p.peek().kind != tokEOF {
		return nil, p.expected("end of statement")
	}
	return st, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// isKw reports whether the current token is the bare word kw.
func (p *parser) isKw(kw string) bool { return p.peek().upper() == kw }

// acceptKw consumes the keyword sequence kws if it is next.
func (p *parser) acceptKw(kws ...string) bool {
	for n, kw := range kws {
		if p.peekN(n).upper() != kw {
			return false
		}
	}
	p.i += len(kws)
	return true
}

func (p *parser) expectKw(kws ...string) error {
	if !p.acceptKw(kws...) {
		return p.expected(strings.Join(kws, " "))
	}
	return nil
}

// accept consumes the operator op if it is next.
func (p *parser) accept(op string) bool {
	if t := p.peek(); t.kind == tokOp && t.text == op {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(op string) error {
	if !p.accept(op) {
		return p.expected(op)
	}
	return nil
}

func (p *parser) expected(what string) error {
	t := p.peek()
	found := t.text
	switch t.kind {
	case tokEOF:
		found = "EOF"
	case tokString:
		found = "'" + t.text + "'"
	case tokQIdent:
		found = `"` + t.text + `"`
	case tokParam:
		found = "$" + t.text
	}
	line, col := 1, 1
	for _, r := range p.sql[:min(t.pos, len(p.sql))] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &parseError{fmt.Sprintf("sql parser error: Expected: %s, found: %s at Line: %d, Column: %d", what, found, line, col)}
}

// reserved words never taken as an implicit alias or bare column.
var reserved = map[string]bool{
	"SELECT": true, "FROM": true, "WHERE": true, "GROUP": true, "ORDER": true, "BY": true,
	"LIMIT": true, "OFFSET": true, "HAVING": true, "AS": true, "AND": true, "OR": true,
	"NOT": true, "ON": true, "JOIN": true, "UNION": true, "VALUES": true, "SET": true,
	"INTO": true, "IS": true, "IN": true, "BETWEEN": true, "LIKE": true, "ILIKE": true,
	"ASC": true, "DESC": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true,
	"CROSS": true, "WITH": true, "DISTINCT": true, "NULLS": true,
}

// ident reads an identifier; unquoted names fold to lower case.
func (p *parser) ident() (string, error) {
	t := p.peek()
	switch t.kind {
	case tokIdent:
		p.i++
		return strings.ToLower(t.text), nil
	case tokQIdent:
		p.i++
		return t.text, nil
	}
	return "", p.expected("identifier")
}

// tableName reads `name` or `ns.name`.
func (p *parser) tableName() (tableRef, error) {
	a, err := p.ident()
	if err != nil {
		return tableRef{}, err
	}
	if p.accept(".") {
		b, err := p.ident()
		if err != nil {
			return tableRef{}, err
		}
		if p.peek().kind == tokOp && p.peek().text == "." {
			return tableRef{}, &parseError{"Invalid table name format. Expected 'table_name' or 'namespace.table_name'"}
		}
		return tableRef{ns: a, name: b}, nil
	}
	return tableRef{name: a}, nil
}

func (p *parser) statement() (statement, error) {
	switch p.peek().upper() {
	case "SELECT":
		return p.selectStmt()
	case "INSERT":
		return p.insertStmt()
	case "UPDATE":
		return p.updateStmt()
	case "DELETE":
		return p.deleteStmt()
	case "CREATE":
		switch p.peekN(1).upper() {
		case "NAMESPACE", "SCHEMA":
			p.i += 2
			st := createNamespaceStmt{}
			st.ifNotExists = p.acceptKw("IF", "NOT", "EXISTS")
			name, err := p.ident()
			if err != nil {
				return nil, err
			}
			st.name = name
			return st, nil
		case "TABLE", "USER", "SHARED", "STREAM":
			return p.createTableStmt()
		}
	case "DROP":
		switch p.peekN(1).upper() {
		case "NAMESPACE", "SCHEMA":
			p.i += 2
			st := dropNamespaceStmt{}
			st.ifExists = p.acceptKw("IF", "EXISTS")
			name, err := p.ident()
			if err != nil {
				return nil, err
			}
			st.name = name
			p.acceptKw("CASCADE")
			return st, nil
		case "TABLE", "USER", "SHARED", "STREAM":
			p.i++
			if !p.isKw("TABLE") {
				p.i++
			}
			if err := p.expectKw("TABLE"); err != nil {
				return nil, err
			}
			st := dropTableStmt{}
			st.ifExists = p.acceptKw("IF", "EXISTS")
			ref, err := p.tableName()
			if err != nil {
				return nil, err
			}
			st.ref = ref
			return st, nil
		}
	}
	return nil, errUnsupported
}

// errUnsupported marks a statement this engine does not implement; the
// caller reports it as upstream reports an unsupported statement.
var errUnsupported = &parseError{"unsupported statement"}

func (p *parser) createTableStmt() (statement, error) {
	p.next() // CREATE
	st := createTableStmt{typ: tableShared}
	switch p.peek().upper() {
	case "USER":
		st.typ, st.typeGiven = tableUser, true
		p.next()
	case "SHARED":
		st.typ, st.typeGiven = tableShared, true
		p.next()
	case "STREAM":
		st.typ, st.typeGiven = tableStream, true
		p.next()
	}
	prefixType := st.typeGiven
	if err := p.expectKw("TABLE"); err != nil {
		return nil, err
	}
	st.ifNotExists = p.acceptKw("IF", "NOT", "EXISTS")
	ref, err := p.tableName()
	if err != nil {
		return nil, err
	}
	st.ref = ref
	if err := p.expect("("); err != nil {
		return nil, err
	}
	for {
		if p.isKw("PRIMARY") {
			p.next()
			if err := p.expectKw("KEY"); err != nil {
				return nil, err
			}
			if err := p.expect("("); err != nil {
				return nil, err
			}
			var cols []string
			for {
				c, err := p.ident()
				if err != nil {
					return nil, err
				}
				cols = append(cols, c)
				if !p.accept(",") {
					break
				}
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			if len(cols) != 1 {
				return nil, &parseError{"Composite PRIMARY KEYs are not supported yet"}
			}
			if st.pk != "" {
				return nil, &parseError{"Multiple PRIMARY KEY definitions found"}
			}
			st.pk = cols[0]
		} else if p.isKw("UNIQUE") || p.isKw("CONSTRAINT") {
			// Table-level UNIQUE (...) / CONSTRAINT name ...: accepted, ignored as upstream.
			depth := 0
			for {
				t := p.peek()
				if t.kind == tokEOF || (depth == 0 && t.kind == tokOp && (t.text == "," || t.text == ")")) {
					break
				}
				if t.kind == tokOp && t.text == "(" {
					depth++
				}
				if t.kind == tokOp && t.text == ")" {
					depth--
				}
				p.next()
			}
		} else {
			cd, err := p.columnDef()
			if err != nil {
				return nil, err
			}
			if cd.pk {
				if st.pk != "" {
					return nil, &parseError{"Multiple PRIMARY KEY definitions found"}
				}
				st.pk = cd.name
			}
			st.cols = append(st.cols, cd)
		}
		if p.accept(",") {
			continue
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		break
	}
	if p.acceptKw("USING") {
		if _, err := p.ident(); err != nil {
			return nil, err
		}
	}
	if p.acceptKw("WITH") {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		for {
			key, err := p.ident()
			if err != nil {
				return nil, err
			}
			key = strings.ToUpper(key)
			if err := p.expect("="); err != nil {
				return nil, err
			}
			vt := p.next()
			val := vt.text
			if vt.kind == tokEOF {
				return nil, p.expected("option value")
			}
			if err := st.applyOption(key, val, prefixType); err != nil {
				return nil, err
			}
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	// Lenient: a trailing `TTL <seconds>` as older docs show.
	if p.acceptKw("TTL") {
		t := p.next()
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, &parseError{"Invalid TTL_SECONDS"}
		}
		st.ttlSeconds = n
	}
	if len(st.cols) == 0 {
		return nil, &parseError{"Table must have at least one column"}
	}
	seen := map[string]bool{}
	for _, c := range st.cols {
		lc := strings.ToLower(c.name)
		if seen[lc] {
			return nil, &parseError{fmt.Sprintf("Duplicate column name '%s'. Column names are case-insensitive.", c.name)}
		}
		seen[lc] = true
	}
	if st.pk != "" {
		found := false
		for i := range st.cols {
			if st.cols[i].name == st.pk {
				st.cols[i].pk = true
				st.cols[i].notNull = true
				found = true
			}
		}
		if !found {
			return nil, &parseError{fmt.Sprintf("PRIMARY KEY column '%s' not found in column list", st.pk)}
		}
	}
	if st.typ == tableStream && st.ttlSeconds == 0 {
		return nil, &parseError{"STREAM tables must specify 'TTL_SECONDS'"}
	}
	if st.typ != tableStream && st.ttlSeconds != 0 {
		return nil, &parseError{"TTL_SECONDS is only supported for STREAM tables"}
	}
	if st.typ != tableShared && st.access != "" {
		return nil, &parseError{"ACCESS_LEVEL is only supported for SHARED tables"}
	}
	return st, nil
}

func (st *createTableStmt) applyOption(key, val string, prefixType bool) error {
	switch key {
	case "TYPE":
		t, ok := parseTableType(val)
		if !ok {
			return &parseError{fmt.Sprintf("Invalid TYPE option '%s'. Supported: USER, SHARED, STREAM", val)}
		}
		if prefixType && t != st.typ {
			return &parseError{fmt.Sprintf("Conflicting table type definitions: CREATE %s TABLE vs TYPE option %s", st.typ.debugName(), t.debugName())}
		}
		st.typ, st.typeGiven = t, true
	case "TTL_SECONDS":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 {
			return &parseError{"Invalid TTL_SECONDS"}
		}
		st.ttlSeconds = n
	case "ACCESS_LEVEL":
		switch strings.ToUpper(val) {
		case "PUBLIC", "PRIVATE", "RESTRICTED", "DBA":
			st.access = strings.ToUpper(val)
		default:
			return &parseError{fmt.Sprintf("Invalid ACCESS_LEVEL '%s'. Supported: PUBLIC, PRIVATE, RESTRICTED, DBA", val)}
		}
	case "STORAGE_ID", "USE_USER_STORAGE", "FLUSH_POLICY", "DELETED_RETENTION_HOURS":
		// Storage knobs have no meaning in memory; accepted like upstream.
	default:
		return &parseError{fmt.Sprintf("Unknown table option '%s'", key)}
	}
	return nil
}

func (p *parser) columnDef() (colDef, error) {
	name, err := p.ident()
	if err != nil {
		return colDef{}, err
	}
	cd := colDef{name: name}
	tt := p.next()
	if tt.kind != tokIdent {
		p.i--
		return colDef{}, p.expected("a data type name")
	}
	typeName := strings.ToUpper(tt.text)
	switch typeName {
	case "DOUBLE":
		p.acceptKw("PRECISION")
	case "CHARACTER", "CHAR":
		p.acceptKw("VARYING")
	}
	var mods []int
	if p.accept("(") {
		for {
			t := p.next()
			n, err := strconv.Atoi(t.text)
			if err != nil || t.kind != tokNumber {
				p.i--
				return colDef{}, p.expected("literal int")
			}
			mods = append(mods, n)
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return colDef{}, err
		}
	}
	if typeName == "TIMESTAMP" || typeName == "TIME" {
		if p.acceptKw("WITH", "TIME", "ZONE") || p.acceptKw("WITHOUT", "TIME", "ZONE") {
		}
	}
	typ, err := parseSQLType(typeName, mods)
	if err != nil {
		return colDef{}, &parseError{err.Error()}
	}
	cd.typ = typ
	if strings.HasSuffix(typeName, "SERIAL") || strings.HasPrefix(typeName, "SERIAL") {
		cd.defValue = funcExpr{name: "SNOWFLAKE_ID"}
	}
	for {
		switch {
		case p.acceptKw("PRIMARY", "KEY"):
			cd.pk = true
			cd.notNull = true
		case p.acceptKw("NOT", "NULL"):
			cd.notNull = true
		case p.acceptKw("NULL"):
		case p.acceptKw("UNIQUE"):
			cd.unique = true
		case p.acceptKw("AUTO_INCREMENT"), p.acceptKw("AUTOINCREMENT"):
			cd.defValue = funcExpr{name: "SNOWFLAKE_ID"}
		case p.acceptKw("GENERATED"):
			p.acceptKw("ALWAYS")
			p.acceptKw("BY", "DEFAULT")
			if err := p.expectKw("AS", "IDENTITY"); err != nil {
				return colDef{}, err
			}
			cd.defValue = funcExpr{name: "SNOWFLAKE_ID"}
		case p.acceptKw("DEFAULT"):
			x, err := p.unary()
			if err != nil {
				return colDef{}, err
			}
			cd.defValue = x
		default:
			return cd, nil
		}
	}
}

func (p *parser) insertStmt() (statement, error) {
	p.next()
	if err := p.expectKw("INTO"); err != nil {
		return nil, err
	}
	ref, err := p.tableName()
	if err != nil {
		return nil, err
	}
	st := insertStmt{ref: ref}
	if p.accept("(") {
		for {
			c, err := p.ident()
			if err != nil {
				return nil, err
			}
			st.cols = append(st.cols, c)
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	if err := p.expectKw("VALUES"); err != nil {
		return nil, err
	}
	for {
		if err := p.expect("("); err != nil {
			return nil, err
		}
		var row []expr
		for {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			row = append(row, x)
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		st.rows = append(st.rows, row)
		if !p.accept(",") {
			break
		}
	}
	return st, nil
}

func (p *parser) updateStmt() (statement, error) {
	p.next()
	ref, err := p.tableName()
	if err != nil {
		return nil, err
	}
	st := updateStmt{ref: ref}
	if err := p.expectKw("SET"); err != nil {
		return nil, err
	}
	for {
		c, err := p.ident()
		if err != nil {
			return nil, err
		}
		if err := p.expect("="); err != nil {
			return nil, err
		}
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		st.sets = append(st.sets, setClause{col: c, x: x})
		if !p.accept(",") {
			break
		}
	}
	if p.acceptKw("WHERE") {
		if st.where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (p *parser) deleteStmt() (statement, error) {
	p.next()
	if err := p.expectKw("FROM"); err != nil {
		return nil, err
	}
	ref, err := p.tableName()
	if err != nil {
		return nil, err
	}
	st := deleteStmt{ref: ref}
	if p.acceptKw("WHERE") {
		if st.where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (p *parser) selectStmt() (statement, error) {
	p.next()
	st := selectStmt{}
	st.distinct = p.acceptKw("DISTINCT")
	p.acceptKw("ALL")
	for {
		if p.accept("*") {
			st.items = append(st.items, selItem{star: true})
		} else if (p.peek().kind == tokIdent || p.peek().kind == tokQIdent) && p.peekN(1).text == "." && p.peekN(2).text == "*" && p.peekN(2).kind == tokOp {
			p.i += 3
			st.items = append(st.items, selItem{star: true})
		} else {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			it := selItem{x: x}
			if p.acceptKw("AS") {
				if it.alias, err = p.ident(); err != nil {
					return nil, err
				}
			} else if t := p.peek(); (t.kind == tokIdent && !reserved[t.upper()]) || t.kind == tokQIdent {
				it.alias, _ = p.ident()
			}
			st.items = append(st.items, it)
		}
		if !p.accept(",") {
			break
		}
	}
	if p.acceptKw("FROM") {
		ref, err := p.tableName()
		if err != nil {
			return nil, err
		}
		if p.acceptKw("AS") {
			if ref.alias, err = p.ident(); err != nil {
				return nil, err
			}
		} else if t := p.peek(); (t.kind == tokIdent && !reserved[t.upper()]) || t.kind == tokQIdent {
			ref.alias, _ = p.ident()
		}
		st.from = &ref
		if p.peek().kind == tokOp && p.peek().text == "," || p.isKw("JOIN") || p.isKw("INNER") || p.isKw("LEFT") || p.isKw("RIGHT") || p.isKw("CROSS") || p.isKw("FULL") {
			return nil, &parseError{"This feature is not implemented: joins are not supported by the kalamtest engine"}
		}
	}
	var err error
	if p.acceptKw("WHERE") {
		if st.where, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.acceptKw("GROUP", "BY") {
		for {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			st.groupBy = append(st.groupBy, x)
			if !p.accept(",") {
				break
			}
		}
	}
	if p.acceptKw("HAVING") {
		if st.having, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.acceptKw("ORDER", "BY") {
		for {
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			oi := orderItem{x: x}
			if p.acceptKw("DESC") {
				oi.desc = true
			} else {
				p.acceptKw("ASC")
			}
			if p.acceptKw("NULLS") {
				if !p.acceptKw("FIRST") && !p.acceptKw("LAST") {
					return nil, p.expected("FIRST or LAST")
				}
			}
			st.orderBy = append(st.orderBy, oi)
			if !p.accept(",") {
				break
			}
		}
	}
	for {
		if p.acceptKw("LIMIT") {
			if st.limit, err = p.expr(); err != nil {
				return nil, err
			}
		} else if p.acceptKw("OFFSET") {
			if st.offset, err = p.expr(); err != nil {
				return nil, err
			}
			p.acceptKw("ROWS")
		} else {
			break
		}
	}
	return st, nil
}

// Expressions, lowest precedence first.

func (p *parser) expr() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.orExpr()
}

func (p *parser) orExpr() (expr, error) {
	l, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.acceptKw("OR") {
		r, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		if err := p.op(); err != nil {
			return nil, err
		}
		l = binExpr{op: "OR", l: l, r: r}
	}
	return l, nil
}

func (p *parser) andExpr() (expr, error) {
	l, err := p.notExpr()
	if err != nil {
		return nil, err
	}
	for p.acceptKw("AND") {
		r, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		if err := p.op(); err != nil {
			return nil, err
		}
		l = binExpr{op: "AND", l: l, r: r}
	}
	return l, nil
}

func (p *parser) notExpr() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.acceptKw("NOT") {
		x, err := p.notExpr()
		if err != nil {
			return nil, err
		}
		return unExpr{op: "NOT", x: x}, nil
	}
	return p.cmpExpr()
}

func (p *parser) cmpExpr() (expr, error) {
	l, err := p.concatExpr()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind == tokOp {
			switch t.text {
			case "=", "==", "<>", "!=", "<", "<=", ">", ">=":
				p.next()
				r, err := p.concatExpr()
				if err != nil {
					return nil, err
				}
				op := t.text
				if op == "!=" {
					op = "<>"
				}
				if op == "==" {
					op = "="
				}
				if err := p.op(); err != nil {
					return nil, err
				}
				l = binExpr{op: op, l: l, r: r}
				continue
			}
		}
		if p.acceptKw("IS") {
			not := p.acceptKw("NOT")
			switch {
			case p.acceptKw("NULL"):
				l = isNullExpr{x: l, not: not}
			case p.acceptKw("TRUE"):
				l = binExpr{op: isOp(not), l: l, r: litExpr{true}}
			case p.acceptKw("FALSE"):
				l = binExpr{op: isOp(not), l: l, r: litExpr{false}}
			default:
				return nil, p.expected("NULL, TRUE or FALSE")
			}
			continue
		}
		not := false
		if p.isKw("NOT") {
			switch p.peekN(1).upper() {
			case "IN", "BETWEEN", "LIKE", "ILIKE":
				p.next()
				not = true
			}
		}
		switch {
		case p.acceptKw("IN"):
			if err := p.expect("("); err != nil {
				return nil, err
			}
			var list []expr
			for {
				x, err := p.expr()
				if err != nil {
					return nil, err
				}
				list = append(list, x)
				if !p.accept(",") {
					break
				}
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			l = inExpr{x: l, list: list, not: not}
		case p.acceptKw("BETWEEN"):
			lo, err := p.concatExpr()
			if err != nil {
				return nil, err
			}
			if err := p.expectKw("AND"); err != nil {
				return nil, err
			}
			hi, err := p.concatExpr()
			if err != nil {
				return nil, err
			}
			l = betweenExpr{x: l, lo: lo, hi: hi, not: not}
		case p.isKw("LIKE") || p.isKw("ILIKE"):
			ci := p.next().upper() == "ILIKE"
			pat, err := p.concatExpr()
			if err != nil {
				return nil, err
			}
			l = likeExpr{x: l, pat: pat, not: not, ci: ci}
		default:
			return l, nil
		}
	}
}

// isOp maps IS [NOT] TRUE/FALSE to null-safe comparison operators.
func isOp(not bool) string {
	if not {
		return "IS NOT"
	}
	return "IS"
}

func (p *parser) concatExpr() (expr, error) {
	l, err := p.addExpr()
	if err != nil {
		return nil, err
	}
	for p.accept("||") {
		r, err := p.addExpr()
		if err != nil {
			return nil, err
		}
		if err := p.op(); err != nil {
			return nil, err
		}
		l = binExpr{op: "||", l: l, r: r}
	}
	return l, nil
}

func (p *parser) addExpr() (expr, error) {
	l, err := p.mulExpr()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tokOp || (t.text != "+" && t.text != "-") {
			return l, nil
		}
		p.next()
		r, err := p.mulExpr()
		if err != nil {
			return nil, err
		}
		if err := p.op(); err != nil {
			return nil, err
		}
		l = binExpr{op: t.text, l: l, r: r}
	}
}

func (p *parser) mulExpr() (expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tokOp || (t.text != "*" && t.text != "/" && t.text != "%") {
			return l, nil
		}
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		if err := p.op(); err != nil {
			return nil, err
		}
		l = binExpr{op: t.text, l: l, r: r}
	}
}

func (p *parser) unary() (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.accept("-") {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		if lit, ok := x.(litExpr); ok {
			switch v := lit.v.(type) {
			case int64:
				return litExpr{-v}, nil
			case float64:
				return litExpr{-v}, nil
			}
		}
		return unExpr{op: "-", x: x}, nil
	}
	if p.accept("+") {
		return p.unary()
	}
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.accept("::") {
		t, err := p.castType()
		if err != nil {
			return nil, err
		}
		x = castExpr{x: x, typ: t}
	}
	return x, nil
}

func (p *parser) castType() (kalamType, error) {
	tt := p.next()
	if tt.kind != tokIdent {
		p.i--
		return kalamType{}, p.expected("a data type name")
	}
	name := strings.ToUpper(tt.text)
	if name == "DOUBLE" {
		p.acceptKw("PRECISION")
	}
	var mods []int
	if p.accept("(") {
		for {
			t := p.next()
			n, err := strconv.Atoi(t.text)
			if err != nil {
				return kalamType{}, p.expected("literal int")
			}
			mods = append(mods, n)
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return kalamType{}, err
		}
	}
	t, err := parseSQLType(name, mods)
	if err != nil {
		return kalamType{}, &parseError{err.Error()}
	}
	return t, nil
}

func (p *parser) primary() (expr, error) {
	t := p.peek()
	switch t.kind {
	case tokNumber:
		p.next()
		if i, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return litExpr{i}, nil
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, &parseError{fmt.Sprintf("sql parser error: Could not parse '%s' as number", t.text)}
		}
		return litExpr{f}, nil
	case tokString:
		p.next()
		return litExpr{t.text}, nil
	case tokParam:
		p.next()
		n, err := strconv.Atoi(t.text)
		if err != nil || n < 1 {
			return nil, &parseError{fmt.Sprintf("sql parser error: invalid placeholder $%s", t.text)}
		}
		return paramExpr{n: n}, nil
	case tokOp:
		if t.text == "(" {
			p.next()
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			return x, nil
		}
		return nil, p.expected("an expression")
	case tokQIdent:
		return p.columnRef()
	case tokIdent:
		switch t.upper() {
		case "NULL":
			p.next()
			return litExpr{nil}, nil
		case "TRUE":
			p.next()
			return litExpr{true}, nil
		case "FALSE":
			p.next()
			return litExpr{false}, nil
		case "CAST":
			if p.peekN(1).text == "(" {
				p.i += 2
				x, err := p.expr()
				if err != nil {
					return nil, err
				}
				if err := p.expectKw("AS"); err != nil {
					return nil, err
				}
				typ, err := p.castType()
				if err != nil {
					return nil, err
				}
				if err := p.expect(")"); err != nil {
					return nil, err
				}
				return castExpr{x: x, typ: typ}, nil
			}
		case "CURRENT_TIMESTAMP", "CURRENT_USER", "CURRENT_DATE":
			if p.peekN(1).text != "(" {
				p.next()
				name := t.upper()
				if name == "CURRENT_TIMESTAMP" {
					name = "NOW"
				}
				return funcExpr{name: name}, nil
			}
		case "TIMESTAMP", "DATE":
			if p.peekN(1).kind == tokString {
				p.next()
				s := p.next().text
				typ := typTimestamp
				if t.upper() == "DATE" {
					typ = typDate
				}
				return castExpr{x: litExpr{s}, typ: typ}, nil
			}
		}
		if reserved[t.upper()] {
			return nil, p.expected("an expression")
		}
		if p.peekN(1).kind == tokOp && p.peekN(1).text == "(" {
			return p.funcCall()
		}
		return p.columnRef()
	}
	return nil, p.expected("an expression")
}

func (p *parser) columnRef() (expr, error) {
	a, err := p.ident()
	if err != nil {
		return nil, err
	}
	if p.accept(".") {
		b, err := p.ident()
		if err != nil {
			return nil, err
		}
		if p.accept(".") {
			// ns.table.column
			c, err := p.ident()
			if err != nil {
				return nil, err
			}
			return colExpr{qual: b, name: c}, nil
		}
		return colExpr{qual: a, name: b}, nil
	}
	return colExpr{name: a}, nil
}

func (p *parser) funcCall() (expr, error) {
	name := strings.ToUpper(p.next().text)
	p.next() // (
	f := funcExpr{name: name}
	if p.accept(")") {
		return f, nil
	}
	if p.accept("*") {
		f.star = true
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return f, nil
	}
	f.distinct = p.acceptKw("DISTINCT")
	for {
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		f.args = append(f.args, x)
		if !p.accept(",") {
			break
		}
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	return f, nil
}
