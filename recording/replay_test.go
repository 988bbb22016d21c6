package recording_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/recording"
	"github.com/kalamdash/kalamdash/recording/replay"
)

// dataFrames returns the inbound text/binary frames per socket, in order.
func dataFrames(frames []client.Frame) map[uint64][]client.Frame {
	out := map[uint64][]client.Frame{}
	for _, f := range frames {
		if f.Direction == client.Inbound && (f.Opcode == client.OpText || f.Opcode == client.OpBinary) {
			out[f.ConnID] = append(out[f.ConnID], f)
		}
	}
	return out
}

// TestReplayServeFeedsARealClient records a session (including the forced
// reconnect), replays its server side, and connects a real client the
// same way: it receives the same inbound frames — opcode and bytes — on
// the same sockets, and its subscription sees the rows again.
func TestReplayServeFeedsARealClient(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []client.Option
	}{
		{"gzip", nil},
		{"msgpack", []client.Option{client.WithSerialization("msgpack")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t)
			sess := recordSession(t, srv, tc.opts...)
			_ = srv.Close() // the replay must not need the real server
			rec, err := recording.Read(bytes.NewReader(sess.file), "s.jsonl")
			if err != nil {
				t.Fatal(err)
			}
			var log testkit.SyncBuffer
			// The client's messages are always sent: only a hang reaches the
			// wait, which a loaded machine must not turn into a carry-on.
			rs, err := replay.NewServer(rec, replay.WithLog(&log), replay.WithWait(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			if rs.Sockets() != 2 {
				t.Fatalf("%d sockets in the recording, want 2", rs.Sockets())
			}

			// Password login: the replay answers with the recorded login,
			// its redacted tokens replaced by minted ones.
			provider := func(context.Context) (client.Auth, error) { return client.Basic("alice", "anything"), nil }
			opts := append([]client.Option{client.WithAuthProvider(provider), client.WithReconnect(20*time.Millisecond, 100*time.Millisecond, 0)}, tc.opts...)
			c, err := client.Connect(ctxT(t), rs.URL, opts...)
			if err != nil {
				t.Fatalf("connect to replay: %v\n%s", err, log.String())
			}
			want := dataFrames(rec.Frames)
			total := len(want[1]) + len(want[2])
			var got []client.Frame
			collected := make(chan struct{})
			go func() {
				defer close(collected)
				for f := range c.Frames() {
					got = append(got, f)
				}
			}()
			go func() {
				for range c.Events() {
				}
			}()
			s, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", client.WithBatchSize(10), client.WithSubscriptionID(subID))
			if err != nil {
				t.Fatalf("subscribe: %v\n%s", err, log.String())
			}
			rows := 0
			waitSub(t, s, "the replayed insert of row 201 on the second socket", func(ev client.SubEvent) bool {
				rows += len(ev.Rows)
				return ev.Kind == client.SubInsert && len(ev.Rows) > 0 && ev.Rows[0]["id"] == "201"
			})
			select {
			case <-rs.Done():
			case <-time.After(time.Minute):
				t.Fatalf("replay not done\n%s", log.String())
			}
			_ = c.Close()
			<-collected

			have := dataFrames(got)
			if n := len(have[1]) + len(have[2]); n < total {
				t.Fatalf("client got %d inbound frames, recording has %d\n%s", n, total, log.String())
			}
			for conn := uint64(1); conn <= 2; conn++ {
				if len(have[conn]) != len(want[conn]) {
					t.Fatalf("socket %d: %d frames replayed, %d recorded", conn, len(have[conn]), len(want[conn]))
				}
				for i, w := range want[conn] {
					g := have[conn][i]
					if g.Opcode != w.Opcode || !bytes.Equal(g.Wire, w.Wire) || g.Type != w.Type || g.Encoding != w.Encoding {
						t.Fatalf("socket %d frame %d: got %s %s %q, recorded %s %s %q", conn, i, g.Opcode, g.Type, trunc(g.Wire), w.Opcode, w.Type, trunc(w.Wire))
					}
				}
			}
			if rows < 25 {
				t.Fatalf("the replayed subscription delivered %d rows, want the 25 initial ones and more", rows)
			}
		})
	}
}

func trunc(b []byte) string {
	if len(b) > 60 {
		return fmt.Sprintf("%s… (%d bytes)", b[:60], len(b))
	}
	return string(b)
}
