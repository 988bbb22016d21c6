package session

import "time"

// MaxHistory bounds the rotation and provider-call histories per
// connection; the oldest entries are dropped first.
const MaxHistory = 200

// Rotation is one refresh attempt in a connection's rotation history.
type Rotation struct {
	ID              int           // 1, 2, … per connection
	Time            time.Time     // when the attempt started
	Trigger         Trigger       // what started it
	Method          RefreshMethod // how it obtained credentials
	Attempt         int           // 1 for a first try, 2+ for retries after failures
	Latency         time.Duration // how long it took
	OldExpiry       time.Time     // access exp before (zero if unknown)
	NewExpiry       time.Time     // access exp after (zero on failure)
	OldFingerprint  string        // access token fingerprints, never tokens
	NewFingerprint  string
	SocketUntouched bool   // the live socket keeps its original authentication
	Unchanged       bool   // succeeded but the access token is the same (e.g. a pasted JWT asked again)
	Err             string // empty on success; secrets never appear here
	Hint            string // what to try next when Err is set
	// Answer is what the server said to a socket authenticating with a
	// swapped token ("auth_success as bob (dba)"), or what a swap did.
	Answer string
}

// OK reports whether the refresh succeeded.
func (r Rotation) OK() bool { return r.Err == "" }

// ProviderCall is one call of the client's auth provider (password login,
// token command, token file, …).
type ProviderCall struct {
	Time        time.Time
	Duration    time.Duration
	Kind        string // "basic", "jwt", "none"
	Fingerprint string // of the token obtained, never the token
	Err         string
}

// ring is a small bounded FIFO used for histories. It is copy-on-write:
// add builds a new slice, so snapshot can hand out the current one without
// copying (histories change rarely, snapshots are taken on every render).
type ring[T any] struct {
	items []T // never modified in place
	max   int
}

func (r *ring[T]) add(v T) {
	if r.max <= 0 {
		r.max = MaxHistory
	}
	keep := r.items
	if len(keep) >= r.max {
		keep = keep[len(keep)-r.max+1:]
	}
	next := make([]T, len(keep), len(keep)+1)
	copy(next, keep)
	r.items = append(next, v)
}

// snapshot returns the entries, oldest first; callers must not modify it.
func (r *ring[T]) snapshot() []T { return r.items }
