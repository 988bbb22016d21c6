package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// cacheEnv is a kalamtest server whose request log the test reads (one
// "http … path=…" line per request), a fake clock shared with the server,
// and a token cache directory that outlives the managers (restarts).
type cacheEnv struct {
	t     *testing.T
	clock *FakeClock
	srv   *kalamtest.Server
	log   *testkit.SyncBuffer
	cache TokenCache
}

func newCacheEnv(t *testing.T) *cacheEnv {
	t.Helper()
	clk := NewFakeClock(time.Unix(time.Now().Unix(), 0))
	log := &testkit.SyncBuffer{}
	srv, err := kalamtest.NewServer(append(fakeClockServer(clk),
		kalamtest.WithUser("alice", "alice-pw", "user"),
		kalamtest.WithAccessTTL(testAccessTTL),
		kalamtest.WithRefreshTTL(testRefreshTTL),
		kalamtest.WithLogWriter(log),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &cacheEnv{t: t, clock: clk, srv: srv, log: log, cache: TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}}
}

// requests counts the server's requests to path so far.
func (e *cacheEnv) requests(path string) int {
	return strings.Count(e.log.String(), "path="+path+" ")
}

// wantAuthRequests requires the server to have answered, so far, refreshes
// refresh requests and logins password logins.
func (e *cacheEnv) wantAuthRequests(t *testing.T, refreshes, logins int) {
	t.Helper()
	if n := e.requests("/v1/api/auth/refresh"); n != refreshes {
		t.Errorf("%d refresh requests, want %d", n, refreshes)
	}
	if n := e.requests("/v1/api/auth/login"); n != logins {
		t.Errorf("%d password logins, want %d", n, logins)
	}
}

// fallsBackToPassword opens the profile in a new manager, as a dashboard
// start does, when the cached pair cannot be used: the open must fail with
// the error that asks for the password and says why (each of because),
// and the warning notice that follows is returned with the manager.
// Neither may show a token of the cached pair; what names the situation
// in the failure.
func (e *cacheEnv) fallsBackToPassword(t *testing.T, what string, cached CachedTokens, because ...string) (*Manager, NoticeEvent) {
	t.Helper()
	m := e.manager()
	_, err := m.Open(context.Background(), e.profile())
	if err == nil {
		t.Fatalf("open with %s: no error, want one asking for the password", what)
	}
	for _, want := range append([]string{"needs a password"}, because...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("open with %s: error %q does not say %q", what, err, want)
		}
	}
	n := notice(t, m, "cached")
	if n.Level != NoticeWarn {
		t.Errorf("open with %s: notice %+v, want a warning", what, n)
	}
	noSecrets(t, "notice", n.Text+n.Hint+err.Error(), cached.AccessToken, cached.RefreshToken)
	return m, n
}

// manager starts a dashboard process: a new manager on the same clock and
// cache directory.
func (e *cacheEnv) manager() *Manager {
	m := NewManager(WithClock(e.clock), WithTokenCache(e.cache), WithPumpInterval(5*time.Millisecond),
		WithClientOptions(client.WithReconnect(10*time.Millisecond, 50*time.Millisecond, 0)))
	e.t.Cleanup(func() { m.CloseAll() })
	return m
}

func (e *cacheEnv) profile() Profile {
	return Profile{Name: "cached", URL: e.srv.URL, Auth: AuthPassword, User: "alice", CacheToken: true}
}

// login opens the profile with its password (which fills the cache) and
// closes it again, returning the cached pair.
func (e *cacheEnv) login() CachedTokens {
	e.t.Helper()
	m := e.manager()
	p := e.profile()
	p.Password = "alice-pw"
	if _, err := m.Open(context.Background(), p); err != nil {
		e.t.Fatalf("password login: %v", err)
	}
	if err := m.CloseAll(); err != nil {
		e.t.Fatal(err)
	}
	return e.cached()
}

func (e *cacheEnv) cached() CachedTokens {
	e.t.Helper()
	saved, ok, err := e.cache.Load("cached")
	if err != nil || !ok {
		e.t.Fatalf("cache: ok=%v err=%v", ok, err)
	}
	return saved
}

