package recording_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/redact"
)

// TestWriterScrubsWhatTheTapCannotKnow: literal secrets (in every field,
// base64 wire included), SQL password literals, and credentials in the
// server URL are redacted; WithReveal keeps them and says so.
func TestWriterScrubsWhatTheTapCannotKnow(t *testing.T) {
	const pw, tok = "hunter2-password", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	body := `{"sql":"ALTER USER bob SET PASSWORD 'bob-new-pw'; SELECT '` + tok + `'"}`
	frame := client.Frame{Seq: 1, Time: time.Now(), Direction: client.Outbound, Opcode: client.OpHTTP, Encoding: client.EncJSON,
		Type: "POST /v1/api/sql", Wire: []byte("POST /v1/api/sql HTTP/1.1\r\nX-Debug: " + pw + "\r\n\r\n" + body), Decoded: []byte(body),
		Err: "login as alice:" + pw + " failed"}
	header := recording.Header{ServerURL: "http://alice:" + pw + "@db.example:8080/?token=" + tok + "&x=1",
		Options: recording.Options{SQL: []string{"CREATE USER bob WITH PASSWORD 'bob-new-pw'"}}}
	event := recording.Event{Time: time.Now(), Event: recording.EventSQL, Text: "ALTER USER bob SET PASSWORD 'bob-new-pw'",
		Error: "bad token " + tok, URL: "ws://h/v1/ws?access_token=" + tok}

	write := func(reveal bool) []byte {
		var buf bytes.Buffer
		w, err := recording.NewWriter(&buf, header, recording.WithSecrets(pw, tok, "bob"), recording.WithReveal(reveal))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(frame); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEvent(event); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(recording.End{Error: "stopped: " + pw}); err != nil {
			t.Fatal(err)
		}
		rec, err := recording.Read(bytes.NewReader(buf.Bytes()), "w")
		if err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		for _, f := range rec.Frames {
			out = append(append(out, '\n'), f.Wire...) // base64 in the file
		}
		if rec.Header.SecretsRevealed != reveal {
			t.Fatalf("SecretsRevealed = %v", rec.Header.SecretsRevealed)
		}
		return out
	}

	red := write(false)
	for _, s := range []string{pw, tok, "bob-new-pw"} {
		if bytes.Contains(red, []byte(s)) {
			t.Errorf("redacted output holds %q:\n%s", s, red)
		}
	}
	for _, s := range []string{"PASSWORD '" + redact.Marker + "'", "http://alice@db.example:8080", "token=redacted", "x=1", "ALTER USER bob"} {
		if !bytes.Contains(red, []byte(s)) {
			t.Errorf("redacted output lacks %q (short secrets are left alone):\n%s", s, red)
		}
	}
	revealed := write(true)
	for _, s := range []string{pw, tok, "bob-new-pw"} {
		if !bytes.Contains(revealed, []byte(s)) {
			t.Errorf("revealed output lacks %q", s)
		}
	}
}

func TestCreateFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := recording.CreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != 0 {
		t.Fatalf("mode %v size %d err %v: want an empty 0600 file", st.Mode().Perm(), st.Size(), err)
	}
	if _, err := recording.CreateFile(filepath.Join(path, "x")); err == nil || !strings.Contains(err.Error(), "create ") {
		t.Fatalf("err = %v, want a create error naming the path", err)
	}
}
