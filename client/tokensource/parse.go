package tokensource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token is a parsed token with what is known of its lifetime.
type Token struct {
	JWT     string
	Expiry  time.Time // zero when neither the source nor the JWT says
	Subject string
}

// maxTokenOutput bounds what a command or file may hand us; a JWT is a few
// kilobytes at most, so anything larger is a mistake (wrong file, a binary).
const maxTokenOutput = 1 << 20

// ParseToken reads a token in any supported format:
//
//   - a bare JWT (surrounding whitespace ignored);
//   - JSON {"access_token": "...", "expires_at": ...} or {"token": "..."},
//     expires_at as RFC 3339 or Unix seconds;
//   - a Kubernetes ExecCredential {"status": {"token", "expirationTimestamp"}},
//     as kubectl's exec credential plugins print.
//
// The JWT's own exp claim (read unverified) fills Expiry when the wrapper
// gives none. Errors describe the input's shape, never its content.
func ParseToken(data []byte) (Token, error) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return Token{}, errors.New("no token: the output is empty")
	case len(data) > maxTokenOutput:
		return Token{}, fmt.Errorf("no token: the output is %d bytes, more than a token can be", len(data))
	case data[0] == '{':
		return parseJSONToken(data)
	}
	return parseJWT(string(data), time.Time{})
}

type jsonToken struct {
	AccessToken string          `json:"access_token"`
	Token       string          `json:"token"`
	ExpiresAt   json.RawMessage `json:"expires_at"`
	Status      *struct {
		Token               string `json:"token"`
		ExpirationTimestamp string `json:"expirationTimestamp"`
	} `json:"status"`
}

func parseJSONToken(data []byte) (Token, error) {
	var j jsonToken
	if err := json.Unmarshal(data, &j); err != nil {
		return Token{}, fmt.Errorf("output looks like JSON but does not parse: %v", err)
	}
	tok, exp := j.AccessToken, time.Time{}
	if tok == "" {
		tok = j.Token
	}
	if t, ok := parseExpiry(j.ExpiresAt); ok {
		exp = t
	}
	if tok == "" && j.Status != nil {
		tok = j.Status.Token
		if t, err := time.Parse(time.RFC3339Nano, j.Status.ExpirationTimestamp); err == nil {
			exp = t
		}
	}
	if tok == "" {
		return Token{}, errors.New(`JSON output has no "access_token", "token" or "status.token" field`)
	}
	return parseJWT(strings.TrimSpace(tok), exp)
}

// parseExpiry accepts RFC 3339 strings and Unix seconds (number or string).
func parseExpiry(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func parseJWT(s string, exp time.Time) (Token, error) {
	if strings.ContainsAny(s, " \t\r\n") || strings.Count(s, ".") != 2 {
		return Token{}, errors.New("output is not a JWT (expected three dot-separated base64url parts) nor JSON with access_token/token")
	}
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(s, &claims); err != nil {
		return Token{}, fmt.Errorf("output is not a valid JWT: %s", describeJWTError(err))
	}
	t := Token{JWT: s, Expiry: exp, Subject: claims.Subject}
	if t.Expiry.IsZero() && claims.ExpiresAt != nil {
		t.Expiry = claims.ExpiresAt.Time
	}
	return t, nil
}

// describeJWTError keeps the parser's reason but never the token text.
func describeJWTError(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed (bad base64 or JSON in a part)"
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return "its claims do not parse"
	}
	return "it does not decode"
}
