package kalamtest

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MintToken signs a KalamDB-shaped access token (HS256, issuer kalamdb,
// token_type access) for user with the given role, valid for ttl from now.
// A server started with the same secret (WithJWTSecret, or
// `kalamdash serve --jwt-secret`) accepts it as if it had issued it, which
// is how external identity providers and token scripts are emulated.
func MintToken(secret, user, role string, ttl time.Duration, now time.Time) (string, error) {
	if secret == "" {
		return "", errors.New("mint token: the JWT secret is empty")
	}
	if user == "" {
		return "", errors.New("mint token: the user is empty")
	}
	if role == "" {
		role = "user"
	}
	c := Claims{Sub: user, Iss: jwtIssuer, Exp: now.Add(ttl).Unix(), Iat: now.Unix(), Role: role, TokenType: TokenAccess}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
}
