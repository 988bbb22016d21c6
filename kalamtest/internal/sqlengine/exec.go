package sqlengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Upstream request limits (sql_request.rs).
const (
	maxParams         = 50
	maxParamBytes     = 512 * 1024
	maxSQLBytes       = 1 << 20
	systemNamespace   = "system"
	namespaceAdminMsg = "Admin privileges (DBA or System role) required for namespace operations"
)

// prepared is one parsed statement of a batch.
type prepared struct {
	sql string
	st  statement
}

func (e *Engine) exec(ctx context.Context, c Caller, r Request) (ExecResult, *Error) {
	if len(r.SQL) > maxSQLBytes {
		return ExecResult{}, &Error{Status: http.StatusBadRequest, Code: CodeInvalidInput,
			Message: fmt.Sprintf("SQL query too long: %d bytes (max %d bytes)", len(r.SQL), maxSQLBytes)}
	}
	raw := fastSingleStatement(r.SQL)
	if raw == nil {
		var err error
		if raw, err = splitStatements(r.SQL); err != nil {
			return ExecResult{}, forPrivilege(c, http.StatusBadRequest, CodeBatchParseError, "Failed to parse SQL batch: "+err.Error())
		}
	}
	if len(raw) == 0 {
		return ExecResult{}, &Error{Status: http.StatusBadRequest, Code: CodeEmptySQL, Message: "No SQL statements provided"}
	}
	stmts := make([]prepared, 0, len(raw))
	for i, s := range raw {
		st, perr := e.prepare(c, s)
		if perr != nil {
			if r.Forwarded {
				return ExecResult{}, forwardedError(CodeInvalidInput, i+1, perr.Message)
			}
			return ExecResult{}, perr
		}
		stmts = append(stmts, prepared{sql: s, st: st})
	}
	if perr := checkParams(r.Params); perr != nil {
		return ExecResult{}, perr
	}
	if len(r.Params) > 0 && len(stmts) > 1 {
		return ExecResult{}, &Error{Status: http.StatusBadRequest, Code: CodeParamsWithBatch,
			Message: "Parameters not supported with multi-statement batches"}
	}
	ns := r.Namespace
	if ns == "" {
		ns = e.defaultNamespace
	}
	batch := len(stmts) > 1
	fold := batch && !r.Forwarded
	var out ExecResult
	var inserted, updated, deleted int
	for i, p := range stmts {
		res, kerr := e.run(ctx, c, p.st, ns, r.Params)
		if kerr != nil {
			if r.Forwarded {
				return ExecResult{}, forwardedError(CodeSQLExecutionError, i+1, kerr.Error())
			}
			return ExecResult{}, statementError(c, i+1, p.sql, kerr)
		}
		if fold && !res.IsQuery {
			switch {
			case strings.Contains(res.Message, "Inserted"):
				inserted += res.RowCount
				continue
			case strings.Contains(res.Message, "Updated"):
				updated += res.RowCount
				continue
			case strings.Contains(res.Message, "Deleted"):
				deleted += res.RowCount
				continue
			}
		}
		out.Results = append(out.Results, res)
	}
	if fold {
		if inserted > 0 {
			out.Results = append(out.Results, Result{RowCount: inserted, Message: fmt.Sprintf("Inserted %d row(s)", inserted)})
		}
		if updated > 0 {
			out.Results = append(out.Results, Result{RowCount: updated, Message: fmt.Sprintf("Updated %d row(s)", updated)})
		}
		if deleted > 0 {
			out.Results = append(out.Results, Result{RowCount: deleted, Message: fmt.Sprintf("Deleted %d row(s)", deleted)})
		}
	}
	if out.Results == nil {
		out.Results = []Result{}
	}
	out.SingleSelect = !batch && !r.Forwarded && len(out.Results) == 1 && out.Results[0].IsQuery
	return out, nil
}

// forwardedError is a forwarded statement's failure: always 400, the
// message unredacted, no details.
func forwardedError(code string, idx int, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf("Statement %d failed: %s", idx, msg)}
}

// fastSingleStatement mirrors upstream's fast path: text without ';'
// (after one optional trailing ';') and without comments is one statement
// and is not run through the batch splitter.
func fastSingleStatement(sql string) []string {
	s := strings.TrimSpace(sql)
	s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	if s == "" || strings.Contains(s, ";") || strings.Contains(s, "--") || strings.Contains(s, "/*") || strings.Contains(s, "*/") {
		return nil
	}
	return []string{s}
}

