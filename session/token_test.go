package session

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signClaims signs a KalamDB-shaped token (the signature is irrelevant: the
// session never verifies).
func signClaims(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("test-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeTokenFixtureClaims(t *testing.T) {
	// Claims of shared/fixtures/kalamdb/jwt-access-claims.json.
	tok := signClaims(t, jwt.MapClaims{"sub": "alice", "iss": "kalamdb", "exp": 1778011200, "iat": 1777924800,
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
	ts := DecodeToken(signClaims(t, jwt.MapClaims{"sub": "bob", "email": nil, "exp": 100}))
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
	ts := DecodeToken(signClaims(t, jwt.MapClaims{"sub": "a", "iat": iat.Unix(), "exp": exp.Unix()}))
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
	noIat := DecodeToken(signClaims(t, jwt.MapClaims{"sub": "a", "exp": exp.Unix()}))
	if got := noIat.Phase(exp.Add(-DefaultExpiringSoon)); got != PhaseExpiringSoon {
		t.Errorf("no iat: %v", got)
	}
}

// rawJWT builds a token from literal header and payload JSON (kept byte
// for byte, so order, duplicates and odd types survive) and a fake
// signature: DecodeToken never verifies.
func rawJWT(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + ".c2lnbmF0dXJl"
}

func TestDecodeTokenKeepsHeaderAndEveryClaimInOrder(t *testing.T) {
	tok := rawJWT(`{"typ":"JWT","alg":"RS256","kid":"k1","x5t":"abc"}`,
		`{"sub":"alice","zzz":{"nested":[1, 2]},"exp":1778011200,"nbf":1777924800.5,"iss":"kalamdb","token_type":"access"}`)
	ts := DecodeToken(tok)
	if !ts.Valid || len(ts.Problems) != 0 {
		t.Fatalf("decode: %+v", ts)
	}
	if h := ts.Header; h.Alg != "RS256" || h.Typ != "JWT" || h.Kid != "k1" || len(h.All) != 4 || h.All[3] != (JWTField{"x5t", `"abc"`}) {
		t.Errorf("header = %+v", h)
	}
	var names []string
	for _, f := range ts.Claims.All {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "sub,zzz,exp,nbf,iss,token_type" {
		t.Errorf("claim order = %s", got)
	}
	if ts.Claims.All[1].Value != `{"nested":[1,2]}` {
		t.Errorf("unknown claim kept as %q, want compact JSON", ts.Claims.All[1].Value)
	}
	if !ts.Claims.NotBefore.Equal(time.Unix(1777924800, 5e8)) {
		t.Errorf("nbf = %v", ts.Claims.NotBefore)
	}
	if ts.Kind() != TokenAccess {
		t.Errorf("kind = %v", ts.Kind())
	}
}

func TestDecodeTokenReportsWrongTypesWithoutFailing(t *testing.T) {
	ts := DecodeToken(rawJWT(`{"alg":"none"}`, `{"sub":42,"exp":"tomorrow","iat":1e300,"role":"user","role":"dba"}`))
	if !ts.Valid {
		t.Fatalf("a token with odd claims must still decode: %+v", ts)
	}
	want := []string{`"role" appears more than once`, `"sub" is a number, not a string`,
		`"exp" is a string, not a number`, `"iat" is out of range`}
	got := strings.Join(ts.Problems, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("problems lack %q:\n%s", w, got)
		}
	}
	if ts.Claims.Subject != "" || !ts.Claims.ExpiresAt.IsZero() || ts.Claims.Role != "dba" {
		t.Errorf("claims = %+v", ts.Claims)
	}
	if ts.Phase(time.Now()) != PhaseNone || ts.Kind() != TokenUntyped {
		t.Errorf("phase %v kind %v", ts.Phase(time.Now()), ts.Kind())
	}
}

func TestDecodeTokenSaysWhyItIsNotAJWT(t *testing.T) {
	cases := []struct{ token, want string }{
		{"a.b.c.d.e", "encrypted JWT (JWE)"},
		{"onlyonepart", "1 part(s)"},
		{"!!!.e30.x", "header is not base64url"},
		{rawJWT(`[1]`, `{}`), "header is not a JSON object"},
		{rawJWT(`{"alg":"HS256"}`, `{"sub":"a"} trailing`), "payload has data after its JSON object"},
		{rawJWT(`{"alg":"HS256"}`, `{"sub":"a"`), "payload is not valid JSON"},
	}
	for _, c := range cases {
		ts := DecodeToken(c.token)
		if ts.Valid || !strings.Contains(ts.DecodeError, c.want) {
			t.Errorf("%q: valid=%v error %q, want %q", c.token, ts.Valid, ts.DecodeError, c.want)
		}
		if ts.Kind() != TokenNotJWT {
			t.Errorf("%q: kind %v", c.token, ts.Kind())
		}
	}
}

func TestTokenKindByTokenType(t *testing.T) {
	cases := map[string]TokenKind{
		`{"token_type":"access"}`:  TokenAccess,
		`{"token_type":"refresh"}`: TokenRefresh,
		`{"sub":"a"}`:              TokenUntyped,
		`{"token_type":"id"}`:      TokenOtherType,
		`{"token_type":null}`:      TokenOtherType,
	}
	for payload, want := range cases {
		if got := DecodeToken(rawJWT(`{"alg":"HS256"}`, payload)).Kind(); got != want {
			t.Errorf("%s: kind %v, want %v", payload, got, want)
		}
		if want.Explain() == "" {
			t.Errorf("%v has no explanation", want)
		}
	}
}
