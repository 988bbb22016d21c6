package client

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// Option configures a Client at Connect. Options are applied to a private
// copy of the defaults, in order; conflicting or invalid settings make
// Connect fail rather than surprise later.
type Option func(*options)

type options struct {
	provider          AuthProvider
	staticAuth        *Auth
	disableCompress   bool
	lazy              bool
	httpTimeout       time.Duration
	queryRetries      int
	keepalive         time.Duration
	pongTimeout       time.Duration
	reconnectMin      time.Duration
	reconnectMax      time.Duration
	reconnectAttempts int
	serialization     string
	tlsConfig         *tls.Config
	caFile            string
	insecure          bool
	messageAuth       bool
	tapBuffer         int
	revealSecrets     bool
	eventBuffer       int
	httpClient        *http.Client
	now               func() time.Time
	providerAttempts  int
	providerBackoff   time.Duration
	providerMaxWait   time.Duration
	authTimeout       time.Duration
	errs              []error
}

func defaultOptions() options {
	return options{
		httpTimeout:      30 * time.Second,
		queryRetries:     3,
		keepalive:        DefaultKeepalive,
		pongTimeout:      DefaultPongTimeout,
		reconnectMin:     time.Second,
		reconnectMax:     30 * time.Second,
		serialization:    "json",
		tapBuffer:        4096,
		eventBuffer:      256,
		now:              time.Now,
		providerAttempts: 3,
		providerBackoff:  250 * time.Millisecond,
		providerMaxWait:  2 * time.Second,
		authTimeout:      5 * time.Second,
	}
}

// WithAuthProvider sets the credentials provider, called before every
// connection attempt, on RefreshAuth and after TOKEN_EXPIRED.
func WithAuthProvider(p AuthProvider) Option {
	return func(o *options) { o.provider = p }
}

// WithAuth uses fixed credentials.
//
// Deprecated: use WithAuthProvider, which lets credentials change between
// reconnects (as the KalamDB SDKs deprecate `auth:` for `authProvider:`).
func WithAuth(a Auth) Option {
	return func(o *options) { o.staticAuth = &a }
}

// WithDisableCompression adds compress=false to the WebSocket URL, so the
// server sends every frame as plain JSON text (the frame inspector's raw mode).
func WithDisableCompression(disable bool) Option {
	return func(o *options) { o.disableCompress = disable }
}

// WithLazyConnect defers opening the WebSocket until the first Subscribe
// or Reconnect (the SDKs' default); by default Connect opens it eagerly.
func WithLazyConnect(lazy bool) Option {
	return func(o *options) { o.lazy = lazy }
}

// WithHTTPTimeout bounds every HTTP request and the WebSocket handshake
// (default 30 s; 0 means no timeout).
func WithHTTPTimeout(d time.Duration) Option {
	return func(o *options) { o.httpTimeout = d }
}

// WithQueryRetries sets how often an idempotent statement (SELECT, SHOW,
// DESCRIBE, EXPLAIN) is retried after a connect or timeout error (default 3).
func WithQueryRetries(n int) Option {
	return countOption("WithQueryRetries", n, 0, func(o *options) { o.queryRetries = n })
}

// WithKeepalive sets the keepalive interval (default DefaultKeepalive,
// 9 s) and how long the socket may stay silent after a keepalive Ping
// before it is declared dead and reconnected (default DefaultPongTimeout,
// 5 s; 0 never declares it dead). Each keepalive is timed from the previous
// one, not from its Pong, so the server sees a frame every interval
// whatever the round trip; an interval of 10 s or more exceeds KalamDB's
// default heartbeat limit, and the server will close an idle socket.
// interval 0 disables keepalives.
func WithKeepalive(interval, pongTimeout time.Duration) Option {
	return func(o *options) {
		if interval < 0 || pongTimeout < 0 {
			o.errs = append(o.errs, fmt.Errorf("WithKeepalive(%s, %s): durations must be ≥ 0", interval, pongTimeout))
		}
		o.keepalive, o.pongTimeout = interval, pongTimeout
	}
}

// WithReconnect sets the reconnect backoff: min doubling up to max, with
// jitter; maxAttempts 0 means unlimited (default 1 s, 30 s, 0). With a
// cluster's nodes, an attempt is a round over them: the backoff and the
// count grow per round, never between the nodes of one.
func WithReconnect(min, max time.Duration, maxAttempts int) Option {
	return func(o *options) {
		if min <= 0 || max < min || maxAttempts < 0 {
			o.errs = append(o.errs, fmt.Errorf("WithReconnect(%s, %s, %d): need 0 < min ≤ max and attempts ≥ 0", min, max, maxAttempts))
		}
		o.reconnectMin, o.reconnectMax, o.reconnectAttempts = min, max, maxAttempts
	}
}

