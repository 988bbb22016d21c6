package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Conn is one named connection: its client, token state, refresh policy,
// subscriptions, connection state, stats and frame log. All methods are
// safe for concurrent use. The UI reads it through Snapshot, Log and
// SubRows and drives it through Refresh, SetPolicy, Subscribe, Reconnect…
type Conn struct {
	name  string
	m     *Manager
	clock Clock
	log   *FrameLog

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu               sync.Mutex
	cl               *client.Client
	profile          Profile // Password cleared
	state            client.ConnState
	detail           StateDetail
	access           TokenState
	refreshTS        TokenState
	socket           TokenState
	policy           RefreshPolicy
	method           RefreshMethod
	timer            Timer
	gen              uint64 // schedule generation; a stale timer does nothing
	next             time.Time
	nextTrigger      Trigger
	refreshing       bool
	failures         int
	unchanged        int          // consecutive successful refreshes that returned the same token
	lastFailAuth     bool         // last refresh-token attempt was refused: retry via provider
	pendingReconnect *Rotation    // provider called for a reconnect; completed on Connected
	pendingLogin     bool         // …and it returned a password (so a login follows)
	pendingStart     time.Time    // client time the provider call started
	pasted           *tokenHolder // jwt mode: the token SetToken replaces
	swap             *TokenSwap   // active token swap (SwapToken), nil when none
	spareRefresh     string       // refresh token from the token cache, until the client holds one
	lastRefresh      time.Time
	rotID            int
	history          ring[Rotation]
	providers        ring[ProviderCall]
	sampler          *statsSampler
	statsTimer       Timer
	liveCheckTimer   Timer         // WithLiveCheck's next run
	cluster          *ClusterState // the last PollCluster, nil before any
	// provider and transport are what the client was built with, for
	// Manager.OpenOnNode (nil for an attached client).
	provider    client.AuthProvider
	transport   []client.Option
	subs        map[string]*liveTable
	subOrder    []string
	subHandles  map[string]*client.Subscription
	compression bool
	serial      string
	embedded    bool
	closed      bool
	watch       *watched // a watched application's connection (watch.go); nil for our own client's
}

func newConn(m *Manager, p Profile) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	pol, _ := p.Policy() // validated by Open; Attach falls back to manual
	c := &Conn{
		name: p.Name, m: m, clock: m.o.clock,
		log: NewFrameLog(m.o.maxFrames, m.o.maxBytes),
		ctx: ctx, cancel: cancel,
		profile: p, policy: pol,
		history:     ring[Rotation]{max: MaxHistory},
		providers:   ring[ProviderCall]{max: MaxHistory},
		sampler:     newStatsSampler(),
		subs:        map[string]*liveTable{},
		subHandles:  map[string]*client.Subscription{},
		compression: !p.NoCompress,
		serial:      p.Serialization,
	}
	if c.serial == "" {
		c.serial = "json"
	}
	c.profile.Password = ""
	c.state = client.StateIdle
	c.detail.Since = c.clock.Now()
	c.lastRefresh = c.clock.Now()
	return c
}

// Name returns the connection's name.
func (c *Conn) Name() string { return c.name }

// Log returns the connection's frame log.
func (c *Conn) Log() *FrameLog { return c.log }

// Profile returns the profile the connection was opened with (no password).
func (c *Conn) Profile() Profile {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.profile
}

// Client returns the underlying client, for main's wiring (the UI never
// needs it).
func (c *Conn) Client() *client.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cl
}

// SetEmbedded marks the server as the embedded demo server, so the UI
// offers its fault keys (expire token, drop socket).
func (c *Conn) SetEmbedded(v bool) {
	c.mu.Lock()
	c.embedded = v
	c.mu.Unlock()
}

// Snapshot copies the connection's state for rendering.
func (c *Conn) Snapshot() ConnSnapshot {
	now := c.clock.Now()
	var counters Counters
	var url string
	c.mu.Lock()
	cl := c.cl
	c.mu.Unlock()
	if cl != nil {
		counters = countersOf(cl.Stats())
		url = cl.URL()
	}
	ls := c.log.Stats()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch != nil {
		counters = c.watch.counters
	}
	s := ConnSnapshot{
		Name: c.name, URL: url, Now: now,
		State: c.state, Detail: c.detail,
		AuthMode: c.profile.Mode(),
		Access:   c.access, Refresh: c.refreshTS, Socket: c.socket,
		Policy: c.policy, Method: c.method,
		NextRefresh: c.next, NextTrigger: c.nextTrigger,
		Refreshing: c.refreshing, Failures: c.failures, LastRefreshAt: c.lastRefresh,
		History:     c.history.snapshot(),
		Providers:   c.providers.snapshot(),
		Stats:       c.sampler.stats(counters),
		Log:         ls,
		Compression: c.compression, Serialization: c.serial, Embedded: c.embedded,
	}
	if c.watch != nil {
		s.Watched, s.Client, s.LiveSocket = true, c.watch.client, c.watch.socket
	}
	if c.swap != nil {
		sw := *c.swap
		s.Swap = &sw
	}
	if url == "" {
		s.URL = c.profile.URL
	}
	s.SocketOutlivedToken = c.state == client.StateConnected && c.socket.Valid && c.socket.Phase(now) == PhaseDead
	for _, id := range c.subOrder {
		s.Subs = append(s.Subs, c.subs[id].snapshot(now))
	}
	return s
}

