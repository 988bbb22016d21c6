package kalamtest

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/kalamdash/kalamdash/kalamtest/mint"
)

// jwtLeeway is the clock leeway KalamDB allows when validating exp and iat.
const jwtLeeway = 60 * time.Second

// tokenError classifies why a token was refused; surfaces map it to their
// own codes and texts.
type tokenError int

const (
	tokOK tokenError = iota
	tokExpired
	tokInvalid   // bad signature, issuer, claims, revoked
	tokMalformed // not a JWT at all
	tokWrongType
	tokNoUser
	tokRoleMismatch
)

// issued remembers every token the server signed, so the fault controls
// ExpireTokens and RevokeTokens can act on exactly those tokens.
type tokenBook struct {
	mu      sync.Mutex
	issued  map[string]struct{}
	expired map[string]struct{}
	revoked map[string]struct{}
}

func newTokenBook() *tokenBook {
	return &tokenBook{issued: map[string]struct{}{}, expired: map[string]struct{}{}, revoked: map[string]struct{}{}}
}

func (b *tokenBook) add(tok string) {
	b.mu.Lock()
	b.issued[tok] = struct{}{}
	// Same user, same second, same claims: the same token string can be
	// issued again after a fault; the new issue is valid.
	delete(b.expired, tok)
	delete(b.revoked, tok)
	b.mu.Unlock()
}

func (b *tokenBook) state(tok string) tokenError {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.revoked[tok]; ok {
		return tokInvalid
	}
	if _, ok := b.expired[tok]; ok {
		return tokExpired
	}
	return tokOK
}

func (b *tokenBook) markAll(into map[string]struct{}) int {
	n := len(b.issued)
	for t := range b.issued {
		into[t] = struct{}{}
	}
	clear(b.issued)
	return n
}

// sign issues a token of the given type for u.
func (s *Server) sign(u user, typ string, now time.Time) (string, time.Time, error) {
	ttl := s.cfg.accessTTL
	if typ == mint.TokenRefresh {
		ttl = s.refreshTTL()
	}
	tok, err := s.signAt(u, typ, now, ttl)
	return tok, now.Add(ttl), err
}

// signAt issues a token of the given type for u, issued at iat and valid
// for ttl, and books it (so ExpireTokens and RevokeTokens reach it).
func (s *Server) signAt(u user, typ string, iat time.Time, ttl time.Duration) (string, error) {
	c := mint.Claims{Sub: u.id, Iss: mint.Issuer, Exp: iat.Add(ttl).Unix(), Iat: iat.Unix(), Email: u.email, Role: u.role, TokenType: typ}
	tok, err := mint.Sign(s.secret(), c)
	if err != nil {
		return "", err
	}
	s.tokens.add(tok)
	return tok, nil
}

func (s *Server) refreshTTL() time.Duration {
	if s.cfg.refreshTTL > 0 {
		return s.cfg.refreshTTL
	}
	return 7 * s.cfg.accessTTL
}

// validate checks a token per section 2 of the reference and returns its
// claims and the user it names. want is the required token_type.
func (s *Server) validate(tok, want string) (mint.Claims, user, tokenError, string) {
	var c mint.Claims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256", "HS384", "HS512"}),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(mint.Issuer),
		jwt.WithTimeFunc(s.cfg.clock),
	)
	_, err := p.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte(s.secret()), nil })
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, user{}, tokExpired, "Token expired"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return c, user{}, tokMalformed, "JWT decode error: " + strings.TrimPrefix(err.Error(), "token is malformed: ")
	default:
		return c, user{}, tokInvalid, err.Error()
	}
	if st := s.tokens.state(tok); st != tokOK {
		return c, user{}, st, "token revoked by fault control"
	}
	if c.Sub == "" {
		return c, user{}, tokInvalid, "missing sub"
	}
	if c.TokenType != want {
		if c.TokenType == "" {
			return c, user{}, tokWrongType, "Token missing required token_type claim"
		}
		return c, user{}, tokWrongType, "wrong token_type " + c.TokenType
	}
	u, ok := s.users.get(c.Sub)
	if !ok {
		return c, user{}, tokNoUser, "User no longer valid"
	}
	if c.Role != "" && c.Role != u.role {
		return c, u, tokRoleMismatch, "Token role does not match user role"
	}
	return c, u, tokOK, ""
}
