package client_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
)

// TestFailedWriteIsMarkedInTheTap sends frames into a socket the server
// has just cut (DropAll) until a send fails, and checks the tap: every
// frame SendText wrote is tapped once, unmarked, and a frame whose write
// failed is followed by the same frame, without payload, marked
// WriteFailed. A round whose sends lose the race to the client's own
// notice of the cut (the send finds no socket up and writes nothing) is
// checked too, and repeated until a write itself fails.
func TestFailedWriteIsMarkedInTheTap(t *testing.T) {
	srv := newServer(t)
	// A slower reconnect keeps the sends of a round off the next socket.
	c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)), client.WithTapBuffer(1<<16),
		client.WithReconnect(200*time.Millisecond, time.Second, 0))
	for round := 0; ; round++ {
		if round == 200 {
			t.Fatalf("no write failed in %d rounds of sends into a cut socket", round)
		}
		waitEvent[client.ConnectedEvent](t, c, nil)
		srv.DropAll()
		probe := fmt.Sprintf("r%d-", round)
		var sent []string // texts whose write succeeded
		failed := ""      // the text whose write failed
		// Bounded: a round stalled past the reconnect sends on the next
		// socket, and those writes succeed.
		for i := 0; failed == "" && i < 1000; i++ {
			text := fmt.Sprintf(`{"type":"ping","probe":"%s%d"}`, probe, i)
			err := c.SendText(ctxT(t), text)
			if err == nil {
				sent = append(sent, text)
				continue
			}
			if strings.Contains(err.Error(), "no socket is up") {
				break // the client saw the cut first: nothing was written
			}
			failed = text
		}
		got := probeFrames(t, c, probe, len(sent), failed != "")
		for i, text := range sent {
			if string(got[i].Wire) != text || got[i].Err != "" {
				t.Fatalf("round %d: tapped frame %d is %q (Err %q), want %q written", round, i, got[i].Wire, got[i].Err, text)
			}
		}
		if failed == "" {
			continue
		}
		tried, mark := got[len(sent)], got[len(sent)+1]
		if string(tried.Wire) != failed || tried.Err != "" {
			t.Fatalf("round %d: the failed frame was tapped as %q (Err %q), want %q", round, tried.Wire, tried.Err, failed)
		}
		if !strings.HasPrefix(mark.Err, client.WriteFailed) || mark.Wire != nil || mark.Type != "ping" ||
			!mark.Composed || mark.ConnID != tried.ConnID || mark.Direction != client.Outbound {
			t.Fatalf("round %d: after the failed frame the tap shows %+v, want it marked %q", round, mark, client.WriteFailed)
		}
		t.Logf("round %d: %d frames written into the cut socket, then %s", round, len(sent), mark.Err)
		return
	}
}

// probeFrames reads the tap until it has shown the n written frames of
// the round whose probes start with probe, plus the frame that failed
// and its WriteFailed mark when failed; it returns the round's outbound
// composed frames in tap order. Other frames (answers, reconnects, late
// frames of earlier rounds) are skipped.
func probeFrames(t *testing.T, c *client.Client, probe string, n int, failed bool) []client.Frame {
	t.Helper()
	want := n
	if failed {
		want += 2
	}
	var out []client.Frame
	for len(out) < want {
		f := testkit.Receive(t, c.Frames(), "the round's composed frames", func(f client.Frame) bool {
			return f.Direction == client.Outbound && f.Composed
		})
		if strings.Contains(string(f.Wire), `"probe":"`+probe) || (failed && strings.HasPrefix(f.Err, client.WriteFailed) && len(out) == want-1) {
			out = append(out, f)
		}
	}
	return out
}
