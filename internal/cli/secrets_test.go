package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/internal/vtscreen"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/theme"
	"github.com/kalamdash/kalamdash/ui"
)

// The secrets test runs one full session the way a user would — login
// with a password in the dashboard, refresh by provider and by refresh
// token, a forced reconnect, a subscription and SQL, an export, and
// `kalamdash record` to JSONL and HAR — then searches everything that was
// written or shown for the password and every token issued.

const (
	secUser     = "alice"
	secPassword = "Sekr1t-pw-for-the-secrets-test"
	secAdmin    = "secadmin"
	secAdminPW  = "secadmin-pw-Zq9"
)

// secretSet collects every secret seen during the session.
type secretSet struct {
	mu   sync.Mutex
	vals map[string]string // value → where it came from
}

func (s *secretSet) add(what string, vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals == nil {
		s.vals = map[string]string{}
	}
	for _, v := range vals {
		if v != "" {
			if _, ok := s.vals[v]; !ok {
				s.vals[v] = what
			}
		}
	}
}

// leaks returns which secrets text holds: whole, or (for tokens) their
// signature part, so a truncated token is caught too; and any JWT at all.
func (s *secretSet) leaks(text string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v, what := range s.vals {
		probe := v
		if i := strings.LastIndex(v, "."); i > 0 && len(v)-i > 16 {
			probe = v[i+1:]
		}
		if strings.Contains(text, probe) {
			out = append(out, what)
		}
	}
	if m := anyJWT.FindString(text); m != "" {
		out = append(out, "a JWT ("+m[:min(len(m), 24)]+"…)")
	}
	return out
}

// secOutput is one thing the session wrote or showed.
type secOutput struct {
	name string
	text string
}

