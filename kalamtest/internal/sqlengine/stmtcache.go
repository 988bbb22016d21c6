package sqlengine

import (
	"context"
	"database/sql"
)

// maxCachedStmts bounds the prepared-statement cache; it is simply
// emptied when full (statement texts repeat per table and shape).
const maxCachedStmts = 512

// runner runs SQL on the engine's connection through cached prepared
// statements: SQLite's parser dominates the cost of small statements
// otherwise. Transactions are plain BEGIN/COMMIT on the one connection
// (see txn), because database/sql re-prepares connection-bound statements
// inside a *sql.Tx on every use.
type runner struct {
	e *Engine
}

// on returns a runner; tx only documents that the call runs inside a
// transaction. Caller holds mu.
func (e *Engine) on(tx *txn) runner { return runner{e: e} }

// txn is a transaction on the engine's single connection. Caller holds mu
// for its whole life.
type txn struct {
	e    *Engine
	done bool
}

func (e *Engine) begin(ctx context.Context) (*txn, error) {
	if _, err := e.on(nil).ExecContext(ctx, "BEGIN"); err != nil {
		return nil, err
	}
	return &txn{e: e}, nil
}

// Rollback undoes the transaction unless it was committed; safe to defer.
func (t *txn) Rollback() {
	if t.done {
		return
	}
	t.done = true
	_, _ = t.e.on(nil).ExecContext(context.Background(), "ROLLBACK")
}

// Commit makes the transaction's writes durable (in memory).
func (t *txn) Commit() error {
	t.done = true
	if _, err := t.e.on(nil).ExecContext(context.Background(), "COMMIT"); err != nil {
		_, _ = t.e.on(nil).ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	return nil
}

func (r runner) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	e := r.e
	s, ok := e.stmts[q]
	if !ok {
		var err error
		if s, err = e.conn.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		if len(e.stmts) >= maxCachedStmts {
			e.dropStmts()
		}
		e.stmts[q] = s
	}
	return s, nil
}

// QueryContext runs a query.
func (r runner) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := r.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// ExecContext runs a statement.
func (r runner) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := r.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// dropStmts closes every cached statement (after DDL that drops tables,
// and on Close). Caller holds mu.
func (e *Engine) dropStmts() {
	for q, s := range e.stmts {
		_ = s.Close()
		delete(e.stmts, q)
	}
}
