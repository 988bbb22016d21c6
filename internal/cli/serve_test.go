package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// requireServeRefuses runs kalamdash serve with each set of flags and
// requires it to refuse them.
func requireServeRefuses(t *testing.T, flagSets [][]string) {
	t.Helper()
	for _, bad := range flagSets {
		cmd := newServeCmd()
		cmd.SetArgs(append(bad, "--addr", "127.0.0.1:0"))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestServeFlagsValidation(t *testing.T) {
	requireServeRefuses(t, [][]string{
		{"--user", "alice"},
		{"--user", ":pw"},
		{"--user", "alice::dba"},
		{"--access-ttl", "-1s"},
		{"--max-connections", "-1"},
		{"--max-connections-per-ip", "-5"},
	})
}

// serveServer starts the server kalamdash serve would start with f, until
// the test ends.
func serveServer(t *testing.T, f serveFlags) *kalamtest.Server {
	t.Helper()
	opts, err := serveOptions(f)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := kalamtest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// --user NAME:PASSWORD[:ROLE] splits at the first colon and, when what
// follows the last colon is a role, there too: a password may hold
// colons. The users must then log in with exactly those passwords and get
// those roles.
func TestServeUsersWithColonsInPasswords(t *testing.T) {
	srv := serveServer(t, serveFlags{addr: "127.0.0.1:0", users: []string{"a:p:w:dba", "b:pass", "c:x:y", "d:z::USER"}, accessTTL: time.Minute})
	for _, u := range []struct{ name, password, role string }{
		{"a", "p:w", "dba"}, {"b", "pass", "user"}, {"c", "x:y", "user"}, {"d", "z:", "user"},
	} {
		body, _ := json.Marshal(map[string]string{"user": u.name, "password": u.password})
		res, err := http.Post(srv.URL+"/v1/api/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var login struct {
			User struct{ Role string } `json:"user"`
		}
		err = json.NewDecoder(res.Body).Decode(&login)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil || login.User.Role != u.role {
			t.Errorf("login %s with %q: %d, role %q (%v); want 200 and role %s", u.name, u.password, res.StatusCode, login.User.Role, err, u.role)
		}
	}
}

// `kalamdash serve` runs until its context ends, serves HTTP, logs one
// line per request without secrets, and shuts down cleanly.
func TestServeRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs testkit.SyncBuffer
	cmd := newServeCmd()
	cmd.SetArgs([]string{"--addr", "127.0.0.1:0", "--user", "alice:S3cret-pw:dba", "--demo", "--access-ttl", "2m"})
	cmd.SetOut(&out)
	cmd.SetErr(&logs)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
	deadline := time.Now().Add(20 * time.Second)
	var url string
	for url == "" && time.Now().Before(deadline) {
		url = re.FindString(out.String())
		time.Sleep(5 * time.Millisecond)
	}
	if url == "" {
		t.Fatalf("no URL printed: %q %q", out.String(), logs.String())
	}
	res, err := http.Post(url+"/v1/api/auth/login", "application/json", strings.NewReader(`{"user":"alice","password":"S3cret-pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"role":"dba"`) {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	cancel()
	if err := testkit.Receive(t, done, "serve to stop", nil); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	l := logs.String()
	if !strings.Contains(l, "path=/v1/api/auth/login") || !strings.Contains(l, "status=200") {
		t.Errorf("no request log line:\n%s", l)
	}
	if strings.Contains(l, "S3cret-pw") || strings.Contains(l, "eyJ") {
		t.Errorf("secrets in the log:\n%s", l)
	}
	if !strings.Contains(out.String(), "demo users") {
		t.Errorf("demo banner missing: %s", out.String())
	}
}

// --firehose and its flags reach the server: the table exists and the
// report carries the configured rate and row size.
func TestServeFirehoseFlags(t *testing.T) {
	srv := serveServer(t, serveFlags{addr: "127.0.0.1:0", accessTTL: time.Minute,
		firehose: true, fireRate: 100, fireRow: 32, queue: 4096})
	rep, ok := srv.Firehose()
	if !ok || rep.Rate != 100 || rep.RowBytes != 32 {
		t.Fatalf("firehose report %+v (on: %v); want rate 100, row 32", rep, ok)
	}
	if _, err := serveOptions(serveFlags{addr: "127.0.0.1:0", accessTTL: time.Minute, queue: -1}); err == nil {
		t.Error("--notify-queue -1 accepted")
	}
	bad, err := serveOptions(serveFlags{addr: "127.0.0.1:0", accessTTL: time.Minute, firehose: true, fireRate: -5})
	if err == nil {
		if srv2, err := kalamtest.NewServer(bad...); err == nil {
			srv2.Close()
			t.Error("--firehose-rate -5 accepted")
		}
	}
}
