package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/kalamtest/mint"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/redact"
	"github.com/kalamdash/kalamdash/ui"
)

const (
	recAlicePW   = "alice-record-pw"
	recJWTSecret = "record-cmd-secret"
)

// anyJWT matches a JSON Web Token anywhere in a file.
var anyJWT = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// recServer starts kalamtest with alice and a table holding a few rows.
func recServer(t *testing.T) *kalamtest.Server {
	t.Helper()
	for _, k := range []string{"KALAMDB_URL", "KALAMDB_USER", "KALAMDB_PASSWORD", "KALAMDB_TOKEN"} {
		t.Setenv(k, "")
	}
	// record reads profiles.toml: never the user's.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	srv, err := kalamtest.NewServer(kalamtest.WithUser("alice", recAlicePW, "user"), kalamtest.WithUser("admin", "admin-record-pw", "dba"),
		kalamtest.WithJWTSecret(recJWTSecret), kalamtest.WithAuthRateLimit(100000), kalamtest.WithMessageRateLimit(100000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	srv.MustExec("admin", "CREATE NAMESPACE IF NOT EXISTS app")
	srv.MustExec("admin", "CREATE TABLE app.messages (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')")
	for i := 0; i < 5; i++ {
		srv.MustExec("alice", "INSERT INTO app.messages (id, body) VALUES ($1, $2)", i, "row")
	}
	return srv
}

func recCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// record runs kalamdash record with f and returns the output file, stderr
// and the error.
func record(t *testing.T, f recordFlags, stdin string) ([]byte, string, error) {
	t.Helper()
	if f.out == "" {
		f.out = filepath.Join(t.TempDir(), "out")
	}
	if f.format == "" {
		f.format = "jsonl"
	}
	if f.progress == "" {
		f.progress = "never"
	}
	var stdout, stderr bytes.Buffer
	err := runRecord(recCtx(t), f, strings.NewReader(stdin), &stdout, &stderr)
	if f.out == "-" {
		return stdout.Bytes(), stderr.String(), err
	}
	data, rerr := os.ReadFile(f.out)
	if rerr != nil && err == nil {
		t.Fatalf("read output: %v", rerr)
	}
	if err == nil {
		testkit.WantMode(t, f.out, 0o600)
	}
	return data, stderr.String(), err
}

func TestRecordCommandWritesARecording(t *testing.T) {
	srv := recServer(t)
	data, stderr, err := record(t, recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true}, sql: []string{"SELECT COUNT(*) FROM app.messages"}, subscribe: []string{"SELECT * FROM app.messages"}, duration: 300 * time.Millisecond, progress: "always"}, recAlicePW+"\n")
	if err != nil {
		t.Fatalf("record: %v\n%s", err, stderr)
	}
	rec, err := recording.Read(bytes.NewReader(data), "out")
	if err != nil {
		t.Fatal(err)
	}
	h := rec.Header
	if h.ServerURL != srv.URL || h.ToolVersion != app.Version || h.Options.User != "alice" || h.Options.Auth != "password" ||
		len(h.Options.Subscribe) != 1 || h.Options.Duration != "300ms" {
		t.Fatalf("header %+v", h)
	}
	types := map[string]int{}
	for _, f := range rec.Frames {
		types[f.Type]++
	}
	for _, typ := range []string{"POST /v1/api/auth/login", "POST /v1/api/sql", "auth_success", "subscribe", "subscription_ack", "initial_data_batch"} {
		if types[typ] == 0 {
			t.Errorf("no %q frame (have %v)", typ, types)
		}
	}
	var sawSQL, sawSub bool
	for _, e := range rec.Events {
		sawSQL = sawSQL || (e.Event == recording.EventSQL && e.Error == "")
		sawSub = sawSub || (e.Event == recording.EventSubscribed && e.SubscriptionID == "sub-1")
	}
	if !sawSQL || !sawSub {
		t.Errorf("events %+v: want a sql and a subscribed event", rec.Events)
	}
	if rec.End == nil || rec.End.Reason != "duration" || rec.End.Frames != uint64(len(rec.Frames)) {
		t.Fatalf("trailer %+v", rec.End)
	}
	if !strings.Contains(stderr, "recording: ") || !strings.Contains(stderr, " frames, ") || !strings.Contains(stderr, "frames/s") {
		t.Fatalf("no progress line on stderr: %q", stderr)
	}
}

