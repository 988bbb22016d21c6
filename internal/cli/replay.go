package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/safetext"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/recording/replay"
)

// replayFlags are the flags of kalamdash replay.
type replayFlags struct {
	serve bool
	addr  string
	pace  bool
	wait  time.Duration
	har   string
	quiet bool
	list  bool
}

func newReplayCmd() *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay FILE [--list] [--serve [--addr HOST:PORT]] [--har OUT]",
		Short: "Replay a recording: inspect it in the dashboard, list it, serve its server side, or export it to HAR",
		Long: `replay reads a recording made by kalamdash record.

Without flags, on a terminal, it opens the dashboard on the recording, offline
and read-only: the inspector pages through the recorded frames with the usual
filters and views, and the token and stats panels show what the recording
says. With --list, or when stdout is not a terminal, it lists the recording
instead: header, then one line per frame (time since start, direction, socket,
opcode, type, subscription, size, decoded payload) and event.

--serve replays the server side on a loopback address so a real client can
reproduce what the recorded client saw: HTTP requests get the recorded answers
(redacted or expired tokens replaced by fresh ones valid for this server only),
the n-th WebSocket gets the n-th recorded socket's server frames, in order,
with their original opcodes and bytes, each sent once the client has sent what
the recorded client sent before it. Point the client at the printed URL with the
recorded options (compression, serialization, subscription ids). Ctrl-C stops.

--har OUT converts the recording to HAR 1.2 with _webSocketMessages (0600).`,
		Args:          cobra.ExactArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: untilInterrupted(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return runReplay(ctx, args[0], f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.serve, "serve", false, "serve the recorded server side on a loopback address until Ctrl-C")
	fl.StringVar(&f.addr, "addr", "127.0.0.1:0", "listen address for --serve (port 0: a free port)")
	fl.BoolVar(&f.pace, "pace", false, "with --serve: keep the recorded gaps between server frames (each capped at 5s)")
	fl.DurationVar(&f.wait, "wait", 10*time.Second, "with --serve: how long to wait for a client message the recording expects")
	fl.StringVar(&f.har, "har", "", "write the recording as HAR 1.2 to this file (- for stdout)")
	fl.BoolVar(&f.quiet, "quiet", false, "with --serve: do not log each replayed step on stderr")
	fl.BoolVar(&f.list, "list", false, "list the frames and events instead of opening the dashboard")
	return cmd
}

func runReplay(ctx context.Context, path string, f replayFlags, stdout, stderr io.Writer) error {
	rec, err := recording.ReadFile(path)
	if err != nil {
		return err
	}
	if f.har != "" {
		if err := exportHAR(rec, f.har, stdout); err != nil {
			return err
		}
		if !f.serve {
			return nil
		}
	}
	if !f.serve {
		if f.list || !isTerminal(stdout) {
			listRecording(stdout, rec)
			return nil
		}
		return runReplayDashboard(path, rec)
	}
	var log io.Writer = safetext.NewWriter(stderr) // steps quote recorded types and reasons
	if f.quiet {
		log = io.Discard
	}
	rs, err := replay.NewServer(rec, replay.WithAddr(f.addr), replay.WithLog(log),
		replay.WithPace(f.pace), replay.WithWait(f.wait))
	if err != nil {
		return err
	}
	defer rs.Close()
	o := rec.Header.Options
	var hints []string
	if o.NoCompress {
		hints = append(hints, "--no-compress")
	}
	if o.Serialization == "msgpack" {
		hints = append(hints, "--msgpack")
	}
	fmt.Fprintf(stdout, "Replaying %s (%d frames, %d sockets, recorded %s from %s) at %s\n",
		safetext.Line(path), len(rec.Frames), rs.Sockets(), rec.Header.StartedAt.Format(time.RFC3339), safetext.Line(rec.Header.ServerURL), rs.URL)
	if len(hints) > 0 {
		fmt.Fprintf(stdout, "The recorded client connected with %s; connect the same way.\n", strings.Join(hints, " "))
	}
	for i, q := range o.Subscribe {
		fmt.Fprintf(stdout, "Recorded subscription sub-%d: %s\n", i+1, safetext.Line(q))
	}
	fmt.Fprintln(stdout, "Ctrl-C stops.")
	<-ctx.Done()
	return nil
}

