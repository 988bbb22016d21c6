package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/tokensource"
)

// This file builds the auth provider of each auth mode. The Manager uses
// it for every connection; NewAuthProvider lends it to code that drives a
// client without a Manager (kalamdash record), so a profile authenticates
// the same way everywhere.

// NewAuthProvider returns the auth provider of p's mode: a login with p's
// user and password, p's pasted token, the token command (run before every
// (re)connect and on RefreshAuth) or the token file (re-read before every
// (re)connect); nil for AuthNone. Errors say what the profile lacks.
func NewAuthProvider(p Profile) (client.AuthProvider, error) {
	pr, _, _, err := providerOf(&p)
	return pr, err
}

// providerOf builds the provider of p's mode. A pasted token is returned
// in a holder too (Conn.SetToken replaces it there), a token file as
// itself (the Manager watches it). The password and token stay inside the
// provider; p is cleared of them.
func providerOf(p *Profile) (pr client.AuthProvider, pasted *tokenHolder, file *tokensource.File, err error) {
	switch mode := p.Mode(); mode {
	case AuthPassword:
		if p.User == "" {
			return nil, nil, nil, errors.New("password login needs a user: set user or KALAMDB_USER")
		}
		if p.Password == "" {
			return nil, nil, nil, errors.New("password login needs a password: type it in the login form, use --password-stdin or KALAMDB_PASSWORD")
		}
		auth := client.Basic(p.User, p.Password)
		p.Password = ""
		return func(context.Context) (client.Auth, error) { return auth, nil }, nil, nil, nil
	case AuthJWT:
		if p.Token == "" {
			return nil, nil, nil, errors.New("jwt auth needs a token: paste it, use --token or KALAMDB_TOKEN")
		}
		h := &tokenHolder{tok: p.Token}
		p.Token = ""
		return func(context.Context) (client.Auth, error) { return client.JWT(h.get()), nil }, h, nil, nil
	case AuthNone:
		return nil, nil, nil, nil
	case AuthTokenCommand:
		cmd, err := tokensource.NewCommand(p.TokenCommand)
		if err != nil {
			return nil, nil, nil, err
		}
		return cmd.Provider(), nil, nil, nil
	case AuthTokenFile:
		f := tokensource.NewFile(p.TokenFile)
		return f.Provider(), nil, f, nil
	default:
		return nil, nil, nil, fmt.Errorf("unknown auth mode %q", mode)
	}
}

// tokenHolder is the replaceable pasted JWT of a jwt-mode connection.
type tokenHolder struct {
	mu  sync.Mutex
	tok string
}

func (h *tokenHolder) set(t string) { h.mu.Lock(); h.tok = t; h.mu.Unlock() }

func (h *tokenHolder) get() string { h.mu.Lock(); defer h.mu.Unlock(); return h.tok }

// tokenFilePoll is how often a token file is checked for a new token.
const tokenFilePoll = time.Second

// watchTokenFile turns a token file rotated on disk into a NoticeEvent
// that offers a refresh, until the connection closes: the file is re-read
// before every (re)connect anyway, but the live socket keeps its old token
// until the user refreshes or the connection drops.
func (c *Conn) watchTokenFile(f *tokensource.File) {
	changes := f.Watch(c.ctx, tokenFilePoll)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for ch := range changes {
			ev := NoticeEvent{Conn: c.name, Level: NoticeInfo, Time: c.clock.Now(),
				Text: "token file changed (new token " + ch.Fingerprint + ")",
				Hint: "press R on the Token view to refresh with it; the live socket keeps its old token until then"}
			if ch.Err != nil {
				ev.Level, ev.Text = NoticeWarn, "token file changed but is unusable: "+ch.Err.Error()
				ev.Hint = "the next reconnect will fail until the file holds a token again"
			}
			c.m.emit(ev)
		}
	}()
}