// prepare classifies and parses one statement, as upstream does for the
// whole batch before running anything.
func (e *Engine) prepare(c Caller, s string) (statement, *Error) {
	w := firstWords(s, 3)
	if (w[0] == "CREATE" || w[0] == "DROP" || w[0] == "ALTER") && (w[1] == "NAMESPACE" || w[1] == "SCHEMA") && !c.IsAdmin() {
		return nil, &Error{Status: http.StatusForbidden, Code: CodePermissionDenied, Message: namespaceAdminMsg}
	}
	var st statement
	var err error
	if w[0] == "KILL" && w[1] == "LIVE" && w[2] == "QUERY" {
		st, err = parseKillLiveQuery(s)
	} else {
		st, err = parseStatement(s)
	}
	if err != nil {
		msg := err.Error()
		if errors.Is(err, errUnsupported) {
			msg = "Unsupported statement type: " + s
		} else if w[0] == "CREATE" && (w[1] == "TABLE" || w[2] == "TABLE") {
			msg = "Invalid CREATE TABLE statement: " + msg
		}
		return nil, forPrivilege(c, http.StatusBadRequest, CodeInvalidSQL, msg)
	}
	return st, nil
}

// firstWords returns the first n bare words of a statement, upper-cased
// ("" past the end), without lexing the whole (possibly huge) text.
func firstWords(s string, n int) []string {
	toks, _ := lex(s[:min(len(s), 128)])
	out := make([]string, n)
	for i := 0; i < n && i < len(toks); i++ {
		out[i] = toks[i].upper()
	}
	return out
}

// checkParams validates request parameters (parse_scalar_params upstream).
func checkParams(params []any) *Error {
	if len(params) > maxParams {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidParameter,
			Message: fmt.Sprintf("Parameter count exceeded: maximum %d parameters allowed, got %d", maxParams, len(params))}
	}
	for i, p := range params {
		switch x := p.(type) {
		case nil, bool, json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		case string:
			if len(x) > maxParamBytes {
				return &Error{Status: http.StatusBadRequest, Code: CodeInvalidParameter,
					Message: fmt.Sprintf("Parameter size exceeded: parameter at index %d is %d bytes (max %d bytes)", i, len(x), maxParamBytes)}
			}
		default:
			return &Error{Status: http.StatusBadRequest, Code: CodeInvalidParameter,
				Message: fmt.Sprintf("Parameter at index %d must be a scalar value (string, number, boolean or null); arrays and objects are not supported", i)}
		}
	}
	return nil
}

// run executes one parsed statement.
func (e *Engine) run(ctx context.Context, c Caller, st statement, ns string, params []any) (Result, *kerr) {
	// Listers run before taking the engine lock (they may be slow or call
	// back into the server).
	if k, ok := st.(killLiveQueryStmt); ok {
		return e.killLiveQuery(ctx, c, k)
	}
	var sys *systemRows
	if s, ok := st.(selectStmt); ok && s.from != nil && (s.from.ns == systemNamespace || (s.from.ns == "" && ns == systemNamespace)) {
		sys = e.collectSystem(ctx, s.from.name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Result{}, errf(kindPlain, "engine is closed")
	}
	switch s := st.(type) {
	case createNamespaceStmt:
		return e.createNamespace(c, s)
	case dropNamespaceStmt:
		return e.dropNamespace(ctx, c, s)
	case createTableStmt:
		return e.createTable(ctx, c, s, ns)
	case dropTableStmt:
		return e.dropTable(ctx, c, s, ns)
	case insertStmt:
		return e.insert(ctx, c, s, ns, params)
	case updateStmt:
		return e.update(ctx, c, s, ns, params)
	case deleteStmt:
		return e.delete(ctx, c, s, ns, params)
	case selectStmt:
		return e.selectQuery(ctx, c, s, ns, params, sys)
	}
	return Result{}, errf(kindInvalidSQL, "unsupported statement")
}

func (e *Engine) createNamespace(c Caller, s createNamespaceStmt) (Result, *kerr) {
	if !validName(s.name) {
		return Result{}, errf(kindPlain, "Invalid namespace name '%s'. Only alphanumeric characters and underscores are allowed.", s.name)
	}
	if s.name == systemNamespace || e.namespaces[s.name] {
		if s.ifNotExists {
			return Result{Message: fmt.Sprintf("Namespace '%s' already exists", s.name)}, nil
		}
		return Result{}, errf(kindAlreadyExists, "Namespace '%s' already exists", s.name)
	}
	e.namespaces[s.name] = true
	return Result{Message: fmt.Sprintf("Namespace '%s' created successfully", s.name)}, nil
}

func (e *Engine) dropNamespace(ctx context.Context, c Caller, s dropNamespaceStmt) (Result, *kerr) {
	if s.name == systemNamespace {
		return Result{}, errf(kindInvalidOperation, "Cannot DROP NAMESPACE 'system': system namespace is managed internally")
	}
	if !e.namespaces[s.name] {
		if s.ifExists {
			return Result{Message: fmt.Sprintf("Namespace '%s' does not exist", s.name)}, nil
		}
		return Result{}, errf(kindNotFound, "Namespace '%s' not found", s.name)
	}
	for key, t := range e.tables {
		if t.ns != s.name {
			continue
		}
		e.dropStmts()
		if _, err := e.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t.sqlName); err != nil {
			return Result{}, errf(kindExecution, "DROP TABLE failed: %v", err)
		}
		delete(e.tables, key)
	}
	delete(e.namespaces, s.name)
	return Result{Message: fmt.Sprintf("Namespace '%s' dropped successfully", s.name)}, nil
}

