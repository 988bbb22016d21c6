package ui

import (
	"context"
	"time"
)

// This file declares what the dashboard needs from the layer below it. The
// UI imports no project package but theme and internal/safetext
// (imports_test.go keeps it so): it sees plain values and a handful of
// control calls, so tests drive it with a stub and the adapter
// (internal/app) fills them from session.Manager or a recording.
// What the UI only describes, the backend decides: which frames a
// FrameFilter selects (session.Filter) and what counts as a secret
// (Backend.Redact, package redact).

// Backend opens connections and delivers their events.
type Backend interface {
	// Open connects as the login request says. It blocks (network), so the
	// UI only calls it from a command.
	Open(ctx context.Context, req LoginRequest) (Conn, error)
	// Profiles lists saved profiles for the login form's picker.
	Profiles() []Profile
	// Events delivers coalesced change notices for every connection. The
	// channel must never be closed while the program runs; a nil channel
	// means no events (tests).
	Events() <-chan Event
	// Redact returns frame text with its secrets masked, without modifying
	// text. The UI passes every frame it draws, copies or dumps itself
	// through it until the user reveals secrets (ctrl+r): what counts as a
	// secret is the backend's knowledge (package redact), not the UI's.
	Redact(text []byte) []byte
}

// Conn is one open connection (a tab). Every connection can be looked at:
// its identity, state and frames. What else it can do is declared by the
// optional interfaces below (Controls, SQL, Faults): the UI asks for them
// with a type assertion and disables the keys, help entries and commands
// of what a connection lacks, so a recording offers no refresh and only the
// embedded demo server offers fault keys.
type Conn interface {
	// ID names the connection; events carry it.
	ID() string
	// Snapshot copies the connection's current state. It is cheap and never
	// blocks on the network, so Update may call it on every event.
	Snapshot() Snapshot
	// Frames pages through the frame log.
	Frames() FrameSource
	// Close ends the connection; it may send a close frame, so the UI
	// calls it from a command.
	Close() error
}

// Controls drive a live connection's credentials and socket. The calls may
// block on the network; the UI runs them in commands, never in Update.
type Controls interface {
	RefreshAuth(ctx context.Context) error     // ask the auth provider again
	UseRefreshToken(ctx context.Context) error // rotate via the refresh token
	// SetPolicy changes the refresh policy to spec, written in the policy
	// grammar of profiles' refresh_policy: "manual", "every 30s",
	// "before 80%" (of the token's life), "before 1m" (lead time).
	SetPolicy(spec string) error
	SetCompression(disabled bool) error  // reconnect with/without compress=false
	Reconnect(ctx context.Context) error // drop and reconnect now
}

// SQL runs statements and live queries on a connection (the Data view's
// console and subscriptions). The calls block on the network.
type SQL interface {
	Query(ctx context.Context, sql string) (QueryResult, error)
	Subscribe(ctx context.Context, sql string, opts SubOptions) (string, error)
	Unsubscribe(ctx context.Context, id string) error
	// CheckLive compares the subscriptions with the server's live queries
	// (KalamDB's system.live): a subscription killed on the server gets
	// no notice, so this is how it is found. Those found killed show
	// status "killed". It returns a one-line summary for the footer.
	CheckLive(ctx context.Context) (string, error)
}

// Faults are the fault controls of the embedded demo server.
type Faults interface {
	ExpireToken(ctx context.Context) error // expire every token the server issued
	DropSocket(ctx context.Context) error  // drop the live socket without a close frame
}

// FrameSource pages through a connection's bounded frame log. Page returns
// at most n frames of the filtered view starting at offset (0 = oldest).
// Implementations keep Len and Page cheap at any history size.
type FrameSource interface {
	Len(f FrameFilter) int
	Page(f FrameFilter, offset, n int) []Frame
}

// FrameExporter is implemented by frame sources that can write the frames a
// filter selects in kalamdash's recording format ("jsonl", readable by
// `kalamdash replay`) or as HAR 1.2 ("har"), redacted unless reveal. It may
// block on the disk, so the UI calls it from a command. Sources without it
// get a plain JSON-lines dump.
type FrameExporter interface {
	ExportFrames(path, format string, f FrameFilter, reveal bool) (int, error)
}

// FrameFilter selects frames. The zero value selects everything.
type FrameFilter struct {
	Dir   string // "" all, "in", "out"
	Class string // "" all, "data" (no ping/pong/close), "control", "http"
	Sub   string // subscription ID, "" any
	Text  string // substring (case-insensitive) or regular expression
	Regex bool
}

