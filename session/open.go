package session

import (
	"context"
	"fmt"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/tokensource"
)

// open builds the client for p and attaches it.
func (m *Manager) open(ctx context.Context, p Profile, extra []client.Option) (*Conn, error) {
	transport := p.TLSOptions()
	transport = append(transport, m.o.clientOpts...)
	transport = append(transport, extra...)

	res := m.resumeFromCache(ctx, p, transport)
	if res.notice != nil {
		m.emit(*res.notice)
	}
	provider, pasted, file, spare, err := m.providerFor(&p, res)
	if err != nil {
		if res.why != "" {
			err = fmt.Errorf("%w (%s)", err, res.why)
		}
		return nil, fmt.Errorf("profile %q: %w", p.Name, err)
	}
	c := newConn(m, p)
	// The refresh the cache made on the way is this connection's first
	// exchange: the log shows it before the socket's frames.
	c.log.Append(res.frames...)
	c.mu.Lock()
	c.pasted, c.spareRefresh = pasted, spare
	c.mu.Unlock()
	if err := m.connect(ctx, c, provider, transport); err != nil {
		return nil, err
	}
	if file != nil {
		c.watchTokenFile(file)
	}
	return c, nil
}

// connect builds c's client with provider over transport, connects it and
// adds c to the manager.
func (m *Manager) connect(ctx context.Context, c *Conn, provider client.AuthProvider, transport []client.Option) error {
	p := c.Profile()
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
	c.mu.Lock()
	c.provider, c.transport = provider, transport
	c.setStateLocked(client.StateConnecting, StateDetail{Attempt: 1})
	c.mu.Unlock()
	cl, err := client.Connect(ctx, p.URL, opts...)
	if err != nil {
		c.cancel()
		return err
	}
	c.start(cl)
	if err := m.add(c); err != nil {
		c.Close()
		return err
	}
	return nil
}

// OpenOnNode opens a connection named name to another node of the
// cluster origin is on (nodeURL, its base URL) with origin's credentials:
// the same auth provider (password login, pasted token, token command or
// file) and transport settings, so each node's live state can be watched
// side by side. The token cache is left to origin.
func (m *Manager) OpenOnNode(ctx context.Context, origin *Conn, nodeURL, name string) (*Conn, error) {
	origin.mu.Lock()
	p, provider, transport := origin.profile, origin.provider, origin.transport
	origin.mu.Unlock()
	if provider == nil && p.Mode() != AuthNone {
		return nil, fmt.Errorf("%s: its credentials were not given to kalamdash, so they cannot be reused on another node", origin.Name())
	}
	// The node's address came from the server: the origin's credentials
	// go only where its client would send them.
	if cl := origin.Client(); cl != nil && p.Mode() != AuthNone {
		if err := cl.CredentialsMayGo(nodeURL); err != nil {
			return nil, err
		}
	}
	p.URL, p.CacheToken = nodeURL, false
	name, err := m.reserve(name)
	if err != nil {
		return nil, err
	}
	p.Name = name
	c := newConn(m, p)
	if err := m.connect(ctx, c, provider, transport); err != nil {
		return nil, err
	}
	return c, nil
}

// providerFor returns the auth provider for p's mode (see providerOf) and,
// for a pasted JWT, a refresh token from the token cache. A pair resumed
// from the token cache (see resumeFromCache) takes the place of the
// profile's login.
func (m *Manager) providerFor(p *Profile, res resumed) (pr client.AuthProvider, pasted *tokenHolder, file *tokensource.File, spare string, err error) {
	if res.access != "" {
		p.Token, p.Auth, spare = res.access, AuthJWT, res.refresh
	}
	pr, pasted, file, err = providerOf(p)
	return pr, pasted, file, spare, err
}