func countersOf(st client.Stats) Counters {
	return Counters{
		FramesIn: st.FramesIn, FramesOut: st.FramesOut,
		WireBytesIn: st.WireBytesIn, DecodedBytesIn: st.DecodedBytesIn, WireBytesOut: st.WireBytesOut,
		Reconnects: st.Reconnects, TapDrops: st.TapDrops,
		KeepaliveRTT: st.KeepaliveRTT, LastKeepalive: st.LastKeepalive,
	}
}

// Policy returns the refresh policy.
func (c *Conn) Policy() RefreshPolicy {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.policy
}

// SetPolicy changes the refresh policy at run time and reschedules.
func (c *Conn) SetPolicy(p RefreshPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	c.policy = p
	c.failures = 0
	c.scheduleLocked()
	ev := c.policyEventLocked()
	c.mu.Unlock()
	c.m.emit(ev)
	return nil
}

// SetRefreshMethod chooses how refreshes obtain credentials.
func (c *Conn) SetRefreshMethod(m RefreshMethod) {
	c.mu.Lock()
	c.method = m
	c.mu.Unlock()
}

func (c *Conn) policyEventLocked() PolicyChangedEvent {
	return PolicyChangedEvent{Conn: c.name}
}

// setState moves the state machine and emits StateChanged.
func (c *Conn) setStateLocked(to client.ConnState, d StateDetail) StateChangedEvent {
	from := c.state
	if to != from || d.Since.IsZero() {
		d.Since = c.clock.Now()
	} else {
		d.Since = c.detail.Since
	}
	c.state, c.detail = to, d
	return StateChangedEvent{Conn: c.name, From: from, To: to, Detail: d}
}

// Close closes the connection and its client and removes it from the
// manager. Closing twice is harmless.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.statsTimer != nil {
		c.statsTimer.Stop()
		c.statsTimer = nil
	}
	if c.liveCheckTimer != nil {
		c.liveCheckTimer.Stop()
		c.liveCheckTimer = nil
	}
	c.next = time.Time{}
	cl := c.cl
	c.mu.Unlock()
	c.cancel()
	var err error
	if cl != nil {
		err = cl.Close()
	}
	c.wg.Wait()
	c.mu.Lock()
	ev := c.setStateLocked(client.StateClosed, StateDetail{})
	c.mu.Unlock()
	c.m.remove(c)
	c.m.emit(ev)
	c.m.emit(ConnClosedEvent{Conn: c.name})
	return err
}

// Reconnect drops the socket and reconnects now (subscriptions resume).
func (c *Conn) Reconnect(ctx context.Context) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	return cl.Reconnect(ctx)
}

// Disconnect closes the socket without reconnecting until Reconnect.
func (c *Conn) Disconnect() error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	return cl.Disconnect()
}

// SetCompression reconnects with (true) or without (false) gzip, i.e.
// without or with compress=false.
func (c *Conn) SetCompression(on bool) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.SetCompression(!on); err != nil {
		return err
	}
	c.mu.Lock()
	c.compression = on
	c.mu.Unlock()
	return nil
}

// QueryResult is the answer to Conn.Query (alias of client.QueryResult).
type QueryResult = client.QueryResult

// Query runs SQL over HTTP with the connection's credentials. A write to a
// table a subscription watches whole is expected to show up there as
// changes; when fewer arrive, the subscription's Shortfall says so.
func (c *Conn) Query(ctx context.Context, sql string, params ...any) (*QueryResult, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	w := c.watchWrites(sql)
	res, err := cl.Query(ctx, sql, params...)
	if err == nil {
		c.expectWrites(w, res)
	}
	return res, err
}

var errClosed = errors.New("connection is closed")

// errWatched refuses what a watched connection cannot do: it observes
// another application and sends nothing of its own.
var errWatched = errors.New("read-only: this connection watches another application through kalamdash proxy")

func (c *Conn) client() (*client.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%s: %w", c.name, errClosed)
	}
	if c.watch != nil {
		return nil, fmt.Errorf("%s: %w", c.name, errWatched)
	}
	if c.cl == nil {
		return nil, fmt.Errorf("%s: not connected yet", c.name)
	}
	return c.cl, nil
}

// syncTokens re-reads the client's credentials and, if they changed,
// updates the token states, reschedules a before-expiry refresh and emits
// TokenChanged. It reports whether they changed.
func (c *Conn) syncTokens() bool {
	c.mu.Lock()
	cl := c.cl
	c.mu.Unlock()
	if cl == nil {
		return false
	}
	access, refresh := cl.Credentials()
	c.mu.Lock()
	if refresh == "" {
		refresh = c.spareRefresh
	}
	fa, fr := client.Fingerprint(access), client.Fingerprint(refresh)
	if fa == c.access.Fingerprint && fr == c.refreshTS.Fingerprint {
		c.mu.Unlock()
		return false
	}
	c.access, c.refreshTS = DecodeToken(access), DecodeToken(refresh)
	if c.policy.Kind == PolicyBeforeExpiry && c.failures == 0 {
		c.scheduleLocked()
	}
	tev := TokenChangedEvent{Conn: c.name}
	pev := c.policyEventLocked()
	cache := c.profile.CacheToken && c.m.o.tokenCache != nil
	c.mu.Unlock()
	if cache && access != "" {
		if err := c.m.o.tokenCache.Save(c.name, CachedTokens{AccessToken: access, RefreshToken: refresh, SavedAt: c.clock.Now()}); err != nil {
			c.notice(NoticeWarn, "could not save the token cache: "+err.Error(), "check permissions of the cache directory")
		}
	}
	c.m.emit(tev)
	c.m.emit(pev)
	return true
}

func (c *Conn) notice(level NoticeLevel, text, hint string) {
	c.m.emit(NoticeEvent{Conn: c.name, Level: level, Text: text, Hint: hint, Time: c.clock.Now()})
}