func TestRecordCommandStopsAfterCount(t *testing.T) {
	srv := recServer(t)
	data, _, err := record(t, recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true}, out: "-", subscribe: []string{"SELECT * FROM app.messages"}, count: 4}, recAlicePW+"\n")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := recording.Read(bytes.NewReader(data), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Frames) != 4 || rec.End == nil || rec.End.Reason != "count" {
		t.Fatalf("%d frames, trailer %+v; want 4 and reason count", len(rec.Frames), rec.End)
	}
}

func TestRecordCommandExitCodes(t *testing.T) {
	srv := recServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name  string
		f     recordFlags
		stdin string
		code  int
	}{
		{"wrong password", recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true}}, "wrong-password\n", exitAuth},
		{"forged token", recordFlags{conn: connFlags{url: srv.URL, token: forgeToken(t)}}, "", exitAuth},
		{"failing token command", recordFlags{conn: connFlags{url: srv.URL, tokenCommand: "false"}}, "", exitAuth},
		{"missing token file", recordFlags{conn: connFlags{url: srv.URL, tokenFile: filepath.Join(t.TempDir(), "none")}}, "", exitAuth},
		{"nothing listening", recordFlags{conn: connFlags{url: closed, user: "alice", passwordStdin: true}}, recAlicePW + "\n", exitUnreachable},
		{"no url", recordFlags{}, "", exitOther},
		{"bad format", recordFlags{conn: connFlags{url: srv.URL}, format: "xml"}, "", exitOther},
		{"refused statement", recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true}, sql: []string{"SELEC nonsense"}}, recAlicePW + "\n", exitOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			tc.f.out = out
			_, _, err := record(t, tc.f, tc.stdin)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit code %d (%v), want %d", got, err, tc.code)
			}
			if tc.code == exitAuth || tc.code == exitUnreachable {
				if _, serr := os.Stat(out); !os.IsNotExist(serr) {
					t.Fatalf("a failed connect left %s behind", out)
				}
			}
		})
	}
}

// TestRecordCommandExternalTokens: record takes the dashboard's connection
// flags, so --token-command and --token-file (alone, or from --profile)
// authenticate with the token they provide, which stays out of the file.
func TestRecordCommandExternalTokens(t *testing.T) {
	srv := recServer(t)
	dir := t.TempDir()
	tokenPath := filepath.Join(dir, "token")
	token, err := mint.Token(recJWTSecret, "alice", "user", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenPath, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	profiles := "[[profile]]\nname = \"filed\"\nurl = \"" + srv.URL + "\"\nauth = \"token-file\"\ntoken_file = \"" + tokenPath + "\"\n"
	if err := os.MkdirAll(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "kalamdash"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "kalamdash", "profiles.toml"), []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, auth string
		conn       connFlags
	}{
		{"token command", "token-command", connFlags{url: srv.URL, tokenCommand: "cat " + tokenPath}},
		{"token file", "token-file", connFlags{url: srv.URL, tokenFile: tokenPath}},
		{"profile", "token-file", connFlags{profile: "filed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, stderr, err := record(t, recordFlags{conn: tc.conn, sql: []string{"SELECT COUNT(*) FROM app.messages"}, count: 6}, "")
			if err != nil {
				t.Fatalf("record: %v\n%s", err, stderr)
			}
			rec, err := recording.Read(bytes.NewReader(data), "")
			if err != nil {
				t.Fatal(err)
			}
			if rec.Header.Options.Auth != tc.auth {
				t.Errorf("header auth %q, want %q", rec.Header.Options.Auth, tc.auth)
			}
			var user string
			for _, e := range rec.Events {
				if e.Event == recording.EventConnected {
					user = e.User
				}
			}
			if user != "alice" {
				t.Errorf("connected as %q, want the token's alice", user)
			}
			if bytes.Contains(data, []byte(token)) {
				t.Error("the provided token is in the recording")
			}
		})
	}
}

