package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// Manager holds several named connections at once. Each has its own
// client, tokens, policy, subscriptions, stats and frame log: two users side
// by side share nothing but the manager's clock and event stream.
type Manager struct {
	o      managerOptions
	events *eventQueue

	mu    sync.Mutex
	conns []*Conn
	seq   int
}

// ManagerOption configures a Manager.
type ManagerOption func(*managerOptions)

type managerOptions struct {
	clock          Clock
	eventBuffer    int
	maxFrames      int
	maxBytes       int64
	clientOpts     []client.Option
	retryMin       time.Duration
	retryMax       time.Duration
	refreshTimeout time.Duration
	pumpInterval   time.Duration
	statsInterval  time.Duration
	tokenCache     *TokenCache
	liveRowCap     int
	autoVerifyRows int
	liveCheck      time.Duration
}

// WithClock sets the clock (default RealClock()).
func WithClock(c Clock) ManagerOption { return func(o *managerOptions) { o.clock = c } }

// WithEventBuffer sets the capacity of the Events channel (default 256).
// Events beyond it queue inside the manager (coalesced), so producers
// never block.
func WithEventBuffer(n int) ManagerOption { return func(o *managerOptions) { o.eventBuffer = n } }

// WithFrameLogLimits sets each connection's frame log caps (defaults
// DefaultMaxFrames, DefaultMaxBytes).
func WithFrameLogLimits(maxFrames int, maxBytes int64) ManagerOption {
	return func(o *managerOptions) { o.maxFrames, o.maxBytes = maxFrames, maxBytes }
}

// WithClientOptions adds client options to every connection the manager
// opens (after the ones derived from the profile, so they win).
func WithClientOptions(opts ...client.Option) ManagerOption {
	return func(o *managerOptions) { o.clientOpts = append(o.clientOpts, opts...) }
}

// WithRetryBackoff sets the backoff of failed automatic refreshes: the
// first retry waits min, each further one twice as long, capped at max
// (defaults 1 s and 1 min).
func WithRetryBackoff(min, max time.Duration) ManagerOption {
	return func(o *managerOptions) { o.retryMin, o.retryMax = min, max }
}

// WithRefreshTimeout bounds one refresh call (default 30 s).
func WithRefreshTimeout(d time.Duration) ManagerOption {
	return func(o *managerOptions) { o.refreshTimeout = d }
}

// WithPumpInterval sets how often FramesAppended and SubscriptionChanged
// events are emitted at most, per connection (default 50 ms of wall time:
// this paces rendering, so it deliberately does not follow the injected
// clock).
func WithPumpInterval(d time.Duration) ManagerOption {
	return func(o *managerOptions) { o.pumpInterval = d }
}

// WithStatsInterval sets the stats sampling period on the injected clock
// (default 1 s).
func WithStatsInterval(d time.Duration) ManagerOption {
	return func(o *managerOptions) { o.statsInterval = d }
}

// WithTokenCache enables the opt-in token cache for profiles with
// CacheToken set.
func WithTokenCache(c TokenCache) ManagerOption {
	return func(o *managerOptions) { o.tokenCache = &c }
}

// WithLiveRowCap sets how many rows each live table keeps (default
// DefaultLiveRowCap); older rows are evicted and counted.
func WithLiveRowCap(n int) ManagerOption { return func(o *managerOptions) { o.liveRowCap = n } }

// WithAutoVerify makes a subscription verify itself (Conn.Verify) once it
// is ready again after a resume, when it keeps at most maxRows rows and
// none were evicted: a resume is where changes go missing (deletions are
// never replayed). 0, the default, turns it off.
func WithAutoVerify(maxRows int) ManagerOption {
	return func(o *managerOptions) { o.autoVerifyRows = maxRows }
}

// DefaultLiveCheck is the period the dashboard checks its subscriptions
// against system.live at (WithLiveCheck).
const DefaultLiveCheck = 30 * time.Second

// WithLiveCheck makes every connection whose role may read system.live
// (dba, system) run CheckLive every d on the injected clock, so a
// subscription killed on the server is marked killed without anyone
// asking. 0, the default, turns it off.
func WithLiveCheck(d time.Duration) ManagerOption {
	return func(o *managerOptions) { o.liveCheck = d }
}

