package client

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

func fakeJWT(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + ".sig"
}

// TestExplainRefusal: what the token itself says about a refusal.
func TestExplainRefusal(t *testing.T) {
	now := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	cases := []struct {
		token, code, why string
	}{
		{"not-a-jwt", CodeTokenMalformed, "not a JWT"},
		{"a.%%%.c", CodeTokenMalformed, "payload does not decode"},
		{fakeJWT(`{"exp":1800000000,"token_type":"refresh"}`), CodeTokenIsRefresh, "refresh token"},
		{fakeJWT(`{"exp":` + itoa(now.Add(-12*time.Minute).Unix()) + `,"token_type":"access"}`), CodeTokenExpired, "expired at 2026-11-28 12:48:00 UTC (12m0s ago)"},
		{fakeJWT(`{"exp":` + itoa(now.Add(-30*time.Second).Unix()) + `}`), "", ""}, // inside the leeway: not the reason
		{fakeJWT(`{"iat":` + itoa(now.Add(2*time.Hour).Unix()) + `,"exp":` + itoa(now.Add(3*time.Hour).Unix()) + `}`), CodeClockSkew, "2h0m0s in the future"},
		{fakeJWT(`{"exp":` + itoa(now.Add(time.Hour).Unix()) + `,"token_type":"access"}`), "", ""},
	}
	for _, c := range cases {
		why, code := explainRefusal(c.token, now)
		if code != c.code || !strings.Contains(why, c.why) {
			t.Errorf("explainRefusal(%.30s…) = %q, %q; want code %q containing %q", c.token, why, code, c.code, c.why)
		}
	}
	if e := refusedTokenError("", now, "Authentication timeout", 1008); e.Code != CodeNoCredentials || !strings.HasPrefix(e.Message, "no credentials") {
		t.Errorf("no token: %+v", e)
	}
	if Hint(refusedTokenError("x", now, "Invalid credentials", 0)) == "" {
		t.Error("no hint for a malformed token")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
