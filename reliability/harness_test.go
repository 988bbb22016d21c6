package reliability_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// Timings shared by every scenario. Keepalive and backoff are short so a
// dead socket is noticed and replaced within about a second; deadlines
// only bound a hang and are never what a test asserts. Scenarios that
// count events by kind use quietKeepalive instead, so a slow machine
// cannot add a spurious reconnect.
const (
	keepalive    = 100 * time.Millisecond
	pongTimeout  = time.Second // generous: -race on a loaded machine is slow
	backoffMin   = 10 * time.Millisecond
	backoffMax   = 150 * time.Millisecond
	httpTimeout  = 5 * time.Second
	waitDeadline = 30 * time.Second

	alicePW = "alice-reliability-pw"
	adminPW = "admin-reliability-pw"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the scenarios' random pauses, to replay a failure (0: a new seed per test)")

// seeded returns t's random source. Its seed comes from the clock, or
// from -seed to replay a failed run's draws; a failing test logs it.
func seeded(t *testing.T) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("random seed %d: replay its draws with go test ./reliability -run '^%s$' -seed %d", seed, t.Name(), seed)
		}
	})
	return rand.New(rand.NewPCG(seed, seed))
}

// quietKeepalive makes the client rely on the network (EOF, RST) rather
// than on keepalive timing to notice a dead socket.
var quietKeepalive = client.WithKeepalive(5*time.Second, 20*time.Second)

// env is one scenario's world: a kalamtest server, a fault proxy in front
// of it, and a client connected through the proxy with a counting
// provider. Rows are written straight into the server, so writes go on
// while the client's network is broken.
type env struct {
	t    *testing.T
	srv  *kalamtest.Server
	px   *kalamtest.Proxy
	c    *client.Client
	prov *provider
	log  *eventLog
	next atomic.Int64 // next row id for insert
	// relayed is what the relay saw (envConfig.relay), else nil.
	relayed *relayLog
}

type envConfig struct {
	serverOpts []kalamtest.Option
	clientOpts []client.Option
	tables     []string // created as user tables app.<name> (id BIGINT PK, body TEXT)
	lazy       bool
	noConnect  bool
	// relay puts kalamdash proxy's relay between the fault proxy and the
	// server (client → fault proxy → relay → server), so the scenario
	// also checks the relay passes everything through.
	relay bool
}

// newEnv builds an env. By default it creates app.messages and connects
// eagerly through the proxy.
func newEnv(t *testing.T, cfg envConfig) *env {
	t.Helper()
	leakCheck(t)
	srv := testkit.Start(t, alicePW, adminPW, append([]kalamtest.Option{
		kalamtest.WithAuthRateLimit(1_000_000),
		kalamtest.WithMessageRateLimit(1_000_000),
		kalamtest.WithNotifyQueue(1 << 16),
		kalamtest.WithSubscriptionLimits(1000, 1000),
	}, cfg.serverOpts...)...)
	if len(cfg.tables) == 0 {
		cfg.tables = []string{"messages"}
	}
	testkit.CreateTables(t, srv, cfg.tables...)

	target := srv.URL
	var relayed *relayLog
	if cfg.relay {
		target, relayed = startRelay(t, srv.URL)
	}
	px, err := kalamtest.NewProxy(target)
	if err != nil {
		t.Fatalf("kalamtest.NewProxy: %v", err)
	}
	t.Cleanup(func() { _ = px.Close() })

	e := &env{t: t, srv: srv, px: px, relayed: relayed, prov: &provider{auth: client.Basic("alice", alicePW)}}
	if cfg.noConnect {
		return e
	}
	e.connect(cfg)
	return e
}

// connect opens the client through the proxy.
func (e *env) connect(cfg envConfig) {
	e.t.Helper()
	c := e.dial(cfg)
	e.log = newEventLog(c.Events())
	e.t.Cleanup(func() {
		_ = c.Close()
		e.log.wait()
	})
}

