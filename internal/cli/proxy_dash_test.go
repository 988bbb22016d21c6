package cli

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// hostileUser is a user name a server may hold: an OSC title change and
// a colour change, which the tab's title must draw inertly.
const (
	hostileUser      = "eve\x1b]0;PWNED-TITLE\x07\x1b[31m"
	inertHostileUser = `eve␛]0;PWNED-TITLE\x07␛[31m`
	// A column name (a subscription's alias) with a colour change, in the
	// rows' header.
	hostileColumn = "n\x1b[31mote"
	inertColumn   = `n␛[31mote`
)

var relayAddrRE = regexp.MustCompile(`relays (http://127\.0\.0\.1:\d+)`)

// TestProxyDashboardEndToEnd runs `kalamdash serve`, `kalamdash proxy` in
// its dashboard mode in tmux, and a second process, `kalamdash record
// --subscribe`, connected through the proxy as a user whose name carries
// escape sequences. The dashboard opens on the proxy's empty state, then
// shows the second process's connection as a tab of its own (address and
// user, inert), its frames, its token counting down and its rows as they
// are written, hostile ones inert; D drops its socket and the same tab
// shows it reconnect.
func TestProxyDashboardEndToEnd(t *testing.T) {
	dir, bin := buildForTmux(t)
	url := startServe(t, bin, "--user", "alice:proxy-pw:dba", "--user", hostileUser+":eve-pw:user", "--access-ttl", "10m")
	ctx := recCtx(t)
	admin, err := client.Connect(ctx, url, client.WithAuth(client.Basic("alice", "proxy-pw")))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, q := range []string{"CREATE NAMESPACE app", "CREATE TABLE app.t (id BIGINT PRIMARY KEY, body TEXT) WITH (TYPE = 'USER')"} {
		if _, err := admin.Query(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	eve, err := client.Connect(ctx, url, client.WithAuth(client.Basic(hostileUser, "eve-pw")))
	if err != nil {
		t.Fatal(err)
	}
	defer eve.Close()
	if _, err := eve.Query(ctx, "INSERT INTO app.t (id, body) VALUES (1, 'first row')"); err != nil {
		t.Fatal(err)
	}

	s := startTmuxWith(t, dir, bin, 120, 36, nil, "proxy", "--listen", "127.0.0.1:0", "--upstream", url)
	scr := s.waitText(30*time.Second, "Point your application at", "n opens a connection of your own")
	m := relayAddrRE.FindStringSubmatch(scr)
	if m == nil {
		t.Fatalf("no relay address on the empty state:\n%s", scr)
	}
	proxyURL := m[1]

	app := exec.Command(bin, "record", "--url", proxyURL, "--user", hostileUser, "--password-stdin",
		"--subscribe", "SELECT id, body AS \""+hostileColumn+"\" FROM app.t", "--duration", "2m", "--out", filepath.Join(dir, "app.jsonl"))
	app.Stdin = strings.NewReader("eve-pw\n")
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Process.Kill(); app.Wait() })

	// The application's tab, named by its address and user, and its frames.
	s.waitText(30*time.Second, "127.0.0.1:", inertHostileUser, "auth_success", "subscription_ack", "initial_data_batch")
	// Its token, counting down.
	s.keys("2")
	first := s.waitFor("the access countdown", 30*time.Second, func(scr string) bool { return countdownRE.MatchString(scr) })
	before := countdownRE.FindStringSubmatch(first)[1]
	s.waitFor("the countdown to move", 30*time.Second, func(scr string) bool {
		m := countdownRE.FindStringSubmatch(scr)
		return m != nil && m[1] != before
	})
	s.waitText(10*time.Second, "app login", "what the application obtained or presented")
	// Its rows, as they are written: a hostile one drawn inertly.
	s.keys("3")
	s.waitText(30*time.Second, "first row", inertColumn)
	if _, err := eve.Query(ctx, "INSERT INTO app.t (id, body) VALUES (2, $1), (3, $2)", hostileEscapes, hostileLines); err != nil {
		t.Fatal(err)
	}
	s.waitText(30*time.Second, inertEscapes, inertLines)
	if ansi := s.screenANSI(); strings.Contains(ansi, "\x1b[31m") || strings.Contains(ansi, ";31m") {
		t.Fatalf("an SGR 31 from a row or the user name reached the terminal:\n%q", ansi)
	}
	// The title names the tab, its user drawn inertly like everywhere.
	title := s.paneTitle()
	requireInert(t, "window title", title, false)
	if !strings.HasPrefix(title, "kalamdash — 127.0.0.1:") || !strings.Contains(title, inertHostileUser) {
		t.Fatalf("window title %q", title)
	}
	// Steering: D drops the application's socket; it reconnects, on the
	// same tab.
	s.keys("D")
	s.waitText(10*time.Second, "dropped socket #1")
	s.waitText(30*time.Second, "reconn 1", "● connected")
	if strings.Contains(s.screen(), " 2 127.0.0.1:") {
		t.Fatalf("the reconnect opened a second tab:\n%s", s.screen())
	}
	s.quit()
}
