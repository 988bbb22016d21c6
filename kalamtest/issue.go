package kalamtest

import (
	"errors"
	"slices"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// IssueToken signs an access token for the existing user name as the
// server would at login (its secret, the user's role and email), issued at
// iat and valid for ttl, so an iat far enough in the past gives an expired
// token the server refuses for its expiry alone. The dashboard offers such
// tokens for its token swap on the demo server.
func (s *Server) IssueToken(name string, iat time.Time, ttl time.Duration) (string, error) {
	u, ok := s.users.get(name)
	if !ok {
		return "", errors.New("issue token: no user " + name)
	}
	return s.signAt(u, mint.TokenAccess, iat, ttl)
}

// Users returns the server's user names, sorted.
func (s *Server) Users() []string { return slices.Sorted(slices.Values(s.users.names())) }