// dial connects e.c through the proxy with the scenarios' client options
// (short timeouts and backoff, no retries behind the scenario's back).
func (e *env) dial(cfg envConfig) *client.Client {
	e.t.Helper()
	opts := append([]client.Option{
		client.WithAuthProvider(e.prov.provide),
		client.WithKeepalive(keepalive, pongTimeout),
		client.WithReconnect(backoffMin, backoffMax, 0),
		client.WithHTTPTimeout(httpTimeout),
		client.WithAuthTimeout(httpTimeout),
		client.WithQueryRetries(0),
		client.WithEventBuffer(1 << 16),
		client.WithTapBuffer(0),
		client.WithLazyConnect(cfg.lazy),
	}, cfg.clientOpts...)
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	c, err := client.Connect(ctx, e.px.URL(), opts...)
	if err != nil {
		e.t.Fatalf("client.Connect through the proxy: %v", err)
	}
	e.c = c
	return c
}

// pendingSub is the outcome of a Subscribe started by subscribeAsync.
type pendingSub struct {
	s   *client.Subscription
	err error
}

// subscribeAsync starts Subscribe on app.table without waiting for its
// ack, for scenarios that cut the network while it is in flight.
func (e *env) subscribeAsync(table string, opts ...client.SubOption) <-chan pendingSub {
	done := make(chan pendingSub, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
		defer cancel()
		s, err := e.c.Subscribe(ctx, "SELECT * FROM app."+table, opts...)
		done <- pendingSub{s, err}
	}()
	return done
}

// liveSubscription subscribes to app.table, writes n rows and waits for
// them: a subscription that is live before the scenario disturbs it.
func (e *env) liveSubscription(table string, n int, opts ...client.SubOption) (*collector, []int64) {
	e.t.Helper()
	sub := e.subscribe(table, opts...)
	rows := e.insert(table, n)
	e.waitRows("live rows", sub, rows)
	return sub, rows
}

// subscribed waits for a Subscribe started by subscribeAsync to complete
// and returns its collector; what names the moment in a failure.
func (e *env) subscribed(what string, done <-chan pendingSub) *collector {
	e.t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			e.t.Fatalf("Subscribe %s: %v", what, r.err)
		}
		return newCollector(r.s)
	case <-time.After(waitDeadline):
		e.t.Fatalf("Subscribe %s still pending; %s", what, e.log.summary())
		return nil
	}
}

// leakCheck fails t if goroutines started during it outlive its cleanups.
// It also bounds the scenario's memory (memoryCheck).
func leakCheck(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
	memoryCheck(t)
}

// insert writes n rows into app.<table> as alice and returns their ids.
func (e *env) insert(table string, n int) []int64 {
	e.t.Helper()
	ids := make([]int64, 0, n)
	for range n {
		id := e.next.Add(1)
		if _, err := e.srv.Exec("alice", "INSERT INTO app."+table+" (id, body) VALUES ($1, $2)", id, fmt.Sprintf("row-%d", id)); err != nil {
			e.t.Errorf("insert %d: %v", id, err)
			return ids
		}
		ids = append(ids, id)
	}
	return ids
}

// insertPaced writes rounds batches of n rows into app.<table> in the
// background, pausing between batches so that the writes overlap what the
// scenario does meanwhile. The channel yields every id written, once done.
func (e *env) insertPaced(table string, rounds, n int, pause time.Duration) <-chan []int64 {
	written := make(chan []int64, 1)
	go func() {
		var ids []int64
		for range rounds {
			ids = append(ids, e.insert(table, n)...)
			time.Sleep(pause)
		}
		written <- ids
	}()
	return written
}

// insertBulk writes n rows into app.<table> as alice with multi-row
// INSERTs (much faster than insert for large backlogs) and returns their
// ids.
func (e *env) insertBulk(table string, n int) []int64 {
	e.t.Helper()
	ids := make([]int64, 0, n)
	for len(ids) < n {
		var b strings.Builder
		b.WriteString("INSERT INTO app." + table + " (id, body) VALUES ")
		for i := 0; i < 250 && len(ids) < n; i++ {
			id := e.next.Add(1)
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, 'row-%d')", id, id)
			ids = append(ids, id)
		}
		if _, err := e.srv.Exec("alice", b.String()); err != nil {
			e.t.Fatalf("bulk insert: %v", err)
		}
	}
	return ids
}

