package session

import "time"

// Leeway is how long after a JWT's exp the KalamDB server still accepts it
// (jsonwebtoken validation with a 60 s leeway; protocol reference section 2).
const Leeway = 60 * time.Second

// ExpiringSoonFraction is the share of a token's lifetime (iat→exp) at its
// end during which the token counts as ExpiringSoon. Tokens without iat use
// DefaultExpiringSoon instead.
const ExpiringSoonFraction = 0.2

// DefaultExpiringSoon is the ExpiringSoon window for tokens whose lifetime
// is unknown.
const DefaultExpiringSoon = 60 * time.Second

// Phase is where a token stands relative to its expiry.
type Phase uint8

// Token phases, in the order a token passes through them.
const (
	// PhaseNone: no token, or no exp claim to judge by.
	PhaseNone Phase = iota
	// PhaseFresh: more than the ExpiringSoon window left.
	PhaseFresh
	// PhaseExpiringSoon: inside the last ExpiringSoonFraction of its life.
	PhaseExpiringSoon
	// PhaseInLeeway: past exp by at most Leeway; the server still accepts it.
	PhaseInLeeway
	// PhaseDead: past exp+Leeway; every server check refuses it.
	PhaseDead
)

// String returns the phase's name, the one the dashboard shows: "fresh",
// "expiring", "leeway", "dead" or "none".
func (p Phase) String() string {
	switch p {
	case PhaseFresh:
		return "fresh"
	case PhaseExpiringSoon:
		return "expiring"
	case PhaseInLeeway:
		return "leeway"
	case PhaseDead:
		return "dead"
	}
	return "none"
}

// Claims are the KalamDB JWT claims (protocol reference section 2), read
// leniently: a claim of the wrong JSON type is left zero and reported in
// TokenState.Problems instead of failing the whole token.
type Claims struct {
	Subject   string    // sub: user id
	Role      string    // role (lowercase)
	Email     string    // email ("" when null)
	Issuer    string    // iss, "kalamdb" for tokens the server issued
	IssuedAt  time.Time // iat (zero if absent)
	ExpiresAt time.Time // exp (zero if absent)
	NotBefore time.Time // nbf (zero if absent; KalamDB never issues it but checks it)
	TokenType string    // "access" | "refresh" | "" (legacy)
	// All lists every claim in the token's order, known or not, with its
	// value as JSON text, for panels and `kalamdash token decode`.
	All []JWTField
}

// TokenKind says what a token is for, by its token_type claim.
type TokenKind uint8

// Token kinds (protocol reference section 2).
const (
	TokenNotJWT    TokenKind = iota // absent or not decodable
	TokenAccess                     // token_type "access": what the API and the socket accept
	TokenRefresh                    // token_type "refresh": only for /v1/api/auth/refresh
	TokenUntyped                    // no token_type claim
	TokenOtherType                  // a token_type KalamDB does not know
)

// String returns a short label ("access", "refresh", …).
func (k TokenKind) String() string {
	switch k {
	case TokenAccess:
		return "access"
	case TokenRefresh:
		return "refresh"
	case TokenUntyped:
		return "untyped"
	case TokenOtherType:
		return "unknown type"
	}
	return "not a JWT"
}

// Explain says in a sentence what KalamDB does with a token of this kind.
func (k TokenKind) Explain() string {
	switch k {
	case TokenAccess:
		return "an access token: what /v1/api/sql, /me and the WebSocket accept"
	case TokenRefresh:
		return "a refresh token: only /v1/api/auth/refresh accepts it; the API and the WebSocket refuse it"
	case TokenUntyped:
		return "no token_type claim: KalamDB refuses a token it issued without one (external OIDC tokens have none)"
	case TokenOtherType:
		return "a token_type KalamDB does not know (it knows access and refresh): the server refuses it"
	}
	return "not a JWT: every server check refuses it"
}

