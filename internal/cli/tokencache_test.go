package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/internal/app"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// requests counts the lines of a kalamtest request log (testkit.SyncBuffer)
// for path.
func requests(log *testkit.SyncBuffer, path string) int {
	return strings.Count(log.String(), "path="+path+" ")
}

// waitNotice reads backend events until a notice arrives.
func waitNotice(t *testing.T, b *app.Backend) ui.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-b.Events():
			if ev.Kind == ui.EventNotice {
				return ev
			}
		case <-deadline:
			t.Fatal("no notice within 10 s")
		}
	}
}

// TestDashboardCachedProfileRefreshesDeadAccessToken starts the dashboard's
// session wiring three times (as three runs of kalamdash would) on one
// cache directory and one fake clock: a password login fills the cache; a
// start after the access token died resumes through the refresh token with
// an empty password field; a start after the server revoked every token
// falls back to asking for the password, and says why.
func TestDashboardCachedProfileRefreshesDeadAccessToken(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome)
	cacheFile := filepath.Join(cacheHome, "kalamdash", "tokens", "cached.json")

	clk := session.NewFakeClock(time.Unix(time.Now().Unix(), 0))
	const accessTTL, refreshTTL = 100 * time.Second, 1000 * time.Second
	reqs := &testkit.SyncBuffer{}
	srv, err := kalamtest.NewServer(kalamtest.WithClock(clk.Now), kalamtest.WithUser("alice", "alice-pw", "user"),
		kalamtest.WithAccessTTL(accessTTL), kalamtest.WithRefreshTTL(refreshTTL), kalamtest.WithAuthRateLimit(0),
		kalamtest.WithHeartbeatTimeout(1000*time.Hour), kalamtest.WithLogWriter(reqs))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	profiles := []session.Profile{{Name: "cached", URL: srv.URL, Auth: session.AuthPassword, User: "alice", CacheToken: true}}
	req := ui.LoginRequest{Name: "cached", Profile: "cached", URL: srv.URL, Auth: "password", User: "alice"}
	// run is one start of kalamdash: the manager runDashboard builds (on
	// the fake clock), and the login form submitted with req.
	run := func(req ui.LoginRequest) (*app.Backend, ui.Conn, error) {
		mgr := session.NewManager(append(dashboardManagerOptions(rootFlags{}), session.WithClock(clk))...)
		b := app.NewBackend(mgr, nil, profiles)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := b.Open(ctx, req)
		return b, c, err
	}
	// readCache returns the cache file, which must be 0600.
	readCache := func() string {
		t.Helper()
		data, err := os.ReadFile(cacheFile)
		if err != nil {
			t.Fatalf("token cache: %v", err)
		}
		testkit.WantMode(t, cacheFile, 0o600)
		return string(data)
	}

	// 1. The password login fills the cache (0600).
	withPW := req
	withPW.Password = "alice-pw"
	b, _, err := run(withPW)
	if err != nil {
		t.Fatalf("password login: %v", err)
	}
	b.Close()
	first := readCache()

	// 2. The access token dies; the refresh token lives. An empty password
	// field resumes through one refresh and caches the rotated pair.
	clk.Advance(accessTTL + session.Leeway + time.Second)
	b, c, err := run(req)
	if err != nil {
		t.Fatalf("start with a dead access token and a live refresh token: %v", err)
	}
	if n := requests(reqs, "/v1/api/auth/refresh"); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
	if n := requests(reqs, "/v1/api/auth/login"); n != 1 {
		t.Errorf("%d logins, want only the first", n)
	}
	ev := waitNotice(t, b)
	if ev.Err || !strings.Contains(ev.Text, "resumed with the cached refresh token") || ev.ConnID != "cached" {
		t.Errorf("notice %+v", ev)
	}
	testkit.Poll(t, "connected", c.Snapshot, func(s ui.Snapshot) bool { return s.State == "connected" })
	second := readCache()
	if second == first {
		t.Error("the cache was not rewritten after the refresh")
	}
	b.Close()

	// 3. The server revokes every token and the new access token dies too:
	// the refresh is refused, the form asks for the password and says why.
	srv.RevokeTokens()
	clk.Advance(accessTTL + session.Leeway + time.Second)
	b, _, err = run(req)
	defer b.Close()
	if err == nil {
		t.Fatal("started without a password although the server revoked the cached tokens")
	}
	if n := requests(reqs, "/v1/api/auth/refresh"); n != 2 {
		t.Errorf("%d refresh requests, want 2", n)
	}
	for _, want := range []string{"needs a password", "Invalid credentials"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("login error %q does not say %q", err, want)
		}
	}
	ev = waitNotice(t, b)
	if !ev.Err || !strings.Contains(ev.Text, "Invalid credentials") || !strings.Contains(ev.Hint, "password") {
		t.Errorf("notice %+v", ev)
	}
	for _, secret := range []string{"alice-pw", first, second} {
		for _, tok := range tokensIn(secret) {
			if strings.Contains(ev.Text+ev.Hint+err.Error(), tok) {
				t.Errorf("a token shows in the notice or error: %q / %q", ev.Text, err)
			}
		}
	}
	if _, err := os.Stat(cacheFile); !os.IsNotExist(err) {
		t.Errorf("the refused pair is still cached (%v)", err)
	}
}

// tokensIn returns the JWTs in a cache file's JSON (or s itself when it
// holds none): the strings a notice must not show.
func tokensIn(s string) []string {
	var out []string
	for _, f := range strings.Split(s, `"`) {
		if strings.Count(f, ".") == 2 && len(f) > 40 {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = append(out, s)
	}
	return out
}