// subscribe subscribes to SELECT * FROM app.<table> and starts collecting.
func (e *env) subscribe(table string, opts ...client.SubOption) *collector {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	s, err := e.c.Subscribe(ctx, "SELECT * FROM app."+table, opts...)
	if err != nil {
		e.t.Fatalf("subscribe to app.%s: %v", table, err)
	}
	return newCollector(s)
}

// waitRows waits until sub has received every row of ids, reporting what
// it lacks after waitDeadline.
func (e *env) waitRows(what string, sub *collector, ids []int64) {
	e.t.Helper()
	e.waitFor(what, func() bool { return sub.hasAll(ids) }, sub.report(ids))
}

// waitDeliveredOnce is how a scenario ends: it waits for every row of ids
// on sub, then checks that each arrived exactly once and that the auth
// provider ran once per connection attempt (checkProvider).
func (e *env) waitDeliveredOnce(what string, sub *collector, ids []int64) {
	e.t.Helper()
	e.waitRows(what, sub, ids)
	sub.checkExactlyOnce(e.t, ids)
	e.checkProvider()
}

// waitFor polls cond until it holds, failing with what and the state
// report after waitDeadline.
func (e *env) waitFor(what string, cond func() bool, report func() string) {
	e.t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			if report != nil {
				msg = report()
			}
			e.t.Fatalf("timed out waiting for %s; %s; client events: %s; client state %v; server sockets: %s; proxy %+v",
				what, msg, e.log.summary(), e.state(), e.serverConns(), e.px.Stats())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// state is the client's connection state, or "none" before connect.
func (e *env) state() string {
	if e.c == nil {
		return "none"
	}
	return e.c.State().String()
}

// serverConns describes the server's open sockets, for timeouts.
func (e *env) serverConns() string {
	var b strings.Builder
	for _, ci := range e.srv.Conns() {
		fmt.Fprintf(&b, "[#%d auth=%v subs=%v sent=%d drops=%d lastIn=%s ago] ", ci.ID, ci.Authenticated, ci.Subs,
			ci.Sent, ci.Drops, time.Since(ci.LastInbound).Round(time.Millisecond))
	}
	return b.String()
}

// waitConnected waits until the client has announced at least n
// connections and is connected now.
func (e *env) waitConnected(n int) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("connection #%d", n), func() bool {
		return e.log.count(kindConnected) >= n && e.c.State() == client.StateConnected
	}, nil)
}

// checkProvider asserts the auth provider ran before every connection
// attempt (once per ConnectingEvent, nothing skipped, nothing extra) and
// that the lifecycle events are consistent (checkSequence).
func (e *env) checkProvider() {
	e.t.Helper()
	attempts := e.log.count(kindConnecting)
	calls := int(e.prov.calls.Load())
	if calls != attempts {
		e.t.Errorf("auth provider ran %d times for %d connection attempts; want one call per attempt (events: %s)",
			calls, attempts, e.log.summary())
	}
	if byTrigger := e.log.providerTriggers(); byTrigger["connect"]+byTrigger["reconnect"] != calls {
		e.t.Errorf("ProviderCalledEvents %v do not match %d provider calls", byTrigger, calls)
	}
	e.checkSequence()
}

// checkSequence asserts the lifecycle events tell a consistent story:
// every socket is announced once, after a connection attempt, with a
// larger ConnID than the one before; only announced sockets disconnect,
// each once; and after a disconnect that will be retried, the client
// schedules or starts another attempt before announcing a new socket.
func (e *env) checkSequence() {
	e.t.Helper()
	e.log.mu.Lock()
	defer e.log.mu.Unlock()
	var (
		attempts   int // connection attempts not yet answered by a socket
		lastConn   uint64
		up         = map[uint64]bool{}
		down       = map[uint64]bool{}
		retryOwed  bool // a retried disconnect still waits for a new attempt
		complaints []string
	)
	for i, r := range e.log.all {
		switch r.kind {
		case kindConnecting:
			attempts++
			retryOwed = false
		case kindScheduled:
			retryOwed = false
		case kindConnected:
			if attempts == 0 {
				complaints = append(complaints, fmt.Sprintf("#%d: socket %d announced without a connection attempt", i, r.connID))
			}
			attempts = 0
			if r.connID <= lastConn || up[r.connID] {
				complaints = append(complaints, fmt.Sprintf("#%d: socket %d announced after socket %d", i, r.connID, lastConn))
			}
			if retryOwed {
				complaints = append(complaints, fmt.Sprintf("#%d: socket %d up with no attempt after the last retried disconnect", i, r.connID))
			}
			lastConn, up[r.connID] = r.connID, true
		case kindDisconnected:
			if !up[r.connID] || down[r.connID] {
				complaints = append(complaints, fmt.Sprintf("#%d: socket %d disconnected (announced %v, already down %v)", i, r.connID, up[r.connID], down[r.connID]))
			}
			down[r.connID] = true
			retryOwed = r.willRetry
		}
	}
	if len(complaints) > 0 {
		e.t.Errorf("inconsistent lifecycle events: %v", complaints[:min(5, len(complaints))])
	}
}

