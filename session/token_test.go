package session

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// mint signs a KalamDB-shaped token (the signature is irrelevant: the
// session never verifies).
func mint(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("test-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeTokenFixtureClaims(t *testing.T) {
	// Claims of shared/fixtures/kalamdb/jwt-access-claims.json.
	tok := mint(t, jwt.MapClaims{"sub": "alice", "iss": "kalamdb", "exp": 1778011200, "iat": 1777924800,
		"email": "alice@example.com", "role": "user", "token_type": "access"})
	ts := DecodeToken(tok)
	if !ts.Present || !ts.Valid {
		t.Fatalf("not decoded: %+v", ts)
	}
	c := ts.Claims
	if c.Subject != "alice" || c.Issuer != "kalamdb" || c.Role != "user" || c.Email != "alice@example.com" || c.TokenType != "access" {
		t.Errorf("claims = %+v", c)
	}
	if !c.ExpiresAt.Equal(time.Unix(1778011200, 0)) || !c.IssuedAt.Equal(time.Unix(1777924800, 0)) {
		t.Errorf("times = %v %v", c.IssuedAt, c.ExpiresAt)
	}
	if ts.Lifetime() != 24*time.Hour {
		t.Errorf("lifetime = %v", ts.Lifetime())
	}
	if len(ts.Fingerprint) != 8 || strings.Contains(tok, ts.Fingerprint) {
		t.Errorf("fingerprint %q", ts.Fingerprint)
	}
}

func TestDecodeTokenNullEmailAndGarbage(t *testing.T) {
	ts := DecodeToken(mint(t, jwt.MapClaims{"sub": "bob", "email": nil, "exp": 100}))
	if !ts.Valid || ts.Claims.Email != "" || ts.Claims.IssuedAt != (time.Time{}) {
		t.Errorf("%+v", ts)
	}
	for _, bad := range []string{"x", "a.b.c", "not a jwt at all"} {
		ts := DecodeToken(bad)
		if ts.Valid || ts.DecodeError == "" || !ts.Present {
			t.Errorf("%q: %+v", bad, ts)
		}
		if strings.Contains(ts.DecodeError, bad) && len(bad) > 5 {
			t.Errorf("error repeats the token: %q", ts.DecodeError)
		}
		if ts.Phase(time.Now()) != PhaseNone {
			t.Errorf("%q: phase %v", bad, ts.Phase(time.Now()))
		}
	}
	if ts := DecodeToken(""); ts.Present || ts.Fingerprint != "" {
		t.Errorf("empty: %+v", ts)
	}
}

func TestPhaseBoundaries(t *testing.T) {
	iat := time.Unix(1_000_000, 0)
	exp := iat.Add(100 * time.Second) // soon window = 20 s
	ts := DecodeToken(mint(t, jwt.MapClaims{"sub": "a", "iat": iat.Unix(), "exp": exp.Unix()}))
	cases := []struct {
		at   time.Time
		want Phase
	}{
		{iat, PhaseFresh},
		{exp.Add(-20*time.Second - time.Nanosecond), PhaseFresh},
		{exp.Add(-20 * time.Second), PhaseExpiringSoon},
		{exp.Add(-time.Nanosecond), PhaseExpiringSoon},
		{exp, PhaseInLeeway},
		{exp.Add(Leeway), PhaseInLeeway},
		{exp.Add(Leeway + time.Nanosecond), PhaseDead},
	}
	for _, c := range cases {
		if got := ts.Phase(c.at); got != c.want {
			t.Errorf("at exp%+v: phase %v, want %v", c.at.Sub(exp), got, c.want)
		}
	}
	if r := ts.Remaining(exp.Add(-5 * time.Second)); r != 5*time.Second {
		t.Errorf("remaining %v", r)
	}
	if p := ts.Progress(iat.Add(25 * time.Second)); p != 0.25 {
		t.Errorf("progress %v", p)
	}
	// Without iat the window is DefaultExpiringSoon.
	noIat := DecodeToken(mint(t, jwt.MapClaims{"sub": "a", "exp": exp.Unix()}))
	if got := noIat.Phase(exp.Add(-DefaultExpiringSoon)); got != PhaseExpiringSoon {
		t.Errorf("no iat: %v", got)
	}
}
