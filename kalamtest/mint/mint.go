// Package mint signs KalamDB-shaped JWTs: the claims KalamDB issues and
// their HS256 signature. It is a leaf (it imports no project package), so
// the emulator (kalamtest), the replay server (kalamtest/replay),
// `kalamdash token` and the tests can all mint tokens without linking the
// emulator and its SQL engine.
package mint

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token types of the token_type claim.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// Issuer is the iss claim KalamDB issues and requires.
const Issuer = "kalamdb"

// Claims are the JWT claims KalamDB issues, in its field order (sub, iss,
// exp, iat, email, role, token_type), so issued payloads match the fixtures
// byte for byte apart from values.
type Claims struct {
	Sub       string  `json:"sub"`
	Iss       string  `json:"iss"`
	Exp       int64   `json:"exp"`
	Iat       int64   `json:"iat"`
	Email     *string `json:"email"`
	Role      string  `json:"role,omitempty"`
	TokenType string  `json:"token_type,omitempty"`
}

// GetExpirationTime implements jwt.Claims.
func (c Claims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Exp, 0)), nil
}

// GetIssuedAt implements jwt.Claims.
func (c Claims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Iat, 0)), nil
}

// GetNotBefore implements jwt.Claims (KalamDB issues no nbf).
func (c Claims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }

// GetIssuer implements jwt.Claims.
func (c Claims) GetIssuer() (string, error) { return c.Iss, nil }

// GetSubject implements jwt.Claims.
func (c Claims) GetSubject() (string, error) { return c.Sub, nil }

// GetAudience implements jwt.Claims (KalamDB issues no aud).
func (c Claims) GetAudience() (jwt.ClaimStrings, error) { return nil, nil }

// Sign returns c signed with HS256 under secret.
func Sign(secret string, c Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}

// Token signs an access token (issuer kalamdb, token_type access) for user
// with the given role ("user" when empty), valid for ttl from now. A server
// started with the same secret (kalamtest.WithJWTSecret, or `kalamdash
// serve --jwt-secret`) accepts it as if it had issued it, which is how
// external identity providers and token scripts are emulated.
func Token(secret, user, role string, ttl time.Duration, now time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("mint token: the JWT secret is empty")
	}
	if user == "" {
		return "", errors.New("mint token: the user is empty")
	}
	if role == "" {
		role = "user"
	}
	return Sign(secret, Claims{Sub: user, Iss: Issuer, Exp: now.Add(ttl).Unix(), Iat: now.Unix(), Role: role, TokenType: TokenAccess})
}
