package kalamtest

import (
	"io"
	"log/slog"
	"time"
)

// Defaults mirror the upstream server's configuration defaults
// (kalamdb-configs defaults.rs), so a test that sets nothing sees what a
// stock KalamDB would do.
const (
	DefaultAccessTTL        = 24 * time.Hour   // auth.jwt_expiry_hours; refresh is 7×
	DefaultAuthTimeout      = 3 * time.Second  // websocket.auth_timeout_secs
	DefaultHeartbeatTimeout = 10 * time.Second // websocket.client_timeout_secs
	DefaultCheckInterval    = 5 * time.Second  // websocket.heartbeat_interval_secs
	DefaultAuthRatePerSec   = 20               // auth attempts per IP
	DefaultMessagesPerSec   = 50               // inbound WebSocket messages per socket
	DefaultRequestsPerSec   = 200              // HTTP requests per IP (middleware)
	DefaultQueriesPerSec    = 100              // /v1/api/sql calls per user
	DefaultMaxMessageSize   = 1 << 20          // security.max_ws_message_size
	DefaultNotifyQueue      = 128              // per-socket notification queue
	DefaultInitialBuffer    = 1024             // changes held per subscription during its initial load
	DefaultMaxSubsPerUser   = 10
	DefaultMaxSubsPerConn   = 100
	DefaultBatchSize        = 1000 // MAX_ROWS_PER_BATCH
	DefaultLockoutFailures  = 5
	DefaultLockoutDuration  = 15 * time.Minute
	// DefaultMaxConnections is performance.max_connections: WebSocket slots
	// in the live connections registry, across all clients.
	DefaultMaxConnections = 25000
	// DefaultJWTSecret is a placeholder for tests; `kalamdash serve` uses
	// a random secret unless --jwt-secret is given.
	DefaultJWTSecret = "kalamtest-secret-change-me"
	// ServerVersion is the version /health reports (upstream's workspace
	// version at the protocol reference's commit).
	ServerVersion = "0.4.3-rc.4"
)

const (
	maxBodyBytes               = 10 << 20 // middleware body cap
	serverBuildDate            = "unknown"
	gzipThreshold              = 512
	bcryptCostForTests         = 4 // bcrypt.MinCost: hashing stays real but cheap
	closeReasonMax             = 123
	maxLoginUserBytes          = 128
	maxLoginPasswordBytes      = 256
	maxSQLParams               = 50
	maxSQLBytes                = 1 << 20 // MAX_SQL_QUERY_LENGTH
	healthForbiddenMessageText = "Access denied. Health endpoint is localhost-only."
)

// Option configures a Server.
type Option func(*config)

type userSpec struct {
	name, password, role, email string
}

type config struct {
	replLag          time.Duration // a follower applies a change this long after its commit
	replWait         time.Duration // cluster.replication_timeout_ms
	addr             string
	users            []userSpec
	secret           string
	accessTTL        time.Duration
	refreshTTL       time.Duration
	clock            func() time.Time
	authTimeout      time.Duration
	heartbeatTimeout time.Duration
	checkInterval    time.Duration
	allowedOrigins   []string
	strictOrigin     bool
	authRate         int
	msgRate          int
	reqRate          int
	queryRate        int
	maxMessage       int
	notifyQueue      int
	maxSubsPerUser   int
	maxSubsPerConn   int
	maxConns         int
	maxConnsPerIP    int
	logger           *slog.Logger
	demo             bool
	demoInterval     time.Duration
	firehose         *FirehoseConfig // nil: no firehose
	rootPassword     string
}

func defaultConfig() *config {
	return &config{
		addr:             "127.0.0.1:0",
		secret:           DefaultJWTSecret,
		accessTTL:        DefaultAccessTTL,
		clock:            time.Now,
		authTimeout:      DefaultAuthTimeout,
		heartbeatTimeout: DefaultHeartbeatTimeout,
		checkInterval:    DefaultCheckInterval,
		authRate:         DefaultAuthRatePerSec,
		msgRate:          DefaultMessagesPerSec,
		reqRate:          DefaultRequestsPerSec,
		queryRate:        DefaultQueriesPerSec,
		maxMessage:       DefaultMaxMessageSize,
		notifyQueue:      DefaultNotifyQueue,
		maxSubsPerUser:   DefaultMaxSubsPerUser,
		maxSubsPerConn:   DefaultMaxSubsPerConn,
		maxConns:         DefaultMaxConnections,
		logger:           slog.New(slog.DiscardHandler),
		demoInterval:     400 * time.Millisecond,
	}
}

// WithAddr sets the listen address (default "127.0.0.1:0", a free loopback
// port). `kalamdash serve` uses it for a fixed port.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithUser adds a user. Role is one of user, service, dba, system (empty
// means user). The password is bcrypt-hashed at the minimum cost.
func WithUser(name, password, role string) Option {
	return func(c *config) {
		c.users = append(c.users, userSpec{name: name, password: password, role: role})
	}
}

// WithUserEmail adds a user with an email address, which appears in login
// bodies and in the JWT email claim.
func WithUserEmail(name, password, role, email string) Option {
	return func(c *config) {
		c.users = append(c.users, userSpec{name: name, password: password, role: role, email: email})
	}
}