// provider is an AuthProvider that counts its calls. While fail is
// positive, each call fails (and decrements it), as a credentials source
// that is briefly unavailable would.
type provider struct {
	calls atomic.Int64
	fail  atomic.Int64
	auth  client.Auth
}

// errProviderDown is what a failing provider returns.
var errProviderDown = errors.New("credentials store unavailable")

func (p *provider) provide(context.Context) (client.Auth, error) {
	p.calls.Add(1)
	if p.fail.Add(-1) >= 0 {
		return client.Auth{}, errProviderDown
	}
	p.fail.Store(0)
	return p.auth, nil
}

// eventLog drains a client's lifecycle events and counts them by kind.
type eventLog struct {
	mu       sync.Mutex
	counts   map[string]int
	triggers map[string]int
	last     []string
	all      []record // every event, in order, for checkSequence
	done     chan struct{}
}

// record is the part of a lifecycle event that checkSequence looks at.
type record struct {
	kind      string
	connID    uint64
	willRetry bool
}

const (
	kindConnecting   = "connecting"
	kindConnected    = "connected"
	kindDisconnected = "disconnected"
	kindScheduled    = "scheduled"
	kindError        = "error"
	kindProvider     = "provider"
	kindRefreshed    = "refreshed"
)

func newEventLog(ch <-chan client.Event) *eventLog {
	l := &eventLog{counts: map[string]int{}, triggers: map[string]int{}, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range ch {
			l.add(ev)
		}
	}()
	return l
}

func (l *eventLog) add(ev client.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var k, detail string
	switch x := ev.(type) {
	case client.ConnectingEvent:
		k, detail = kindConnecting, fmt.Sprintf("#%d", x.Attempt)
	case client.ConnectedEvent:
		k, detail = kindConnected, fmt.Sprintf("conn %d resumed %d", x.ConnID, x.Resumed)
		l.all = append(l.all, record{kind: k, connID: x.ConnID})
	case client.DisconnectedEvent:
		k, detail = kindDisconnected, fmt.Sprintf("conn %d code %d %v", x.ConnID, x.Code, x.Err)
		l.all = append(l.all, record{kind: k, connID: x.ConnID, willRetry: x.WillRetry})
	case client.ReconnectScheduledEvent:
		k, detail = kindScheduled, x.Delay.String()
	case client.ErrorEvent:
		k, detail = kindError, fmt.Sprint(x.Err)
	case client.ProviderCalledEvent:
		k, detail = kindProvider, x.Trigger
		l.triggers[x.Trigger]++
	case client.AuthRefreshedEvent:
		k, detail = kindRefreshed, x.Trigger
	default:
		k = fmt.Sprintf("%T", ev)
	}
	if k != kindConnected && k != kindDisconnected {
		l.all = append(l.all, record{kind: k})
	}
	l.counts[k]++
	l.last = append(l.last, k+"("+detail+")")
	if len(l.last) > 12 {
		l.last = l.last[1:]
	}
}

func (l *eventLog) count(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[kind]
}

func (l *eventLog) providerTriggers() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.triggers {
		out[k] = v
	}
	return out
}

func (l *eventLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(l.counts)) {
		fmt.Fprintf(&b, "%s=%d ", k, l.counts[k])
	}
	b.WriteString("last: " + strings.Join(l.last, ", "))
	return b.String()
}

// wait returns once the client closed its Events channel.
func (l *eventLog) wait() {
	select {
	case <-l.done:
	case <-time.After(waitDeadline):
	}
}
