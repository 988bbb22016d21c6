package session

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

func TestTwoUsersSideBySide(t *testing.T) {
	e := newEnv(t)
	a := e.open("alice", "alice", "alice-pw")
	b := e.open("bob", "bob", "bob-pw")
	if _, err := e.m.Open(context.Background(), Profile{Name: "alice", URL: e.srv.URL, User: "alice", Password: "x"}); err == nil {
		t.Error("duplicate name accepted")
	}
	if names := []string{e.m.Conns()[0].Name(), e.m.Conns()[1].Name()}; names[0] != "alice" || names[1] != "bob" {
		t.Errorf("conns %v", names)
	}
	if err := a.SetPolicy(Periodic(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(25 * time.Second)
	if _, err := b.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	sa, sb := a.Snapshot(), b.Snapshot()
	if sa.Access.Claims.Subject != "alice" || sb.Access.Claims.Subject != "bob" || sb.Access.Claims.Role != "dba" {
		t.Errorf("subjects %q/%q", sa.Access.Claims.Subject, sb.Access.Claims.Subject)
	}
	if sa.Detail.User != "alice" || sb.Detail.User != "bob" {
		t.Errorf("auth_success users %q/%q", sa.Detail.User, sb.Detail.User)
	}
	if len(sa.History) != 2 || len(sb.History) != 1 || sb.History[0].Trigger != TriggerManual {
		t.Errorf("histories %v / %v", triggers(sa.History), triggers(sb.History))
	}
	if sa.Policy != Periodic(10*time.Second) || sb.Policy != Manual() {
		t.Errorf("policies %v / %v", sa.Policy, sb.Policy)
	}
	// Each frame log holds its own socket's frames only.
	eventually(t, "auth frames in both logs", func() bool {
		return a.Log().Len(Filter{Text: `"user":"alice"`}) > 0 && b.Log().Len(Filter{Text: `"user":"bob"`}) > 0
	})
	if n := a.Log().Len(Filter{Text: `"user":"bob"`}); n != 0 {
		t.Errorf("alice's log has %d bob frames", n)
	}
	if n := b.Log().Len(Filter{Text: `"user":"alice"`}); n != 0 {
		t.Errorf("bob's log has %d alice frames", n)
	}
	// Closing one leaves the other running.
	if err := e.m.Close("alice"); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.m.Conn("alice"); ok {
		t.Error("alice still listed")
	}
	if _, err := a.Refresh(context.Background()); err == nil {
		t.Error("refresh on a closed conn succeeded")
	}
	if s := b.Snapshot(); s.State != client.StateConnected {
		t.Errorf("bob %v", s.State)
	}
	if _, err := b.Refresh(context.Background()); err != nil {
		t.Errorf("bob refresh: %v", err)
	}
}

func TestEventsStream(t *testing.T) {
	e := newEnv(t)
	var got []Event
	var framesSeen atomic.Uint64 // frames counted by the FramesAppended received so far
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range e.m.Events() {
			got = append(got, ev)
			if f, ok := ev.(FramesAppendedEvent); ok {
				framesSeen.Add(uint64(f.Count))
			}
		}
	}()
	c := e.open("alice", "alice", "alice-pw")
	e.clock.Advance(time.Second) // tokens minted in another second differ
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "frames in log", func() bool { return c.Log().Len(Filter{}) >= 2 })
	logLen := c.Log().Stats().Appended
	// The pump announces appended frames at most once per interval: wait
	// for the announcement covering them, not for an interval's worth of time.
	eventually(t, "FramesAppended covering the log", func() bool { return framesSeen.Load() >= logLen })
	e.m.CloseAll()
	<-done
	kinds := map[string]int{}
	var frames int
	for _, ev := range got {
		if ev.ConnName() != "alice" {
			t.Errorf("event for %q", ev.ConnName())
		}
		switch x := ev.(type) {
		case ConnOpenedEvent:
			kinds["opened"]++
		case TokenChangedEvent:
			kinds["token"]++
		case RotationRecordedEvent:
			kinds["rotation"]++
		case FramesAppendedEvent:
			kinds["frames"]++
			frames += x.Count
		case StateChangedEvent:
			kinds["state"]++
		case ConnClosedEvent:
			kinds["closed"]++
		}
	}
	if kinds["opened"] != 1 || kinds["token"] < 2 || kinds["rotation"] != 1 || kinds["frames"] < 1 || kinds["closed"] != 1 {
		t.Errorf("event kinds %v", kinds)
	}
	if uint64(frames) < logLen {
		t.Errorf("FramesAppended counted %d, log appended %d", frames, logLen)
	}
	for _, ev := range got {
		if s, ok := ev.(StateChangedEvent); ok && s.To == client.StateClosed {
			return
		}
	}
	t.Error("no StateChanged to closed")
}

