package session

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestCloseLeavesNoGoroutines opens, subscribes, refreshes on a schedule
// and closes: every goroutine of the session (pumps, timers, event queue)
// and of the client must be gone afterwards.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	func() {
		e := newEnv(t)
		c := e.open("alice", "alice", "alice-pw")
		if err := c.SetPolicy(Periodic(time.Second)); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(3 * time.Second)
		go func() {
			for range e.m.Events() {
			}
		}()
		if _, err := c.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := e.m.CloseAll(); err != nil {
			t.Fatal(err)
		}
		e.srv.Close()
	}()
}
