package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
)

// runVerifyAgainst runs kalamdash verify on app.messages of recServer as
// alice and returns its output and exit code.
func runVerifyAgainst(t *testing.T, srv *kalamtest.Server, loaded func(*session.Conn)) (string, int) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no profiles file
	f := verifyFlags{conn: connFlags{url: srv.URL, user: "alice", passwordStdin: true},
		subscribe: []string{"SELECT * FROM app.messages"}, timeout: time.Minute, pageSize: 100, loaded: loaded}
	var out bytes.Buffer
	err := runVerify(recCtx(t), f, strings.NewReader(recAlicePW+"\n"), &out)
	return out.String(), exitCode(err)
}

func TestVerifyCommandCleanExitsZero(t *testing.T) {
	srv := recServer(t)
	out, code := runVerifyAgainst(t, srv, func(*session.Conn) {
		srv.MustExec("alice", "INSERT INTO app.messages (id, body) VALUES (100, 'live')")
	})
	if code != exitOK || !strings.Contains(out, "sub-1 SELECT * FROM app.messages: clean") {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	if !strings.Contains(out, "missing from the live view: 0") {
		t.Errorf("no counts in:\n%s", out)
	}
}

// A burst while the socket cannot write overflows the server's 128-deep
// notification queue (KalamDB's default, kalamdb-live
// connections_manager.rs); verify reports the exact number missing, names
// the queue, and exits 4.
func TestVerifyCommandOverflowExitsMismatch(t *testing.T) {
	const queue, burst = 128, 300
	srv := recServer(t)
	out, code := runVerifyAgainst(t, srv, func(c *session.Conn) {
		srv.Stall(time.Minute)
		var b strings.Builder
		b.WriteString("INSERT INTO app.messages (id, body) VALUES ")
		for i := range burst {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, 'burst <\x1b[31m>')", 1000+i)
		}
		srv.MustExec("alice", b.String())
		waitCLI(t, "the queue to overflow", func() bool { return srv.NotificationDrops() >= burst-queue })
		srv.Stall(0)
		waitCLI(t, "the queued rows", func() bool {
			s, _ := c.Subscription("sub-1")
			return s.Inserts == queue
		})
		srv.MustExec("alice", "INSERT INTO app.messages (id, body) VALUES (5000, 'after')")
		waitCLI(t, "the row after the burst", func() bool {
			s, _ := c.Subscription("sub-1")
			return s.Inserts == queue+1
		})
	})
	if code != exitMismatch {
		t.Fatalf("exit %d, want %d; output:\n%s", code, exitMismatch, out)
	}
	want := fmt.Sprintf("missing from the live view: %d (queue drop %d)", burst-queue, burst-queue)
	if !strings.Contains(out, "MISMATCH") || !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, "burst <␛[31m>") {
		t.Errorf("row text from the server reached the terminal raw:\n%q", out)
	}
}

func waitCLI(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A malformed node list in --url is refused before anything connects,
// naming the entry at fault, for every command that takes the connection
// flags.
func TestMalformedNodeListIsRefused(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no profiles file
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:1,,http://127.0.0.1:2", "node 2 of 3 in the URL list is empty"},
		{"http://127.0.0.1:1,127.0.0.1:2", `node 2 of 2 ("127.0.0.1:2"): URL "127.0.0.1:2" has no scheme`},
		{"http://127.0.0.1:1,http://127.0.0.1:1", "repeats node 1"},
		// Quoted without the credentials it is refused for.
		{"http://127.0.0.1:1,http://alice:hunter2@127.0.0.1:2", `server URL "http://127.0.0.1:1,http://alice@127.0.0.1:2"`},
	} {
		f := verifyFlags{conn: connFlags{url: tc.url, user: "alice", passwordStdin: true},
			subscribe: []string{"SELECT * FROM app.messages"}, timeout: time.Minute, pageSize: 100}
		var out bytes.Buffer
		err := runVerify(recCtx(t), f, strings.NewReader(recAlicePW+"\n"), &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "server URL") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("verify --url %q: %v, want a refusal saying %q", tc.url, err, tc.want)
		}
		_, err = recordProfile(recordFlags{conn: connFlags{url: tc.url, user: "alice", passwordStdin: true}}, strings.NewReader(recAlicePW+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("record --url %q: %v, want a refusal saying %q", tc.url, err, tc.want)
		}
	}
}
