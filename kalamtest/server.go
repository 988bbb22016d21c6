// Package kalamtest is a KalamDB-compatible server for tests and demos, in
// the manner of net/http/httptest: NewServer starts one on a loopback port,
// URL says where, Close stops it. It speaks the wire protocol of
// shared/kalamdb-protocol.md (HTTP auth and SQL endpoints, JWTs, the /v1/ws
// WebSocket with live subscriptions) over an embedded SQL engine, and offers
// fault controls (drop, stall, expire tokens, raw frames…) as Go methods.
//
// It must not import "testing": the kalamdash binary links it for the
// offline demo and `kalamdash serve`.
package kalamtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running KalamDB-compatible server.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234".
	URL string

	cfg     *config
	addr    string // the listening address, set at the first start
	ln      net.Listener
	httpSrv *http.Server
	log     *slog.Logger

	users   *userStore
	tokens  *tokenBook
	authLim *ipLimiter
	sqlLim  *ipLimiter // keyed by user id
	db      *engine

	secretMu sync.RWMutex
	secretV  string

	mu       sync.Mutex
	conns    map[uint64]*wsConn
	nextConn uint64

	slots connSlots // registry and per-IP WebSocket slots
	guard *ipGuard  // the middleware's per-IP request rate and bans

	subCounts subCounter // per-user subscription counts (the per-user cap)

	shutting    atomic.Bool
	down        atomic.Bool // not serving: before start, after Close or a cluster's StopNode
	partitioned atomic.Bool // cut off from its peers (Cluster.Partition)
	serveMu     sync.Mutex  // start and stopServing
	ownsDB      bool        // the node that closes the shared engine

	cl           *cluster // this node's cluster (a one-node one when standalone)
	nodeID       int64
	applyMu      sync.Mutex
	applyQ       []applyItem              // committed changes this node has yet to apply
	applyWake    chan struct{}            // nudges the applier
	appliedSig   chan struct{}            // closed and replaced at each apply
	applied      atomic.Int64             // _seq of the last change this node applied
	seqs         atomic.Pointer[nodeSeqs] // this node's own _seq numbering; nil when standalone (cluster_seq.go)
	appliedIndex atomic.Int64             // how many changes this node has applied (its Raft applied index)
	joinedSeq    int64                    // a peer joined with the changes up to this _seq applied
	startedNano  atomic.Int64             // when the node last started serving
	stallUntil   atomic.Int64             // unix nanos of the real clock
	// encodes counts change notifications serialized by fan-outs: once
	// per group of identical frames, not once per socket (fanout.go).
	encodes     atomic.Uint64
	fire        *firehose    // nil unless WithFirehose
	refuseUntil atomic.Int64 // unix nanos of the real clock

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once
}

// NewServer starts a server on 127.0.0.1 and a free port (or WithAddr).
// Close it when done. It is a one-node cluster, as a standalone KalamDB
// is: node 1 of a cluster named after the host, leading a Meta group, one
// user shard and one shared shard.
func NewServer(opts ...Option) (*Server, error) {
	cfg, err := buildConfig(opts)
	if err != nil {
		return nil, err
	}
	s, err := newServerState(cfg, newCluster(standaloneClusterID(), 1, 0, cfg.replWait))
	if err != nil {
		return nil, err
	}
	if err := s.start(cfg.addr); err != nil {
		s.db.close()
		return nil, err
	}
	s.startBackground()
	if cfg.firehose != nil {
		if err := s.startFirehose(*cfg.firehose); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

func buildConfig(opts []Option) (*config, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(cfg)
		}
	}
	if cfg.accessTTL <= 0 {
		return nil, errors.New("kalamtest: access TTL must be positive")
	}
	if cfg.checkInterval <= 0 {
		cfg.checkInterval = DefaultCheckInterval
	}
	if cfg.replLag < 0 {
		return nil, errors.New("kalamtest: replication lag must not be negative")
	}
	if cfg.replWait <= 0 {
		cfg.replWait = DefaultReplicationTimeout
	}
	return cfg, nil
}

// newServerState builds node 1 of cl, which owns the data set (users,
// tokens, the SQL engine, the demo data), but does not listen yet.
func newServerState(cfg *config, cl *cluster) (*Server, error) {
	s := &Server{
		cfg:     cfg,
		log:     cfg.logger,
		users:   newUserStore(cfg.clock),
		tokens:  newTokenBook(),
		secretV: cfg.secret,
		ownsDB:  true,
		cl:      cl,
		nodeID:  1,
	}
	cl.nodes = []*Server{s}
	s.initNode()
	if err := s.users.add("root", cfg.rootPassword, RoleSystem, ""); err != nil {
		return nil, err
	}
	if cfg.demo {
		cfg.users = append(demoUsers(), cfg.users...)
	}
	for _, u := range cfg.users {
		if err := s.users.add(u.name, u.password, u.role, u.email); err != nil {
			return nil, err
		}
	}
	db, err := newEngine(s)
	if err != nil {
		return nil, fmt.Errorf("kalamtest: start SQL engine: %w", err)
	}
	s.db = db
	if cfg.demo {
		if err := s.setupDemo(); err != nil {
			db.close()
			return nil, fmt.Errorf("kalamtest: demo data: %w", err)
		}
	}
	if cfg.firehose != nil {
		if err := validateFirehose(*cfg.firehose); err != nil {
			db.close()
			return nil, err
		}
	}
	return s, nil
}

