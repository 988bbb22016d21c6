package session

import (
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// ConnSnapshot is a copy of everything the UI shows about one connection.
// It holds plain values only (no pointers into the session), so the UI may
// keep it as long as it likes; taking it holds the connection's lock only
// while copying.
type ConnSnapshot struct {
	Name string
	URL  string    // the server, or the cluster node the connection is on; without secrets
	Now  time.Time // session clock when taken; use it for countdowns

	State  client.ConnState
	Detail StateDetail

	AuthMode AuthMode   // how the profile authenticates
	Access   TokenState // access token in use (claims only)
	Refresh  TokenState // refresh token held, if any
	// Socket is the access token the live socket authenticated with. The
	// server never re-checks it, so it may be older than Access.
	Socket TokenState
	// SocketOutlivedToken: the socket is open although the token it
	// authenticated with is past exp+Leeway.
	SocketOutlivedToken bool
	// Swap is the active token swap, nil when the provider's credentials
	// are in use.
	Swap *TokenSwap

	Policy        RefreshPolicy
	Method        RefreshMethod
	NextRefresh   time.Time // zero: none scheduled (manual policy, or unknown exp)
	NextTrigger   Trigger   // trigger of the scheduled refresh (periodic, before-expiry, retry)
	Refreshing    bool      // a refresh is in flight
	Failures      int       // consecutive failed refreshes
	LastRefreshAt time.Time // last successful refresh (or connect)

	History   []Rotation     // oldest first, at most MaxHistory; shared: read only
	Providers []ProviderCall // oldest first, at most MaxHistory; shared: read only

	Stats Stats
	Log   LogStats
	Subs  []SubSnapshot // in subscribe order

	Compression   bool   // gzip requested (compress=false not sent)
	Serialization string // requested: "json" | "msgpack"
	Embedded      bool   // the server is the embedded kalamtest demo (fault keys apply)

	// Watched: the connection observes another application through
	// kalamdash proxy (Watcher); Client is that application's address and
	// LiveSocket its open socket's id (0 when none).
	Watched    bool
	Client     string
	LiveSocket uint64
}

// Phase is a shortcut for s.Access.Phase(s.Now).
func (s ConnSnapshot) Phase() Phase { return s.Access.Phase(s.Now) }

// ClockSkew estimates the server's clock minus ours. A token's iat is the
// server's "now" when it issued the token; ours is when the rotation that
// brought it ran or, for password logins (a fresh token per connection),
// when the socket came up. Tokens from elsewhere may be old, so for them
// only an iat in our future shows skew. 0 means "agree, or unknown".
func (s ConnSnapshot) ClockSkew() time.Duration {
	a := s.Access
	iat := a.Claims.IssuedAt
	if iat.IsZero() || a.Fingerprint == "" {
		return 0
	}
	// A swapped token (SwapToken) comes from elsewhere like a pasted one:
	// when it arrived says nothing about when it was issued.
	swapped := s.Swap != nil && s.Swap.Token.Fingerprint == a.Fingerprint
	for i := len(s.History) - 1; i >= 0 && !swapped; i-- {
		if r := s.History[i]; r.OK() && r.Method != MethodSwap && r.NewFingerprint == a.Fingerprint {
			return iat.Sub(r.Time)
		}
	}
	if !swapped && s.AuthMode == AuthPassword && s.Socket.Fingerprint == a.Fingerprint && !s.Detail.Since.IsZero() {
		return iat.Sub(s.Detail.Since)
	}
	if ahead := iat.Sub(s.Now); ahead > Leeway {
		return ahead
	}
	return 0
}
