package recording_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
)

// benchFrame is a typical change frame (text JSON, ~300 bytes).
func benchFrame() client.Frame {
	body := `{"type":"change","subscription_id":"sub-1","change_type":"insert","rows":[{"_seq":"385050737526181888","id":"42","body":"` +
		strings.Repeat("x", 200) + `"}]}`
	return client.Frame{Seq: 1, Time: time.Now(), Direction: client.Inbound, Opcode: client.OpText, Encoding: client.EncJSON,
		Type: "change", SubscriptionID: "sub-1", ConnID: 1, Wire: []byte(body), Decoded: []byte(body),
		WireSize: len(body), DecodedSize: len(body)}
}

// BenchmarkWriteFrame measures the recorder's cost per frame (redaction
// with a literal secret, JSON encoding, buffered write).
func BenchmarkWriteFrame(b *testing.B) {
	f := benchFrame()
	w, err := recording.NewWriter(io.Discard, recording.Header{ServerURL: "http://h"}, recording.WithSecrets("a-long-password"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(f.Wire)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadFrame measures reading a recording back, per frame.
func BenchmarkReadFrame(b *testing.B) {
	var buf bytes.Buffer
	w, _ := recording.NewWriter(&buf, recording.Header{ServerURL: "http://h"})
	f := benchFrame()
	for i := 0; i < 10000; i++ {
		_ = w.WriteFrame(f)
	}
	_ = w.Close(recording.End{})
	data := buf.Bytes()
	b.SetBytes(int64(len(data)) / 10000)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if n%10000 == 0 {
			b.StopTimer()
			rd, err := recording.NewReader(bytes.NewReader(data), "bench")
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			benchReader = rd
		}
		if _, err := benchReader.Next(); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

var benchReader *recording.Reader