// exportHAR writes rec as HAR to path (- for stdout).
func exportHAR(rec *recording.Recording, path string, stdout io.Writer) error {
	if path == "-" {
		return recording.WriteHAR(stdout, rec, app.Version)
	}
	out, err := recording.CreateFile(path)
	if err != nil {
		return err
	}
	if err := recording.WriteHAR(out, rec, app.Version); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// listRecording prints the header and one line per frame and event, in
// file order. Everything it prints comes from the file, so each line goes
// out through safetext: one line per frame however hostile its fields,
// with markers for control characters.
func listRecording(w io.Writer, rec *recording.Recording) {
	line := func(format string, args ...any) {
		fmt.Fprintln(w, safetext.Line(fmt.Sprintf(format, args...)))
	}
	h := rec.Header
	head := fmt.Sprintf("kalamdash recording v%d by kalamdash %s: %s, started %s", h.Version, h.ToolVersion, h.ServerURL, h.StartedAt.Format(time.RFC3339))
	if h.SecretsRevealed {
		head += " (secrets revealed)"
	}
	line("%s", head)
	line("options: auth=%s user=%s no-compress=%v serialization=%s sql=%q subscribe=%q",
		h.Options.Auth, h.Options.User, h.Options.NoCompress, h.Options.Serialization, h.Options.SQL, h.Options.Subscribe)
	start := h.StartedAt
	ev := 0
	printEvents := func(upTo int) {
		for ; ev < len(rec.Events) && rec.Events[ev].FrameIndex <= upTo; ev++ {
			e := rec.Events[ev]
			detail := strings.TrimSpace(strings.Join([]string{e.Text, e.Reason, e.Trigger, e.User, e.Error}, " "))
			line("%10s  ** %s %s", offset(e.Time, start), e.Event, detail)
		}
	}
	for i, fr := range rec.Frames {
		printEvents(i)
		arrow := "←"
		if fr.Direction == client.Outbound {
			arrow = "→"
		}
		sock := "http"
		if fr.Opcode != client.OpHTTP {
			sock = fmt.Sprintf("ws#%d", fr.ConnID)
		}
		extra := ""
		switch {
		case fr.Opcode == client.OpClose:
			extra = fmt.Sprintf(" %d %q", fr.CloseCode, fr.CloseReason)
		case fr.Status != 0:
			extra = fmt.Sprintf(" %d %s", fr.Status, fr.Duration.Round(time.Microsecond))
		}
		if fr.Err != "" {
			extra += " error: " + fr.Err
		}
		line("%10s %s %-6s %-6s %-22s %-10s %7d B%s  %s", offset(fr.Time, start), arrow, sock, fr.Opcode,
			fr.Type, fr.SubscriptionID, fr.WireSize, extra, preview(fr.Decoded, 120))
	}
	printEvents(len(rec.Frames))
	if e := rec.End; e != nil {
		end := fmt.Sprintf("end: %s, %d frames, %d events, %s on the wire, %d dropped by the tap", e.Reason, e.Frames, e.Events, humanBytes(e.WireBytes), e.TapDrops)
		if e.Error != "" {
			end += ", error: " + e.Error
		}
		line("%s", end)
	} else {
		line("end: no trailer (the recording was cut short)")
	}
}

func offset(t, start time.Time) string {
	if start.IsZero() {
		return t.Format("15:04:05.000")
	}
	return fmt.Sprintf("+%.3fs", t.Sub(start).Seconds())
}

// preview returns the first n runes of b on one line.
func preview(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
