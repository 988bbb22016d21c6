package tokensource

import (
	"sync"
	"time"
)

// Invocation is one use of a token source, for the dashboard's provider
// history. It never holds the token: client.Fingerprint identifies it.
type Invocation struct {
	Time        time.Time
	Duration    time.Duration
	Cached      bool      // answered from the cache; the command did not run
	Fingerprint string    // first 8 hex digits of the token's SHA-256
	Expiry      time.Time // token expiry, when known
	Err         error
	Warning     string // e.g. a token file readable by others
}

// OK reports whether the invocation produced a token.
func (i Invocation) OK() bool { return i.Err == nil }

// historySize bounds the remembered invocations: the panel shows the last
// few, and a flapping connection must not grow memory.
const historySize = 32

type history struct {
	mu    sync.Mutex
	items []Invocation
}

func (h *history) add(inv Invocation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.items) == historySize {
		copy(h.items, h.items[1:])
		h.items = h.items[:historySize-1]
	}
	h.items = append(h.items, inv)
}

// snapshot returns a copy, oldest first.
func (h *history) snapshot() []Invocation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Invocation(nil), h.items...)
}
