package kalamtest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/kalamdash/kalamdash/client"
)

// FuzzParseClientMessage feeds arbitrary text frames to the server's client
// message parser. It must never panic; an accepted message has one of the
// five known types, and a rejected one carries a serde-style reason that
// fits a close frame.
//
// Seeds live in testdata/fuzz/FuzzParseClientMessage (every client fixture).
func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping"}`,
		`{"type":"subscribe","subscription":{"id":"sub-1","sql":"SELECT * FROM app.messages","options":{"from":309781248081924101}}}`,
		`{"type":"next_batch","subscription_id":"sub-1","last_seq_id":"309781235499012098"}`,
		`{"type":"authenticate","method":"jwt","token":"x"}`,
		`{"type":"hello"}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	known := map[string]bool{
		client.TypeAuthenticate: true, client.TypeSubscribe: true, client.TypeNextBatch: true,
		client.TypeUnsubscribe: true, client.TypePing: true,
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, reason := parseClientMessage(data)
		if reason == "" {
			if !known[m.typ] {
				t.Fatalf("accepted a message of unknown type %q", m.typ)
			}
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
			return
		}
		// The reason becomes "Invalid message: <reason>" in a close frame,
		// which must be valid UTF-8 (the server trims it to fit).
		if r := closeReason("Invalid message: " + reason); len(r) > 123 || !utf8.ValidString(r) {
			t.Fatalf("close reason does not fit a close frame: %d bytes, utf8 %v", len(r), utf8.ValidString(r))
		}
	})
}

// FuzzClientMsgpack feeds arbitrary binary frames to the server's
// MessagePack (optionally gzip) decoder, as a msgpack client's frames are.
// It must never panic or exhaust memory; what it accepts is valid JSON.
func FuzzClientMsgpack(f *testing.F) {
	f.Add([]byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'p', 'i', 'n', 'g'})
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'p', 'i', 'n', 'g'})
	_ = zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{0x1f, 0x8b, 0x08})
	f.Fuzz(func(t *testing.T, data []byte) {
		js, errText := msgpackToJSON(data)
		if errText != "" {
			return
		}
		if !json.Valid(js) {
			t.Fatalf("msgpack decoded to invalid JSON %q", js)
		}
		_, _ = parseClientMessage(js)
	})
}
