package session

import (
	"testing"
	"time"
)

// TestClockSkew: the server's clock is read from a token's iat against
// when that token arrived here: a rotation that brought it, or the socket
// of a password login; a token from elsewhere only shows skew when issued
// in our future beyond the leeway.
func TestClockSkew(t *testing.T) {
	now := time.Unix(2_000_000, 0)
	tok := func(iat time.Time) TokenState {
		return TokenState{Present: true, Valid: true, Fingerprint: "abcd1234", Claims: Claims{IssuedAt: iat, ExpiresAt: iat.Add(time.Hour)}}
	}
	cases := []struct {
		name string
		s    ConnSnapshot
		want time.Duration
	}{
		{"no token", ConnSnapshot{Now: now}, 0},
		{"rotation: server 5m ahead", ConnSnapshot{Now: now, Access: tok(now.Add(5 * time.Minute)),
			History: []Rotation{{Time: now, NewFingerprint: "abcd1234"}}}, 5 * time.Minute},
		{"failed rotation is no evidence", ConnSnapshot{Now: now, Access: tok(now.Add(-time.Hour + time.Minute)),
			History: []Rotation{{Time: now, NewFingerprint: "abcd1234", Err: "refused"}}}, 0},
		{"password login: server 2m behind", ConnSnapshot{Now: now, AuthMode: AuthPassword, Access: tok(now.Add(-2 * time.Minute)),
			Socket: tok(now.Add(-2 * time.Minute)), Detail: StateDetail{Since: now}}, -2 * time.Minute},
		{"pasted old token: unknown", ConnSnapshot{Now: now, AuthMode: AuthJWT, Access: tok(now.Add(-30 * time.Minute))}, 0},
		{"pasted token from the future", ConnSnapshot{Now: now, AuthMode: AuthJWT, Access: tok(now.Add(10 * time.Minute))}, 10 * time.Minute},
		{"swapped-in old token: unknown, like a pasted one", ConnSnapshot{Now: now, AuthMode: AuthPassword, Access: tok(now.Add(-2 * time.Hour)),
			Socket: tok(now.Add(-2 * time.Hour)), Detail: StateDetail{Since: now}, Swap: &TokenSwap{Token: tok(now.Add(-2 * time.Hour))},
			History: []Rotation{{Time: now, Method: MethodSwap, Trigger: TriggerSwap, NewFingerprint: "abcd1234"}}}, 0},
	}
	for _, c := range cases {
		if got := c.s.ClockSkew(); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