func (e *cacheEnv) cacheFile() string { return filepath.Join(e.cache.Dir, "cached.json") }

// noSecrets fails if text holds any of the tokens.
func noSecrets(t *testing.T, what, text string, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if tok != "" && strings.Contains(text, tok) {
			t.Errorf("%s shows a token: %q", what, text)
		}
	}
}

func TestTokenCache(t *testing.T) {
	c := TokenCache{Dir: filepath.Join(t.TempDir(), "tokens")}
	if _, ok, err := c.Load("p"); ok || err != nil {
		t.Fatalf("empty: %v %v", ok, err)
	}
	in := CachedTokens{AccessToken: "aaa.bbb.ccc", RefreshToken: "rrr", SavedAt: time.Unix(5, 0).UTC()}
	if err := c.Save("p/../x", in); err != nil {
		t.Fatal(err)
	}
	out, ok, err := c.Load("p/../x")
	if !ok || err != nil || out != in {
		t.Fatalf("load %+v %v %v", out, ok, err)
	}
	if strings.Contains(out.String(), "aaa") || strings.Contains(out.String(), "rrr") {
		t.Errorf("String leaks: %s", out)
	}
	ents, _ := os.ReadDir(c.Dir)
	if len(ents) != 1 {
		t.Fatalf("files %v", ents)
	}
	p := filepath.Join(c.Dir, ents[0].Name())
	testkit.WantMode(t, p, 0o600)
	testkit.WantMode(t, c.Dir, 0o700)
	testkit.SetMode(t, p, 0o644)
	if _, _, err := c.Load("p/../x"); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("world-readable cache: %v", err)
	}
	if err := c.Delete("p/../x"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Load("p/../x"); ok {
		t.Error("still cached")
	}
}

