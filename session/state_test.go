package session

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/kalamdash/kalamdash/client"
)

func TestStateMachineFollowsDisconnectReconnectAndCompression(t *testing.T) {
	e := newEnv(t)
	var states []client.ConnState
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range e.m.Events() {
			if s, ok := ev.(StateChangedEvent); ok {
				states = append(states, s.To)
			}
		}
	}()
	c := e.open("alice", "alice", "alice-pw")
	first := c.Snapshot().Detail.ConnID
	if err := c.Disconnect(); err != nil {
		t.Fatal(err)
	}
	e.waitState(c, client.StateDisconnected)
	if err := c.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.waitState(c, client.StateConnected)
	if s := c.Snapshot(); s.Detail.ConnID <= first || s.Detail.User != "alice" {
		t.Errorf("detail %+v", s.Detail)
	}
	// Compression off: the client reconnects with compress=false.
	mark := c.Log().Stats().LastID
	if err := c.SetCompression(false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reconnected without compression", func() bool {
		s := c.Snapshot()
		return s.State == client.StateConnected && !s.Compression &&
			c.Log().Len(Filter{Types: []string{"auth_success"}}) >= 3
	})
	var sawSwitch bool
	for _, f := range c.Log().Page(Filter{Opcodes: []client.Opcode{client.OpHTTP}}, 0, 100) {
		if f.ID > mark && f.Type == "GET /v1/ws" && containsFold(f.Wire, []byte("compress=false")) {
			sawSwitch = true
		}
	}
	if !sawSwitch {
		t.Error("no upgrade with compress=false in the log")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	e.m.CloseAll()
	<-done
	want := map[client.ConnState]bool{client.StateConnected: false, client.StateDisconnected: false, client.StateClosed: false}
	for _, s := range states {
		if _, ok := want[s]; ok {
			want[s] = true
		}
	}
	for s, seen := range want {
		if !seen {
			t.Errorf("never saw %v in %v", s, states)
		}
	}
	if states[len(states)-1] != client.StateClosed {
		t.Errorf("last state %v", states[len(states)-1])
	}
}

// Connect queues Connecting and Connected before Open attaches the client.
// Open applies them, in order, before it returns: the connection is up
// with auth_success's details at once, and no later event moves it back
// to Connecting behind the live socket (it did when the pump replayed them
// after start had already read the client's state).
func TestOpenNeverMovesAConnectedConnBack(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var changes []StateChangedEvent
	go func() {
		for ev := range e.m.Events() {
			if s, ok := ev.(StateChangedEvent); ok {
				mu.Lock()
				changes = append(changes, s)
				mu.Unlock()
			}
		}
	}()
	c, err := e.m.Open(context.Background(), Profile{Name: "alice", URL: e.srv.URL, User: "alice", Password: "alice-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Snapshot(); s.State != client.StateConnected || s.Detail.User != "alice" {
		t.Errorf("after Open: state %v, detail %+v", s.State, s.Detail)
	}
	// Events reach the consumer in order: once the Connected one arrived,
	// a stale Connecting would be in the list before it.
	eventually(t, "the StateChanged to connected", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(changes, func(s StateChangedEvent) bool { return s.To == client.StateConnected })
	})
	mu.Lock()
	defer mu.Unlock()
	for _, s := range changes {
		if s.From == client.StateConnected && s.To != client.StateClosed {
			t.Errorf("state went back %v → %v; all changes %+v", s.From, s.To, changes)
		}
	}
}
