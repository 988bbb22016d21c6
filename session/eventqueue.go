package session

import (
	"sync"
	"sync/atomic"
	"time"
)

// maxQueued bounds the events waiting inside the manager while the UI is
// behind; beyond it the oldest are dropped (and counted).
const maxQueued = 4096

// eventQueue delivers events in order on a channel without ever blocking
// producers: a goroutine moves them from an internal queue into out.
// While events wait, consecutive FramesAppended/SubscriptionChanged events
// of the same connection are merged, so a slow consumer sees fewer, larger
// batches rather than a growing backlog.
type eventQueue struct {
	out  chan Event
	mu   sync.Mutex
	cond *sync.Cond
	q    []Event
	done bool
	drop atomic.Uint64
	wg   sync.WaitGroup
	// abandon is closed when close gives up waiting for a consumer.
	abandon chan struct{}
}

func newEventQueue(buffer int) *eventQueue {
	e := &eventQueue{out: make(chan Event, buffer), abandon: make(chan struct{})}
	e.cond = sync.NewCond(&e.mu)
	e.wg.Add(1)
	go e.run()
	return e
}

func (e *eventQueue) push(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return
	}
	if n := len(e.q); n > 0 {
		if merged, ok := coalesce(e.q[n-1], ev); ok {
			e.q[n-1] = merged
			return
		}
	}
	if len(e.q) >= maxQueued {
		e.q[0] = nil
		e.q = e.q[1:]
		e.drop.Add(1)
	}
	e.q = append(e.q, ev)
	e.cond.Signal()
}

// coalesce merges b into a when both say "more of the same happened".
func coalesce(a, b Event) (Event, bool) {
	switch x := a.(type) {
	case FramesAppendedEvent:
		if y, ok := b.(FramesAppendedEvent); ok && y.Conn == x.Conn {
			x.Count += y.Count
			return x, true
		}
	case SubscriptionChangedEvent:
		if y, ok := b.(SubscriptionChangedEvent); ok && y == x {
			return x, true
		}
	case TokenChangedEvent:
		if y, ok := b.(TokenChangedEvent); ok && y.Conn == x.Conn {
			return y, true // the newer state supersedes
		}
	case PolicyChangedEvent:
		if y, ok := b.(PolicyChangedEvent); ok && y.Conn == x.Conn {
			return y, true
		}
	}
	return nil, false
}

func (e *eventQueue) run() {
	defer e.wg.Done()
	defer close(e.out)
	for {
		e.mu.Lock()
		for len(e.q) == 0 && !e.done {
			e.cond.Wait()
		}
		if len(e.q) == 0 && e.done {
			e.mu.Unlock()
			return
		}
		ev := e.q[0]
		e.q[0] = nil
		e.q = e.q[1:]
		e.mu.Unlock()
		select {
		case e.out <- ev: // blocks only this goroutine
		case <-e.abandon:
			return
		}
	}
}

// closeWait bounds how long close waits for a consumer to take the last
// events before discarding them.
const closeWait = time.Second

// close stops accepting events and closes out once the queued events are
// delivered, or after closeWait if nobody reads them any more.
func (e *eventQueue) close() {
	e.mu.Lock()
	if e.done {
		e.mu.Unlock()
		return
	}
	e.done = true
	e.cond.Signal()
	e.mu.Unlock()
	finished := make(chan struct{})
	go func() { e.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(closeWait):
		close(e.abandon)
		<-finished
	}
}

func (e *eventQueue) dropped() uint64 { return e.drop.Load() }
