package recording_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/recording"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	alicePW   = "alice-secret-pw"
	adminPW   = "admin-secret-pw"
	jwtSecret = "recording-test-secret"
	subID     = "sub-rec-1"
)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newServer starts kalamtest with alice (user) and admin (dba) and a
// per-user table app.messages.
func newServer(t *testing.T) *kalamtest.Server {
	t.Helper()
	srv := testkit.Start(t, alicePW, adminPW, kalamtest.WithJWTSecret(jwtSecret))
	testkit.CreateTables(t, srv, "messages")
	return srv
}

// waitSub skips events until one satisfies ok.
func waitSub(t *testing.T, s *client.Subscription, what string, ok func(client.SubEvent) bool) client.SubEvent {
	t.Helper()
	return testkit.Receive(t, s.Events(), what, ok)
}

// session is a recorded live session: the tap's frames as the client
// handed them out, and the file the Writer made of them.
type session struct {
	frames []client.Frame
	file   []byte
}

// recordSession runs a session against srv — login, SQL, a subscription
// with paged initial data, live changes, a forced reconnect (DropAll) with
// resume, more changes and a token refresh — and records it through a
// recording.Writer, keeping the original frames for comparison.
func recordSession(t *testing.T, srv *kalamtest.Server, opts ...client.Option) session {
	t.Helper()
	testkit.Insert(t, srv, 0, 25, "initial")
	provider := func(context.Context) (client.Auth, error) { return client.Basic("alice", alicePW), nil }
	all := append([]client.Option{client.WithAuthProvider(provider), client.WithReconnect(20*time.Millisecond, 100*time.Millisecond, 0)}, opts...)
	c, err := client.Connect(ctxT(t), srv.URL, all...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	var buf bytes.Buffer
	w, err := recording.NewWriter(&buf, recording.Header{ToolVersion: "test", ServerURL: srv.URL,
		Options: recording.Options{Auth: "password", User: "alice"}}, recording.WithSecrets(alicePW))
	if err != nil {
		t.Fatal(err)
	}
	var sess session
	copied := make(chan error, 1)
	// recording.Copy's loop, but keeping each frame as tapped: Copy must be
	// the tap's only reader, and the round trip compares with the originals.
	go func() {
		frames, events := c.Frames(), c.Events()
		for frames != nil || events != nil {
			select {
			case f, ok := <-frames:
				if !ok {
					frames = nil
					continue
				}
				sess.frames = append(sess.frames, f)
				if err := w.WriteFrame(f); err != nil {
					copied <- err
					return
				}
			case ev, ok := <-events:
				if !ok {
					events = nil
					continue
				}
				if e, known := recording.FromClientEvent(ev); known {
					if err := w.WriteEvent(e); err != nil {
						copied <- err
						return
					}
				}
			}
		}
		copied <- w.Close(recording.End{Reason: "closed"})
	}()

	if _, err := c.Query(ctxT(t), "SELECT COUNT(*) AS n FROM app.messages"); err != nil {
		t.Fatalf("query: %v", err)
	}
	s, err := c.Subscribe(ctxT(t), "SELECT * FROM app.messages", client.WithBatchSize(10), client.WithSubscriptionID(subID))
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	waitSub(t, s, "last initial batch", func(ev client.SubEvent) bool {
		return ev.Kind == client.SubBatch && ev.Batch.Status == client.StatusReady
	})
	testkit.Insert(t, srv, 100, 103, "live")
	waitSub(t, s, "insert of row 102", func(ev client.SubEvent) bool {
		return ev.Kind == client.SubInsert && len(ev.Rows) > 0 && ev.Rows[0]["id"] == "102"
	})
	if srv.DropAll() == 0 {
		t.Fatal("DropAll cut no socket")
	}
	waitSub(t, s, "resumed ack", func(ev client.SubEvent) bool { return ev.Kind == client.SubAck && ev.Resumed })
	testkit.Insert(t, srv, 200, 202, "after-reconnect")
	waitSub(t, s, "insert of row 201", func(ev client.SubEvent) bool {
		return ev.Kind == client.SubInsert && len(ev.Rows) > 0 && ev.Rows[0]["id"] == "201"
	})
	if res, err := c.RefreshAuth(ctxT(t)); err != nil || !res.Ran {
		t.Fatalf("refresh: %+v %v", res, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-copied; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if d := c.TapDrops(); d != 0 {
		t.Fatalf("tap dropped %d frames", d)
	}
	sess.file = buf.Bytes()
	return sess
}

// writeAndRead writes frames to a recording under h and reads the file
// back.
func writeAndRead(t *testing.T, h recording.Header, frames []client.Frame, opts ...recording.WriterOption) *recording.Recording {
	t.Helper()
	var buf bytes.Buffer
	w, err := recording.NewWriter(&buf, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(recording.End{}); err != nil {
		t.Fatal(err)
	}
	rec, err := recording.Read(&buf, "rewritten")
	if err != nil {
		t.Fatalf("reading it back: %v", err)
	}
	return rec
}

// norm makes a frame comparable with DeepEqual: times without monotonic
// reading or zone, empty payloads as nil (the format does not tell them
// apart).
func norm(f client.Frame) client.Frame {
	f.Time = f.Time.UTC().Round(0)
	if len(f.Wire) == 0 {
		f.Wire = nil
	}
	if len(f.Decoded) == 0 {
		f.Decoded = nil
	}
	return f
}

func sameFrames(t *testing.T, want, got []client.Frame) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d frames read back, %d recorded", len(got), len(want))
	}
	for i := range want {
		if w, g := norm(want[i]), norm(got[i]); !reflect.DeepEqual(w, g) {
			t.Fatalf("frame %d differs:\nrecorded %+v\nread     %+v", i, w, g)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
