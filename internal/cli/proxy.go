package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/proxy"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/theme"
	"github.com/kalamdash/kalamdash/ui"
)

// proxyFlags are the flags of kalamdash proxy.
type proxyFlags struct {
	listen      string
	allowRemote bool
	upstream    string
	profile     string
	caFile      string
	insecure    bool
	headless    bool
	record      string
	reveal      bool
}

func newProxyCmd() *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy --upstream URL [--listen ADDR] [--headless] [--record FILE]",
		Short: "Relay another application's KalamDB connection and watch it (or record it)",
		Long: `proxy listens on --listen (127.0.0.1:8081) and relays everything an
application sends there to the KalamDB server at --upstream: the HTTP API
(login, refresh, SQL) and the /v1/ws WebSocket, unchanged — requests, headers
(Authorization and Origin included), query strings, status codes, bodies,
frames byte for byte with their opcodes, and close codes. Point the
application at the proxy's address instead of the server's.

Every socket the application opens or closes through the proxy is one line on
stderr (client address, the user it authenticated as, its close code).
--record FILE writes every frame and HTTP exchange, decoded as kalamdash
decodes its own, in the recording format of kalamdash record (replay it with
kalamdash replay FILE, export it with kalamdash replay FILE --har OUT).
Tokens, passwords and Authorization headers are redacted unless
--reveal-secrets. The file is created readable by its owner only (0600).

The proxy relays credentials, so it listens on loopback unless
--allow-remote. An https:// upstream is verified with the system's roots, or
the profile's (or --ca-file's) CA file; --insecure skips verification.

Without --headless, proxy opens the dashboard on the applications that
connect: each one is a tab (its address and the user it authenticated as)
with its frames decoded (gzip and MessagePack, both directions), the tokens
it obtains or presents (claims, countdowns, rotations), and its
subscriptions' rows, all read-only. On such a tab C turns compression off
for the application's next socket, D drops its socket, Z stalls its
traffic and T adds latency, to watch it recover. --headless prints one line
per socket instead.`,
		Example: `  kalamdash serve --demo &                       # a KalamDB on :8080
  kalamdash proxy --upstream http://127.0.0.1:8080  # the dashboard, watching
  kalamdash proxy --upstream http://127.0.0.1:8080 --headless --record app.jsonl
  # point the application at http://127.0.0.1:8081, then:
  kalamdash replay app.jsonl`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: untilInterrupted(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return runProxy(ctx, f, cmd.OutOrStdout(), cmd.ErrOrStderr(), nil)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8081", "address the application connects to")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow a --listen address other than loopback (the proxy relays credentials)")
	fl.StringVar(&f.upstream, "upstream", "", "KalamDB server to relay to (http(s):// or ws(s)://); else the profile's URL or KALAMDB_URL")
	fl.StringVar(&f.profile, "profile", "", "saved profile from profiles.toml: its URL, ca_file and insecure")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM CA certificates to verify an https upstream with")
	fl.BoolVar(&f.insecure, "insecure", false, "do not verify the upstream's TLS certificate (local debugging only)")
	fl.BoolVar(&f.headless, "headless", false, "print one line per socket instead of opening the dashboard")
	fl.StringVar(&f.record, "record", "", "write every frame and HTTP exchange to this recording (- for stdout)")
	fl.BoolVar(&f.reveal, "reveal-secrets", false, "record tokens and passwords unredacted (the file then holds credentials)")
	return cmd
}

// proxyUpstream resolves the upstream and its TLS options: --upstream or
// the profile's (or KALAMDB_URL's) server, the profile's ca_file and
// insecure, then the flags.
func proxyUpstream(f proxyFlags) (session.Profile, error) {
	pf, path, err := loadProfiles()
	if err != nil {
		return session.Profile{}, err
	}
	p, err := pf.Resolve(f.profile, session.Profile{URL: f.upstream}, os.Getenv)
	if err != nil {
		return p, fmt.Errorf("%w in %s", err, path)
	}
	if p.URL == "" {
		return p, errors.New("no upstream: pass --upstream URL or --profile (or set KALAMDB_URL)")
	}
	if err := checkNodes(p.URL); err != nil {
		return p, err
	}
	if nodes, _ := client.ParseNodes(p.URL); len(nodes) > 1 {
		return p, fmt.Errorf("upstream %q lists %d cluster nodes: the proxy relays to one server, so pick one (the application behind it fails over itself)", shownNodes(p.URL), len(nodes))
	}
	if f.caFile != "" {
		p.CAFile = f.caFile
	}
	p.Insecure = p.Insecure || f.insecure
	return p, nil
}

// checkListen refuses a non-loopback --listen address without
// --allow-remote and returns the warning to print with it.
func checkListen(addr string, allowRemote bool) (warning string, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--listen %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return "", nil
	}
	if !allowRemote {
		return "", fmt.Errorf("--listen %s is not a loopback address: the proxy relays tokens and passwords, so pass --allow-remote to listen there", addr)
	}
	return fmt.Sprintf("warning: listening on %s, beyond this machine: anyone who reaches it can use the credentials it relays", addr), nil
}

