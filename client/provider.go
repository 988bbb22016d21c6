package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Transient marks err as temporary: when an AuthProvider returns it, the
// client retries the provider (3 attempts, 250 ms doubling to 2 s by
// default) instead of failing the connection attempt at once. Network
// timeouts and the client's own unreachable/timeout/rate-limit errors are
// treated as transient without it.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

type transientError struct{ error }

func (t transientError) Unwrap() error { return t.error }

func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var t transientError
	if errors.As(err, &t) {
		return true
	}
	var e *Error
	if errors.As(err, &e) {
		switch e.Kind {
		case KindUnreachable, KindTimeout, KindRateLimited:
			return true
		}
		return e.Status == 502 || e.Status == 503 || e.Status == 504
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// callProvider runs the provider, retrying transient failures.
func (c *Client) callProvider(ctx context.Context, trigger string) (Auth, error) {
	ctx = context.WithValue(ctx, triggerKey{}, trigger)
	wait := c.o.providerBackoff
	var (
		a   Auth
		err error
	)
	for i := 0; i < c.o.providerAttempts; i++ {
		start := time.Now()
		a, err = safeProvide(ctx, c.o.provider)
		c.st.providerCalls.Add(1)
		if c.userProvider {
			c.emit(ProviderCalledEvent{Time: c.now(), Duration: time.Since(start), Trigger: trigger,
				Kind: a.Kind(), Err: err, Fingerprint: a.Fingerprint()})
		}
		if err == nil || !isTransient(err) || i == c.o.providerAttempts-1 {
			break
		}
		if serr := sleepCtx(ctx, wait); serr != nil {
			err = serr
			break
		}
		wait = min(wait*2, c.o.providerMaxWait)
	}
	if err != nil {
		return Auth{}, &Error{Kind: KindProvider, Op: trigger, Message: "auth provider failed", Err: err}
	}
	return a, nil
}

// safeProvide turns a panicking provider into an error: nothing in the
// client panics because of user code it calls.
func safeProvide(ctx context.Context, p AuthProvider) (a Auth, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("auth provider panicked: %v", r)
		}
	}()
	return p(ctx)
}

// resolveAuth asks the provider (if any) for credentials, exchanges Basic
// for a JWT via login, and makes the result the credentials in use.
// Without a provider it returns the credentials already in use; during a
// token swap, the swapped token (SwapToken).
func (c *Client) resolveAuth(ctx context.Context, trigger string) (Auth, *Tokens, error) {
	if a, ok := c.swappedAuth(trigger); ok {
		return a, nil, nil
	}
	if c.o.provider == nil {
		c.mu.Lock()
		a := c.auth
		c.mu.Unlock()
		return a, nil, nil
	}
	a, err := c.callProvider(ctx, trigger)
	if err != nil {
		return Auth{}, nil, err
	}
	var toks *Tokens
	if a.Kind() == AuthBasic {
		toks, err = c.login(ctx, a.user, a.password)
		if err != nil {
			return Auth{}, nil, err
		}
		a = JWT(toks.AccessToken)
	}
	c.mu.Lock()
	c.setAuthLocked(a)
	c.authed = true
	if toks != nil {
		c.tokens = toks
	}
	c.mu.Unlock()
	return a, toks, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ensureAuth resolves credentials before an HTTP call if a lazy Connect
// could not (the server was down then).
func (c *Client) ensureAuth(ctx context.Context) error {
	c.mu.Lock()
	need := !c.authed && c.o.provider != nil
	c.mu.Unlock()
	if !need {
		return nil
	}
	_, _, err := c.resolveAuth(ctx, "connect")
	return err
}
