package session

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kalamdash/kalamdash/client"
)

// open builds the client for p and attaches it.
func (m *Manager) open(ctx context.Context, p Profile, extra []client.Option) (*Conn, error) {
	var transport []client.Option
	if p.CAFile != "" {
		transport = append(transport, client.WithCAFile(p.CAFile))
	}
	if p.Insecure {
		transport = append(transport, client.WithInsecureSkipVerify())
	}
	transport = append(transport, m.o.clientOpts...)
	transport = append(transport, extra...)

	res := m.resumeFromCache(ctx, p, transport)
	if res.notice != nil {
		m.emit(*res.notice)
	}
	provider, pasted, spare, err := m.providerFor(&p, res)
	if err != nil {
		if res.why != "" {
			err = fmt.Errorf("%w (%s)", err, res.why)
		}
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	// A deep tap: the dashboard drains it every pump interval, and a
	// starved pump (a busy terminal) must not lose frames from the log.
	opts := []client.Option{client.WithTapBuffer(1 << 16), client.WithDisableCompression(p.NoCompress)}
	if provider != nil {
		opts = append(opts, client.WithAuthProvider(provider))
	}
	if p.Serialization != "" {
		opts = append(opts, client.WithSerialization(p.Serialization))
	}
	opts = append(opts, transport...)

	c := newConn(m, p)
	// The refresh the cache made on the way is this connection's first
	// exchange: the log shows it before the socket's frames.
	c.log.Append(res.frames...)
	c.mu.Lock()
	c.pasted, c.spareRefresh = pasted, spare
	c.setStateLocked(StateConnecting, StateDetail{Attempt: 1})
	c.mu.Unlock()
	cl, err := client.Connect(ctx, p.URL, opts...)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.start(cl)
	if err := m.add(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// tokenHolder is the replaceable pasted JWT of a jwt-mode connection.
type tokenHolder struct {
	mu  sync.Mutex
	tok string
}

func (h *tokenHolder) set(t string) { h.mu.Lock(); h.tok = t; h.mu.Unlock() }

func (h *tokenHolder) get() string { h.mu.Lock(); defer h.mu.Unlock(); return h.tok }

// providerFor returns the auth provider for p's mode (and, for a pasted
// JWT, the holder SetToken replaces it in, and a refresh token from the
// token cache). A pair resumed from the token cache (see resumeFromCache)
// takes the place of the profile's login. The password and token stay
// inside the closure; p is cleared of them.
func (m *Manager) providerFor(p *Profile, res resumed) (pr client.AuthProvider, pasted *tokenHolder, spare string, err error) {
	mode := p.Mode()
	if res.access != "" {
		p.Token, mode, spare = res.access, AuthJWT, res.refresh
	}
	switch mode {
	case AuthPassword:
		if p.User == "" {
			return nil, nil, "", errors.New("password login needs a user: set user or KALAMDB_USER")
		}
		if p.Password == "" {
			return nil, nil, "", errors.New("password login needs a password: type it in the login form, use --password-stdin or KALAMDB_PASSWORD")
		}
		auth := client.Basic(p.User, p.Password)
		p.Password = ""
		return func(context.Context) (client.Auth, error) { return auth, nil }, nil, "", nil
	case AuthJWT:
		if p.Token == "" {
			return nil, nil, "", errors.New("jwt auth needs a token: paste it, use --token or KALAMDB_TOKEN")
		}
		h := &tokenHolder{tok: p.Token}
		p.Token = ""
		return func(context.Context) (client.Auth, error) { return client.JWT(h.get()), nil }, h, spare, nil
	case AuthNone:
		return nil, nil, "", nil
	case AuthTokenCommand, AuthTokenFile:
		if m.o.providerFactory == nil {
			return nil, nil, "", fmt.Errorf("auth mode %s is not available in this build", mode)
		}
		pr, err := m.o.providerFactory(*p)
		return pr, nil, "", err
	}
	return nil, nil, "", fmt.Errorf("unknown auth mode %q", mode)
}