// Frame is one tapped frame as the connection captured it. Wire and Decoded
// had their secrets redacted at capture unless kalamdash runs with
// --reveal-secrets; the UI masks them again through Backend.Redact until
// the user reveals secrets, so a frame captured in clear is hidden as soon
// as reveal is turned off.
type Frame struct {
	ID          uint64
	Time        time.Time
	Dir         string // "in" | "out"
	Opcode      string // text, binary, ping, pong, close, http
	Encoding    string // json, gzip+json, msgpack, gzip+msgpack, -
	Type        string // message type, or "POST /v1/api/sql" for HTTP
	Sub         string // subscription id
	Wire        []byte
	WireSize    int
	Decoded     []byte
	DecodedSize int
	CloseCode   int
	CloseReason string
	Status      int           // HTTP status
	Duration    time.Duration // HTTP round trip
	ConnID      uint64        // socket number (0 for HTTP)
	Err         string
	Composed    bool // written by hand in the composer (or resent)
}

// Event tells the UI that something changed on a connection. The UI
// re-reads the connection's Snapshot; the kind only decides what else to do.
type Event struct {
	ConnID string
	Kind   EventKind
	Count  int    // frames appended (EventFrames)
	Text   string // EventNotice: what happened, in plain words
	Hint   string // EventNotice: what to try next, may be empty
	Err    bool   // EventNotice: a problem rather than information
	Conn   Conn   // EventOpened: the connection the backend opened
}

// EventKind classifies events.
type EventKind uint8

// Event kinds.
const (
	EventState    EventKind = iota + 1 // connection state changed
	EventToken                         // token or policy changed
	EventRotation                      // a rotation was recorded
	EventFrames                        // frames appended
	EventRows                          // subscription rows changed
	EventStats                         // statistics moved
	EventNotice                        // a one-off message for the footer
	// EventOpened: the backend opened a connection by itself (kalamdash
	// proxy: an application connected through it); Conn becomes a tab.
	EventOpened
)

// LoginRequest is what the login form submits.
type LoginRequest struct {
	Name          string // tab name (profile name or host)
	URL           string // one server, or a cluster's nodes separated by commas
	Auth          string // "password" | "jwt" | "none" | "token-command" | "token-file"
	User          string
	Password      string
	Token         string
	TokenCommand  string // command line printing a token, for "token-command"
	TokenFile     string // path of a token file, for "token-file"
	NoCompress    bool
	Serialization string // "json" | "msgpack"
	Profile       string // profile the form was filled from, if any
}

// Profile is a saved connection profile (never holding a password).
type Profile struct {
	Name          string
	URL           string
	Auth          string
	User          string
	TokenCommand  string
	TokenFile     string
	NoCompress    bool
	Serialization string
	// CacheToken: the profile keeps its tokens in the token cache, so a
	// password login may leave the password empty to resume with them.
	CacheToken bool
}

// Snapshot is a copy of one connection's state.
type Snapshot struct {
	Name          string
	URL           string // the node this connection is on (a cluster's: the one its socket uses, or dials next)
	User          string
	Role          string
	Demo          bool   // the embedded demo server (the DEMO SERVER badge)
	State         string // connecting, connected, reconnecting, disconnected, closed
	ReconnectAt   time.Time
	Attempt       int
	CloseCode     int
	CloseReason   string
	LastError     string // plain-words description of the last failure
	Hint          string // what to try next, if anything
	NoCompress    bool
	Serialization string
	ConnID        uint64
	Token         Token
	Policy        Policy
	Rotations     []Rotation     // newest last
	Providers     []ProviderCall // auth-provider calls, newest last
	Refreshing    bool           // a refresh is in flight
	Failures      int            // consecutive failed refreshes
	Stats         Stats
	Subs          []Sub

	// Node identifies the node the connection is on, for matching it with
	// a ClusterNode's or another tab's: equal Node, same node, however the
	// URLs are spelled (the backend decides). Compared, never drawn; empty
	// (a recording) matches nothing.
	Node string
}

