package client_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/redact"
)

func TestBasicFromProviderIsExchangedForJWT(t *testing.T) {
	srv := newServer(t)
	p := newCountingProvider(client.Basic("alice", alicePW))
	c := connect(t, srv, client.WithAuthProvider(p.provide))

	access, refresh := c.Credentials()
	if strings.Count(access, ".") != 2 || refresh == "" {
		t.Fatalf("after Basic provider want a JWT pair in use, got access=%d bytes refresh=%d bytes", len(access), len(refresh))
	}
	// The login went over HTTP, the socket used the JWT in the header.
	login := waitFrame(t, c, func(f client.Frame) bool {
		return f.Opcode == client.OpHTTP && f.Type == "POST /v1/api/auth/login" && f.Direction == client.Outbound
	})
	if strings.Contains(string(login.Wire), alicePW) {
		t.Fatal("password leaked into the tapped login request")
	}
	up := waitFrame(t, c, func(f client.Frame) bool {
		return f.Opcode == client.OpHTTP && f.Type == "GET /v1/ws" && f.Direction == client.Outbound
	})
	if !strings.Contains(string(up.Wire), "Authorization: Bearer "+redact.Marker) {
		t.Fatalf("upgrade request should carry a redacted Bearer header, got:\n%s", up.Wire)
	}
	ev := waitFrame(t, c, func(f client.Frame) bool { return f.Type == client.TypeAuthSuccess })
	if ev.Direction != client.Inbound || ev.Opcode != client.OpText {
		t.Fatalf("auth_success frame: %+v", ev)
	}
	me, err := c.Me(ctxT(t))
	if err != nil || me.User.ID != "alice" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	if got := p.calls.Load(); got != 1 {
		t.Fatalf("eager Connect should call the provider once, got %d", got)
	}
}

func TestProviderCalledOnEveryReconnect(t *testing.T) {
	srv := newServer(t)
	p := newCountingProvider(client.Basic("alice", alicePW))
	c := connect(t, srv, client.WithAuthProvider(p.provide))
	waitEvent[client.ConnectedEvent](t, c, nil)

	const n = 4
	for i := 1; i <= n; i++ {
		if srv.DropAll() == 0 {
			t.Fatal("no connection to drop")
		}
		d := waitEvent[client.DisconnectedEvent](t, c, nil)
		if !d.WillRetry {
			t.Fatalf("drop %d: DisconnectedEvent.WillRetry = false", i)
		}
		waitEvent[client.ConnectedEvent](t, c, nil)
	}
	if got := p.calls.Load(); got != 1+n {
		t.Fatalf("provider calls = %d, want %d (connect + one per reconnect)", got, 1+n)
	}
	if st := c.Stats(); st.Reconnects != n || st.ProviderCalls != 1+n {
		t.Fatalf("stats: reconnects=%d providerCalls=%d", st.Reconnects, st.ProviderCalls)
	}
}

func TestRefreshAuthCoalescesConcurrentCalls(t *testing.T) {
	srv := newServer(t)
	p := newCountingProvider(client.Basic("alice", alicePW))
	p.gate, p.first = make(chan struct{}), make(chan struct{})
	c := connect(t, srv, client.WithAuthProvider(p.provide))

	const n = 10
	var wg sync.WaitGroup
	results := make([]client.RefreshResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.RefreshAuth(ctxT(t))
		}()
	}
	<-p.first
	// Release the provider only once the other nine joined the flight.
	testkit.Eventually(t, "nine calls joined the flight", func() bool { return c.Stats().RefreshCoalesced == n-1 })
	close(p.gate)
	wg.Wait()

	if got := p.calls.Load(); got != 2 {
		t.Fatalf("provider calls = %d, want 2 (connect + one coalesced refresh)", got)
	}
	coalesced := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		r := results[i]
		if !r.Ran || r.Kind != client.AuthBasic || r.Tokens == nil || !r.SocketUntouched {
			t.Fatalf("call %d result %+v", i, r)
		}
		if r.Coalesced {
			coalesced++
		}
	}
	if coalesced != n-1 {
		t.Fatalf("coalesced = %d, want %d", coalesced, n-1)
	}
	// (Tokens issued in the same second may be identical: KalamDB's claims
	// have second precision. So compare with what the refresh returned.)
	newAccess, _ := c.Credentials()
	if newAccess != results[0].Tokens.AccessToken {
		t.Fatal("RefreshAuth did not swap the access token in use")
	}
	if c.State() != client.StateConnected {
		t.Fatalf("socket state after RefreshAuth = %s, want connected (untouched)", c.State())
	}
	if c.SocketToken() == "" || c.Stats().ConnID != 1 {
		t.Fatalf("the live socket should be the original one (conn %d)", c.Stats().ConnID)
	}
	ev := waitEvent[client.AuthRefreshedEvent](t, c, func(e client.AuthRefreshedEvent) bool { return e.Trigger == "refresh-auth" })
	if !ev.SocketUntouched || ev.Err != nil || ev.NewExpiry.IsZero() {
		t.Fatalf("AuthRefreshedEvent %+v", ev)
	}
}

func TestRefreshAuthWithoutProviderIsNoop(t *testing.T) {
	srv := newServer(t)
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
	r, err := c.RefreshAuth(ctxT(t))
	if err != nil || r.Ran {
		t.Fatalf("RefreshAuth without provider = %+v, %v; want no-op", r, err)
	}
}

