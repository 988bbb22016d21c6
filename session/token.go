package session

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

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

// Claims are the KalamDB JWT claims (protocol reference section 2).
type Claims struct {
	Subject   string    // sub: user id
	Role      string    // role (lowercase)
	Email     string    // email ("" when null)
	Issuer    string    // iss, "kalamdb" for tokens the server issued
	IssuedAt  time.Time // iat (zero if absent)
	ExpiresAt time.Time // exp (zero if absent)
	TokenType string    // "access" | "refresh" | "" (legacy)
}

// TokenState describes one JWT without holding it: decoded claims, a
// fingerprint for display, and whether decoding worked. The token itself is
// never stored here, so a TokenState can be logged, rendered and copied.
type TokenState struct {
	Present     bool   // a token was given
	Claims      Claims // zero when !Valid
	Valid       bool   // the token decoded as a JWT
	DecodeError string // why it did not decode, if Present && !Valid
	Fingerprint string // short SHA-256 prefix of the token (see Fingerprint)
}

// Fingerprint returns the first 8 hex digits of the SHA-256 of token (the
// same as client.Auth.Fingerprint for a JWT), or "" for an empty token:
// enough to tell tokens apart, useless to an attacker.
func Fingerprint(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:4])
}

// kalamClaims mirrors the JSON claims; exp/iat are numbers.
type kalamClaims struct {
	Sub       string  `json:"sub"`
	Iss       string  `json:"iss"`
	Exp       float64 `json:"exp"`
	Iat       float64 `json:"iat"`
	Email     *string `json:"email"`
	Role      string  `json:"role"`
	TokenType string  `json:"token_type"`
	jwt.RegisteredClaims
}

// DecodeToken decodes token's claims without verifying the signature (the
// dashboard has no secret; it only shows what the token says). It never
// fails: problems are reported in the returned state.
func DecodeToken(token string) TokenState {
	ts := TokenState{Present: token != "", Fingerprint: Fingerprint(token)}
	if token == "" {
		return ts
	}
	var kc kalamClaims
	p := jwt.NewParser()
	if _, _, err := p.ParseUnverified(token, &kc); err != nil {
		ts.DecodeError = fmt.Sprintf("not a decodable JWT: %v", redactErr(err))
		return ts
	}
	ts.Valid = true
	ts.Claims = Claims{Subject: kc.Sub, Role: kc.Role, Issuer: kc.Iss, TokenType: kc.TokenType}
	if kc.Email != nil {
		ts.Claims.Email = *kc.Email
	}
	if kc.Exp > 0 {
		ts.Claims.ExpiresAt = unixFloat(kc.Exp)
	}
	if kc.Iat > 0 {
		ts.Claims.IssuedAt = unixFloat(kc.Iat)
	}
	return ts
}

// redactErr keeps jwt parse errors short; they never include the token.
func redactErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func unixFloat(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
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