func TestSecretsFullSession(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: runs the dashboard and kalamdash record against kalamtest")
	}
	for _, k := range []string{"KALAMDB_URL", "KALAMDB_USER", "KALAMDB_PASSWORD", "KALAMDB_TOKEN"} {
		t.Setenv(k, "")
	}
	var srvLog, appLog testkit.SyncBuffer
	// Tokens minted in the same second are identical; the server's clock
	// moves a minute before each step so every step issues new ones.
	var skew atomic.Int64
	tick := func() { skew.Add(int64(time.Minute)) }
	srv, err := kalamtest.NewServer(kalamtest.WithUser(secUser, secPassword, "user"), kalamtest.WithUser(secAdmin, secAdminPW, "dba"),
		kalamtest.WithLogWriter(&srvLog), kalamtest.WithAccessTTL(time.Hour),
		kalamtest.WithClock(func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.MustExec(secAdmin, "CREATE NAMESPACE IF NOT EXISTS sec")
	srv.MustExec(secAdmin, "CREATE USER TABLE sec.notes (id BIGINT PRIMARY KEY, body TEXT)")
	srv.MustExec(secUser, "INSERT INTO sec.notes (id, body) VALUES (1, 'first')")

	// The client and session log through the standard logger.
	prev := log.Writer()
	log.SetOutput(&appLog)
	defer log.SetOutput(prev)

	secrets := &secretSet{}
	secrets.add("the password", secPassword)
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "tokens")
	exportDir := filepath.Join(dir, "exports")
	if err := os.Mkdir(exportDir, 0o700); err != nil {
		t.Fatal(err)
	}

	// 1. The dashboard: login form → connected, with the token cache on.
	mgr := session.NewManager(session.WithTokenCache(session.TokenCache{Dir: cacheDir}))
	profiles := []session.Profile{{Name: "sec", URL: srv.URL, Auth: session.AuthPassword, User: secUser, CacheToken: true}}
	b := app.NewBackend(mgr, nil, profiles)
	defer b.Close()
	m := ui.New(b, ui.WithStyles(theme.NoColor(), true), ui.WithExportDir(exportDir), ui.WithLogin(ui.LoginDefaults{
		Profile: "sec", URL: srv.URL, Auth: "password", User: secUser, Password: secPassword}))
	const w, h = 160, 40
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	scr := vtscreen.New(tm.Output(), w, h)
	defer scr.Close()
	var outputs []secOutput
	outputs = append(outputs, secOutput{"login form", scr.WaitFor(t, 10*time.Second, "server URL")})
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	scr.WaitFor(t, 15*time.Second, "● connected")

	sc, ok := mgr.Conn("sec")
	if !ok {
		t.Fatalf("no session connection named sec; have %d", len(mgr.Conns()))
	}
	collect := func(what string) {
		access, refresh := sc.Client().Credentials()
		secrets.add(what+" access token", access)
		secrets.add(what+" refresh token", refresh)
		secrets.add(what+" socket token", sc.Client().SocketToken())
	}
	collect("login")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// 2. Refresh through the provider (a fresh login), then by refresh
	// token (the pair rotates), then a forced reconnect.
	tick()
	if _, err := sc.RefreshWith(ctx, session.MethodProvider); err != nil {
		t.Fatalf("refresh (provider): %v", err)
	}
	collect("RefreshAuth")
	tick()
	if _, err := sc.RefreshWith(ctx, session.MethodRefreshToken); err != nil {
		t.Fatalf("refresh (refresh token): %v", err)
	}
	collect("refresh-token rotation")
	tick()
	if err := sc.Reconnect(ctx); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	collect("reconnect")

	// 3. A subscription with a live change, and SQL.
	if _, err := sc.Subscribe(ctx, "SELECT * FROM sec.notes", session.SubscribeOptions{ID: "notes"}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	srv.MustExec(secUser, "INSERT INTO sec.notes (id, body) VALUES (2, 'second')")
	if _, err := sc.Query(ctx, "SELECT * FROM sec.notes"); err != nil {
		t.Fatalf("query: %v", err)
	}
	collect("after SQL")
	if len(secrets.vals) < 6 {
		t.Fatalf("collected %d secrets; want the password and at least 5 distinct tokens", len(secrets.vals))
	}

	// 4. Every view of the dashboard, and the frame detail of each frame
	// kind that carried a secret (login request and answer, refresh).
	for _, v := range []struct {
		key  rune
		want string
	}{{'2', "Rotations"}, {'3', "SQL console"}, {'1', "↕ OP"}} {
		tm.Send(tea.KeyPressMsg{Code: v.key, Text: string(v.key)})
		outputs = append(outputs, secOutput{"screen " + string(v.key), scr.WaitFor(t, 10*time.Second, v.want)})
	}
	tm.Send(tea.KeyPressMsg{Code: tea.KeyHome})
	for id := 1; id <= 8; id++ {
		if id > 1 {
			tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
		}
		outputs = append(outputs, secOutput{fmt.Sprintf("frame #%d detail", id), scr.WaitFor(t, 10*time.Second, fmt.Sprintf("#%d pretty", id))})
	}

	// 5. The dashboard's export: the key (JSON lines) and HAR.
	tm.Send(tea.KeyPressMsg{Code: 'e', Text: "e"})
	exported := waitFiles(t, exportDir, 1)
	harPath := filepath.Join(exportDir, "frames.har")
	if _, err := (app.FrameSource{Log: sc.Log(), URL: sc.Profile().URL}).ExportFrames(harPath, "har", ui.FrameFilter{}, false); err != nil {
		t.Fatalf("export HAR: %v", err)
	}
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	files := append(exported, harPath)

	// 6. kalamdash record, JSONL and HAR, password on stdin.
	for _, format := range []string{"jsonl", "har"} {
		tick()
		out := filepath.Join(dir, "record."+format)
		f := recordFlags{conn: connFlags{url: srv.URL, user: secUser, passwordStdin: true}, sql: []string{"SELECT * FROM sec.notes"}, subscribe: []string{"SELECT * FROM sec.notes"}, out: out, format: format, count: 12, progress: "never", duration: 2 * time.Second}
		var stdout, stderr bytes.Buffer
		if err := runRecord(ctx, f, strings.NewReader(secPassword+"\n"), &stdout, &stderr); err != nil {
			t.Fatalf("record %s: %v (stderr %s)", format, err, stderr.String())
		}
		outputs = append(outputs, secOutput{"record " + format + " stdout", stdout.String()}, secOutput{"record " + format + " stderr", stderr.String()})
		files = append(files, out)
	}

	// Credential files: the token cache, recordings and exports are 0600.
	cached, err := filepath.Glob(filepath.Join(cacheDir, "*"))
	if err != nil || len(cached) == 0 {
		t.Fatalf("token cache wrote nothing in %s (%v)", cacheDir, err)
	}
	for _, p := range append(files, cached...) {
		testkit.WantMode(t, p, 0o600)
	}
	// The cache is the one place tokens are meant to be: it proves the
	// collected tokens are the real ones.
	if raw, _ := os.ReadFile(cached[0]); len(secrets.leaks(string(raw))) == 0 {
		t.Errorf("token cache holds none of the collected tokens: the collection is broken")
	}

	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, secOutput{filepath.Base(p), string(raw)})
	}
	outputs = append(outputs, secOutput{"kalamtest log", srvLog.String()}, secOutput{"client/session log", appLog.String()})
	if !strings.Contains(srvLog.String(), secUser) {
		t.Errorf("the server log names no user; is it captured? %q", srvLog.String())
	}
	for _, o := range outputs {
		if len(o.text) == 0 && !strings.Contains(o.name, "std") && o.name != "client/session log" {
			t.Errorf("%s is empty: nothing was checked", o.name)
		}
		if l := secrets.leaks(o.text); len(l) > 0 {
			t.Errorf("%s shows %s", o.name, strings.Join(l, ", "))
		}
	}
}

