package tokensource_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client/tokensource"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

func TestParseTokenFormats(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	jwt, err := mint.Token("s3cret", "alice", "user", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	jwtExp := now.Add(time.Hour)
	override := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name    string
		in      string
		exp     time.Time
		wantErr string
	}{
		{"bare JWT with newline", jwt + "\n", jwtExp, ""},
		{"JSON access_token, RFC 3339 expiry", `{"access_token":"` + jwt + `","expires_at":"2030-01-02T03:04:05Z"}`, override, ""},
		{"JSON token, unix expiry", `{"token":"` + jwt + `","expires_at":1893553445}`, override, ""},
		{"JSON token, no expiry uses exp claim", `{"token":"` + jwt + `"}`, jwtExp, ""},
		{"kubectl ExecCredential", `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"` + jwt + `","expirationTimestamp":"2030-01-02T03:04:05Z"}}`, override, ""},
		{"empty", "  \n", time.Time{}, "empty"},
		{"plain words", "permission denied", time.Time{}, "not a JWT"},
		{"JSON without token", `{"error":"nope"}`, time.Time{}, `no "access_token"`},
		{"broken JSON", `{"token":`, time.Time{}, "does not parse"},
		{"three parts of garbage", "aaa.bbb.ccc", time.Time{}, "not a valid JWT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tokensource.ParseToken([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), jwt) {
					t.Fatal("error message contains the token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.JWT != jwt {
				t.Fatalf("JWT not extracted")
			}
			if !tok.Expiry.Equal(tc.exp) {
				t.Fatalf("expiry = %v, want %v", tok.Expiry, tc.exp)
			}
			if tok.Subject != "alice" {
				t.Fatalf("subject = %q", tok.Subject)
			}
		})
	}
}