// WithRootPassword gives the built-in root user a password, which also
// marks the server as set up (GET /v1/api/auth/status says needs_setup
// false). Without it root has no password and login as root answers 428.
func WithRootPassword(pw string) Option { return func(c *config) { c.rootPassword = pw } }

// WithJWTSecret sets the HS256 signing secret.
func WithJWTSecret(secret string) Option { return func(c *config) { c.secret = secret } }

// WithAccessTTL sets the access-token lifetime (default 24 h). The refresh
// lifetime defaults to 7× this unless WithRefreshTTL is given.
func WithAccessTTL(d time.Duration) Option { return func(c *config) { c.accessTTL = d } }

// WithRefreshTTL sets the refresh-token lifetime (default 7× access).
func WithRefreshTTL(d time.Duration) Option { return func(c *config) { c.refreshTTL = d } }

// WithClock injects the clock used for JWT iat/exp and validation, account
// lockout, rate limits and the auth/heartbeat timeouts (which are compared
// against it on every checker tick). Tests advance it instead of sleeping.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithAuthTimeout sets how long a socket may stay unauthenticated (3 s).
func WithAuthTimeout(d time.Duration) Option { return func(c *config) { c.authTimeout = d } }

// WithHeartbeatTimeout sets the inbound inactivity limit (10 s).
func WithHeartbeatTimeout(d time.Duration) Option {
	return func(c *config) { c.heartbeatTimeout = d }
}

// WithCheckInterval sets the real-time period of the checker that enforces
// both timeouts (5 s upstream). Tests use a few milliseconds.
func WithCheckInterval(d time.Duration) Option { return func(c *config) { c.checkInterval = d } }

// WithAllowedOrigins sets the WebSocket origin allow-list. Empty, or a list
// containing "*", allows every origin.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) { c.allowedOrigins = append(c.allowedOrigins, origins...) }
}

// WithStrictOrigin refuses upgrades without an Origin header when an
// allow-list is configured (security.strict_ws_origin_check).
func WithStrictOrigin() Option { return func(c *config) { c.strictOrigin = true } }

// WithAuthRateLimit sets the per-IP authentication rate (20/s); 0 disables.
func WithAuthRateLimit(perSec int) Option { return func(c *config) { c.authRate = perSec } }

// WithMessageRateLimit sets the per-connection inbound message rate
// (50/s); 0 disables.
func WithMessageRateLimit(perSec int) Option { return func(c *config) { c.msgRate = perSec } }

// WithRequestRateLimit sets the connection-protection limit on HTTP
// requests per IP, WebSocket upgrades included (200/s; 0 disables). It
// runs on the server clock (WithClock): with a frozen clock the bucket
// never refills. As upstream, loopback clients are exempt, every
// violation from the 10th on bans the IP (429 IP_BANNED) for 300 s or
// longer, and an address idle for 600 s is forgotten; a test on 127.0.0.1
// sends X-Forwarded-For to be limited as a remote client (see
// WithMaxConnectionsPerIP for the address rules).
func WithRequestRateLimit(perSec int) Option { return func(c *config) { c.reqRate = perSec } }

// WithQueryRateLimit sets the /v1/api/sql calls allowed per user per
// second (100; 0 disables). Unlike the other limits it runs on real time,
// so tests with a frozen clock that query often do not trip it.
func WithQueryRateLimit(perSec int) Option { return func(c *config) { c.queryRate = perSec } }

// WithMaxMessageSize sets the inbound text limit (1 MiB).
func WithMaxMessageSize(n int) Option { return func(c *config) { c.maxMessage = n } }

// WithNotifyQueue sets the per-connection notification queue depth (128).
func WithNotifyQueue(n int) Option { return func(c *config) { c.notifyQueue = n } }

// WithSubscriptionLimits sets the per-user (10) and per-connection (100)
// subscription caps. As upstream, the per-user cap is decided on an
// approximate count that drifts from the live subscriptions (see
// Server.SubscriptionCount).
func WithSubscriptionLimits(perUser, perConn int) Option {
	return func(c *config) { c.maxSubsPerUser, c.maxSubsPerConn = perUser, perConn }
}

// WithLogger sets the structured logger: one line per connection and per
// request. Tokens and passwords are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithLogWriter logs text lines to w.
func WithLogWriter(w io.Writer) Option {
	return func(c *config) {
		if w != nil {
			c.logger = slog.New(slog.NewTextHandler(w, nil))
		}
	}
}

// WithDemo creates the demo namespace, tables, rows and users (demo/demo,
// admin/admin) and keeps writing a few rows per second until Close.
func WithDemo() Option { return func(c *config) { c.demo = true } }

// WithDemoInterval sets the period of the demo writer (400 ms).
func WithDemoInterval(d time.Duration) Option { return func(c *config) { c.demoInterval = d } }

// WithReplicationLag makes a cluster's followers apply each change (and
// notify their subscribers) this long after the leader committed it; the
// leader of the change's group applies it at once. Default 0.
func WithReplicationLag(d time.Duration) Option { return func(c *config) { c.replLag = d } }

// WithReplicationTimeout is cluster.replication_timeout_ms: how long a
// subscribe with options on a node waits for it to apply every committed
// change before failing with SUBSCRIPTION_FAILED (default 5 s).
func WithReplicationTimeout(d time.Duration) Option { return func(c *config) { c.replWait = d } }