// TestSecretsRevealed proves the search works: asked to reveal, the
// recording and the export do hold the password and the tokens.
func TestSecretsRevealed(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: runs kalamdash record against kalamtest")
	}
	for _, k := range []string{"KALAMDB_URL", "KALAMDB_USER", "KALAMDB_PASSWORD", "KALAMDB_TOKEN"} {
		t.Setenv(k, "")
	}
	srv, err := kalamtest.NewServer(kalamtest.WithUser(secUser, secPassword, "user"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()

	out := filepath.Join(dir, "revealed.jsonl")
	f := recordFlags{conn: connFlags{url: srv.URL, user: secUser, passwordStdin: true}, out: out, format: "jsonl", progress: "never", reveal: true, sql: []string{"SELECT 1"}, count: 6, duration: 3 * time.Second}
	if err := runRecord(ctx, f, strings.NewReader(secPassword+"\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("record --reveal-secrets: %v", err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	secrets := &secretSet{}
	secrets.add("the password", secPassword)
	if l := secrets.leaks(string(raw)); len(l) != 2 { // the password and a JWT
		t.Errorf("revealed recording shows %v; want the password and the tokens", l)
	}

	// The dashboard's export with reveal, over a session whose client
	// captured frames unredacted (kalamdash --reveal-secrets).
	mgr := session.NewManager(session.WithClientOptions(client.WithRevealSecrets(true)))
	b := app.NewBackend(mgr, nil, nil)
	defer b.Close()
	c, err := b.Open(ctx, ui.LoginRequest{Name: "rev", URL: srv.URL, Auth: "password", User: secUser, Password: secPassword})
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := mgr.Conn(c.ID())
	access, refresh := sc.Client().Credentials()
	secrets.add("access token", access)
	secrets.add("refresh token", refresh)
	exp := filepath.Join(dir, "revealed-export.jsonl")
	testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" && s.Stats.LogLen >= 4 })
	if _, err := c.Frames().(ui.FrameExporter).ExportFrames(exp, "jsonl", ui.FrameFilter{}, true); err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.Join(secrets.leaks(string(raw)), ", ")
	for _, want := range []string{"the password", "access token", "refresh token"} {
		if !strings.Contains(l, want) {
			t.Errorf("revealed export does not show %s (shows %s)", want, l)
		}
	}
}

// waitFiles waits until dir holds at least n files and returns them.
func waitFiles(t *testing.T, dir string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d files, want %d", dir, len(m), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
