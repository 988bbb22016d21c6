package session

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestPacerAnnouncesFirstChangeAndHoldsTheRest(t *testing.T) {
	p := newPacer(time.Hour)
	defer p.stop()
	if !p.changed() {
		t.Fatal("first change after a quiet period not announced")
	}
	for i := 0; i < 1000; i++ {
		if p.changed() {
			t.Fatal("burst announced more than once")
		}
	}
	select {
	case <-p.C():
		t.Fatal("held-back announcement fired early")
	default:
	}
	q := newPacer(time.Millisecond)
	defer q.stop()
	q.changed()
	q.changed() // held back
	<-q.C()
	q.fired()
	if q.armed {
		t.Error("still armed after firing")
	}
}

// TestFramesAppendedIsCoalescedUnderLoad streams hundreds of changes: the
// UI gets far fewer FramesAppended events than frames, and their counts
// add up to every frame appended.
func TestFramesAppendedIsCoalescedUnderLoad(t *testing.T) {
	e := newEnv(t, WithPumpInterval(100*time.Millisecond))
	seedItems(t, e, "alice", 0)
	c := e.open("alice", "alice", "alice-pw")
	counted := make(chan [2]int)
	go func() {
		events, frames := 0, 0
		for ev := range e.m.Events() {
			if f, ok := ev.(FramesAppendedEvent); ok {
				events++
				frames += f.Count
			}
		}
		counted <- [2]int{events, frames}
	}()
	if _, err := c.Subscribe(context.Background(), "SELECT * FROM app.items", SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 400
	for i := 1; i <= n; i++ {
		e.srv.MustExec("alice", fmt.Sprintf("INSERT INTO app.items (id, name) VALUES (%d, 'x')", i))
	}
	eventually(t, "all changes logged", func() bool { return c.Log().Len(Filter{Types: []string{"change"}}) == n })
	e.m.CloseAll() // the pumps flush what they held back on close
	got := <-counted
	// Read the log only now: closing taps the close frame too.
	appended := c.Log().Stats().Appended
	if uint64(got[1]) != appended {
		t.Errorf("events counted %d frames, log appended %d", got[1], appended)
	}
	if got[0] > n/10 {
		t.Errorf("%d FramesAppended events for %d frames", got[0], appended)
	}
	t.Logf("%d events for %d frames", got[0], appended)
}