func TestTokenCacheResumesWithoutPassword(t *testing.T) {
	cache := TokenCache{Dir: t.TempDir()}
	e := newEnv(t, WithTokenCache(cache))
	ctx := context.Background()
	p := Profile{Name: "cached", URL: e.srv.URL, User: "alice", Password: "alice-pw", CacheToken: true}
	c, err := e.m.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	saved, ok, err := cache.Load("cached")
	access, refresh := c.Client().Credentials()
	if !ok || err != nil || saved.AccessToken != access || saved.RefreshToken != refresh {
		t.Fatalf("cache after login: ok=%v err=%v", ok, err)
	}
	// Another manager (a restart) opens the profile without a password.
	m2 := NewManager(WithClock(e.clock), WithTokenCache(cache))
	defer m2.CloseAll()
	p.Password = ""
	c2, err := m2.Open(ctx, p)
	if err != nil {
		t.Fatalf("reopen from cache: %v", err)
	}
	if s := c2.Snapshot(); s.Access.Fingerprint != client.Fingerprint(access) || s.Access.Claims.Subject != "alice" ||
		s.Refresh.Fingerprint != client.Fingerprint(refresh) {
		t.Errorf("reopened with %+v / %+v", s.Access, s.Refresh)
	}
	// The cached refresh token works: a refresh rotates through it.
	e.clock.Advance(time.Second)
	if r, err := c2.Refresh(ctx); err != nil || r.Method != MethodRefreshToken || r.Unchanged {
		t.Errorf("refresh from cache: %+v %v", r, err)
	}
	// Later sockets use the rotated token, not the cached one.
	if err := c2.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "socket on the new token", func() bool {
		s := c2.Snapshot()
		return s.State == client.StateConnected && s.Socket.Fingerprint == s.Access.Fingerprint && s.Access.Fingerprint != client.Fingerprint(access)
	})
	// Without CacheToken nothing is written.
	if _, err := e.m.Open(ctx, Profile{Name: "nocache", URL: e.srv.URL, User: "bob", Password: "bob-pw"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := cache.Load("nocache"); ok {
		t.Error("token cached without opt-in")
	}
}

func TestTokenCacheLiveAccessTokenIsUsedWithoutRefresh(t *testing.T) {
	e := newCacheEnv(t)
	first := e.login()
	e.clock.Advance(testAccessTTL / 2)

	c, err := e.manager().Open(context.Background(), e.profile())
	if err != nil {
		t.Fatalf("reopen from cache: %v", err)
	}
	e.wantAuthRequests(t, 0, 1) // a live cached access token costs nothing
	if s := c.Snapshot(); s.Access.Fingerprint != client.Fingerprint(first.AccessToken) {
		t.Errorf("connected with %s, want the cached %s", s.Access.Fingerprint, client.Fingerprint(first.AccessToken))
	}
}

func TestTokenCacheRefreshesDeadAccessToken(t *testing.T) {
	e := newCacheEnv(t)
	first := e.login()
	// The access token (100 s) is dead past its leeway; the refresh token
	// (1000 s) is not.
	e.clock.Advance(testAccessTTL + Leeway + time.Second)

	m := e.manager()
	c, err := m.Open(context.Background(), e.profile())
	if err != nil {
		t.Fatalf("open with a dead access token and a live refresh token: %v", err)
	}
	e.wantAuthRequests(t, 1, 1)

	// The rotated pair is in the cache, 0600, and is what the socket uses.
	saved := e.cached()
	if saved.AccessToken == first.AccessToken || saved.RefreshToken == first.RefreshToken || saved.RefreshToken == "" {
		t.Errorf("cache not rewritten with the rotated pair: %v (was %v)", saved, first)
	}
	if !saved.SavedAt.Equal(e.clock.Now()) {
		t.Errorf("saved at %v, want %v", saved.SavedAt, e.clock.Now())
	}
	testkit.WantMode(t, e.cacheFile(), 0o600)
	eventually(t, "connected", func() bool { return c.Snapshot().State == client.StateConnected })
	s := c.Snapshot()
	if s.Access.Fingerprint != client.Fingerprint(saved.AccessToken) || s.Socket.Fingerprint != client.Fingerprint(saved.AccessToken) ||
		s.Refresh.Fingerprint != client.Fingerprint(saved.RefreshToken) {
		t.Errorf("connection holds access %s socket %s refresh %s, want the refreshed pair %v",
			s.Access.Fingerprint, s.Socket.Fingerprint, s.Refresh.Fingerprint, saved)
	}
	if s.Access.Phase(e.clock.Now()) != PhaseFresh {
		t.Errorf("refreshed access token is %v", s.Access.Phase(e.clock.Now()))
	}

	// The user is told, without a secret.
	n := notice(t, m, "cached")
	if n.Level != NoticeInfo || !strings.Contains(n.Text, "expired") || !strings.Contains(n.Text, "resumed with the cached refresh token") {
		t.Errorf("notice %+v", n)
	}
	noSecrets(t, "notice", n.Text+n.Hint, first.AccessToken, first.RefreshToken, saved.AccessToken, saved.RefreshToken)

	// The refresh exchange is the connection's first logged frame.
	got, ok := c.Log().Get(c.Log().Stats().FirstID)
	if !ok || got.Opcode != client.OpHTTP || !strings.Contains(string(got.Wire), "/v1/api/auth/refresh") {
		t.Errorf("first logged frame %+v, want the refresh request", got)
	}
	// Nothing in the log shows a token of either pair (not revealed).
	st := c.Log().Stats()
	for id := st.FirstID; id <= st.LastID; id++ {
		if f, ok := c.Log().Get(id); ok {
			noSecrets(t, "logged frame "+f.Type, string(f.Wire)+string(f.Decoded),
				first.AccessToken, first.RefreshToken, saved.AccessToken, saved.RefreshToken)
		}
	}

	// The refreshed pair keeps working: the next rotation goes through the
	// new refresh token.
	e.clock.Advance(time.Second)
	if r, err := c.RefreshWith(context.Background(), MethodRefreshToken); err != nil || r.Unchanged {
		t.Errorf("refresh with the resumed pair: %+v %v", r, err)
	}
}

func TestTokenCacheRefusedRefreshFallsBackToLogin(t *testing.T) {
	cases := []struct {
		name   string
		spoil  func(e *cacheEnv, first CachedTokens) // makes the cached refresh token unusable
		reason string                                // in the notice and the error
	}{
		{"revoked", func(e *cacheEnv, _ CachedTokens) { e.srv.RevokeTokens() }, "Invalid credentials"},
		{"expired on the server", func(e *cacheEnv, _ CachedTokens) { e.srv.ExpireTokens() }, "Invalid credentials"},
		{"not a refresh token", func(e *cacheEnv, first CachedTokens) {
			// A live access token where the refresh token belongs.
			first.RefreshToken = mintToken(e.t, cacheSecret, "alice", "user", time.Hour, e.clock.Now())
			if err := e.cache.Save("cached", first); err != nil {
				e.t.Fatal(err)
			}
		}, "requires a refresh token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCacheEnv(t)
			e.srv.SetJWTSecret(cacheSecret)
			first := e.login()
			e.clock.Advance(testAccessTTL + Leeway + time.Second)
			tc.spoil(e, first)
			spoiled := e.cached()

			// The login form shows the error: it asks for the password and says why.
			m, n := e.fallsBackToPassword(t, "an unusable refresh token", spoiled, "refresh with the cached refresh token", tc.reason)
			if n := e.requests("/v1/api/auth/refresh"); n != 1 {
				t.Errorf("%d refresh requests, want 1", n)
			}
			if !strings.Contains(n.Text, tc.reason) || !strings.Contains(n.Hint, "password") {
				t.Errorf("notice %+v", n)
			}
			// The server refused it: it is not tried again on the next start.
			if _, ok, _ := e.cache.Load("cached"); ok {
				t.Error("the refused pair is still cached")
			}

			// The existing behaviour: the password logs in and caches anew.
			p := e.profile()
			p.Password = "alice-pw"
			if _, err := m.Open(context.Background(), p); err != nil {
				t.Fatalf("password login after the fallback: %v", err)
			}
			if again := e.cached(); again.AccessToken == spoiled.AccessToken {
				t.Error("the password login did not refill the cache")
			}
		})
	}
}

