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
// provider; RefreshAuth (through Invalidate) forces a new run.
type Command struct {
	argv    []string
	display string
	timeout time.Duration
	lead    time.Duration
	env     []string
	now     func() time.Time

	mu     sync.Mutex // held while the command runs: concurrent callers share one run
	cached *Token
	hist   history
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
// whatever called it.
func (c *Command) Invalidate() {
	c.mu.Lock()
	c.cached = nil
	c.mu.Unlock()
}

// Invocations returns the recent invocations, oldest first.
func (c *Command) Invocations() []Invocation { return c.hist.snapshot() }

// Provide returns the cached token while it is fresh, else runs the
// command. An explicit request for new credentials (RefreshAuth, or a
// TOKEN_EXPIRED answer) always runs it. Timeouts are marked
// client.Transient so the client retries them.
func (c *Command) Provide(ctx context.Context) (client.Auth, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := c.now()
	explicit := client.ProviderTrigger(ctx) == "refresh-auth" || client.ProviderTrigger(ctx) == "token-expired"
	if c.cached != nil && !explicit && c.fresh(*c.cached, start) {
		c.hist.add(Invocation{Time: start, Cached: true, Fingerprint: Fingerprint(c.cached.JWT), Expiry: c.cached.Expiry})
		return client.JWT(c.cached.JWT), nil
	}
	tok, err := c.run(ctx)
	inv := Invocation{Time: start, Duration: c.now().Sub(start), Err: err}
	if err != nil {
		c.hist.add(inv)
		return client.Auth{}, err
	}
	inv.Fingerprint, inv.Expiry = Fingerprint(tok.JWT), tok.Expiry
	c.hist.add(inv)
	c.cached = &tok
	return client.JWT(tok.JWT), nil
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
	s = jwtLike.ReplaceAllString(s, client.Redacted)
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
