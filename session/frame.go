package session

import "github.com/kalamdash/kalamdash/client"

// Entry is one frame in a FrameLog with its stable ID (1, 2, … in append
// order; IDs are never reused, evicted IDs simply stop resolving).
type Entry struct {
	ID uint64
	client.Frame
}
