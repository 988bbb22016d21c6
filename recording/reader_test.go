package recording_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/recording"
)

const (
	goodHeader = `{"kalamdash_recording":1,"tool_version":"t","server_url":"http://h","started_at":"2026-01-01T00:00:00Z","secrets_revealed":false,"options":{}}`
	goodFrame  = `{"kind":"frame","seq":1,"time":"2026-01-01T00:00:01Z","dir":"in","opcode":"text","encoding":"json","type":"auth_success","conn_id":1,"wire_size":2,"decoded_size":2,"wire":"e30=","decoded":{}}`
	goodEvent  = `{"kind":"event","time":"2026-01-01T00:00:01Z","event":"connected","conn_id":1}`
	goodEnd    = `{"kind":"end","time":"2026-01-01T00:00:02Z","frames":1,"events":1,"wire_bytes":2,"tap_drops":0}`
)

// TestReadFileErrorsNameTheLine: every malformed or truncated file gives
// an error of the form "path:LINE: what", with the right line.
func TestReadFileErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		line          int
		want          string
	}{
		{"empty", "", 1, "empty file"},
		{"not json", "hello\n", 1, "not a kalamdash recording"},
		{"no version", `{"tool_version":"x"}` + "\n", 1, `no "kalamdash_recording"`},
		{"future version", `{"kalamdash_recording":7}` + "\n", 1, "version 7 is not supported"},
		{"truncated header", goodHeader[:40], 1, "truncated"},
		{"malformed middle line", goodHeader + "\n" + goodFrame + "\n{\"kind\":\"frame\",,}\n" + goodEnd + "\n", 3, "malformed line"},
		{"truncated last line", goodHeader + "\n" + goodFrame + "\n" + goodEvent + "\n" + goodFrame[:60], 4, "truncated"},
		{"cut inside a string", goodHeader + "\n" + goodFrame[:len(goodFrame)-20], 2, "truncated"},
		{"missing kind", goodHeader + "\n" + `{"time":"2026-01-01T00:00:01Z"}` + "\n", 2, `no "kind"`},
		{"unknown opcode", goodHeader + "\n" + strings.Replace(goodFrame, `"text"`, `"smoke"`, 1) + "\n", 2, `unknown opcode "smoke"`},
		{"unknown dir", goodHeader + "\n" + strings.Replace(goodFrame, `"in"`, `"up"`, 1) + "\n", 2, `unknown dir "up"`},
		{"bad base64", goodHeader + "\n" + strings.Replace(goodFrame, `"e30="`, `"!!"`, 1) + "\n", 2, "malformed line"},
		{"frame without time", goodHeader + "\n" + strings.Replace(goodFrame, `"time":"2026-01-01T00:00:01Z",`, "", 1) + "\n", 2, "no time"},
		{"event without name", goodHeader + "\n" + `{"kind":"event","time":"2026-01-01T00:00:01Z"}` + "\n", 2, `no "event" name`},
		{"data after end", goodHeader + "\n" + goodEnd + "\n" + goodFrame + "\n", 3, "after the \"end\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.jsonl")
			testkit.WriteFile(t, path, tc.content)
			_, err := recording.ReadFile(path)
			var le *recording.LineError
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LineError", err)
			}
			if le.Line != tc.line || le.Name != path {
				t.Fatalf("error at %s:%d, want %s:%d (%v)", le.Name, le.Line, path, tc.line, err)
			}
			prefix := path + ":" + strconv.Itoa(tc.line) + ": "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q, want prefix %q and %q", msg, prefix, tc.want)
			}
			if tc.want == "truncated" && !errors.Is(err, recording.ErrTruncated) {
				t.Fatalf("error %v does not wrap ErrTruncated", err)
			}
		})
	}
}

// TestReadFileLenient: CRLF line endings, blank lines, unknown kinds and
// unknown fields (from newer writers) and a missing trailer are fine.
func TestReadFileLenient(t *testing.T) {
	content := goodHeader + "\r\n\n" + goodFrame + "\r\n" + `{"kind":"bookmark","label":"x"}` + "\n" +
		strings.Replace(goodEvent, `"conn_id":1`, `"conn_id":1,"future_field":true`, 1) + "\n" + goodFrame
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	testkit.WriteFile(t, path, content)
	rec, err := recording.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Frames) != 2 || len(rec.Events) != 1 || rec.End != nil {
		t.Fatalf("%d frames, %d events, end %v", len(rec.Frames), len(rec.Events), rec.End)
	}
	if rec.Events[0].FrameIndex != 1 || string(rec.Frames[0].Decoded) != "{}" || string(rec.Frames[0].Wire) != "{}" {
		t.Fatalf("event %+v frame %+v", rec.Events[0], rec.Frames[0])
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := recording.ReadFile(filepath.Join(t.TempDir(), "nope.jsonl"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}
