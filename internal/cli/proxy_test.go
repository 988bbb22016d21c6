package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/redact"
)

// startProxy runs kalamdash proxy with f until the test ends (or stop is
// called) and returns its URL, its stderr and stop, which returns
// runProxy's error.
func startProxy(t *testing.T, f proxyFlags) (url string, stderr *testkit.SyncBuffer, stop func() error) {
	t.Helper()
	if f.listen == "" {
		f.listen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(recCtx(t))
	stderr = &testkit.SyncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runProxy(ctx, f, &bytes.Buffer{}, stderr, ready) }()
	select {
	case addr := <-ready:
		url = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("proxy did not start: %v\n%s", err, stderr.String())
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return url, stderr, stop
}

// TestProxyHeadlessRecordsAnotherApplication: kalamdash record, an
// application of its own, connects through kalamdash proxy --headless
// --record; the proxy prints a line when its socket opens and closes, and
// its recording holds the session redacted (or revealed) and replays.
func TestProxyHeadlessRecordsAnotherApplication(t *testing.T) {
	for _, reveal := range []bool{false, true} {
		t.Run(map[bool]string{false: "redacted", true: "revealed"}[reveal], func(t *testing.T) {
			srv := recServer(t)
			path := filepath.Join(t.TempDir(), "proxied.jsonl")
			url, stderr, stop := startProxy(t, proxyFlags{upstream: srv.URL, headless: true, record: path, reveal: reveal})

			if _, errOut, err := record(t, recordFlags{conn: connFlags{url: url, user: "alice", passwordStdin: true, noCompress: true},
				subscribe: []string{"SELECT * FROM app.messages"}, duration: 300 * time.Millisecond}, recAlicePW+"\n"); err != nil {
				t.Fatalf("record through the proxy: %v\n%s", err, errOut)
			}
			testkit.Eventually(t, "the proxy's line for the socket's end", func() bool {
				return strings.Contains(stderr.String(), "socket 1 closed")
			})
			if err := stop(); err != nil {
				t.Fatalf("proxy: %v", err)
			}
			lines := stderr.String()
			for _, want := range []string{"relaying " + url + " → " + srv.URL, "socket 1 opened from 127.0.0.1:", "/v1/ws?compress=false",
				"socket 1 closed from 127.0.0.1:", "as alice (user)", "stopped"} {
				if !strings.Contains(lines, want) {
					t.Errorf("proxy output lacks %q:\n%s", want, lines)
				}
			}

			testkit.WantMode(t, path, 0o600)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := recording.Read(bytes.NewReader(data), path)
			if err != nil {
				t.Fatalf("read the proxy's recording: %v", err)
			}
			types := map[string]int{}
			for _, f := range rec.Frames {
				types[f.Type]++
				data = append(append(data, '\n'), f.Wire...)
			}
			for _, want := range []string{"POST /v1/api/auth/login", "GET /v1/ws", "auth_success", "subscribe", "subscription_ack", "initial_data_batch"} {
				if types[want] == 0 {
					t.Errorf("recording has no %s frame: %v", want, types)
				}
			}
			if rec.End == nil || rec.End.Reason != "interrupted" || rec.Header.SecretsRevealed != reveal {
				t.Errorf("recording end %+v, secrets revealed %v", rec.End, rec.Header.SecretsRevealed)
			}
			hasPW, hasJWT := bytes.Contains(data, []byte(recAlicePW)), anyJWT.Match(data)
			if reveal != hasPW || reveal != hasJWT {
				t.Errorf("reveal=%v but the recording holds the password: %v, a token: %v", reveal, hasPW, hasJWT)
			}
			if !reveal && !bytes.Contains(data, []byte(redact.Marker)) {
				t.Error("nothing redacted: were the credentials recorded at all?")
			}
			replayServes(t, path, 5)
		})
	}
}

// TestProxyListensOnLoopbackUnlessAllowed: a non-loopback --listen needs
// --allow-remote, and is warned about.
func TestProxyListensOnLoopbackUnlessAllowed(t *testing.T) {
	srv := recServer(t)
	err := runProxy(recCtx(t), proxyFlags{listen: "0.0.0.0:0", upstream: srv.URL}, &bytes.Buffer{}, &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "--allow-remote") {
		t.Fatalf("non-loopback listen without --allow-remote: %v", err)
	}
	_, stderr, stop := startProxy(t, proxyFlags{listen: "0.0.0.0:0", allowRemote: true, upstream: srv.URL, headless: true})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "warning: listening on 0.0.0.0:0, beyond this machine") {
		t.Errorf("no warning for a remote listen address:\n%s", stderr.String())
	}
	if err := runProxy(recCtx(t), proxyFlags{listen: "127.0.0.1:0"}, &bytes.Buffer{}, &bytes.Buffer{}, nil); err == nil || !strings.Contains(err.Error(), "no upstream") {
		t.Errorf("no upstream: %v", err)
	}
	// The proxy relays to one server: a cluster's node list is refused.
	nodes := proxyFlags{listen: "127.0.0.1:0", upstream: srv.URL + ",http://127.0.0.1:1"}
	if err := runProxy(recCtx(t), nodes, &bytes.Buffer{}, &bytes.Buffer{}, nil); err == nil || !strings.Contains(err.Error(), "lists 2 cluster nodes") {
		t.Errorf("node list upstream: %v", err)
	}
}
