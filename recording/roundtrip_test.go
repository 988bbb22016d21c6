package recording_test

import (
	"bytes"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
)

// TestRoundTripLiveSession records a real session (login, SQL, paged
// initial data, changes, a forced reconnect with resume, a refresh) in
// each wire mode and reads it back: every field of every frame survives.
func TestRoundTripLiveSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []client.Option
		enc  client.Encoding // an encoding some inbound frame must have
	}{
		{"gzip", nil, client.EncGzipJSON},
		{"no-compress", []client.Option{client.WithDisableCompression(true)}, client.EncJSON},
		{"msgpack", []client.Option{client.WithSerialization("msgpack")}, client.EncMsgpack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			sess := recordSession(t, srv, tc.opts...)
			rec, err := recording.Read(bytes.NewReader(sess.file), "session.jsonl")
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			if rec.Header.Version != recording.Version || rec.Header.ServerURL != srv.URL || rec.Header.SecretsRevealed {
				t.Fatalf("header %+v", rec.Header)
			}
			sameFrames(t, sess.frames, rec.Frames)

			// The session is all there: both sockets, the paged batches,
			// changes on each socket, two logins (connect and refresh).
			types := map[string]int{}
			conns := map[uint64]bool{}
			encs := map[client.Encoding]bool{}
			for _, f := range rec.Frames {
				types[f.Type]++
				if f.ConnID != 0 {
					conns[f.ConnID] = true
				}
				if f.Direction == client.Inbound {
					encs[f.Encoding] = true
				}
			}
			for typ, min := range map[string]int{"auth_success": 2, "subscribe": 2, "subscription_ack": 2,
				"initial_data_batch": 3, "next_batch": 2, "change": 5, "POST /v1/api/auth/login": 4, "POST /v1/api/sql": 2} {
				if types[typ] < min {
					t.Errorf("%d %q frames, want at least %d (all: %v)", types[typ], typ, min, types)
				}
			}
			if !conns[1] || !conns[2] {
				t.Errorf("sockets %v, want 1 and 2 (forced reconnect)", conns)
			}
			if !encs[tc.enc] {
				t.Errorf("no inbound %s frame (encodings %v)", tc.enc, encs)
			}

			// Events let a replay show state.
			evs := map[string]int{}
			for _, e := range rec.Events {
				evs[e.Event]++
			}
			if evs[recording.EventConnected] < 2 || evs[recording.EventDisconnected] < 1 || evs[recording.EventAuthRefreshed] < 1 {
				t.Errorf("events %v, want 2 connected, a disconnected and an auth_refreshed", evs)
			}
			if rec.End == nil || rec.End.Frames != uint64(len(rec.Frames)) || rec.End.Events != uint64(len(rec.Events)) {
				t.Errorf("trailer %+v for %d frames, %d events", rec.End, len(rec.Frames), len(rec.Events))
			}
		})
	}
}

// TestRoundTripEdgeFrames covers payloads the live session may not
// produce: pretty-printed and HTML-ish JSON, non-JSON text, invalid UTF-8,
// close frames, HTTP errors without a response, a composed frame.
func TestRoundTripEdgeFrames(t *testing.T) {
	t0 := mustTime(t, "2026-01-02T03:04:05.123456789Z")
	frames := []client.Frame{
		{Seq: 1, Time: t0, Direction: client.Outbound, Opcode: client.OpText, Encoding: client.EncJSON, Type: "subscribe",
			Wire: []byte(`{"a": "<b>&"}`), Decoded: []byte("{\"a\": \"<b>&\"}\n"), WireSize: 13, DecodedSize: 14, ConnID: 3},
		{Seq: 2, Time: t0, Direction: client.Inbound, Opcode: client.OpText, Encoding: client.EncJSON, Type: "x",
			Wire: []byte(`{"q":"<script>\u2028"}`), Decoded: []byte(`{"q":"<script>` + "\u2028" + `"}`), ConnID: 3},
		{Seq: 3, Time: t0, Direction: client.Inbound, Opcode: client.OpBinary, Encoding: client.EncGzipJSON,
			Wire: []byte{0x1f, 0x8b, 0, 0xff}, Decoded: []byte{0xff, 0xfe, 'x'}, Err: "bad gzip", ConnID: 3},
		{Seq: 4, Time: t0, Direction: client.Inbound, Opcode: client.OpHTTP, Encoding: client.EncJSON, Type: "GET /v1/api/healthcheck",
			Decoded: []byte("<html>not kalamdb</html>"), Status: 404, Duration: 1234567},
		{Seq: 5, Time: t0, Direction: client.Inbound, Opcode: client.OpHTTP, Encoding: client.EncJSON, Type: "POST /v1/api/sql",
			Err: "dial tcp: connection refused", Duration: 42},
		{Seq: 6, Time: t0, Direction: client.Inbound, Opcode: client.OpClose, Encoding: client.EncNone, Type: "close",
			CloseCode: 1008, CloseReason: "Authentication failed", Wire: []byte("Authentication failed"), WireSize: 23, ConnID: 3},
		{Seq: 7, Time: t0, Direction: client.Outbound, Opcode: client.OpPing, Encoding: client.EncNone, Type: "ping", Wire: []byte{1, 2}, ConnID: 3},
		{Seq: 8, Time: t0, Direction: client.Outbound, Opcode: client.OpText, Encoding: client.EncJSON, Type: "hello",
			Wire: []byte(`{"type":"hello"}`), Decoded: []byte(`{"type":"hello"}`), WireSize: 16, DecodedSize: 16, ConnID: 3, Composed: true},
	}
	rec := writeAndRead(t, recording.Header{ServerURL: "http://x"}, frames)
	sameFrames(t, frames, rec.Frames)
}
