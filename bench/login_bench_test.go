package bench

import (
	"testing"

	"github.com/kalamdash/kalamdash/client"
)

// BenchmarkLogin measures login → auth_success on loopback: client.Connect
// with a password (HTTP login for a JWT, WebSocket upgrade with it, wait
// for auth_success), then Close. One op is one connection.
func BenchmarkLogin(b *testing.B) {
	src, err := NewSource(16, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, err := client.Connect(b.Context(), src.Srv.URL, client.WithAuth(client.Basic(User, Password)))
		if err != nil {
			b.Fatal(err)
		}
		if st := c.State(); st != client.StateConnected {
			b.Fatalf("connect returned in state %v", st)
		}
		b.StopTimer()
		c.Close()
		b.StartTimer()
	}
}
