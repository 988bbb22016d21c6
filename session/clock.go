package session

import (
	"sort"
	"sync"
	"time"
)

// Clock is the source of time for everything in package session: token
// phases, countdowns, refresh scheduling, stats windows and backoff. Tests
// inject a FakeClock so expiry and scheduling are exercised without sleeping.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once, in its own goroutine or (for a FakeClock) on
	// the goroutine that advances the clock, after d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not run yet; it reports whether it
	// stopped it.
	Stop() bool
}

// RealClock returns the wall clock.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// FakeClock is a manually advanced Clock for tests. Its zero value is not
// usable; create one with NewFakeClock. Timers due during Advance run
// synchronously, in time order, on the goroutine calling Advance, and the
// clock reads each timer's due time while it runs; timers they schedule that
// fall inside the advanced span run in the same Advance call.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer
}

// NewFakeClock returns a FakeClock reading t0.
func NewFakeClock(t0 time.Time) *FakeClock { return &FakeClock{now: t0} }

type fakeTimer struct {
	c    *FakeClock
	when time.Time
	seq  uint64 // breaks ties in scheduling order
	f    func()
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d. A d ≤ 0 runs at the next Advance (even
// Advance(0)).
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop removes the timer if it is still pending.
func (t *fakeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock forward by d, running every timer that falls due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			if !a.when.Equal(b.when) {
				return a.when.Before(b.when)
			}
			return a.seq < b.seq
		})
		if len(c.timers) == 0 || c.timers[0].when.After(target) {
			c.now = target
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f() // outside the lock: f may schedule or stop timers
	}
}

// Set moves the clock to t (forward only), running due timers like Advance.
func (c *FakeClock) Set(t time.Time) {
	d := t.Sub(c.Now())
	if d < 0 {
		d = 0
	}
	c.Advance(d)
}

// Pending returns how many timers are scheduled and not yet run.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextDue returns when the earliest pending timer falls due (ok=false if
// none), so tests can step exactly onto scheduling boundaries.
func (c *FakeClock) NextDue() (t time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if i == 0 || x.when.Before(t) {
			t = x.when
		}
	}
	return t, len(c.timers) > 0
}
