package tokensource_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/client/tokensource"
	"github.com/kalamdash/kalamdash/internal/testkit"
)

// TestFileRotatedTokenUsedOnReconnect: a sidecar rotates the file; the next
// reconnect authenticates with the new token, and no token reaches the tap.
func TestFileRotatedTokenUsedOnReconnect(t *testing.T) {
	srv := newServer(t)
	path := filepath.Join(t.TempDir(), "token")
	aliceTok, bobTok := mintToken(t, "alice", time.Hour), mintToken(t, "bob", time.Hour)
	testkit.WriteFile(t, path, aliceTok+"\n")
	src := tokensource.NewFile(path)
	c := connect(t, srv, src.Provider())
	if ev := waitConnected(t, c); ev.User != "alice" {
		t.Fatalf("first connection as %q, want alice", ev.User)
	}
	testkit.WriteFile(t, path, `{"access_token":"`+bobTok+`"}`)
	srv.DropAll()
	if ev := waitConnected(t, c); ev.User != "bob" {
		t.Fatalf("after rotation connected as %q, want bob", ev.User)
	}
	inv := src.Invocations()
	if len(inv) != 2 || inv[0].Fingerprint != client.Fingerprint(aliceTok) || inv[1].Fingerprint != client.Fingerprint(bobTok) {
		t.Fatalf("invocations = %+v", inv)
	}
	_ = c.Close()
	for f := range c.Frames() {
		for _, tok := range []string{aliceTok, bobTok} {
			if bytes.Contains(f.Wire, []byte(tok)) || bytes.Contains(f.Decoded, []byte(tok)) {
				t.Fatalf("tapped %s frame %q carries a token", f.Opcode, f.Type)
			}
		}
	}
}

// TestFileErrorsAndWarnings covers a missing file, a directory, garbage and
// a file readable by others.
func TestFileErrorsAndWarnings(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if _, err := tokensource.NewFile(filepath.Join(dir, "missing")).Provide(ctx); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := tokensource.NewFile(dir).Provide(ctx); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("directory: %v", err)
	}
	garbage := filepath.Join(dir, "garbage")
	testkit.WriteFile(t, garbage, "<html>login</html>")
	if _, err := tokensource.NewFile(garbage).Provide(ctx); err == nil || !strings.Contains(err.Error(), "holds no usable token") {
		t.Fatalf("garbage: %v", err)
	}
	open := filepath.Join(dir, "open")
	testkit.WriteFile(t, open, mintToken(t, "alice", time.Hour))
	testkit.SetMode(t, open, 0o644)
	src := tokensource.NewFile(open)
	if _, err := src.Provide(ctx); err != nil {
		t.Fatal(err)
	}
	if w := src.Invocations()[0].Warning; !strings.Contains(w, "readable by others") {
		t.Fatalf("warning = %q", w)
	}
}

// TestFileWatchReportsChanges: rewriting the file is noticed and reported
// with the new token's fingerprint; an unusable rewrite is reported too.
func TestFileWatchReportsChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	testkit.WriteFile(t, path, mintToken(t, "alice", time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := tokensource.NewFile(path).Watch(ctx, 10*time.Millisecond)
	next := mintToken(t, "bob", time.Hour)
	testkit.WriteFile(t, path, next)
	select {
	case ch := <-changes:
		if ch.Err != nil || ch.Fingerprint != client.Fingerprint(next) {
			t.Fatalf("change = %+v", ch)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
	}
	testkit.WriteFile(t, path, "not a token")
	select {
	case ch := <-changes:
		if ch.Err == nil {
			t.Fatalf("unusable content reported without error: %+v", ch)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported for unusable content")
	}
	cancel()
	for range changes { // the channel closes once the watcher stops
	}
}
