package recording_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/recording"
)

// TestHARMarksComposedFrames sends a frame by hand (SendText) next to the
// client's own subscribe on a live kalamtest socket, records the tap,
// reads the recording back and exports it as HAR: the composed frame
// keeps Composed through the JSONL recording and is the one HAR message
// carrying "_composed": true.
func TestHARMarksComposedFrames(t *testing.T) {
	srv := newServer(t)
	c, err := client.Connect(ctxT(t), srv.URL, client.WithAuth(client.Basic("alice", alicePW)), client.WithTapBuffer(4096))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", client.WithSubscriptionID(subID))
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	waitSub(t, s, "the initial batch", func(ev client.SubEvent) bool { return ev.Kind == client.SubBatch })
	const composed = `{"type":"ping","by":"hand"}`
	if err := c.SendText(ctxT(t), composed); err != nil {
		t.Fatalf("SendText: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	var frames []client.Frame
	for f := range c.Frames() { // closed by Close
		frames = append(frames, f)
	}

	rec := writeAndRead(t, recording.Header{ServerURL: srv.URL, StartedAt: frames[0].Time}, frames)
	var recorded int
	for _, f := range rec.Frames {
		if f.Composed {
			recorded++
			if string(f.Wire) != composed {
				t.Fatalf("the recording marks %q composed", f.Wire)
			}
		}
	}
	if recorded != 1 {
		t.Fatalf("the recording has %d composed frames, want 1", recorded)
	}

	var buf bytes.Buffer
	if err := recording.WriteHAR(&buf, rec, "test"); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Entries []struct {
				Messages []map[string]any `json:"_webSocketMessages"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("HAR: %v", err)
	}
	var marked, sends int
	for _, e := range doc.Log.Entries {
		for _, m := range e.Messages {
			if m["type"] == "send" {
				sends++
			}
			if v, ok := m["_composed"]; ok {
				marked++
				if v != true || m["data"] != composed || m["type"] != "send" {
					t.Fatalf("HAR message marked _composed=%v: %v", v, m)
				}
			}
		}
	}
	if marked != 1 || sends < 2 {
		t.Fatalf("HAR: %d messages marked _composed of %d sent, want 1 of the subscribe and the composed frame", marked, sends)
	}
}

// TestHARAnnotatesAFailedSend: the client follows a frame whose write
// failed with a payload-less mark (client.WriteFailed); HAR carries it as
// the "_error" of that send, not as an empty message of its own.
func TestHARAnnotatesAFailedSend(t *testing.T) {
	t0 := mustTime(t, "2026-01-02T03:04:05Z")
	sent := client.Frame{Seq: 1, Time: t0, Direction: client.Outbound, Opcode: client.OpText, Encoding: client.EncJSON,
		Type: "ping", Wire: []byte(`{"type":"ping"}`), WireSize: 15, ConnID: 1, Composed: true}
	answer := client.Frame{Seq: 2, Time: t0.Add(time.Millisecond), Direction: client.Inbound, Opcode: client.OpText,
		Encoding: client.EncJSON, Type: "error", Wire: []byte(`{"type":"error"}`), ConnID: 1}
	mark := sent
	mark.Seq, mark.Time, mark.Wire, mark.WireSize, mark.Err = 3, t0.Add(2*time.Millisecond), nil, 0, client.WriteFailed+"broken pipe"
	h := recording.HAR(writeAndRead(t, recording.Header{ServerURL: "http://x", StartedAt: t0}, []client.Frame{sent, answer, mark}), "test")
	if len(h.Log.Entries) != 1 {
		t.Fatalf("%d entries, want the socket's", len(h.Log.Entries))
	}
	msgs := h.Log.Entries[0].WebSocketMessages
	if len(msgs) != 2 || msgs[0].Type != "send" || msgs[0].Error != mark.Err || !msgs[0].Composed || msgs[1].Error != "" {
		t.Fatalf("messages %+v, want the send marked %q and the answer", msgs, mark.Err)
	}
}