// cacheSecret signs the tokens of the refusal cases, so one can be minted.
const cacheSecret = "tokencache-test-secret"

func TestTokenCacheDeadRefreshTokenIsNotTried(t *testing.T) {
	e := newCacheEnv(t)
	first := e.login()
	e.clock.Advance(testRefreshTTL + Leeway + time.Second)

	_, n := e.fallsBackToPassword(t, "a dead pair", first, "cached refresh token")
	if n := e.requests("/v1/api/auth/refresh"); n != 0 {
		t.Errorf("a dead refresh token was sent %d times", n)
	}
	if !strings.Contains(n.Text, "so did the cached refresh token") {
		t.Errorf("notice %+v", n)
	}
	if _, ok, _ := e.cache.Load("cached"); ok {
		t.Error("the dead pair is still cached")
	}
}

func TestTokenCacheUnreachableServerKeepsCache(t *testing.T) {
	e := newCacheEnv(t)
	first := e.login()
	e.clock.Advance(testAccessTTL + Leeway + time.Second)
	e.srv.Close() // nothing listens on the profile's URL now

	_, n := e.fallsBackToPassword(t, "the server down", first, "refresh with the cached refresh token")
	if !strings.Contains(n.Text, "failed") || !strings.Contains(n.Hint, "kept") {
		t.Errorf("notice %+v", n)
	}
	// The server never judged the token: the next start tries again.
	if again := e.cached(); again != first {
		t.Errorf("cache changed to %v", again)
	}
}

func TestTokenCacheUnusableFileSaysWhy(t *testing.T) {
	e := newCacheEnv(t)
	first := e.login()
	testkit.SetMode(t, e.cacheFile(), 0o644)
	_, n := e.fallsBackToPassword(t, "a world-readable cache", first, "readable by others")
	if n := e.requests("/v1/api/auth/refresh"); n != 0 {
		t.Errorf("%d refresh requests from a refused cache file", n)
	}
	if !strings.Contains(n.Text, "chmod 600") {
		t.Errorf("notice %+v", n)
	}
}