// NewManager returns an empty manager.
func NewManager(opts ...ManagerOption) *Manager {
	o := managerOptions{
		clock:          RealClock(),
		eventBuffer:    256,
		retryMin:       time.Second,
		retryMax:       time.Minute,
		refreshTimeout: 30 * time.Second,
		pumpInterval:   50 * time.Millisecond,
		statsInterval:  time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.clock == nil {
		o.clock = RealClock()
	}
	if o.eventBuffer <= 0 {
		o.eventBuffer = 1
	}
	if o.retryMin <= 0 {
		o.retryMin = time.Second
	}
	if o.retryMax < o.retryMin {
		o.retryMax = o.retryMin
	}
	if o.pumpInterval <= 0 {
		o.pumpInterval = 50 * time.Millisecond
	}
	if o.statsInterval <= 0 {
		o.statsInterval = time.Second
	}
	if o.liveRowCap <= 0 {
		o.liveRowCap = DefaultLiveRowCap
	}
	return &Manager{o: o, events: newEventQueue(o.eventBuffer)}
}

// Clock returns the manager's clock.
func (m *Manager) Clock() Clock { return m.o.clock }

// Events returns the manager's single event stream. It is closed by
// CloseAll. Producers never block on it: when the UI falls behind, events
// queue inside the manager and frame/subscription events are coalesced.
func (m *Manager) Events() <-chan Event { return m.events.out }

// EventDrops counts events dropped because the internal queue overflowed.
func (m *Manager) EventDrops() uint64 { return m.events.dropped() }

// Conns returns the open connections in opening order.
func (m *Manager) Conns() []*Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Conn(nil), m.conns...)
}

// Conn returns the named connection.
func (m *Manager) Conn(name string) (*Conn, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		if c.name == name {
			return c, true
		}
	}
	return nil, false
}

// reserve claims a unique name for a new connection.
func (m *Manager) reserve(name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "" {
		m.seq++
		name = fmt.Sprintf("conn-%d", m.seq)
	}
	for _, c := range m.conns {
		if c.name == name {
			return "", fmt.Errorf("a connection named %q is already open: close it first or pick another name", name)
		}
	}
	return name, nil
}

func (m *Manager) add(c *Conn) error {
	m.mu.Lock()
	for _, x := range m.conns {
		if x.name == c.name {
			m.mu.Unlock()
			return fmt.Errorf("a connection named %q is already open: close it first or pick another name", c.name)
		}
	}
	m.conns = append(m.conns, c)
	m.mu.Unlock()
	m.emit(ConnOpenedEvent{Conn: c.name})
	return nil
}

func (m *Manager) remove(c *Conn) {
	m.mu.Lock()
	for i, x := range m.conns {
		if x == c {
			m.conns = append(m.conns[:i], m.conns[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
}

// Close closes and removes the named connection.
func (m *Manager) Close(name string) error {
	c, ok := m.Conn(name)
	if !ok {
		return fmt.Errorf("no connection named %q", name)
	}
	return c.Close()
}

// CloseAll closes every connection and then the Events channel. The
// manager must not be used afterwards.
func (m *Manager) CloseAll() error {
	var errs []error
	for _, c := range m.Conns() {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	m.events.close()
	return errors.Join(errs...)
}

func (m *Manager) emit(ev Event) { m.events.push(ev) }

// Open connects a new connection described by p (see Profile; the
// password, if any, is used for logins and then kept only inside the
// client's auth provider). extra client options are applied last. Open
// returns when the client is connected (or failed to); the connection's
// state keeps following the client afterwards. A profile with CacheToken
// and neither password nor token resumes from the token cache (see
// TokenCache); when the cache cannot resume it, a NoticeEvent and, if the
// profile's own login then fails, the returned error say why.
func (m *Manager) Open(ctx context.Context, p Profile, extra ...client.Option) (*Conn, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	name, err := m.reserve(p.Name)
	if err != nil {
		return nil, err
	}
	p.Name = name
	return m.open(ctx, p, extra)
}

// Attach adopts a client built elsewhere (e.g. by main with its own auth
// provider) as a named connection. The Conn owns it from now on and
// closes it on Close. p describes it for display and refresh policy; its
// URL may be empty.
func (m *Manager) Attach(cl *client.Client, p Profile) (*Conn, error) {
	if cl == nil {
		return nil, errors.New("attach: nil client")
	}
	if _, err := p.Policy(); err != nil {
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	name, err := m.reserve(p.Name)
	if err != nil {
		return nil, err
	}
	p.Name = name
	p.Password = ""
	c := newConn(m, p)
	c.start(cl)
	if err := m.add(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