// runProxy is kalamdash proxy. ready, when not nil, receives the address
// it listens on (tests).
func runProxy(ctx context.Context, f proxyFlags, stdout, stderr io.Writer, ready chan<- string) error {
	warning, err := checkListen(f.listen, f.allowRemote)
	if err != nil {
		return err
	}
	if !f.headless && f.record == "-" {
		return errors.New("--record - writes to stdout, which the dashboard draws on: record to a file, or add --headless")
	}
	p, err := proxyUpstream(f)
	if err != nil {
		return err
	}
	tlsCfg, err := client.TLSConfig(p.TLSOptions()...)
	if err != nil {
		return err
	}
	out := &proxyLog{w: stderr}
	rec, err := startProxyRecording(f, p.URL, stdout)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		rec.close("error", err)
		return fmt.Errorf("listen on %s: %w", f.listen, err)
	}
	if warning != "" {
		out.printf("%s", warning)
	}
	if f.record != "" {
		out.printf("recording to %s%s", f.record, map[bool]string{true: " with secrets revealed", false: " (secrets redacted)"}[f.reveal])
	}
	var runErr error
	if f.headless {
		runErr = runProxyHeadless(ctx, f, p.URL, tlsCfg, ln, rec, out, ready)
	} else {
		runErr = runProxyDashboard(ctx, f, p.URL, tlsCfg, ln, rec, warning, ready)
	}
	reason := "interrupted"
	if runErr != nil {
		reason = "error"
	}
	if err := rec.close(reason, runErr); err != nil {
		return err
	}
	out.printf("stopped")
	return runErr
}

// runProxyHeadless relays on ln until ctx ends, printing one line per
// socket on stderr.
func runProxyHeadless(ctx context.Context, f proxyFlags, upstream string, tlsCfg *tls.Config, ln net.Listener,
	rec *proxyRecording, out *proxyLog, ready chan<- string) error {
	relay, err := proxy.New(upstream, proxy.Options{TLS: tlsCfg, RevealSecrets: f.reveal,
		OnFrame: rec.frame, OnConn: func(ev proxy.ConnEvent) { out.conn(ev); rec.conn(ev) }})
	if err != nil {
		ln.Close()
		return err
	}
	addr := ln.Addr().String()
	out.printf("relaying http://%s → %s (point your application at http://%s; Ctrl-C stops)", addr, relay.Upstream(), addr)
	if ready != nil {
		ready <- addr
	}
	var runErr error
	stop := serveRelay(ln, relay, rec, func(served <-chan error) {
		select {
		case <-ctx.Done():
		case runErr = <-served:
		}
	})
	_ = relay.Close()
	stop()
	return runErr
}

// runProxyDashboard relays on ln and opens the dashboard on the
// applications that connect, until the user quits (or ctx ends).
func runProxyDashboard(ctx context.Context, f proxyFlags, upstream string, tlsCfg *tls.Config, ln net.Listener,
	rec *proxyRecording, warning string, ready chan<- string) error {
	prev := log.Writer()
	log.SetOutput(io.Discard) // the TUI owns the terminal
	defer log.SetOutput(prev)
	mgr := session.NewManager()
	pw, err := app.NewProxyWatch(mgr, upstream, app.ProxyOptions{TLS: tlsCfg, RevealSecrets: f.reveal,
		OnFrame: rec.frame, OnConn: rec.conn})
	if err != nil {
		ln.Close()
		return err
	}
	b := app.NewProxyBackend(mgr, pw, nil)
	defer b.Close()
	addr := ln.Addr().String()
	waiting := fmt.Sprintf("kalamdash proxy relays http://%s → %s. Point your application at http://%s instead of the server: "+
		"each application that connects shows up here as a tab (its address and the user it authenticated as), with its frames, "+
		"tokens and subscriptions; kalamdash only watches. On its tab C, D, Z and T steer its connection (? lists them).", addr, pw.Upstream(), addr)
	if warning != "" {
		waiting += " " + warning + "."
	}
	if ready != nil {
		ready <- addr
	}
	st := theme.FromEnv(true)
	m := ui.New(b, ui.WithStyles(st, !st.Colour), ui.WithoutLogin(waiting))
	var runErr error
	stop := serveRelay(ln, pw.Handler(), rec, func(served <-chan error) {
		_, err := tea.NewProgram(m, tea.WithContext(ctx)).Run()
		if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
			runErr = fmt.Errorf("dashboard: %w", err)
		}
	})
	_ = pw.Close()
	stop()
	return runErr
}

// serveRelay serves h on ln (flushing the recording meanwhile) while run
// runs, with the server's end on served; then it shuts the server down.
// The caller closes the relay, whose upgraded sockets the server no longer
// tracks, and then calls the returned stop.
func serveRelay(ln net.Listener, h http.Handler, rec *proxyRecording, run func(served <-chan error)) (stop func()) {
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	stopFlush := rec.flushEvery(500 * time.Millisecond)
	run(served)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = hs.Shutdown(sctx)
	cancel()
	return stopFlush
}