// canCreateTable is can_create_table upstream.
func canCreateTable(role string, t tableType) bool {
	switch role {
	case RoleSystem, RoleDBA, RoleService:
		return t != tableSystem || role == RoleSystem
	case RoleUser:
		return t == tableUser || t == tableStream
	}
	return false
}

func (e *Engine) createTable(ctx context.Context, c Caller, s createTableStmt, ns string) (Result, *kerr) {
	if s.ref.ns != "" {
		ns = s.ref.ns
	}
	if !validName(ns) {
		return Result{}, errf(kindInvalidSQL, "Invalid namespace name '%s'. Only alphanumeric characters and underscores are allowed.", ns)
	}
	if !validName(s.ref.name) {
		return Result{}, errf(kindInvalidSQL, "Invalid table name '%s'. Only alphanumeric characters and underscores are allowed.", s.ref.name)
	}
	typ := s.typ
	// A user/service creating a SHARED table in their own namespace gets a
	// USER table (resolve_table_type upstream).
	if typ == tableShared && (c.Role == RoleUser || c.Role == RoleService) && ns == c.UserID {
		typ = tableUser
	}
	if !canCreateTable(c.Role, typ) {
		return Result{}, errf(kindUnauthorized, "Insufficient privileges to create %s tables", typ)
	}
	if ns == systemNamespace {
		return Result{}, errf(kindInvalidOperation, "Cannot CREATE TABLE in system namespace: system tables are managed internally")
	}
	if !e.namespaces[ns] {
		return Result{}, errf(kindInvalidOperation, "Namespace '%s' does not exist. Create it first with CREATE NAMESPACE %s", ns, ns)
	}
	if (typ == tableUser || typ == tableShared) && s.pk == "" {
		return Result{}, errf(kindInvalidOperation, "%s tables require a PRIMARY KEY column", typ.debugName())
	}
	for _, col := range s.cols {
		if !validName(col.name) {
			return Result{}, errf(kindInvalidSQL, "Invalid column name '%s'. Only alphanumeric characters and underscores are allowed.", col.name)
		}
		switch strings.ToLower(col.name) {
		case colSeq, colDeleted, colOwner, "_commit_seq":
			return Result{}, errf(kindInvalidOperation, "Column name '%s' is reserved for system columns", col.name)
		}
	}
	key := ns + "." + s.ref.name
	msg := fmt.Sprintf("CREATE TABLE via Raft consensus: %s table %s created successfully", typ, key)
	if _, exists := e.tables[key]; exists {
		if s.ifNotExists {
			return Result{Message: msg}, nil
		}
		return Result{}, errf(kindAlreadyExists, "Table %s already exists", key)
	}
	def := &tableDef{ns: ns, name: s.ref.name, typ: typ, pk: s.pk, ttl: s.ttlSeconds, sqlName: quoteIdent(key)}
	if typ == tableShared {
		def.access = s.access
		if def.access == "" {
			def.access = "PRIVATE"
		}
	}
	var ddl strings.Builder
	ddl.WriteString("CREATE TABLE " + def.sqlName + " (" + quoteIdent(colOwner) + " TEXT NOT NULL DEFAULT '', " +
		quoteIdent(colSeq) + " INTEGER NOT NULL, " + quoteIdent(colDeleted) + " INTEGER NOT NULL DEFAULT 0")
	for _, cd := range s.cols {
		def.cols = append(def.cols, column{name: cd.name, typ: cd.typ, notNull: cd.notNull || cd.pk, pk: cd.pk, unique: cd.unique, def: cd.defValue})
		ddl.WriteString(", " + quoteIdent(cd.name) + " " + cd.typ.sqliteType())
	}
	ddl.WriteString(")")
	stmts := []string{ddl.String(),
		"CREATE INDEX " + quoteIdent(key+"#seq") + " ON " + def.sqlName + " (" + quoteIdent(colSeq) + ")"}
	if def.pk != "" {
		stmts = append(stmts, "CREATE UNIQUE INDEX "+quoteIdent(key+"#pk")+" ON "+def.sqlName+" ("+quoteIdent(colOwner)+", "+quoteIdent(def.pk)+")")
	}
	for _, q := range stmts {
		if _, err := e.conn.ExecContext(ctx, q); err != nil {
			_, _ = e.conn.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+def.sqlName)
			return Result{}, errf(kindExecution, "CREATE TABLE failed: %v", err)
		}
	}
	e.tables[key] = def
	return Result{Message: msg}, nil
}

