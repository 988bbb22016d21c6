package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/session"
)

// recordFlags are the flags of kalamdash record.
type recordFlags struct {
	conn      connFlags
	sql       []string
	subscribe []string
	out       string
	duration  time.Duration
	count     int
	reveal    bool
	format    string
	progress  string
}

func newRecordCmd() *cobra.Command {
	var f recordFlags
	cmd := &cobra.Command{
		Use:   "record --url URL [auth flags] [--sql STMT]... [--subscribe SQL]... [--out FILE]",
		Short: "Record a live session (every frame and HTTP exchange) to a JSONL or HAR file",
		Long: `record connects to a KalamDB server, runs the --sql statements, starts the
--subscribe live queries, and writes every WebSocket frame (both ways) and HTTP
exchange to --out (stdout by default) until --duration has passed, --count
frames were written, or Ctrl-C.

The default format is the kalamdash recording format (JSON Lines; see
docs/recording-format.md); --format har writes HAR 1.2 with Chrome's
_webSocketMessages instead, for DevTools and other HAR viewers. Tokens,
passwords and Authorization headers are redacted unless --reveal-secrets.
Files are created readable by their owner only (0600).

Connection flags are the dashboard's: --url, --user with --password-stdin (or
KALAMDB_PASSWORD), --token (or KALAMDB_TOKEN), --token-command, --token-file,
--profile NAME from profiles.toml, --no-compress and --msgpack; KALAMDB_URL and
KALAMDB_USER are read too.
Subscriptions get the ids sub-1, sub-2, … in flag order, so a replaying client
can use the same ids.

Exit codes: 0 recorded, 1 other failure (bad flags, a refused statement or
subscription, a write error), 2 authentication refused (or the token command
or file gave no token), 3 server unreachable or not a KalamDB server.`,
		Example: `  echo "$PW" | kalamdash record --url http://localhost:8080 --user alice --password-stdin \
      --subscribe 'SELECT * FROM app.messages' --duration 30s --out session.jsonl
  kalamdash record --url http://localhost:8080 --token "$JWT" --sql 'SELECT 1' --count 20 --format har --out s.har
  kalamdash record --profile staging --token-command 'gcloud auth print-identity-token' --duration 1m --out s.jsonl`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: untilInterrupted(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return runRecord(ctx, f, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	f.conn.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.sql, "sql", nil, "SQL statement to run after connecting (repeatable, run in order)")
	fl.StringArrayVar(&f.subscribe, "subscribe", nil, "live query to subscribe to (repeatable; ids sub-1, sub-2, …)")
	fl.StringVarP(&f.out, "out", "o", "-", "output file (- for stdout)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (0: until Ctrl-C or --count)")
	fl.IntVar(&f.count, "count", 0, "stop after this many frames (0: no limit)")
	fl.BoolVar(&f.reveal, "reveal-secrets", false, "write tokens and passwords unredacted (the file then holds credentials)")
	fl.StringVar(&f.format, "format", "jsonl", "output format: jsonl (kalamdash recording) or har (HAR 1.2)")
	fl.StringVar(&f.progress, "progress", "auto", "progress line on stderr: auto (when stderr is a terminal), always or never")
	return cmd
}

// recordProfile resolves what record connects with, as the dashboard does
// (profile, environment, flags), but without a form to ask for what is
// missing.
func recordProfile(f recordFlags, stdin io.Reader) (session.Profile, error) {
	pf, path, err := loadProfiles()
	if err != nil {
		return session.Profile{}, err
	}
	p, err := f.conn.resolve(stdin, pf, path)
	if err != nil {
		return p, err
	}
	if p.URL == "" {
		return p, errors.New("no server: pass --url or --profile (or set KALAMDB_URL)")
	}
	if p.Mode() == session.AuthPassword && p.Password == "" {
		return p, fmt.Errorf("user %q has no password: pass --password-stdin or set KALAMDB_PASSWORD", p.User)
	}
	return p, nil
}

// runRecord is kalamdash record; it returns an *exitError for auth and
// connection failures.
func runRecord(ctx context.Context, f recordFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	if f.format != "jsonl" && f.format != "har" {
		return fmt.Errorf("--format %q: want jsonl or har", f.format)
	}
	if f.count < 0 || f.duration < 0 {
		return errors.New("--count and --duration must not be negative")
	}
	if f.progress != "auto" && f.progress != "always" && f.progress != "never" {
		return fmt.Errorf("--progress %q: want auto, always or never", f.progress)
	}
	p, err := recordProfile(f, stdin)
	if err != nil {
		return err
	}
	provider, err := session.NewAuthProvider(p)
	if err != nil {
		return err
	}
	serialization := p.Serialization
	if serialization == "" {
		serialization = "json"
	}
	opts := append([]client.Option{
		client.WithDisableCompression(p.NoCompress),
		client.WithSerialization(serialization),
		client.WithRevealSecrets(f.reveal),
		client.WithTapBuffer(1 << 16),
	}, p.TLSOptions()...)
	if provider != nil {
		opts = append(opts, client.WithAuthProvider(provider))
	}
	started := time.Now()
	c, err := client.Connect(ctx, p.URL, opts...)
	if err != nil {
		return connectFailure(err)
	}

	// The output is created only once connected: a failed attempt leaves
	// no empty file behind.
	var out io.Writer = stdout
	var file *os.File
	if f.out != "" && f.out != "-" {
		if file, err = recording.CreateFile(f.out); err != nil {
			c.Close()
			return err
		}
		defer file.Close()
		out = file
	} else if isTerminal(stdout) {
		// JSON on a terminal: the encoder writes C1 and bidi controls
		// raw, so they go out as JSON escapes (same document).
		tw := safetext.NewJSONWriter(stdout)
		defer tw.Flush()
		out = tw
	}
	var harBuf bytes.Buffer
	dst := out
	if f.format == "har" {
		dst = &harBuf // HAR is one JSON document: convert at the end
	}
	h := recording.Header{ToolVersion: app.Version, ServerURL: p.URL, StartedAt: started, Options: recording.Options{
		Auth: string(p.Mode()), User: p.User, NoCompress: p.NoCompress, Serialization: serialization,
		SQL: f.sql, Subscribe: f.subscribe, Count: f.count}}
	if f.duration > 0 {
		h.Options.Duration = f.duration.String()
	}
	w, err := recording.NewWriter(dst, h, recording.WithReveal(f.reveal), recording.WithSecrets(p.Password, p.Token))
	if err != nil {
		c.Close()
		return err
	}

	copied := make(chan copyResult, 1)
	go func() {
		full, err := recording.Copy(c, w, uint64(f.count))
		copied <- copyResult{full, err}
	}()

	stopProgress := startProgress(f.progress, stderr, w, started)
	reason, runErr := recordSession(ctx, c, w, f)
	var res copyResult
	done := false
	if runErr == nil && reason == "" {
		reason, res, done = waitRecording(ctx, f.duration, copied)
	}
	_ = c.Close() // closes the tap: Copy drains what is left and returns
	if !done {
		res = <-copied
	}
	stopProgress()
	end := recording.End{Reason: reason, TapDrops: c.TapDrops()}
	if runErr != nil {
		end.Reason, end.Error = "error", runErr.Error()
	}
	if res.err != nil {
		return fmt.Errorf("write recording: %w", res.err)
	}
	if err := w.Close(end); err != nil {
		return fmt.Errorf("write recording: %w", err)
	}
	if f.format == "har" {
		rec, err := recording.Read(&harBuf, "")
		if err != nil {
			return fmt.Errorf("convert to HAR: %w", err)
		}
		if err := recording.WriteHAR(out, rec, app.Version); err != nil {
			return err
		}
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return fmt.Errorf("write %s: %w", f.out, err)
		}
	}
	if d := c.TapDrops(); d > 0 {
		fmt.Fprintf(stderr, "kalamdash: warning: %d frames were dropped from the recording because writing fell behind (faster disk, or --out to a file instead of a pipe)\n", d)
	}
	return runErr
}

// connectFailure maps a Connect error to its exit code, with the client's
// hint.
func connectFailure(err error) error {
	msg := err.Error()
	if h := client.Hint(err); h != "" {
		msg += " (" + h + ")"
	}
	code := exitUnreachable
	var ce *client.Error
	isKind := errors.As(err, &ce)
	switch {
	case client.IsAuthError(err), isKind && ce.Kind == client.KindProvider:
		// Refused credentials, or none to offer: a token command or file
		// that failed is an authentication problem, not an unreachable
		// server.
		code = exitAuth
	case isKind && ce.Kind == client.KindOther:
		code = exitOther // bad URL or options: not the server's fault
	}
	return &exitError{code: code, err: errors.New(msg)}
}

// recordStep writes ev, the event of one --sql or --subscribe step that
// ended with stepErr, and says what follows: "interrupted" when ctx has
// ended, the step's error (exit 2 when authentication was refused), or
// neither when recording goes on.
func recordStep(ctx context.Context, w *recording.Writer, ev recording.Event, flag string, stepErr error) (reason string, err error) {
	if stepErr != nil {
		ev.Error = stepErr.Error()
	}
	if werr := w.WriteEvent(ev); werr != nil {
		return "", werr
	}
	if ctx.Err() != nil {
		return "interrupted", nil
	}
	if stepErr == nil {
		return "", nil
	}
	err = fmt.Errorf("%s %q: %w", flag, ev.Text, stepErr)
	if client.IsAuthError(stepErr) {
		return "", &exitError{code: exitAuth, err: err}
	}
	return "", err
}

// recordSession runs the statements and subscriptions. A non-empty reason
// means recording already ended (count reached, interrupted).
func recordSession(ctx context.Context, c *client.Client, w *recording.Writer, f recordFlags) (reason string, err error) {
	for _, stmt := range f.sql {
		_, qerr := c.Query(ctx, stmt)
		ev := recording.Event{Time: time.Now(), Event: recording.EventSQL, Text: stmt}
		if reason, err := recordStep(ctx, w, ev, "--sql", qerr); reason != "" || err != nil {
			return reason, err
		}
	}
	for i, q := range f.subscribe {
		id := fmt.Sprintf("sub-%d", i+1)
		s, serr := c.Subscribe(ctx, q, client.WithSubscriptionID(id))
		ev := recording.Event{Time: time.Now(), Event: recording.EventSubscribed, Text: q, SubscriptionID: id}
		if reason, err := recordStep(ctx, w, ev, "--subscribe", serr); reason != "" || err != nil {
			return reason, err
		}
		// The frames are what we record; the decoded events are not
		// needed, but the subscription queues them until read.
		go func() {
			for range s.Events() {
			}
		}()
	}
	return "", nil
}

// copyResult is how recording.Copy ended.
type copyResult struct {
	full bool
	err  error
}

// waitRecording waits for the end of the recording: Ctrl-C, --duration,
// or Copy returning (--count frames written, or a write error). done says
// whether res came from copied.
func waitRecording(ctx context.Context, d time.Duration, copied <-chan copyResult) (reason string, res copyResult, done bool) {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return "interrupted", copyResult{}, false
	case <-timeout:
		return "duration", copyResult{}, false
	case r := <-copied:
		if r.full {
			return "count", r, true
		}
		return "closed", r, true
	}
}

// progressEvery is how often the progress line is redrawn.
const progressEvery = 500 * time.Millisecond

// startProgress redraws "recording: N frames, SIZE, R frames/s, ELAPSED"
// on stderr (when mode is "always", or "auto" and stderr is a terminal)
// until the returned stop is called, which ends the line.
func startProgress(mode string, stderr io.Writer, w *recording.Writer, started time.Time) (stop func()) {
	if mode == "never" || (mode == "auto" && !isTerminal(stderr)) {
		return func() {}
	}
	draw := func() {
		frames, _, bytes := w.Counts()
		el := time.Since(started)
		rate := 0.0
		if s := el.Seconds(); s > 0 {
			rate = float64(frames) / s
		}
		fmt.Fprintf(stderr, "\rrecording: %d frames, %s, %.0f frames/s, %s ", frames, humanBytes(bytes), rate, el.Truncate(time.Second))
	}
	return every(progressEvery, draw, func() {
		draw()
		fmt.Fprintln(stderr)
	})
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// humanBytes formats n as B, KiB, MiB or GiB.
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 2; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMG"[exp])
}
