package testkit

import (
	"net"
	"testing"
)

// ServeTCP listens on a loopback port until the test ends and runs handle
// on its own goroutine for each accepted connection. It returns the
// listener's host:port.
func ServeTCP(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}