// addPeer adds the next node over the same data set (users, tokens, secret,
// engine), with its own connections, limits and apply position. It joins
// with everything committed so far applied, as a node restored from a
// snapshot; call it before anything writes concurrently.
func (s *Server) addPeer() *Server {
	p := &Server{
		cfg:     s.cfg,
		log:     s.log,
		users:   s.users,
		tokens:  s.tokens,
		secretV: s.secret(),
		db:      s.db,
		cl:      s.cl,
	}
	p.joinedSeq = s.db.committed.Load()
	p.applied.Store(p.joinedSeq)
	p.appliedIndex.Store(s.db.logIndex.Load())
	p.initNode()
	s.cl.mu.Lock()
	s.cl.nodes = append(s.cl.nodes, p)
	p.nodeID = int64(len(s.cl.nodes))
	s.cl.mu.Unlock()
	return p
}

// initNode sets up what every node has of its own.
func (s *Server) initNode() {
	s.authLim = newIPLimiter(s.cfg.authRate)
	s.guard = &ipGuard{rate: s.cfg.reqRate}
	s.sqlLim = newIPLimiter(s.cfg.queryRate)
	s.conns = map[uint64]*wsConn{}
	s.applyWake = make(chan struct{}, 1)
	s.appliedSig = make(chan struct{})
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.down.Store(true)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.checker()
	}()
	go func() {
		defer s.wg.Done()
		s.applier()
	}()
}

// start listens on addr and serves.
func (s *Server) start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("kalamtest: listen on %s: %w (is the port in use? try another --addr)", addr, err)
	}
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	s.shutting.Store(false)
	s.ln = &refusingListener{Listener: ln, s: s}
	if s.URL == "" { // a restarted node keeps its address (and URL, read without locks)
		s.URL = "http://" + dialable(ln.Addr())
		s.addr = ln.Addr().String()
	}
	s.httpSrv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return withNode(s.ctx, s) },
	}
	srv, l := s.httpSrv, s.ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(l)
	}()
	s.down.Store(false)
	// Changes queued while the node was down (a first node's setup rows)
	// would otherwise wait for the next change to be applied.
	s.wakeApply()
	s.startedNano.Store(time.Now().UnixNano())
	s.log.Info("kalamtest listening", "url", s.URL, "node", s.nodeID, "demo", s.cfg.demo)
	return nil
}

func (s *Server) startedAt() time.Time { return time.Unix(0, s.startedNano.Load()) }

// startBackground starts the data set's own writers (the demo).
func (s *Server) startBackground() {
	if s.cfg.demo {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.demoWriter()
		}()
	}
}

// dialable turns a listen address into one a local client can dial: an
// unspecified host (0.0.0.0, ::) becomes 127.0.0.1.
func dialable(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
}

// MustNewServer is NewServer that panics on error, for tests and examples.
func MustNewServer(opts ...Option) *Server {
	s, err := NewServer(opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// Addr returns the listening address ("127.0.0.1:41234").
func (s *Server) Addr() string { return s.addr }

// WSURL returns the WebSocket endpoint, "ws://host:port/v1/ws".
func (s *Server) WSURL() string { return "ws" + s.URL[len("http"):] + "/v1/ws" }

// Close shuts the server down like upstream: it stops accepting TCP
// connections (clients that reconnect see "connection refused"), answers
// upgrades still arriving on open connections with 503, closes every socket
// with 1001 "Server shutting down", then stops the engine. It is safe to
// call more than once.
func (s *Server) Close() error {
	s.closed.Do(func() {
		s.stopServing()
		s.cancel()
		s.wg.Wait()
		if s.fire != nil {
			s.fire.logReport()
		}
		if s.ownsDB {
			s.db.close()
		}
		s.log.Info("kalamtest stopped", "url", s.URL)
	})
	return nil
}

// stopServing is a node's shutdown: it stops accepting TCP connections
// (clients that reconnect see "connection refused"), answers upgrades still
// arriving on open connections with 503, and closes every socket with 1001
// "Server shutting down". A stopped cluster node can start again.
func (s *Server) stopServing() {
	s.serveMu.Lock()
	defer s.serveMu.Unlock()
	if s.down.Load() {
		return
	}
	s.down.Store(true)
	s.shutting.Store(true)
	_ = s.ln.Close()
	s.httpSrv.SetKeepAlivesEnabled(false)
	s.closeAllConns(1001, "Server shutting down", true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = s.httpSrv.Shutdown(ctx)
	cancel()
	s.mu.Lock()
	s.conns = map[uint64]*wsConn{}
	s.mu.Unlock()
}

// now is the injected clock.
func (s *Server) now() time.Time { return s.cfg.clock() }

func (s *Server) secret() string {
	s.secretMu.RLock()
	defer s.secretMu.RUnlock()
	return s.secretV
}

// waitStall blocks while a Stall is in effect (real time, not the clock:
// a stall is about the wire going quiet). It re-checks often so Stall(0)
// ends a stall at once.
func (s *Server) waitStall(ctx context.Context) {
	for {
		until := s.stallUntil.Load()
		d := time.Until(time.Unix(0, until))
		if until == 0 || d <= 0 {
			return
		}
		t := time.NewTimer(min(d, 10*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// refusingListener drops accepted TCP connections while RefuseFor is in
// effect, which clients see as a connection reset.
type refusingListener struct {
	net.Listener
	s *Server
}

// Accept returns the next connection that is not refused.
func (l *refusingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if until := l.s.refuseUntil.Load(); until != 0 && time.Now().UnixNano() < until {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, like a port nobody listens on
			}
			_ = c.Close()
			continue
		}
		return c, nil
	}
}

// checker is the shared timer of upstream's connections manager: on every
// tick it closes sockets that did not authenticate in time and sockets
// whose last inbound frame is older than the heartbeat timeout.
func (s *Server) checker() {
	t := time.NewTicker(s.cfg.checkInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		now := s.now()
		for _, c := range s.connList() {
			c.check(now)
		}
	}
}

func (s *Server) connList() []*wsConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*wsConn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	return out
}
