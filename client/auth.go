package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// AuthKind says which kind of credentials an Auth holds.
type AuthKind uint8

// Kinds of credentials.
const (
	AuthNone AuthKind = iota
	AuthBasic
	AuthJWT
)

// String returns "none", "basic" or "jwt".
func (k AuthKind) String() string {
	switch k {
	case AuthBasic:
		return "basic"
	case AuthJWT:
		return "jwt"
	}
	return "none"
}

// Auth is a set of credentials, as KalamDB's SDKs model them: Basic (user
// and password, exchanged for a JWT via login before use), a JWT access
// token, or none. It is a small value type; String never prints secrets.
type Auth struct {
	kind     AuthKind
	user     string
	password string
	token    string
}

// Basic returns user/password credentials. The client never sends them to
// /v1/api/sql or the WebSocket: it logs in first and uses the access token.
func Basic(user, password string) Auth {
	return Auth{kind: AuthBasic, user: user, password: password}
}

// JWT returns access-token credentials.
func JWT(token string) Auth { return Auth{kind: AuthJWT, token: token} }

// NoAuth returns empty credentials (anonymous; the server will refuse most
// calls, which is useful to see what it says).
func NoAuth() Auth { return Auth{} }

// Kind reports which kind of credentials a holds.
func (a Auth) Kind() AuthKind { return a.kind }

// User returns the user name of Basic credentials ("" otherwise).
func (a Auth) User() string { return a.user }

// Token returns the access token of JWT credentials ("" otherwise).
// It is a secret: do not log it.
func (a Auth) Token() string { return a.token }

// Fingerprint returns a short, non-reversible identifier of the secret
// (first 8 hex digits of its SHA-256), so a UI can show that credentials
// changed without showing them. Empty for NoAuth.
func (a Auth) Fingerprint() string {
	switch a.kind {
	case AuthJWT:
		return Fingerprint(a.token)
	case AuthBasic:
		return Fingerprint(a.user + "\x00" + a.password)
	}
	return ""
}

// String describes a without secrets, e.g. "basic(alice)" or "jwt(3fa2c1d0)".
func (a Auth) String() string {
	switch a.kind {
	case AuthBasic:
		return "basic(" + a.user + ")"
	case AuthJWT:
		return "jwt(" + a.Fingerprint() + ")"
	}
	return "none"
}

// GoString keeps %#v from printing secrets too.
func (a Auth) GoString() string { return "client.Auth{" + a.String() + "}" }

// AuthProvider returns the credentials to use. The client calls it before
// every WebSocket connection attempt (the first connect and every
// reconnect), on RefreshAuth, and after a TOKEN_EXPIRED answer to a query.
// It is called from the client's own goroutines and must be safe for
// concurrent use; ctx is cancelled when the client closes.
type AuthProvider func(ctx context.Context) (Auth, error)

// Fingerprint returns a short, non-reversible identifier of a secret: the
// first 8 hex digits of its SHA-256, or "" for an empty one. Enough to tell
// tokens apart in a UI, a log or a history; useless to an attacker. It is
// the one fingerprint of the project: session, tokensource and the UI show
// this value.
func Fingerprint(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
