package sqlengine

import (
	"context"
	"net/http"
	"sync"

	"github.com/kalamdash/kalamdash/client"
)

// Engine is an embedded KalamDB-compatible SQL database. Create it with New
// and release it with Close.
type Engine struct {
	mu   sync.Mutex
	opts Options
}

// LiveQuery is a validated subscription query bound to its caller.
type LiveQuery struct {
	e         *Engine
	ns, table string
}

type tableDef struct{}

// New opens an empty engine.
func New(opts Options) (*Engine, error) { return &Engine{opts: opts}, nil }

// Close releases the engine's database.
func (e *Engine) Close() error { return nil }

func notImplemented() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "INTERNAL_ERROR", Message: "not implemented"}
}

func (e *Engine) exec(ctx context.Context, c Caller, r Request) (ExecResult, *Error) {
	return ExecResult{}, notImplemented()
}
func (e *Engine) setUserLister(fn func() []UserRecord) {}
func (e *Engine) setLiveLister(fn func() []LiveRecord) {}
func (e *Engine) maxSeq() int64                        { return 0 }
func (e *Engine) prepareLive(c Caller, sql string) (*LiveQuery, *Error) {
	return nil, notImplemented()
}
func (q *LiveQuery) schema() []client.SchemaField { return nil }
func (q *LiveQuery) page(after *int64, boundary int64, limit int) ([]client.Row, bool, error) {
	return nil, false, notImplemented()
}
func (q *LiveQuery) last(n int, boundary int64) ([]client.Row, error) { return nil, notImplemented() }
func (e *Engine) onChange(fn func(Change)) func()                     { return func() {} }
func (q *LiveQuery) notification(ch Change) (string, []client.Row, []client.Row, bool) {
	return "", nil, nil, false
}
