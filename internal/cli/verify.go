package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/session"
)

// exitMismatch is kalamdash verify's exit code when a live view differs
// from the server's rows.
const exitMismatch = 4

// verifyFlags are the flags of kalamdash verify.
type verifyFlags struct {
	conn      connFlags
	subscribe []string
	duration  time.Duration
	timeout   time.Duration
	pageSize  int
	// loaded, when set, runs once every initial load is done, before
	// --duration starts (tests make changes there).
	loaded func(*session.Conn)
}

func newVerifyCmd() *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify --url URL [auth flags] --subscribe SQL... [--duration D]",
		Short: "Subscribe, wait, and check the live rows against the server's (exit 4 on a mismatch)",
		Long: `verify subscribes to each --subscribe live query, waits for its initial load
and then --duration more while changes stream in, and compares the rows the
subscription holds with the same query run over HTTP as the same user (paged
by _seq). Differences are checked once more after the changes in flight have
arrived; rows that changed during the check are counted apart.

It prints, per subscription, the rows missing from the live view, the rows
the server no longer has and the rows whose values differ — counts, the first
few, and the likely cause: changes dropped by the server's notification queue
while the socket was busy, a resume gap, a killed subscription (told for
certain only to a DBA, who can read system.live).

Exit codes: 0 every subscription matched, 4 a mismatch, 1 other failure (bad
flags, a refused subscription), 2 authentication refused (or no token from
the token command or file), 3 server unreachable or not a KalamDB server.
Usable in CI against a staging server.`,
		Example: `  echo "$PW" | kalamdash verify --url http://localhost:8080 --user alice --password-stdin \
      --subscribe 'SELECT * FROM app.messages' --duration 30s`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: untilInterrupted(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return runVerify(ctx, f, cmd.InOrStdin(), cmd.OutOrStdout())
		}),
	}
	f.conn.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.subscribe, "subscribe", nil, "live query to verify (repeatable; ids sub-1, sub-2, …)")
	fl.DurationVar(&f.duration, "duration", 0, "watch changes this long after the initial load before verifying")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up when connecting, the initial load or a check takes longer")
	fl.IntVar(&f.pageSize, "page-size", session.DefaultVerifyPageSize, "rows per snapshot request")
	return cmd
}

// runVerify is kalamdash verify; it returns an *exitError for a mismatch
// and for auth and connection failures.
func runVerify(ctx context.Context, f verifyFlags, stdin io.Reader, stdout io.Writer) error {
	if len(f.subscribe) == 0 {
		return errors.New("nothing to verify: pass --subscribe 'SELECT … FROM …'")
	}
	if f.duration < 0 || f.timeout <= 0 || f.pageSize <= 0 {
		return errors.New("--duration must not be negative; --timeout and --page-size must be positive")
	}
	pf, path, err := loadProfiles()
	if err != nil {
		return err
	}
	p, err := f.conn.resolve(stdin, pf, path)
	if err != nil {
		return err
	}
	if p.URL == "" {
		return errors.New("no server: pass --url (or set KALAMDB_URL, or --profile)")
	}
	p.Name = "verify"
	m := session.NewManager()
	defer m.CloseAll()
	openCtx, cancel := context.WithTimeout(ctx, f.timeout)
	c, err := m.Open(openCtx, p)
	cancel()
	if err != nil {
		return connectFailure(err)
	}

	ids := make([]string, len(f.subscribe))
	for i, sql := range f.subscribe {
		subCtx, cancel := context.WithTimeout(ctx, f.timeout)
		ids[i], err = c.Subscribe(subCtx, sql, session.SubscribeOptions{ID: fmt.Sprintf("sub-%d", i+1)})
		cancel()
		if err != nil {
			return fmt.Errorf("subscribe %s: %s", safetext.Line(sql), safetext.Line(err.Error()))
		}
	}
	for _, id := range ids {
		if err := waitLoaded(ctx, c, id, f.timeout); err != nil {
			return err
		}
	}
	if f.loaded != nil {
		f.loaded(c)
	}
	select {
	case <-ctx.Done():
		return errors.New("interrupted before the check")
	case <-time.After(f.duration):
	}

	mismatches := 0
	for _, id := range ids {
		checkCtx, cancel := context.WithTimeout(ctx, f.timeout)
		v, err := c.Verify(checkCtx, id, session.VerifyOptions{PageSize: f.pageSize})
		cancel()
		if err != nil {
			return fmt.Errorf("verify %s: %s", id, safetext.Line(err.Error()))
		}
		writeVerification(stdout, v)
		if !v.Clean() {
			mismatches++
		}
	}
	if mismatches > 0 {
		return &exitError{code: exitMismatch, err: fmt.Errorf("%d of %d subscriptions differ from the server", mismatches, len(ids))}
	}
	return nil
}

// waitLoaded waits for subscription id's initial load to finish.
func waitLoaded(ctx context.Context, c *session.Conn, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s, ok := c.Subscription(id)
		switch {
		case !ok:
			return fmt.Errorf("subscription %s vanished", id)
		case s.Status == session.SubReady:
			return nil
		case s.Status == session.SubFailed || s.Status == session.SubClosed:
			return fmt.Errorf("subscription %s %s: %s %s", id, s.Status, safetext.Line(s.Code), safetext.Line(s.Err))
		case time.Now().After(deadline):
			return fmt.Errorf("subscription %s: initial load not done after %s (%d rows so far)", id, timeout, s.Rows)
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted during the initial load")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// writeVerification prints one result; everything from the server goes
// through safetext.
func writeVerification(w io.Writer, v session.Verification) {
	verdict := "clean"
	if !v.Clean() {
		verdict = "MISMATCH"
	}
	fmt.Fprintf(w, "%s %s: %s\n", v.SubID, safetext.Line(v.SQL), verdict)
	fmt.Fprintf(w, "  %s\n", v.Counts())
	for _, part := range v.Parts() {
		fmt.Fprintf(w, "  %s: %s\n", part.Title, safetext.Line(part.Set.Summary()))
		for _, d := range part.Set.Samples {
			fmt.Fprintf(w, "    %s\n", safetext.Line(d.Describe()))
		}
	}
	if v.Unsure > 0 {
		fmt.Fprintf(w, "  %d rows could not be told from rows the cap evicted\n", v.Unsure)
	}
	if v.LiveQuery != "" {
		fmt.Fprintf(w, "  system.live: the live query is %s on the server\n", v.LiveQuery)
	}
	for _, c := range v.Causes() {
		fmt.Fprintf(w, "  cause %s\n", safetext.Line(c))
	}
}
