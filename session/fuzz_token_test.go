package session

import (
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// FuzzDecodeToken decodes arbitrary strings as the dashboard does for every
// token it shows. It must never panic, must not echo the token's parts in
// its error text (tokens are secrets), and the derived views (phase,
// progress, remaining) must stay in range at any clock.
func FuzzDecodeToken(f *testing.F) {
	// The fixture access token (HS256, illustrative secret) and variants.
	f.Add("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTc3NzkyNDgwMCwiZXhwIjoxNzc4MDExMjAwLCJpc3MiOiJrYWxhbWRiIiwicm9sZSI6InVzZXIiLCJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2ln", int64(1777924800))
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjEuNWUzMDB9.", int64(0))
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOi0xLCJpYXQiOjF9.x", int64(-1))
	f.Add("a.b.c", int64(1))
	f.Add("", int64(0))
	f.Fuzz(func(t *testing.T, token string, nowUnix int64) {
		ts := DecodeToken(token)
		if ts.Present != (token != "") {
			t.Fatalf("Present = %v for %q", ts.Present, token)
		}
		if ts.Valid && ts.DecodeError != "" {
			t.Fatalf("valid token with a decode error %q", ts.DecodeError)
		}
		if ts.Fingerprint != client.Fingerprint(token) {
			t.Fatal("TokenState.Fingerprint differs from Fingerprint")
		}
		for _, part := range strings.Split(token, ".") {
			if len(part) >= 12 && strings.Contains(ts.DecodeError, part) {
				t.Fatalf("decode error %q reveals part of the token", ts.DecodeError)
			}
		}
		now := time.Unix(nowUnix%(1<<40), 0)
		if p := ts.Progress(now); p < 0 || p > 1 {
			t.Fatalf("Progress = %v, outside [0,1]", p)
		}
		ph := ts.Phase(now)
		if !ts.Valid && ph != PhaseNone {
			t.Fatalf("invalid token has phase %v", ph)
		}
		_ = ph.String()
		_ = ts.Remaining(now)
		_ = ts.SoonWindow()
	})
}
