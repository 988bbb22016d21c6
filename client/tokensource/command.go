package tokensource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/redact"
)

// Defaults of a Command source.
const (
	DefaultCommandTimeout = 10 * time.Second
	// DefaultRefreshLead is how long before its expiry a cached token is
	// considered stale, so the next connection gets a fresh one.
	DefaultRefreshLead = 30 * time.Second
)

// Command is an AuthProvider that runs an external command and reads a
// token from its standard output. The result is cached until shortly before
// the token expires, so a flapping connection does not hammer the identity
// provider; RefreshAuth, a TOKEN_EXPIRED answer and Invalidate force a new
// run. Concurrent callers share one run, and none of them holds a lock while
// it runs.
type Command struct {
	argv    []string
	display string
	timeout time.Duration
	lead    time.Duration
	env     []string
	now     func() time.Time

	// mu guards cached and inflight only; it is never held while the
	// command runs, so a slow identity provider blocks neither Invalidate
	// nor a caller whose context ends.
	mu       sync.Mutex
	cached   *Token
	inflight *call // the run new callers join; nil when none is under way
	hist     history
}

// call is one run of the command, shared by every caller that asks for a
// token while it is under way.
type call struct {
	done    chan struct{} // closed once tok and err are set
	cancel  context.CancelFunc
	waiters int // callers still waiting (guarded by Command.mu)
	tok     Token
	err     error
}

// CommandOption configures a Command.
type CommandOption func(*Command)

// WithShell runs the command line through `sh -c` instead of splitting it
// into arguments: pipes and variables work, quoting is the shell's.
func WithShell() CommandOption {
	return func(c *Command) { c.argv = []string{"sh", "-c", c.display} }
}

// WithTimeout bounds one run (default 10 s).
func WithTimeout(d time.Duration) CommandOption { return func(c *Command) { c.timeout = d } }

// WithRefreshLead sets how long before expiry the cached token is renewed
// (default 30 s). Zero disables the cache: the command runs on every call.
func WithRefreshLead(d time.Duration) CommandOption { return func(c *Command) { c.lead = d } }

// WithEnv adds KEY=VALUE pairs to the environment the command inherits.
func WithEnv(kv ...string) CommandOption {
	return func(c *Command) { c.env = append(c.env, kv...) }
}

// WithCommandClock injects the clock used for cache expiry decisions.
func WithCommandClock(now func() time.Time) CommandOption { return func(c *Command) { c.now = now } }

