// Package testkit holds the helpers the tests of several packages share:
// a kalamtest server with the usual users and table, polling with a
// generous deadline, a goroutine-safe log buffer, a clock that moves only
// when told, a rewriting reverse proxy and kalamdash proxy's relay. Only
// tests import it.
package testkit