func TestEventQueueCoalescesWhileConsumerIsSlow(t *testing.T) {
	q := newEventQueue(1)
	for i := 0; i < 10_000; i++ {
		q.push(FramesAppendedEvent{Conn: "a", Count: 1})
	}
	q.push(NoticeEvent{Conn: "a", Text: "x"})
	total, n := 0, 0
	for ev := range q.out {
		n++
		if f, ok := ev.(FramesAppendedEvent); ok {
			total += f.Count
		}
		if _, ok := ev.(NoticeEvent); ok {
			break
		}
	}
	q.close()
	if total != 10_000 || n > 10 {
		t.Errorf("delivered %d events carrying %d frames", n, total)
	}
}

func TestReconnectIsFollowedAndRecorded(t *testing.T) {
	e := newEnv(t)
	c := e.open("alice", "alice", "alice-pw")
	before := c.Snapshot()
	e.clock.Advance(time.Second) // tokens minted in another second differ
	if n := e.srv.DropAll(); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	eventually(t, "reconnected with a new socket", func() bool {
		s := c.Snapshot()
		return s.State == client.StateConnected && s.Detail.ConnID > before.Detail.ConnID && len(s.History) > 0
	})
	s := c.Snapshot()
	r := s.History[len(s.History)-1]
	// The password provider logs in again on reconnect: a new token pair.
	if r.Trigger != TriggerReconnect || !r.OK() || r.Latency <= 0 || r.NewFingerprint == before.Access.Fingerprint || r.NewFingerprint != s.Access.Fingerprint {
		t.Errorf("rotation %+v", r)
	}
	if s.Socket.Fingerprint != s.Access.Fingerprint || s.Stats.Reconnects == 0 {
		t.Errorf("socket %s access %s reconnects %d", s.Socket.Fingerprint, s.Access.Fingerprint, s.Stats.Reconnects)
	}
	if len(s.Providers) < 2 {
		t.Errorf("provider calls %+v", s.Providers)
	}
	// Both sockets' auth_success frames are in the one log.
	eventually(t, "two auth_success frames", func() bool {
		return c.Log().Len(Filter{Types: []string{"auth_success"}}) == 2
	})
}

func TestAttachAdoptsAClientBuiltElsewhere(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cl, err := client.Connect(ctx, e.srv.URL, client.WithAuthProvider(func(context.Context) (client.Auth, error) {
		return client.Basic("bob", "bob-pw"), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.m.Attach(cl, Profile{Name: "bob", RefreshPolicy: "every 10s"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Snapshot()
	if s.State != client.StateConnected || s.Access.Claims.Subject != "bob" || s.Policy != Periodic(10*time.Second) || s.URL == "" {
		t.Fatalf("attached: %v %q %v %q", s.State, s.Access.Claims.Subject, s.Policy, s.URL)
	}
	e.clock.Advance(10 * time.Second)
	if s := c.Snapshot(); len(s.History) != 1 || !s.History[0].OK() {
		t.Errorf("history %v", triggers(s.History))
	}
	if _, err := e.m.Attach(nil, Profile{}); err == nil {
		t.Error("nil client attached")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if cl.State() != client.StateClosed {
		t.Errorf("client %v after Close", cl.State())
	}
}

// TestBrokenSocketCloseCode: a socket that breaks without a close frame is
// reported with close code 1006, as RFC 6455 and browsers name it.
func TestBrokenSocketCloseCode(t *testing.T) {
	e := newEnv(t)
	e.open("alice", "alice", "alice-pw")
	if n := e.srv.DropAll(); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-e.m.Events():
			if sc, ok := ev.(StateChangedEvent); ok && (sc.To == client.StateReconnecting || sc.To == client.StateDisconnected) {
				if sc.Detail.CloseCode != CloseAbnormal {
					t.Fatalf("close code %d, want %d", sc.Detail.CloseCode, CloseAbnormal)
				}
				return
			}
		case <-deadline:
			t.Fatal("no state change for the broken socket")
		}
	}
}
