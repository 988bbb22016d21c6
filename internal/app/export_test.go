package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/session"
	"github.com/kalamdash/kalamdash/ui"
)

// TestDashboardExportIsARecording: the inspector's export writes the
// recording format (replayable, redacted, 0600) and HAR 1.2, honouring the
// filter.
func TestDashboardExportIsARecording(t *testing.T) {
	b, srv := newDemoBackend(t)
	c := openDemo(t, b, srv, ui.LoginRequest{Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW})
	testkit.Poll(t, "a few inbound frames", c.Snapshot, func(s ui.Snapshot) bool { return s.Stats.FramesIn >= 5 })
	ex, ok := c.Frames().(ui.FrameExporter)
	if !ok {
		t.Fatal("the session frame source does not implement ui.FrameExporter")
	}
	dir := t.TempDir()
	all := filepath.Join(dir, "all.jsonl")
	n, err := ex.ExportFrames(all, "jsonl", ui.FrameFilter{}, false)
	if err != nil || n == 0 {
		t.Fatalf("export: n=%d err=%v", n, err)
	}
	rec, err := recording.ReadFile(all)
	if err != nil {
		t.Fatalf("the export is not a readable recording: %v", err)
	}
	if len(rec.Frames) != n || rec.Header.ServerURL != srv.URL || rec.Header.SecretsRevealed {
		t.Fatalf("recording: %d frames (exported %d), header %+v", len(rec.Frames), n, rec.Header)
	}
	if st, err := os.Stat(all); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("export mode: %v %v", st.Mode(), err)
	}
	raw, _ := os.ReadFile(all)
	if bytes.Contains(raw, []byte(`"password":"`+kalamtest.DemoAdminPW)) || bytes.Contains(raw, []byte(`\"password\":\"`+kalamtest.DemoAdminPW)) {
		t.Fatal("the export carries the password")
	}

	in := filepath.Join(dir, "in.jsonl")
	nIn, err := ex.ExportFrames(in, "jsonl", ui.FrameFilter{Dir: "in"}, false)
	if err != nil || nIn == 0 {
		t.Fatalf("filtered export: %d frames, err %v", nIn, err)
	}
	// The demo keeps streaming, so this later export may hold more
	// inbound frames than the whole one had: what it holds must be
	// inbound only.
	recIn, err := recording.ReadFile(in)
	if err != nil || len(recIn.Frames) != nIn {
		t.Fatalf("the filtered export: %v (%d frames read, %d exported)", err, len(recIn.Frames), nIn)
	}
	if !slices.ContainsFunc(rec.Frames, func(f client.Frame) bool { return f.Direction == client.Outbound }) {
		t.Fatal("the whole export has no outbound frame for the filter to leave out")
	}
	for _, f := range recIn.Frames {
		if f.Direction != client.Inbound {
			t.Fatalf("the inbound-only export holds a %s %s frame", f.Direction, f.Type)
		}
	}

	har := filepath.Join(dir, "frames.har")
	if _, err := ex.ExportFrames(har, "har", ui.FrameFilter{}, false); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Version string            `json:"version"`
			Entries []json.RawMessage `json:"entries"`
		} `json:"log"`
	}
	data, _ := os.ReadFile(har)
	if err := json.Unmarshal(data, &doc); err != nil || doc.Log.Version != "1.2" || len(doc.Log.Entries) == 0 {
		t.Fatalf("HAR: version %q, %d entries, err %v", doc.Log.Version, len(doc.Log.Entries), err)
	}
}

// TestExportRedactsFramesCapturedWithReveal: with --reveal-secrets the log
// holds tokens in clear; an export without reveal still carries none.
func TestExportRedactsFramesCapturedWithReveal(t *testing.T) {
	srv, err := kalamtest.NewServer(kalamtest.WithDemo())
	if err != nil {
		t.Fatal(err)
	}
	b := NewBackend(session.NewManager(session.WithClientOptions(client.WithRevealSecrets(true))), srv, nil)
	t.Cleanup(func() {
		b.Close()
		srv.Close()
	})
	c := openDemo(t, b, srv, ui.LoginRequest{Auth: "password", User: kalamtest.DemoAdmin, Password: kalamtest.DemoAdminPW})
	testkit.Poll(t, "a few inbound frames", c.Snapshot, func(s ui.Snapshot) bool { return s.Stats.FramesIn >= 3 })
	ex := c.Frames().(ui.FrameExporter)
	leaks := func(path string) bool {
		rec, err := recording.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range rec.Frames {
			for _, p := range [][]byte{f.Wire, f.Decoded} {
				if bytes.Contains(p, []byte(`"access_token":"eyJ`)) || bytes.Contains(p, []byte("Bearer eyJ")) {
					return true
				}
			}
		}
		return false
	}
	dir := t.TempDir()
	if _, err := ex.ExportFrames(filepath.Join(dir, "shown.jsonl"), "jsonl", ui.FrameFilter{}, true); err != nil {
		t.Fatal(err)
	}
	if !leaks(filepath.Join(dir, "shown.jsonl")) {
		t.Fatal("revealed export has no token: the check below would prove nothing")
	}
	if _, err := ex.ExportFrames(filepath.Join(dir, "hidden.jsonl"), "jsonl", ui.FrameFilter{}, false); err != nil {
		t.Fatal(err)
	}
	if leaks(filepath.Join(dir, "hidden.jsonl")) {
		t.Fatal("export without reveal carries a token captured with --reveal-secrets")
	}
}
