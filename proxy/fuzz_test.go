package proxy

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/kalamdash/kalamdash/client"
)

// FuzzRelayFrames feeds hostile bytes to the frame relay, as either peer
// could send them: it never panics, and what it relays is exactly a
// prefix of what it read (frames pass unchanged or not at all).
func FuzzRelayFrames(f *testing.F) {
	f.Add([]byte("\x81\x05hello"))                                    // text
	f.Add([]byte("\x81\x85\x01\x02\x03\x04iggkn"))                    // masked text
	f.Add([]byte("\x01\x02{\"\x80\x05type\"}"))                       // fragmented
	f.Add([]byte("\x89\x00\x8a\x00\x88\x02\x03\xe8"))                 // ping, pong, close 1000
	f.Add([]byte("\x88\x01\x03"))                                     // close with a 1-byte payload
	f.Add([]byte("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"))         // 64-bit length with its top bit set
	f.Add([]byte("\x80\x00\xc1\x03abc\x8b\x00"))                      // stray continuation, RSV1, reserved opcode
	f.Add([]byte("\x82\x12\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")) // truncated gzip
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &Relay{o: Options{OnFrame: func(string, client.Frame) {}}}
		s := &socket{r: r, id: 1}
		for _, dir := range []client.Direction{client.Inbound, client.Outbound} {
			d := s.direction(dir)
			src := bufio.NewReader(bytes.NewReader(data))
			var dst bytes.Buffer
			for relayFrame(src, &dst, d.observe) == nil {
			}
			if !bytes.HasPrefix(data, dst.Bytes()) {
				t.Fatalf("%s: relayed %q, not a prefix of the input %q", dir, dst.Bytes(), data)
			}
		}
	})
}
