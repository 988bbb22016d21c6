package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
)

// The rows of issue 14, written into a server by whoever may write a row:
// an OSC title change, a clear-screen and a colour change, and a value
// with a newline and a carriage return.
const (
	hostileEscapes = "A\x1b]0;PWNED-TITLE\x07B\x1b[2J\x1b[31mRED"
	hostileLines   = "line1\nline2\rCR"
	// What they look like once made safe: one line each, readable.
	inertEscapes = `A␛]0;PWNED-TITLE\x07B␛[2J␛[31mRED`
	inertLines   = "line1⏎line2␍CR"
)

// requireInert fails when out holds a control character other than the
// newlines that end its lines (and, with cr, the carriage return a
// progress line redraws with).
func requireInert(t *testing.T, what, out string, cr bool) {
	t.Helper()
	for i, r := range out {
		if r == '\n' || (cr && r == '\r') {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Fatalf("%s: control %U reached the output at %d:\n%q", what, r, i, out)
		}
	}
}

// TestHeadlessOutputsShowHostileTextInertly records a session whose SQL
// and rows carry the hostile text, with a recorded frame type and
// close reason made hostile too (a hostile server chooses them), and
// checks every headless output: the record progress line, replay --list,
// the replay server's log, and an error printed by Main.
func TestHeadlessOutputsShowHostileTextInertly(t *testing.T) {
	srv := recServer(t)
	path := filepath.Join(t.TempDir(), "hostile.jsonl")
	insert := "INSERT INTO app.messages (id, body) VALUES (100, '" + hostileEscapes + "'), (101, '" + hostileLines + "')"
	_, stderr, err := record(t, recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true, noCompress: true}, out: path,
		sql: []string{insert}, subscribe: []string{"SELECT * FROM app.messages"}, duration: 300 * time.Millisecond, progress: "always"}, recAlicePW+"\n")
	if err != nil {
		t.Fatalf("record: %v\n%s", err, stderr)
	}
	requireInert(t, "record --progress", stderr, true)
	srv.Close()

	// A hostile server also names its messages and closes: put the text
	// into a recorded frame's type and subscription and a close reason.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	hostileFrame := -1
	for i, l := range lines {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil || rec["type"] != "subscription_ack" {
			continue
		}
		rec["type"], rec["subscription_id"] = hostileEscapes, hostileLines
		b, _ := json.Marshal(rec)
		lines[i], hostileFrame = string(b), i
	}
	if hostileFrame < 0 {
		t.Fatalf("no subscription_ack in the recording:\n%s", data)
	}
	testkit.WriteFile(t, path, strings.Join(lines, "\n")+"\n")

	var list bytes.Buffer
	if err := runReplay(recCtx(t), path, replayFlags{list: true}, &list, io.Discard); err != nil {
		t.Fatal(err)
	}
	out := list.String()
	requireInert(t, "replay --list", out, false)
	// The statement event and the frame show the text on one line each.
	var sqlLine, frameLine string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(l, "** sql"):
			sqlLine = l
		case strings.Contains(l, inertEscapes):
			frameLine = l
		}
	}
	if !strings.Contains(sqlLine, inertEscapes) || !strings.Contains(sqlLine, inertLines) {
		t.Errorf("the sql event does not show both values inertly on one line: %q\n%s", sqlLine, out)
	}
	if !strings.Contains(frameLine, inertLines) {
		t.Errorf("the hostile frame does not show its type and subscription on one line: %q\n%s", frameLine, out)
	}
	// The rows themselves arrive JSON-escaped in the payload preview.
	if !strings.Contains(out, `line1\nline2\rCR`) {
		t.Errorf("the rows are not in the payload previews:\n%s", out)
	}

	// Main prints a command's error inertly: here the path it could not
	// open, which holds an escape sequence.
	var errOut bytes.Buffer
	bad := filepath.Join(t.TempDir(), "x\x1b]0;PWNED\x07.jsonl")
	if code := run([]string{"replay", "--list", bad}, &errOut); code != 1 {
		t.Fatalf("exit code %d, want 1 (%s)", code, errOut.String())
	}
	requireInert(t, "Main's error", errOut.String(), false)
	if !strings.Contains(errOut.String(), `x␛]0;PWNED\x07.jsonl`) {
		t.Fatalf("the error does not show the path with markers: %q", errOut.String())
	}
}

// TestDashboardHostileRowsEndToEnd runs `kalamdash serve`, writes the
// issue's rows into a table, and opens the real dashboard on it in tmux:
// subscribed in the Data view and selected in the SQL console, each row
// shows on one line with its escapes as markers, the rest of the screen
// keeps its colours (no SGR 31 anywhere), the window title stays the
// dashboard's, and the log file holds no control character either.
func TestDashboardHostileRowsEndToEnd(t *testing.T) {
	dir, bin := buildForTmux(t)
	url := startServe(t, bin, "--user", "alice:hostile-pw:dba")
	ctx := recCtx(t)
	c, err := client.Connect(ctx, url, client.WithAuth(client.Basic("alice", "hostile-pw")))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE NAMESPACE app", "CREATE TABLE app.t (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')"} {
		if _, err := c.Query(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := c.Query(ctx, "INSERT INTO app.t (id, body) VALUES (1, $1), (2, $2)", hostileEscapes, hostileLines); err != nil {
		t.Fatal(err)
	}
	c.Close()

	logFile := filepath.Join(dir, "dash.log")
	s := startTmuxWith(t, dir, bin, 120, 36, []string{"KALAMDB_PASSWORD=hostile-pw"}, "--url", url, "--user", "alice", "--log", logFile)
	s.waitText(30*time.Second, "server URL", "enter connect")
	s.keys("Enter")
	s.waitText(30*time.Second, "● connected")
	s.keys("3")
	s.waitText(10*time.Second, "Subscriptions")
	s.keys("s", "C-u")
	s.keys("-l", "SELECT * FROM app.t")
	s.keys("Enter")
	s.waitText(30*time.Second, inertEscapes, inertLines)
	s.keys("Enter")
	s.keys("-l", "SELECT * FROM app.t")
	s.keys("Enter")
	scr := s.waitFor("the rows in the SQL console too", 30*time.Second, func(scr string) bool {
		return strings.Count(scr, inertEscapes) == 2 && strings.Count(scr, inertLines) == 2
	})
	for _, l := range strings.Split(scr, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "line2") || strings.HasPrefix(strings.TrimSpace(l), "CR") {
			t.Fatalf("a value split its row:\n%s", scr)
		}
	}
	ansi := s.screenANSI()
	if strings.Contains(ansi, "\x1b[31m") || strings.Contains(ansi, ";31m") {
		t.Fatalf("the row's SGR 31 reached the terminal:\n%q", ansi)
	}
	if title := s.paneTitle(); strings.Contains(title, "PWNED") || !strings.Contains(title, "kalamdash") {
		t.Fatalf("window title %q", title)
	}
	s.quit()
	if b, err := os.ReadFile(logFile); err == nil {
		requireInert(t, "log file", string(b), false)
	}
}