// forgeToken signs a token with the wrong secret.
func forgeToken(t *testing.T) string {
	tok, err := mint.Token("not-the-server-secret", "alice", "user", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestRecordCommandRedactsSecrets: neither the password nor any token
// reaches a JSONL or HAR file, unless --reveal-secrets — which the last
// case uses to prove the checks would see them.
func TestRecordCommandRedactsSecrets(t *testing.T) {
	srv := recServer(t)
	token, err := mint.Token(recJWTSecret, "alice", "user", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	base := func(f recordFlags) recordFlags {
		f.conn.url = srv.URL
		f.sql = []string{"SELECT * FROM app.messages"}
		f.subscribe = []string{"SELECT * FROM app.messages"}
		f.duration = 200 * time.Millisecond
		return f
	}
	for _, tc := range []struct {
		name   string
		f      recordFlags
		stdin  string
		reveal bool
	}{
		{"password jsonl", base(recordFlags{conn: connFlags{user: "alice", passwordStdin: true}}), recAlicePW + "\n", false},
		{"password har", base(recordFlags{conn: connFlags{user: "alice", passwordStdin: true}, format: "har"}), recAlicePW + "\n", false},
		{"token jsonl", base(recordFlags{conn: connFlags{token: token}}), "", false},
		{"token har", base(recordFlags{conn: connFlags{token: token}, format: "har"}), "", false},
		{"password revealed", base(recordFlags{conn: connFlags{user: "alice", passwordStdin: true}, reveal: true}), recAlicePW + "\n", true},
		{"token revealed", base(recordFlags{conn: connFlags{token: token}, reveal: true, format: "har"}), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, stderr, err := record(t, tc.f, tc.stdin)
			if err != nil {
				t.Fatalf("record: %v\n%s", err, stderr)
			}
			if !json.Valid(bytes.SplitN(data, []byte("\n"), 2)[0]) && tc.f.format != "har" {
				t.Fatalf("first line is not JSON")
			}
			if tc.f.format != "har" {
				// Wire bytes are base64 in the file: search them decoded too.
				rec, err := recording.Read(bytes.NewReader(data), "out")
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range rec.Frames {
					data = append(append(data, '\n'), f.Wire...)
				}
			}
			secret := recAlicePW
			if tc.f.conn.token != "" {
				secret = token
			}
			hasSecret := bytes.Contains(data, []byte(secret))
			hasJWT := anyJWT.Match(data)
			if tc.reveal {
				if !hasSecret || !hasJWT {
					t.Fatalf("revealed output lacks the secret (%v) or a token (%v)", hasSecret, hasJWT)
				}
				return
			}
			if hasSecret {
				t.Fatalf("output holds the secret %q", secret)
			}
			if m := anyJWT.Find(data); m != nil {
				t.Fatalf("output holds a token: %.40s…", m)
			}
			if !bytes.Contains(data, []byte(redact.Marker)) {
				t.Fatalf("nothing marked %s: were the credentials recorded at all?", redact.Marker)
			}
			if bytes.Contains(bytes.ToLower(data), []byte("bearer ey")) {
				t.Fatal("an Authorization header is in clear")
			}
		})
	}
}

// TestReplayCommand lists a recording, exports it to HAR and serves it to
// a real client.
func TestReplayCommand(t *testing.T) {
	srv := recServer(t)
	path := filepath.Join(t.TempDir(), "s.jsonl")
	if _, stderr, err := record(t, recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true, noCompress: true}, out: path, subscribe: []string{"SELECT * FROM app.messages"}, duration: 200 * time.Millisecond}, recAlicePW+"\n"); err != nil {
		t.Fatalf("record: %v\n%s", err, stderr)
	}
	srv.Close()

	var list bytes.Buffer
	if err := runReplay(recCtx(t), path, replayFlags{}, &list, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kalamdash recording v1", "auth_success", "subscription_ack", "** subscribed", "end: duration"} {
		if !strings.Contains(list.String(), want) {
			t.Fatalf("listing lacks %q:\n%s", want, list.String())
		}
	}

	harPath := filepath.Join(t.TempDir(), "s.har")
	if err := runReplay(recCtx(t), path, replayFlags{har: harPath}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var har recording.HARFile
	if b, err := os.ReadFile(harPath); err != nil || json.Unmarshal(b, &har) != nil || har.Log.Version != "1.2" || len(har.Log.Entries) == 0 {
		t.Fatalf("HAR export: %v %+v", err, har.Log.Creator)
	}
	testkit.WantMode(t, harPath, 0o600)

	replayServes(t, path, 5)
}

// replayServes serves the recording at path with replay --serve, reads
// the URL from its first line, connects like the recorded client
// (subscription sub-1 to app.messages, compression off) and waits for
// the recorded rows.
func replayServes(t *testing.T, path string, wantRows int) {
	t.Helper()
	// --serve: read the URL from the first line, connect like the
	// recorded client, and get the recorded subscription_ack back.
	ctx, cancel := context.WithCancel(recCtx(t))
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- runReplay(ctx, path, replayFlags{serve: true, addr: "127.0.0.1:0", wait: 5 * time.Second, quiet: true}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := line[strings.LastIndex(line, " at ")+4:]
	url = strings.TrimSpace(url)
	c, err := client.Connect(recCtx(t), url, client.WithAuthProvider(func(context.Context) (client.Auth, error) {
		return client.Basic("alice", "whatever"), nil
	}), client.WithDisableCompression(true))
	if err != nil {
		t.Fatalf("connect to %q: %v", url, err)
	}
	go func() {
		for range c.Events() {
		}
	}()
	s, err := c.Subscribe(recCtx(t), "SELECT * FROM app.messages", client.WithSubscriptionID("sub-1"))
	if err != nil {
		t.Fatalf("subscribe to the replay: %v", err)
	}
	rows := 0
	deadline := time.After(10 * time.Second)
	for rows < wantRows {
		select {
		case ev := <-s.Events():
			rows += len(ev.Rows)
		case <-deadline:
			t.Fatalf("%d rows replayed, want %d", rows, wantRows)
		}
	}
	c.Close()
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// TestReplayDashboardBackend: the offline backend behind `kalamdash replay
// FILE` serves the recorded frames through the dashboard's filters and
// summarises the session, and offers no network action.
func TestReplayDashboardBackend(t *testing.T) {
	srv := recServer(t)
	path := filepath.Join(t.TempDir(), "s.jsonl")
	if _, stderr, err := record(t, recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true}, out: path, subscribe: []string{"SELECT * FROM app.messages"}, duration: 200 * time.Millisecond}, recAlicePW+"\n"); err != nil {
		t.Fatalf("record: %v\n%s", err, stderr)
	}
	rec, err := recording.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.NewRecordingBackend(filepath.Base(path), rec).Open(recCtx(t), ui.LoginRequest{})
	if err != nil {
		t.Fatal(err)
	}
	src := c.Frames()
	if n := src.Len(ui.FrameFilter{}); n != len(rec.Frames) {
		t.Fatalf("%d frames in the inspector, %d recorded", n, len(rec.Frames))
	}
	acks := src.Page(ui.FrameFilter{Text: "subscription_ack"}, 0, 10)
	if len(acks) != 1 || acks[0].Sub != "sub-1" || acks[0].Dir != "in" {
		t.Fatalf("filtered page %+v", acks)
	}
	if n := src.Len(ui.FrameFilter{Class: "http"}); n < 2 {
		t.Fatalf("%d HTTP frames", n)
	}
	s := c.Snapshot()
	if s.URL != srv.URL || s.User != "alice" || s.Role != "user" || s.ConnID != 1 || s.State != "closed" ||
		s.Stats.FramesIn == 0 || s.Stats.FramesOut == 0 || len(s.Subs) != 1 || s.Subs[0].ID != "sub-1" || len(s.Stats.FramesPerSec) == 0 {
		t.Fatalf("snapshot %+v", s)
	}
	// Read-only: the dashboard offers no action that needs a server.
	if _, ok := c.(ui.Controls); ok {
		t.Error("a recording offers connection controls")
	}
	if _, ok := c.(ui.SQL); ok {
		t.Error("a recording offers SQL")
	}
	if _, ok := c.(ui.Faults); ok {
		t.Error("a recording offers fault controls")
	}
}

// TestRecordCommandStreamsUntilInterrupted: with no --duration or --count
// the recording streams to the file (readable while it grows) until
// Ctrl-C (a cancelled context), and then ends with reason "interrupted".
func TestRecordCommandStreamsUntilInterrupted(t *testing.T) {
	srv := recServer(t)
	out := filepath.Join(t.TempDir(), "live.jsonl")
	ctx, cancel := context.WithCancel(recCtx(t))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runRecord(ctx, recordFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true}, out: out, format: "jsonl", progress: "never", subscribe: []string{"SELECT * FROM app.messages"}}, strings.NewReader(recAlicePW+"\n"), io.Discard, io.Discard)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if bytes.Contains(b, []byte(`"type":"initial_data_batch"`)) {
			break // flushed while recording
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file never showed the initial data while recording:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.MustExec("alice", "INSERT INTO app.messages (id, body) VALUES (99, 'late')")
	for {
		b, _ := os.ReadFile(out)
		if bytes.Contains(b, []byte(`"type":"change"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change never reached the file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec, err := recording.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if rec.End == nil || rec.End.Reason != "interrupted" {
		t.Fatalf("trailer %+v, want reason interrupted", rec.End)
	}
}
