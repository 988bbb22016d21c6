package client

// IsTransient reports whether the client treats err as temporary: an
// AuthProvider error marked with Transient, a network timeout, an
// unreachable server, a rate limit or a 502/503/504. Such provider failures
// are retried; others fail the connection attempt at once.
func IsTransient(err error) bool { return isTransient(err) }
