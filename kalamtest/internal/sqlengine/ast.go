package sqlengine

// The AST of the KalamDB SQL subset the engine understands. Expressions are
// evaluated in Go (live filters, INSERT/UPDATE values) and rendered to
// SQLite (queries), so both paths share one parse.

type expr interface{ isExpr() }

// litExpr is a constant: int64, float64, string, bool or nil.
type litExpr struct{ v any }

// colExpr references a column, optionally qualified by table or alias.
type colExpr struct{ qual, name string }

// paramExpr is $n (1-based); it is replaced by a litExpr before use.
type paramExpr struct{ n int }

// binExpr is a binary operator: = <> < <= > >= AND OR + - * / % ||.
type binExpr struct {
	op   string
	l, r expr
}

// unExpr is NOT x or -x.
type unExpr struct {
	op string
	x  expr
}

type isNullExpr struct {
	x   expr
	not bool
}

type inExpr struct {
	x    expr
	list []expr
	not  bool
}

type betweenExpr struct {
	x, lo, hi expr
	not       bool
}

type likeExpr struct {
	x, pat expr
	not    bool
	ci     bool // ILIKE
}

// funcExpr is a function call; star is COUNT(*).
type funcExpr struct {
	name     string // upper case
	args     []expr
	star     bool
	distinct bool
}

type castExpr struct {
	x   expr
	typ kalamType
}

func (litExpr) isExpr()     {}
func (colExpr) isExpr()     {}
func (paramExpr) isExpr()   {}
func (binExpr) isExpr()     {}
func (unExpr) isExpr()      {}
func (isNullExpr) isExpr()  {}
func (inExpr) isExpr()      {}
func (betweenExpr) isExpr() {}
func (likeExpr) isExpr()    {}
func (funcExpr) isExpr()    {}
func (castExpr) isExpr()    {}

// tableRef names a table; ns is "" when the SQL left it unqualified.
type tableRef struct {
	ns, name string
	alias    string
}

type statement interface{ isStmt() }

type createNamespaceStmt struct {
	name        string
	ifNotExists bool
}

type dropNamespaceStmt struct {
	name     string
	ifExists bool
}

type colDef struct {
	name     string
	typ      kalamType
	notNull  bool
	pk       bool
	unique   bool
	defValue expr // nil when none
}

type createTableStmt struct {
	ref         tableRef
	typ         tableType
	typeGiven   bool // CREATE USER|SHARED|STREAM TABLE or TYPE option
	ifNotExists bool
	cols        []colDef
	pk          string
	ttlSeconds  int64
	access      string // PUBLIC, PRIVATE, RESTRICTED, DBA ("" = default)
}

type dropTableStmt struct {
	ref      tableRef
	ifExists bool
}

type insertStmt struct {
	ref  tableRef
	cols []string // nil = all user columns in order
	rows [][]expr
}

type setClause struct {
	col string
	x   expr
}

type updateStmt struct {
	ref   tableRef
	sets  []setClause
	where expr
}

type deleteStmt struct {
	ref   tableRef
	where expr
}

type selItem struct {
	x     expr
	alias string
	star  bool // * (or qual.*)
}

type orderItem struct {
	x    expr
	desc bool
}

type selectStmt struct {
	distinct bool
	items    []selItem
	from     *tableRef
	where    expr
	groupBy  []expr
	having   expr
	orderBy  []orderItem
	limit    expr
	offset   expr
}

func (createNamespaceStmt) isStmt() {}
func (dropNamespaceStmt) isStmt()   {}
func (createTableStmt) isStmt()     {}
func (dropTableStmt) isStmt()       {}
func (insertStmt) isStmt()          {}
func (updateStmt) isStmt()          {}
func (deleteStmt) isStmt()          {}
func (selectStmt) isStmt()          {}
