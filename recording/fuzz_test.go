package recording_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/kalamdash/kalamdash/recording"
)

// FuzzRead: no input makes the reader panic, every error it returns names
// a line, and whatever it accepts writes back and reads again to the same
// frames (and converts to HAR without panicking). Seeds: the lines of the
// reader tests plus the corpus in testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	f.Add([]byte(goodHeader + "\n" + goodFrame + "\n" + goodEvent + "\n" + goodEnd + "\n"))
	f.Add([]byte(goodHeader + "\n" + goodFrame[:50]))
	f.Add([]byte(`{"kalamdash_recording":1}` + "\n" + `{"kind":"frame","decoded_text":"x","decoded_base64":"AA=="}` + "\n"))
	f.Add([]byte("\n\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := recording.Read(bytes.NewReader(data), "fuzz")
		if err != nil {
			var le *recording.LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		again := writeAndRead(t, rec.Header, rec.Frames, recording.WithReveal(true))
		sameFrames(t, rec.Frames, again.Frames)
		_ = recording.WriteHAR(io.Discard, rec, "fuzz")
	})
}