// Kind classifies the token by its token_type claim.
func (t TokenState) Kind() TokenKind {
	switch {
	case !t.Valid:
		return TokenNotJWT
	case t.Claims.TokenType == "access":
		return TokenAccess
	case t.Claims.TokenType == "refresh":
		return TokenRefresh
	case t.Claims.TokenType == "" && !t.Claims.Has("token_type"):
		return TokenUntyped
	}
	return TokenOtherType
}

// Has reports whether the token states the claim at all (whatever its value).
func (c Claims) Has(name string) bool {
	for _, f := range c.All {
		if f.Name == name {
			return true
		}
	}
	return false
}

// TokenHeader is a JWT's JOSE header.
type TokenHeader struct {
	Alg string // signing algorithm ("HS256" for KalamDB-issued tokens)
	Typ string
	Kid string     // key id, set by OIDC issuers
	All []JWTField // every header parameter, in the token's order
}

// JWTField is one header parameter or claim of a JWT: its name and its
// value as the token's JSON text, compacted (`"alice"`, `1778011200`,
// `null`, `{"a":1}`). Both come from the token, so both are untrusted text.
type JWTField struct {
	Name  string
	Value string
}

// TokenState describes one JWT without holding it: decoded header and
// claims, a fingerprint for display, and whether decoding worked. The token
// itself is never stored here, so a TokenState can be logged, rendered and
// copied. The signature is never verified: the dashboard has no key.
type TokenState struct {
	Present     bool        // a token was given
	Header      TokenHeader // zero when !Valid
	Claims      Claims      // zero when !Valid
	Valid       bool        // the token decoded as a JWT (three parts, JSON header and payload)
	DecodeError string      // why it did not decode, if Present && !Valid
	// Problems lists what a decodable token gets wrong (a claim of the
	// wrong type, a duplicated claim), each a sentence without the token.
	Problems    []string
	Fingerprint string // short SHA-256 prefix of the token (client.Fingerprint)
}

// Lifetime is exp−iat, or 0 when either is unknown.
func (t TokenState) Lifetime() time.Duration {
	if t.Claims.IssuedAt.IsZero() || t.Claims.ExpiresAt.IsZero() {
		return 0
	}
	return t.Claims.ExpiresAt.Sub(t.Claims.IssuedAt)
}

// Remaining is the time left until exp at now (negative once expired, 0 if
// there is no exp).
func (t TokenState) Remaining(now time.Time) time.Duration {
	if t.Claims.ExpiresAt.IsZero() {
		return 0
	}
	return t.Claims.ExpiresAt.Sub(now)
}

// SoonWindow is the length of the ExpiringSoon phase for this token.
func (t TokenState) SoonWindow() time.Duration {
	if l := t.Lifetime(); l > 0 {
		return time.Duration(float64(l) * ExpiringSoonFraction)
	}
	return DefaultExpiringSoon
}

// Phase classifies the token at now. Boundaries: Fresh while remaining >
// SoonWindow; ExpiringSoon while 0 < remaining ≤ SoonWindow; InLeeway while
// exp ≤ now ≤ exp+Leeway; Dead after that.
func (t TokenState) Phase(now time.Time) Phase {
	if !t.Valid || t.Claims.ExpiresAt.IsZero() {
		return PhaseNone
	}
	r := t.Remaining(now)
	switch {
	case r > t.SoonWindow():
		return PhaseFresh
	case r > 0:
		return PhaseExpiringSoon
	case r >= -Leeway:
		return PhaseInLeeway
	}
	return PhaseDead
}

// Progress is the fraction of the lifetime already used at now, clamped to
// [0,1] (0 when unknown), for progress bars.
func (t TokenState) Progress(now time.Time) float64 {
	l := t.Lifetime()
	if l <= 0 {
		return 0
	}
	f := float64(now.Sub(t.Claims.IssuedAt)) / float64(l)
	switch {
	case f < 0:
		return 0
	case f > 1:
		return 1
	}
	return f
}
