package testkit

import (
	"testing"
	"time"
)

// Receive reads ch until match accepts a value (nil match: the first one)
// and returns it. It fails the test if ch closes first or after Deadline.
func Receive[V any](t testing.TB, ch <-chan V, what string, match func(V) bool) V {
	t.Helper()
	deadline := time.NewTimer(Deadline)
	defer deadline.Stop()
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed while waiting for %s", what)
				return v
			}
			if match == nil || match(v) {
				return v
			}
		case <-deadline.C:
			var zero V
			t.Fatalf("timed out waiting for %s", what)
			return zero
		}
	}
}