// proxyLog prints the proxy's lines on stderr, one per socket opened or
// closed, sanitised: addresses, users and close reasons come from outside.
type proxyLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *proxyLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "kalamdash proxy: %s\n", safetext.Line(fmt.Sprintf(format, args...)))
}

func (l *proxyLog) conn(ev proxy.ConnEvent) {
	switch {
	case ev.Opened:
		note := ""
		if ev.CompressForcedOff {
			note = " (compression forced off)"
		}
		l.printf("socket %d opened from %s to %s%s", ev.ConnID, ev.Client, ev.Target, note)
	case ev.Frames == 0 && ev.Err != "":
		l.printf("socket %d from %s not opened: %s", ev.ConnID, ev.Client, ev.Err)
	default:
		who := "never authenticated"
		if ev.User != "" {
			who = fmt.Sprintf("as %s (%s)", ev.User, ev.Role)
		}
		end := "without a close frame"
		if ev.CloseCode >= 0 {
			end = fmt.Sprintf("close %d %q", ev.CloseCode, ev.CloseReason)
		}
		if ev.Err != "" {
			end += ": " + ev.Err
		}
		l.printf("socket %d closed from %s %s, %s, %d frames", ev.ConnID, ev.Client, who, end, ev.Frames)
	}
}

// proxyRecording writes what the relay observes to a recording, when
// --record asks for one; its methods do nothing otherwise.
type proxyRecording struct {
	w        *recording.Writer
	file     *os.File
	terminal *safetext.Writer // stdout on a terminal, flushed at the end

	mu  sync.Mutex
	err error // the first write error: recording stops there
}

func startProxyRecording(f proxyFlags, upstream string, stdout io.Writer) (*proxyRecording, error) {
	r := &proxyRecording{}
	if f.record == "" {
		return r, nil
	}
	dst := stdout
	if f.record != "-" {
		file, err := recording.CreateFile(f.record)
		if err != nil {
			return nil, err
		}
		r.file, dst = file, file
	} else if isTerminal(stdout) {
		// JSON on a terminal: C1 and bidi controls go out as escapes.
		r.terminal = safetext.NewJSONWriter(stdout)
		dst = r.terminal
	}
	// No Options: the application chose how to connect, and its frames
	// say so.
	w, err := recording.NewWriter(dst, recording.Header{ToolVersion: app.Version, ServerURL: upstream},
		recording.WithReveal(f.reveal))
	if err != nil {
		if r.file != nil {
			r.file.Close()
		}
		return nil, err
	}
	r.w = w
	return r, nil
}

func (r *proxyRecording) failed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *proxyRecording) frame(_ string, f client.Frame) {
	if r.w != nil {
		if err := r.w.WriteFrame(f); err != nil {
			r.failed(err)
		}
	}
}

func (r *proxyRecording) conn(ev proxy.ConnEvent) {
	if r.w == nil {
		return
	}
	e := recording.Event{Time: ev.Time, ConnID: ev.ConnID, URL: ev.Target, User: ev.User, Role: ev.Role}
	switch {
	case ev.Opened:
		e.Event = recording.EventConnected
		if ev.CompressForcedOff {
			e.Compression = "none"
		}
	case ev.Frames == 0 && ev.Err != "":
		e.Event, e.Error = recording.EventError, ev.Err
	default:
		e.Event, e.Code, e.Reason, e.Error = recording.EventDisconnected, ev.CloseCode, ev.CloseReason, ev.Err
	}
	if err := r.w.WriteEvent(e); err != nil {
		r.failed(err)
	}
}

// flushEvery flushes the recording periodically until stop is called, so
// a file tailed while the proxy runs is current.
func (r *proxyRecording) flushEvery(d time.Duration) (stop func()) {
	if r.w == nil {
		return func() {}
	}
	return every(d, func() {
		if err := r.w.Flush(); err != nil {
			r.failed(err)
		}
	}, nil)
}

// close writes the trailer and closes the file.
func (r *proxyRecording) close(reason string, runErr error) error {
	if r.w == nil {
		return nil
	}
	end := recording.End{Reason: reason}
	if runErr != nil {
		end.Error = runErr.Error()
	}
	r.mu.Lock()
	writeErr := r.err
	r.mu.Unlock()
	if writeErr != nil {
		end.Reason, end.Error = "error", writeErr.Error()
	}
	err := r.w.Close(end)
	if r.terminal != nil {
		if ferr := r.terminal.Flush(); err == nil {
			err = ferr
		}
	}
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
	}
	if writeErr != nil {
		return fmt.Errorf("write recording: %w", writeErr)
	}
	if err != nil {
		return fmt.Errorf("write recording: %w", err)
	}
	return nil
}
