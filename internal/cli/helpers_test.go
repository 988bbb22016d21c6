package cli

import (
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/ui"
)

// waitSnap polls c's snapshot until ok holds (20 s of wall time at most).
func waitSnap(t *testing.T, c ui.Conn, what string, ok func(ui.Snapshot) bool) ui.Snapshot {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := c.Snapshot()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; snapshot: %+v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
