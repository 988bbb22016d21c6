package client_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/internal/testkit"
	"github.com/kalamdash/kalamdash/kalamtest"
)

// TestCloseRightAfterServerCloseTapsWhatCrossedTheWire closes the client
// just after the server closed the socket with its own code, many times
// over to hit every interleaving, and checks the tap against the wire as
// the server saw it (its log's client_close: the close frame the client
// wrote — 1000 when ours went first, the server's own code when the
// client library only echoed the server's close).
func TestCloseRightAfterServerCloseTapsWhatCrossedTheWire(t *testing.T) {
	var log testkit.SyncBuffer
	srv := newServer(t, kalamtest.WithLogWriter(&log))
	const (
		serverCode   = 4000
		serverReason = "server going away"
		rounds       = 40
	)
	var serverFirst int
	for round := 1; round <= rounds; round++ {
		c := connect(t, srv, client.WithAuth(client.Basic("alice", alicePW)))
		srv.CloseConns(serverCode, serverReason)
		if err := c.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		var in, out []client.Frame
		for f := range c.Frames() { // closed by Close
			if f.Opcode != client.OpClose {
				continue
			}
			if f.Direction == client.Inbound {
				in = append(in, f)
			} else {
				out = append(out, f)
			}
		}
		wrote := testkit.Poll(t, fmt.Sprintf("the server's close record of round %d", round), func() []int {
			return clientCloses(t, log.String())
		}, func(cs []int) bool { return len(cs) >= round })[round-1]

		for _, f := range in {
			if f.CloseCode != serverCode || f.CloseReason != serverReason {
				t.Fatalf("round %d: inbound close %d %q tapped; the server only closed with %d %q (the echo of ours is not tapped)",
					round, f.CloseCode, f.CloseReason, serverCode, serverReason)
			}
		}
		switch wrote {
		case 1000: // ours went first; the server's may have crossed it
			if len(out) != 1 || out[0].CloseCode != 1000 || out[0].CloseReason != "client closed" {
				t.Fatalf("round %d: the client wrote close 1000, tap shows outbound closes %+v", round, out)
			}
		case serverCode: // the server's came first; the library only echoed it
			serverFirst++
			// Only a close the library may have refused (it crossed the
			// server's; coder/websocket does not say) may be tapped, and
			// marked so.
			if len(out) != 0 && out[0].Err == "" {
				t.Fatalf("round %d: the server's close came first and ours was never written, yet the tap shows outbound %d %q",
					round, out[0].CloseCode, out[0].CloseReason)
			}
			if len(in) != 1 {
				t.Fatalf("round %d: the server's close came first, tap shows %d inbound closes", round, len(in))
			}
		case -1: // the server's own close handshake took the client's frame
			if len(in)+len(out) == 0 {
				t.Fatalf("round %d: no close tapped at all", round)
			}
		default:
			t.Fatalf("round %d: the server saw client close %d", round, wrote)
		}
	}
	t.Logf("the server's close came first in %d of %d rounds", serverFirst, rounds)
}

// clientCloses returns, in order, the client_close of every "ws close"
// record in a kalamtest text log.
func clientCloses(t *testing.T, log string) []int {
	t.Helper()
	var out []int
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `msg="ws close"`) {
			continue
		}
		_, v, ok := strings.Cut(line, "client_close=")
		if !ok {
			t.Fatalf("ws close record without client_close: %s", line)
		}
		v, _, _ = strings.Cut(v, " ")
		var n int
		if err := json.Unmarshal([]byte(v), &n); err != nil {
			t.Fatalf("client_close %q: %v", v, err)
		}
		out = append(out, n)
	}
	return out
}
