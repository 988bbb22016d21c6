package recording_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/recording"
)

// TestExportFilteredFrames exports a subset of a live session (as the
// dashboard exports its filtered frame log) to JSONL and HAR.
func TestExportFilteredFrames(t *testing.T) {
	srv := newServer(t)
	sess := recordSession(t, srv)
	var changes []client.Frame
	for _, f := range sess.frames {
		if f.Type == "change" {
			changes = append(changes, f)
		}
	}
	dir := t.TempDir()
	h := recording.Header{ToolVersion: "test", ServerURL: srv.URL}
	jsonl, har := filepath.Join(dir, "c.jsonl"), filepath.Join(dir, "c.har")
	if err := recording.Export(jsonl, recording.FormatJSONL, h, changes); err != nil {
		t.Fatal(err)
	}
	if err := recording.Export(har, recording.FormatHAR, h, changes); err != nil {
		t.Fatal(err)
	}
	rec, err := recording.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	sameFrames(t, changes, rec.Frames)
	if rec.End == nil || rec.End.Reason != "export" {
		t.Fatalf("trailer %+v", rec.End)
	}
	data, err := os.ReadFile(har)
	if err != nil {
		t.Fatal(err)
	}
	entries := validateHAR(t, data)
	if len(entries) != 2 { // changes arrived on both sockets
		t.Fatalf("%d HAR entries, want one per socket (2)", len(entries))
	}
	testkit.WantMode(t, jsonl, 0o600)
	testkit.WantMode(t, har, 0o600)
	if err := recording.ExportTo(&bytes.Buffer{}, "csv", h, changes); err == nil {
		t.Fatal("csv export accepted")
	}
	if err := recording.Export(filepath.Join(dir, "x"), "csv", h, changes); err == nil {
		t.Fatal("csv export accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Fatal("a refused export created its file")
	}
}
