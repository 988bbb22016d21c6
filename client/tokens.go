package client

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Tokens is the result of Login, RefreshToken and of exchanging Basic
// credentials: an access/refresh pair with parsed expiry times.
type Tokens struct {
	AccessToken      string
	RefreshToken     string
	ExpiresAt        time.Time // zero if the server sent none
	RefreshExpiresAt time.Time // zero if the server sent none
	User             UserInfo
	AdminUIAccess    bool
}

// String describes t without secrets.
func (t *Tokens) String() string {
	if t == nil {
		return "<nil>"
	}
	return fmt.Sprintf("tokens(user=%s role=%s access=%s expires=%s)", t.User.ID, t.User.Role,
		Fingerprint(t.AccessToken), t.ExpiresAt.Format(time.RFC3339))
}

// tokensFrom converts a login/refresh body. KalamDB writes chrono's
// to_rfc3339 ("+00:00", 0/3/6/9 fraction digits), which RFC3339Nano parses.
func tokensFrom(r *LoginResponse) (*Tokens, error) {
	t := &Tokens{
		AccessToken:   r.AccessToken,
		RefreshToken:  r.RefreshToken,
		User:          r.User,
		AdminUIAccess: r.AdminUIAccess,
	}
	if r.AccessToken == "" {
		return nil, fmt.Errorf("response has no access_token")
	}
	var err error
	if r.ExpiresAt != "" {
		if t.ExpiresAt, err = time.Parse(time.RFC3339Nano, r.ExpiresAt); err != nil {
			return nil, fmt.Errorf("parse expires_at %q: %w", r.ExpiresAt, err)
		}
	}
	if r.RefreshExpiresAt != "" {
		if t.RefreshExpiresAt, err = time.Parse(time.RFC3339Nano, r.RefreshExpiresAt); err != nil {
			return nil, fmt.Errorf("parse refresh_expires_at %q: %w", r.RefreshExpiresAt, err)
		}
	}
	return t, nil
}

// tokenExpiry reads the exp claim of a JWT without verifying it (the
// client cannot verify; it only wants to show and schedule). Zero if the
// token is not a JWT or has no exp.
func tokenExpiry(token string) time.Time {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if decodeJSON(raw, &claims) != nil || claims.Exp == "" {
		return time.Time{}
	}
	f, err := claims.Exp.Float64()
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}
