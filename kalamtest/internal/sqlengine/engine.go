package sqlengine

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// seqEpochMillis is the Snowflake epoch: 2024-01-01T00:00:00Z.
const seqEpochMillis = 1704067200000

// Engine is an embedded KalamDB-compatible SQL database. Create it with New
// and release it with Close.
type Engine struct {
	// mu serialises every statement, page read and change fan-out; SQLite
	// runs on one dedicated connection.
	mu   sync.Mutex
	db   *sql.DB
	conn *sql.Conn

	now              func() time.Time
	worker           int64
	defaultNamespace string

	lastSeq int64        // last _seq handed out (under mu)
	maxSeq_ atomic.Int64 // last committed _seq

	namespaces map[string]bool
	tables     map[string]*tableDef // by "ns.table"
	stmts      map[string]*sql.Stmt // prepared-statement cache (stmtcache.go)
	closed     bool

	// Listener and lister registration is independent of mu so callbacks
	// can (un)register without deadlocking.
	lmu           sync.RWMutex
	listeners     map[int]func(Change)
	nextListener  int
	userLister    func() []UserRecord
	liveLister    func(context.Context) []LiveRecord
	clusterLister func(context.Context) ClusterView
	liveKiller    func(ctx context.Context, connectionID, subscriptionID string) KillOutcome
}

// LiveQuery is a validated subscription query bound to its caller. Its
// methods are safe for concurrent use.
type LiveQuery struct {
	e         *Engine
	caller    Caller
	def       *tableDef
	ns, table string
	sql       string
	cols      []string // projected columns, always including _seq
	star      bool
	where     expr // nil = all rows; parameters already resolved
	fields    []schemaCol
}

// New opens an empty engine holding the "default" namespace, as a fresh
// KalamDB server does.
func New(opts Options) (*Engine, error) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, fmt.Errorf("sqlengine: open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlengine: connect sqlite: %w", err)
	}
	// LIKE is case-sensitive in DataFusion; ILIKE is rendered with lower().
	if _, err := conn.ExecContext(context.Background(), "PRAGMA case_sensitive_like = ON"); err != nil {
		conn.Close()
		db.Close()
		return nil, fmt.Errorf("sqlengine: configure sqlite: %w", err)
	}
	e := &Engine{
		db:               db,
		conn:             conn,
		now:              opts.Now,
		worker:           opts.WorkerID & 0x3ff,
		defaultNamespace: opts.DefaultNamespace,
		namespaces:       map[string]bool{"default": true},
		tables:           map[string]*tableDef{},
		stmts:            map[string]*sql.Stmt{},
		listeners:        map[int]func(Change){},
	}
	if e.worker == 0 {
		e.worker = 1
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.defaultNamespace == "" {
		e.defaultNamespace = "default"
	}
	e.namespaces[e.defaultNamespace] = true
	return e, nil
}

// Close releases the engine's database. Later calls fail with an error.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.dropStmts()
	err1 := e.conn.Close()
	err2 := e.db.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// nextSeq returns a new Snowflake _seq, strictly greater than any before
// it even when the clock stalls or steps back. Caller holds mu.
func (e *Engine) nextSeq() int64 {
	ms := e.now().UnixMilli() - seqEpochMillis
	if ms < 0 {
		ms = 0
	}
	s := ms<<22 | e.worker<<12
	if s <= e.lastSeq {
		s = e.lastSeq + 1
	}
	e.lastSeq = s
	return s
}

// seqFloor returns the smallest _seq that could be generated at time t
// (used for stream-table TTL).
func seqFloor(t time.Time) int64 {
	ms := t.UnixMilli() - seqEpochMillis
	if ms < 0 {
		return 0
	}
	return ms << 22
}

func (e *Engine) maxSeq() int64 { return e.maxSeq_.Load() }

func (e *Engine) setUserLister(fn func() []UserRecord) {
	e.lmu.Lock()
	e.userLister = fn
	e.lmu.Unlock()
}

func (e *Engine) setLiveLister(fn func(context.Context) []LiveRecord) {
	e.lmu.Lock()
	e.liveLister = fn
	e.lmu.Unlock()
}

func (e *Engine) setLiveKiller(fn func(ctx context.Context, connectionID, subscriptionID string) KillOutcome) {
	e.lmu.Lock()
	e.liveKiller = fn
	e.lmu.Unlock()
}

func (e *Engine) onChange(fn func(Change)) func() {
	e.lmu.Lock()
	id := e.nextListener
	e.nextListener++
	e.listeners[id] = fn
	e.lmu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.lmu.Lock()
			delete(e.listeners, id)
			e.lmu.Unlock()
		})
	}
}

// emit delivers committed changes to listeners, in order. Caller holds mu,
// which keeps deliveries in commit order across goroutines.
func (e *Engine) emit(changes []Change) {
	if len(changes) == 0 {
		return
	}
	e.lmu.RLock()
	fns := make([]func(Change), 0, len(e.listeners))
	ids := make([]int, 0, len(e.listeners))
	for id := range e.listeners {
		ids = append(ids, id)
	}
	// Registration order, so listeners see changes deterministically.
	slices.Sort(ids)
	for _, id := range ids {
		fns = append(fns, e.listeners[id])
	}
	e.lmu.RUnlock()
	for _, ch := range changes {
		for _, fn := range fns {
			fn(ch)
		}
	}
}
