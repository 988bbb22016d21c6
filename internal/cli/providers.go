package cli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/tokensource"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// tokenSources builds the AuthProviders of the token-command and token-file
// auth modes for session.WithProviderFactory, and turns a token file
// rotated on disk into a dashboard notice that offers a refresh: the file is
// re-read before every (re)connect anyway, but the live socket keeps its old
// token until the user refreshes or the connection drops.
type tokenSources struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	notify func(ui.Event) // set before the first connection opens
}

func newTokenSources() *tokenSources {
	ctx, cancel := context.WithCancel(context.Background())
	return &tokenSources{ctx: ctx, cancel: cancel, notify: func(ui.Event) {}}
}

// provider implements the session's provider factory.
func (ts *tokenSources) provider(p session.Profile) (client.AuthProvider, error) {
	switch p.Auth {
	case session.AuthTokenCommand:
		cmd, err := tokensource.NewCommand(p.TokenCommand)
		if err != nil {
			return nil, err
		}
		return cmd.Provider(), nil
	case session.AuthTokenFile:
		f := tokensource.NewFile(p.TokenFile)
		ts.watch(p.Name, f)
		return f.Provider(), nil
	}
	return nil, fmt.Errorf("auth mode %q has no external token source", p.Auth)
}

func (ts *tokenSources) watch(conn string, f *tokensource.File) {
	changes := f.Watch(ts.ctx, time.Second)
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		for ch := range changes {
			ev := ui.Event{ConnID: conn, Kind: ui.EventNotice}
			if ch.Err != nil {
				ev.Text, ev.Err = "token file changed but is unusable: "+ch.Err.Error(), true
				ev.Hint = "the next reconnect will fail until the file holds a token again"
			} else {
				ev.Text = "token file changed (new token " + ch.Fingerprint + ")"
				ev.Hint = "press R on the Token view to refresh with it; the live socket keeps its old token until then"
			}
			ts.notify(ev)
		}
	}()
}

// Close stops the file watchers.
func (ts *tokenSources) Close() {
	ts.cancel()
	ts.wg.Wait()
}
