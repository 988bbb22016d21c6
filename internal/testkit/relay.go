package testkit

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/proxy"
)

// ServeRelay serves kalamdash proxy's relay to upstream with o on a
// loopback port until the test ends, and returns it and its URL.
func ServeRelay(t testing.TB, upstream string, o proxy.Options) (*proxy.Relay, string) {
	t.Helper()
	r, err := proxy.New(upstream, o)
	if err != nil {
		t.Fatalf("proxy.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		_ = r.Close()
	})
	return r, "http://" + ln.Addr().String()
}
