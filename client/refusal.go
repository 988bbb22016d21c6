package client

import (
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Codes of *Error for a token the server refused, when the token itself
// says why. KalamDB answers every refusal with "Invalid credentials", so
// the client reads the token (unverified) to tell the user what to fix.
const (
	CodeTokenMalformed = "token_malformed"  // not a JWT at all
	CodeTokenIsRefresh = "token_is_refresh" // a refresh token used as an access token
	CodeTokenExpired   = "token_expired"    // past exp plus the server's leeway
	CodeClockSkew      = "clock_skew"       // issued in the future by this machine's clock
	CodeNoCredentials  = "no_credentials"   // nothing was sent to authenticate with
)

// serverLeeway is the server's tolerance for exp and iat (60 s).
const serverLeeway = 60 * time.Second

// refusedTokenError builds the error for a token the server refused with
// reason (its auth_error message or close reason).
func refusedTokenError(token string, now time.Time, reason string, status int) *Error {
	e := &Error{Kind: KindAuth, Op: "connect", Code: TypeAuthError, Status: status,
		Message: "server refused the token: " + reason}
	if token == "" {
		e.Code, e.Message = CodeNoCredentials, "no credentials: the server closed the unauthenticated socket ("+reason+")"
		return e
	}
	if why, code := explainRefusal(token, now); code != "" {
		e.Code = code
		e.Message = "server refused the token (" + reason + "): " + why
	}
	return e
}

// explainRefusal says what is visibly wrong with token, or "" when nothing
// is (a bad signature, a revoked token, a changed role or a deleted user
// all look valid from here).
func explainRefusal(token string, now time.Time) (why, code string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "it is not a JWT (a JWT is three base64url parts separated by dots)", CodeTokenMalformed
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	var claims struct {
		Exp       *int64 `json:"exp"`
		Iat       *int64 `json:"iat"`
		TokenType string `json:"token_type"`
	}
	if err != nil || decodeJSON(raw, &claims) != nil {
		return "it is not a JWT (its payload does not decode)", CodeTokenMalformed
	}
	switch {
	case claims.TokenType == "refresh":
		return "that is a refresh token; use the access token (or let kalamdash rotate with it)", CodeTokenIsRefresh
	case claims.Exp != nil && now.After(time.Unix(*claims.Exp, 0).Add(serverLeeway)):
		exp := time.Unix(*claims.Exp, 0)
		return fmt.Sprintf("it expired at %s UTC (%s ago)", exp.UTC().Format("2006-01-02 15:04:05"),
			now.Sub(exp).Round(time.Second)), CodeTokenExpired
	case claims.Iat != nil && time.Unix(*claims.Iat, 0).After(now.Add(serverLeeway)):
		return fmt.Sprintf("it was issued %s in the future by this machine's clock", time.Unix(*claims.Iat, 0).Sub(now).Round(time.Second)), CodeClockSkew
	}
	return "", ""
}
