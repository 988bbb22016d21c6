package redact

import (
	"strings"
	"testing"
)

// BenchmarkTextLargeFrame is the cost the detail pane and the recording
// writer pay for a 1 MB frame that holds no secret (the common case).
func BenchmarkTextLargeFrame(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"type":"change","subscription_id":"s1","rows":[`)
	for sb.Len() < 1<<20 {
		sb.WriteString(`{"id":12345,"Title":"The quick brown fox jumps over the lazy dog","active":true},`)
	}
	sb.WriteString(`{}]}`)
	frame := []byte(sb.String())
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		Text(frame)
	}
}
