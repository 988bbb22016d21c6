package client

import "context"

// IsTransient reports whether the client treats err as temporary: an
// AuthProvider error marked with Transient, a network timeout, an
// unreachable server, a rate limit or a 502/503/504. Such provider failures
// are retried; others fail the connection attempt at once.
func IsTransient(err error) bool { return isTransient(err) }

type triggerKey struct{}

// ProviderTrigger tells an AuthProvider why it is being called: "connect",
// "reconnect", "refresh-auth", "token-expired" or "failover" (an HTTP call
// moved to the next cluster node, its node down) ("" when ctx did not come
// from the client). A caching provider can serve connects from its cache
// but run afresh when the user explicitly asked for new credentials.
func ProviderTrigger(ctx context.Context) string {
	s, _ := ctx.Value(triggerKey{}).(string)
	return s
}
