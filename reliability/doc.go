// Package reliability holds kalamdash's network-fault scenario suite: the
// client (package client) talks to the in-process server (package
// kalamtest) through a loopback fault proxy (kalamtest.Proxy), and
// each scenario breaks the network in one of the ways KalamDB's own client
// is tested against (upstream link/kalam-client/tests/proxied/), then
// checks that no change event was lost or delivered twice (by _seq), that
// the auth provider ran before every connection attempt, and that no
// goroutine outlived the client.
//
// The package has no non-test code; run it with
//
//	go test -race ./reliability/
package reliability
