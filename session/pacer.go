package session

import "time"

// pacer rate-limits a "something changed" notification: the first change
// after a quiet period is announced at once, later ones at most once per
// interval. It sleeps when nothing happens (no ticker), so idle
// connections cost no wake-ups. It is wall-clock based on purpose: it
// paces rendering, not session logic. Not safe for concurrent use; each
// pump owns one.
type pacer struct {
	interval time.Duration
	last     time.Time
	timer    *time.Timer
	armed    bool
}

func newPacer(interval time.Duration) *pacer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &pacer{interval: interval, timer: t}
}

// changed records a change; it reports whether to announce now. If not, a
// timer is armed and C will fire when it is time.
func (p *pacer) changed() bool {
	if p.armed {
		return false
	}
	if wait := p.interval - time.Since(p.last); wait > 0 {
		p.timer.Reset(wait)
		p.armed = true
		return false
	}
	p.last = time.Now()
	return true
}

// C fires when an announcement held back by changed is due; after
// receiving from it, call fired.
func (p *pacer) C() <-chan time.Time { return p.timer.C }

// fired marks the held-back announcement as made.
func (p *pacer) fired() {
	p.armed = false
	p.last = time.Now()
}

func (p *pacer) stop() { p.timer.Stop() }

// pumpLinger is how long a pump waits after taking a batch of frames or
// events before it takes the next: under a stream, what arrives meanwhile
// is taken as one batch, so the pump wakes about once per linger instead
// of once per frame (a goroutine wake-up costs more CPU than appending a
// frame). The first frame after a quiet spell is taken at once; the UI
// shows changes at most every pump interval (50 ms) anyway.
const pumpLinger = time.Millisecond

// linger waits pumpLinger (see there).
func linger() { time.Sleep(pumpLinger) }
