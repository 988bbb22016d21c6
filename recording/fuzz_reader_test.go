package recording

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// FuzzRead reads arbitrary bytes as a recording file. It must never
// panic; every error names a line (*LineError); and whatever it accepts
// must survive being written back and read again with the same counts.
func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Version: Version, ToolVersion: "fuzz", ServerURL: "http://127.0.0.1:1",
		StartedAt: time.Unix(1777924800, 0).UTC()})
	if err != nil {
		f.Fatal(err)
	}
	t0 := time.Unix(1777924801, 0).UTC()
	_ = w.WriteFrame(client.Frame{Seq: 1, Time: t0, Direction: client.Inbound, Opcode: client.OpText, Type: "auth_success",
		Wire: []byte(`{"type":"auth_success","user":"alice","role":"user"}`)})
	_ = w.WriteEvent(Event{Time: t0, Event: EventConnected, ConnID: 1, User: "alice"})
	_ = w.Close(End{Time: t0, Frames: 1, Events: 1, Reason: "closed"})
	f.Add(buf.Bytes())
	f.Add(bytes.Split(buf.Bytes(), []byte("\n"))[0])
	f.Add([]byte(`{"kalamdash_recording":1}` + "\n" + `{"kind":"frame","frame":{"dir":"in"`))
	f.Add([]byte(`{"kalamdash_recording":99}`))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := Read(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error %v (%T) does not name a line", err, err)
			}
			return
		}
		var out bytes.Buffer
		w, err := NewWriter(&out, rec.Header, WithReveal(true))
		if err != nil {
			return // a header the writer refuses is not a reader bug
		}
		for _, fr := range rec.Frames {
			if err := w.WriteFrame(fr); err != nil {
				t.Fatalf("frame read from a file cannot be written back: %v", err)
			}
		}
		for _, ev := range rec.Events {
			if err := w.WriteEvent(ev); err != nil {
				t.Fatalf("event read from a file cannot be written back: %v", err)
			}
		}
		if rec.End != nil {
			err = w.Close(*rec.End)
		} else {
			err = w.Flush()
		}
		if err != nil {
			t.Fatalf("writing back: %v", err)
		}
		again, err := Read(io.MultiReader(&out), "again.jsonl")
		if err != nil {
			t.Fatalf("a recording written back from a read one does not read: %v", err)
		}
		if len(again.Frames) != len(rec.Frames) || len(again.Events) != len(rec.Events) || (again.End == nil) != (rec.End == nil) {
			t.Fatalf("round trip changed counts: %d/%d frames, %d/%d events", len(again.Frames), len(rec.Frames), len(again.Events), len(rec.Events))
		}
	})
}