// NewCommand parses a command line (words split like a shell would, with
// single and double quotes and backslash escapes, but no expansion unless
// WithShell) and returns the source.
func NewCommand(cmdline string, opts ...CommandOption) (*Command, error) {
	argv, err := splitArgs(cmdline)
	if err != nil {
		return nil, fmt.Errorf("token command: %w", err)
	}
	if len(argv) == 0 {
		return nil, errors.New("token command is empty")
	}
	c := &Command{argv: argv, display: strings.TrimSpace(cmdline), timeout: DefaultCommandTimeout,
		lead: DefaultRefreshLead, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// String names the source without its arguments, which may hold secrets.
func (c *Command) String() string { return "command " + c.argv[0] }

// Provider returns c as a client.AuthProvider.
func (c *Command) Provider() client.AuthProvider { return c.Provide }

// Invalidate drops the cached token so the next Provide runs the command,
// whatever called it. It never waits: a run already under way still answers
// the callers waiting for it, but its token is not cached and later callers
// start a run of their own.
func (c *Command) Invalidate() {
	c.mu.Lock()
	c.cached = nil
	c.inflight = nil
	c.mu.Unlock()
}

// Invocations returns the recent invocations, oldest first: one per run of
// the command and one per answer from the cache. Callers that joined a run
// already under way share its entry.
func (c *Command) Invocations() []Invocation { return c.hist.snapshot() }

// Provide returns the cached token while it is fresh, else runs the
// command. An explicit request for new credentials (RefreshAuth, or a
// TOKEN_EXPIRED answer) never uses the cache. Concurrent callers share one
// run: whoever arrives while the command runs waits for its token, which is
// newer than the cache and as fresh as a forced run can get. A caller
// whose ctx ends stops waiting at once; the run goes on for the others and
// is stopped only when nobody waits for it any more. Timeouts are marked
// client.Transient so the client retries them.
func (c *Command) Provide(ctx context.Context) (client.Auth, error) {
	trigger := client.ProviderTrigger(ctx)
	explicit := trigger == "refresh-auth" || trigger == "token-expired"
	c.mu.Lock()
	cl := c.inflight
	if cl == nil {
		now := c.now()
		if c.cached != nil && !explicit && c.fresh(*c.cached, now) {
			tok := *c.cached
			c.mu.Unlock()
			c.hist.add(Invocation{Time: now, Cached: true, Fingerprint: client.Fingerprint(tok.JWT), Expiry: tok.Expiry})
			return client.JWT(tok.JWT), nil
		}
		if err := ctx.Err(); err != nil {
			c.mu.Unlock()
			return client.Auth{}, fmt.Errorf("%s not run: %w", c, err)
		}
		cl = c.start(ctx)
	}
	cl.waiters++
	c.mu.Unlock()

	select {
	case <-cl.done:
		if cl.err != nil {
			return client.Auth{}, cl.err
		}
		return client.JWT(cl.tok.JWT), nil
	case <-ctx.Done():
		c.leave(cl)
		return client.Auth{}, fmt.Errorf("gave up waiting for %s: %w", c, ctx.Err())
	}
}

// start launches a run and makes it the one new callers join. The run does
// not inherit ctx's cancellation: the caller that happened to start it may
// give up while others still wait. c.mu must be held.
func (c *Command) start(ctx context.Context) *call {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cl := &call{done: make(chan struct{}), cancel: cancel}
	c.inflight = cl
	go func() {
		defer cancel()
		start := c.now()
		tok, err := c.run(runCtx)
		inv := Invocation{Time: start, Duration: c.now().Sub(start), Err: err}
		if err == nil {
			inv.Fingerprint, inv.Expiry = client.Fingerprint(tok.JWT), tok.Expiry
		}
		// Recorded before done closes, so a caller that got the token
		// also sees the invocation.
		c.hist.add(inv)
		c.mu.Lock()
		// A run that Invalidate or its callers abandoned is stale: it
		// answers whoever still waits but does not touch the cache.
		if c.inflight == cl {
			c.inflight = nil
			if err == nil {
				c.cached = &tok
			}
		}
		cl.tok, cl.err = tok, err
		close(cl.done)
		c.mu.Unlock()
	}()
	return cl
}

// leave records that a caller stopped waiting for cl, and stops the run when
// it was the last one: nobody would use its token.
func (c *Command) leave(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl.waiters--
	if cl.waiters > 0 {
		return
	}
	cl.cancel()
	if c.inflight == cl {
		c.inflight = nil
	}
}

func (c *Command) fresh(t Token, now time.Time) bool {
	if c.lead <= 0 {
		return false
	}
	return !t.Expiry.IsZero() && now.Before(t.Expiry.Add(-c.lead))
}

func (c *Command) run(ctx context.Context) (Token, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	// A command whose children keep the pipes open must not hang us.
	cmd.WaitDelay = time.Second
	var stdout, stderr limitedBuffer
	stdout.limit, stderr.limit = maxTokenOutput+1, 4096
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return Token{}, client.Transient(fmt.Errorf("%s timed out after %s%s", c, c.timeout, stderrSuffix(stderr.Bytes())))
	case err != nil && ctx.Err() == context.Canceled:
		return Token{}, fmt.Errorf("%s stopped: every caller gave up waiting for it", c)
	case errors.Is(err, exec.ErrNotFound):
		return Token{}, fmt.Errorf("%s: not found on PATH", c)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return Token{}, fmt.Errorf("%s exited with status %d%s", c, exit.ExitCode(), stderrSuffix(stderr.Bytes()))
		}
		return Token{}, fmt.Errorf("%s failed to start: %v", c, err)
	}
	tok, perr := ParseToken(stdout.Bytes())
	if perr != nil {
		return Token{}, fmt.Errorf("%s printed no usable token: %v%s", c, perr, stderrSuffix(stderr.Bytes()))
	}
	return tok, nil
}

// jwtLike matches anything shaped like a JWT, so a command that echoes its
// token to stderr does not leak it through our error message.
var jwtLike = regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`)

func stderrSuffix(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	s = jwtLike.ReplaceAllString(s, redact.Marker)
	if len(s) > 500 {
		s = "…" + s[len(s)-500:]
	}
	return ": " + s
}

// limitedBuffer keeps the first limit bytes and discards the rest, so a
// runaway command cannot exhaust memory.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// splitArgs splits a command line into words: whitespace separates, single
// quotes keep everything literal, double quotes allow backslash escapes.
func splitArgs(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		escaped bool
	)
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if escaped {
		return nil, errors.New("trailing backslash")
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