// WithSerialization selects "json" (default) or "msgpack" for server →
// client frames. msgpack needs header authentication (the default).
func WithSerialization(s string) Option {
	return func(o *options) {
		if s != "json" && s != "msgpack" {
			o.errs = append(o.errs, fmt.Errorf("WithSerialization(%q): want \"json\" or \"msgpack\"", s))
		}
		o.serialization = s
	}
}

// WithTLSConfig uses cfg (cloned) for https/wss connections.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) {
		if cfg != nil {
			o.tlsConfig = cfg.Clone()
		}
	}
}

// WithCAFile trusts the PEM certificates in path (for self-signed servers).
func WithCAFile(path string) Option {
	return func(o *options) { o.caFile = path }
}

// WithInsecureSkipVerify disables certificate verification: for local
// debugging only, never against a server you do not control.
func WithInsecureSkipVerify() Option {
	return func(o *options) { o.insecure = true }
}

// WithMessageAuth authenticates the WebSocket with an in-band
// `authenticate` message (as browsers do) instead of the Authorization
// header on the upgrade. MessagePack cannot be negotiated this way by the
// server's URL rules, so the message carries the protocol instead.
func WithMessageAuth() Option {
	return func(o *options) { o.messageAuth = true }
}

// WithTapBuffer sets the frame tap capacity (default 4096; 0 disables the
// tap). When the consumer falls behind, frames are dropped and counted.
func WithTapBuffer(n int) Option {
	return countOption("WithTapBuffer", n, 0, func(o *options) { o.tapBuffer = n })
}

// WithRevealSecrets leaves tokens, passwords and Authorization headers
// unredacted in tapped frames. Off by default.
func WithRevealSecrets(reveal bool) Option {
	return func(o *options) { o.revealSecrets = reveal }
}

// WithEventBuffer sets the capacity of the Events channel (default 256).
func WithEventBuffer(n int) Option {
	return countOption("WithEventBuffer", n, 1, func(o *options) { o.eventBuffer = n })
}

// WithHTTPClient uses hc for HTTP calls and the WebSocket handshake. TLS
// options are then ignored: configure hc's transport instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient = hc }
}

// WithClock injects the clock used for expiry decisions and event times.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithProviderRetry sets how transient provider failures are retried
// (default 3 attempts, 250 ms doubling up to 2 s, as the Dart SDK).
func WithProviderRetry(attempts int, initial, max time.Duration) Option {
	return func(o *options) {
		if attempts < 1 || initial < 0 || max < initial {
			o.errs = append(o.errs, fmt.Errorf("WithProviderRetry(%d, %s, %s): need attempts ≥ 1, 0 ≤ initial ≤ max", attempts, initial, max))
		}
		o.providerAttempts, o.providerBackoff, o.providerMaxWait = attempts, initial, max
	}
}

// WithAuthTimeout bounds the wait for auth_success after the upgrade
// (default 5 s).
func WithAuthTimeout(d time.Duration) Option {
	return func(o *options) { o.authTimeout = d }
}

// tlsClientConfig builds the TLS configuration from the TLS options.
func (o *options) tlsClientConfig() (*tls.Config, error) {
	if o.tlsConfig == nil && o.caFile == "" && !o.insecure {
		return nil, nil
	}
	cfg := o.tlsConfig
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := cfg.RootCAs
		if pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificates", o.caFile)
		}
		cfg.RootCAs = pool
	}
	if o.insecure {
		cfg.InsecureSkipVerify = true //nolint:gosec // explicit opt-in for local debugging
	}
	return cfg, nil
}

// TLSConfig returns the TLS configuration that opts' TLS options
// (WithTLSConfig, WithCAFile, WithInsecureSkipVerify) describe, or nil
// when they ask for nothing but the system's defaults; other options are
// ignored. kalamdash proxy dials its upstream with it, so a profile's CA
// file means the same there as in the client.
func TLSConfig(opts ...Option) (*tls.Config, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return o.tlsClientConfig()
}

// countOption is an option that sets a count (of retries, frames, events)
// through set, recording an error for Connect when n is below min.
func countOption(name string, n, min int, set func(*options)) Option {
	return func(o *options) {
		if n < min {
			o.errs = append(o.errs, fmt.Errorf("%s(%d): must be ≥ %d", name, n, min))
		}
		set(o)
	}
}