func TestExpiredTokenConsultsProviderOnReconnect(t *testing.T) {
	srv := newServer(t)
	boot := lazyClient(t, srv.URL)
	t1, err := boot.Login(ctxT(t), "alice", alicePW)
	if err != nil {
		t.Fatal(err)
	}
	p := newCountingProvider(client.JWT(t1.AccessToken))
	c := connect(t, srv, client.WithAuthProvider(p.provide))
	waitEvent[client.ConnectedEvent](t, c, nil)

	// Expire every token and cut the socket: the provider still hands out
	// the stale token, so reconnects are refused…
	srv.ExpireTokens()
	srv.DropAll()
	e := waitEvent[client.ErrorEvent](t, c, func(e client.ErrorEvent) bool { return client.IsAuthError(e.Err) })
	if !e.Recoverable {
		t.Fatal("auth failure on reconnect should be recoverable (unlimited attempts)")
	}
	// …until it has a fresh one, which the next attempt picks up.
	t2, err := boot.Login(ctxT(t), "alice", alicePW)
	if err != nil {
		t.Fatal(err)
	}
	p.set(client.JWT(t2.AccessToken))
	waitEvent[client.ConnectedEvent](t, c, nil)
	if got := p.calls.Load(); got < 3 {
		t.Fatalf("provider calls = %d, want ≥ 3 (connect, refused reconnect, recovering reconnect)", got)
	}
	access, _ := c.Credentials()
	if access != t2.AccessToken {
		t.Fatal("client is not using the provider's fresh token")
	}
}

func TestQueryTokenExpiredReauthenticatesOnce(t *testing.T) {
	srv := newServer(t)
	p := newCountingProvider(client.Basic("alice", alicePW))
	c := connect(t, srv, client.WithAuthProvider(p.provide), client.WithLazyConnect(true))
	srv.ExpireTokens()
	res, err := c.Query(ctxT(t), "SELECT * FROM app.messages")
	if err != nil {
		t.Fatalf("query after expiry should re-run the provider and succeed: %v", err)
	}
	if len(res.Results) != 1 {
		t.Fatalf("results = %+v", res.Results)
	}
	if got := p.calls.Load(); got != 2 {
		t.Fatalf("provider calls = %d, want 2", got)
	}
	ev := waitEvent[client.AuthRefreshedEvent](t, c, func(e client.AuthRefreshedEvent) bool { return e.Trigger == "token-expired" })
	if ev.Err != nil {
		t.Fatal(ev.Err)
	}
}

func TestQueryTokenExpiredWithoutProviderSaysSo(t *testing.T) {
	srv := newServer(t)
	c := lazyClient(t, srv.URL)
	if _, err := c.Login(ctxT(t), "alice", alicePW); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	_, err := c.Query(ctxT(t), "SELECT * FROM app.messages")
	if !client.IsTokenExpired(err) || !client.IsAuthError(err) || client.Hint(err) == "" {
		t.Fatalf("want a token-expired error with a hint, got %v", err)
	}
}

func TestLoginAndRefreshToken(t *testing.T) {
	srv := newServer(t)
	c := lazyClient(t, srv.URL)
	if _, err := c.Login(ctxT(t), "alice", "wrong"); !client.IsAuthError(err) || !strings.Contains(err.Error(), "wrong user or password") {
		t.Fatalf("wrong password: %v", err)
	}
	t1, err := c.Login(ctxT(t), "alice", alicePW)
	if err != nil {
		t.Fatal(err)
	}
	if t1.ExpiresAt.IsZero() || t1.RefreshExpiresAt.Before(t1.ExpiresAt) || t1.User.ID != "alice" || t1.User.Role != "user" {
		t.Fatalf("tokens %v exp=%v rexp=%v", t1, t1.ExpiresAt, t1.RefreshExpiresAt)
	}
	t2, err := c.RefreshToken(ctxT(t), t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t2.AccessToken == "" || t2.RefreshToken == "" || t2.ExpiresAt.IsZero() {
		t.Fatalf("refresh returned %v", t2)
	}
	if a, r := c.Credentials(); a != t2.AccessToken || r != t2.RefreshToken {
		t.Fatal("RefreshToken did not swap the credentials in use")
	}
	// An access token is not a refresh token.
	if _, err := c.RefreshToken(ctxT(t), t2.AccessToken); !client.IsAuthError(err) {
		t.Fatalf("refresh with access token: %v", err)
	}
}

func TestProviderTransientErrorsAreRetried(t *testing.T) {
	srv := newServer(t)
	var calls int
	var mu sync.Mutex
	provider := func(context.Context) (client.Auth, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls < 3 {
			return client.Auth{}, client.Transient(errTemp)
		}
		return client.Basic("alice", alicePW), nil
	}
	c := connect(t, srv, client.WithAuthProvider(provider), client.WithProviderRetry(3, 0, 0))
	if c.State() != client.StateConnected || calls != 3 {
		t.Fatalf("state=%s calls=%d", c.State(), calls)
	}
	// A permanent error fails at once with the provider's message.
	_, err := client.Connect(ctxT(t), srv.URL, client.WithAuthProvider(func(context.Context) (client.Auth, error) {
		return client.Auth{}, errPerm
	}))
	if err == nil || !strings.Contains(err.Error(), errPerm.Error()) {
		t.Fatalf("permanent provider error: %v", err)
	}
}

var (
	errTemp = stringError("vault briefly unavailable")
	errPerm = stringError("no credentials configured")
)

type stringError string

func (e stringError) Error() string { return string(e) }