// Token describes the credentials in use. It never carries the token.
type Token struct {
	Kind             string // the profile's auth mode: password, jwt, none, token-command, token-file
	Source           string // where the credentials come from, in words ("token command gcloud")
	Subject          string
	Role             string
	Email            string
	Issuer           string
	TokenType        string
	IssuedAt         time.Time
	ExpiresAt        time.Time
	RefreshExpiresAt time.Time // zero without a refresh token
	Fingerprint      string    // short hash of the access token
	Phase            string    // fresh, expiring, leeway, dead; none (or "") without a token
	Leeway           time.Duration
	SocketOutlived   bool      // socket authenticated with a token now dead is still open
	SocketTokenExp   time.Time // exp of the token the socket authenticated with
	// ClockSkew estimates the server's clock minus this machine's, from
	// the token's iat and when the token arrived; 0 when unknown.
	ClockSkew time.Duration
	// Swap is the active token swap (TokenSwapper), nil when none.
	Swap *TokenSwapInfo
}

// Policy is the refresh policy of a connection.
type Policy struct {
	Kind     string        // manual, periodic, before-expiry
	Interval time.Duration // periodic: every; before-expiry: lead time (for the current token)
	Spec     string        // the policy as SetPolicy takes it ("before 80%")
	NextAt   time.Time     // next scheduled refresh, zero if none
	Retrying bool          // last refresh failed; NextAt is the retry
}

// Rotation is one entry of the rotation history.
type Rotation struct {
	Time      time.Time
	Trigger   string // manual, periodic, before-expiry, reconnect, 401, provider, refresh-token
	Latency   time.Duration
	OldExp    time.Time
	NewExp    time.Time
	OK        bool
	Err       string
	OldFinger string
	NewFinger string
	Method    string // how the credentials were obtained; "swap" for a swapped token
	Answer    string // what the server said to a swapped token, or what a swap did
}

// ProviderCall is one call of the auth provider (token command, token
// file, login exchange).
type ProviderCall struct {
	Time        time.Time
	Duration    time.Duration
	Kind        string // what the provider returned: jwt, basic, none
	Fingerprint string
	Err         string
}

// Stats are the connection's counters and rates.
type Stats struct {
	FramesIn, FramesOut int64
	BytesIn, BytesOut   int64
	WireBytes           int64     // inbound payload bytes as sent
	DecodedBytes        int64     // inbound payload bytes after gunzip/msgpack
	FramesPerSec        []float64 // sparkline history, oldest first
	BytesPerSec         []float64
	RTT                 time.Duration // last keepalive round trip, 0 if unknown
	TapDrops            uint64
	Reconnects          int
	Evicted             int64 // frames dropped from the bounded log
	LogLen              int
}

// Sub is one live subscription and its rows.
type Sub struct {
	ID      string
	SQL     string
	Status  string // loading, ready, error
	Columns []string
	PK      string
	Rows    []Row
	LastSeq int64
	Gap     string // seq-gap warning, if any
	Err     string
	Changes int64
	// Kept, Cap, Evicted and Received count the rows behind the view
	// (connections with LiveTables): kept now, kept at most, evicted by
	// that cap, received in all.
	Kept, Cap, Evicted, Received int
	Verified                     *Verification // the last Verify, nil before any
	// Shortfall says a statement wrote more rows than changes arrived
	// ("" when none): changes were likely lost; Verify tells which.
	Shortfall string
	// Failover is how the subscription's last resume on another cluster
	// node went, in words ("" when none); FailoverLost: it lost changes.
	Failover     string
	FailoverLost bool
}

// Row is one live row. Values are its cells in Columns order.
type Row struct {
	Key       string
	Values    []Cell
	Change    string // insert, update, delete (recent change marker)
	ChangedAt time.Time
}

// Cell is one value of a table row: Text, or SQL NULL when Null is set
// (Text is then ignored). A NULL is drawn as a styled NULL, so it differs
// from an empty string and from the text "NULL".
type Cell struct {
	Text string
	Null bool
}

// SubOptions are the subscription options the UI can set (batch=N,
// last=N). KalamDB takes 0 literally for both: no existing row is loaded,
// and the subscription shows only the changes made after it.
type SubOptions struct {
	BatchSize *int // rows per initial batch; nil: the server's default
	LastRows  *int // load only the newest n rows; nil: all
}

// SkipsExisting reports whether the options load no existing row.
func (o SubOptions) SkipsExisting() bool {
	return (o.BatchSize != nil && *o.BatchSize == 0) || (o.LastRows != nil && *o.LastRows == 0)
}

// QueryResult is the outcome of one SQL console statement.
type QueryResult struct {
	Columns []string
	Rows    [][]Cell
	Message string
	Took    time.Duration
}
