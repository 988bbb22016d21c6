package tokensource

// Waiting reports how many callers wait for the run under way (0 when none
// is), so tests can release a blocked token command only once every caller
// they started has joined it.
func Waiting(c *Command) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight == nil {
		return 0
	}
	return c.inflight.waiters
}