func (e *Engine) dropTable(ctx context.Context, c Caller, s dropTableStmt, ns string) (Result, *kerr) {
	if s.ref.ns != "" {
		ns = s.ref.ns
	}
	if ns == systemNamespace {
		return Result{}, errf(kindInvalidOperation, "Cannot DROP TABLE '%s' in system namespace: system tables are managed internally", s.ref.name)
	}
	key := ns + "." + s.ref.name
	def, exists := e.tables[key]
	if c.Role != RoleDBA && c.Role != RoleSystem {
		return Result{}, errf(kindUnauthorized, "Insufficient privileges to drop this table")
	}
	if !exists {
		if s.ifExists {
			return Result{Message: fmt.Sprintf("Table %s does not exist (skipped)", key)}, nil
		}
		return Result{}, errf(kindNotFound, "Table '%s' not found in namespace '%s'", s.ref.name, ns)
	}
	e.dropStmts()
	if _, err := e.conn.ExecContext(ctx, "DROP TABLE "+def.sqlName); err != nil {
		return Result{}, errf(kindExecution, "DROP TABLE failed: %v", err)
	}
	delete(e.tables, key)
	job := fmt.Sprintf("DT-%x", e.nextSeq())
	return Result{Message: fmt.Sprintf("Table %s dropped successfully. Cleanup job: %s", key, job)}, nil
}

// lookup resolves a table reference for DML/queries.
func (e *Engine) lookup(ref tableRef, ns string) (*tableDef, *kerr) {
	if ref.ns != "" {
		ns = ref.ns
	}
	def, ok := e.tables[ns+"."+ref.name]
	if !ok {
		return nil, errf(kindTableNotFound, "Error during planning: table 'kalam.%s.%s' not found", ns, ref.name)
	}
	return def, nil
}

// lookupWritable resolves the table a DML statement writes to, refusing
// it when c may not write there.
func (e *Engine) lookupWritable(c Caller, ref tableRef, ns string) (*tableDef, *kerr) {
	def, k := e.lookup(ref, ns)
	if k != nil {
		return nil, k
	}
	if k := canWrite(c, def); k != nil {
		return nil, k
	}
	return def, nil
}

// canWrite applies upstream's write permissions for DML on def.
func canWrite(c Caller, def *tableDef) *kerr {
	switch def.typ {
	case tableShared:
		switch def.access {
		case "DBA":
			if c.Role == RoleDBA || c.Role == RoleSystem {
				return nil
			}
		default:
			if c.Role == RoleDBA || c.Role == RoleSystem || c.Role == RoleService {
				return nil
			}
		}
		return errf(kindPermissionDenied, "Insufficient privileges to write to shared table '%s' (access level: %s)", def.fullName(), strings.ToLower(def.access))
	case tableSystem:
		return errf(kindInvalidOperation, "Cannot modify system table '%s'", def.fullName())
	}
	switch c.Role {
	case RoleUser, RoleService, RoleDBA, RoleSystem:
		return nil
	}
	return errf(kindPermissionDenied, "User table write denied due to insufficient privileges.")
}

// canRead applies upstream's read permissions for queries on def.
func canRead(c Caller, def *tableDef) *kerr {
	switch def.typ {
	case tableShared:
		ok := false
		switch def.access {
		case "PUBLIC":
			ok = true
		case "DBA":
			ok = c.Role == RoleDBA || c.Role == RoleSystem
		default:
			ok = c.Role == RoleDBA || c.Role == RoleSystem || c.Role == RoleService
		}
		if !ok {
			return errf(kindPermissionDenied, "Insufficient privileges to read shared table '%s' (access level: %s)", def.fullName(), strings.ToLower(def.access))
		}
	case tableSystem:
		if !c.IsAdmin() {
			return errf(kindPermissionDenied, "Access to system table '%s' requires DBA or System role", def.fullName())
		}
	}
	return nil
}
