package session_test

import (
	"context"
	"fmt"
	"time"

	"github.com/kalamdash/kalamdash/kalamtest"
	"github.com/kalamdash/kalamdash/session"
)

// A manager with a fake clock shared with the test server: the token's
// phase and the refresh schedule follow Advance, not the wall clock.
func Example() {
	clock := session.NewFakeClock(time.Unix(time.Now().Unix(), 0))
	srv, err := kalamtest.NewServer(kalamtest.WithClock(clock.Now), kalamtest.WithUser("alice", "pw", "user"),
		kalamtest.WithAccessTTL(2*time.Minute), kalamtest.WithHeartbeatTimeout(time.Hour))
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	m := session.NewManager(session.WithClock(clock))
	defer m.CloseAll()
	c, err := m.Open(context.Background(), session.Profile{Name: "alice", URL: srv.URL, User: "alice", Password: "pw",
		RefreshPolicy: "before 30s"})
	if err != nil {
		panic(err)
	}
	s := c.Snapshot()
	fmt.Println(s.Access.Claims.Subject, s.Access.Claims.Role, s.Phase(), s.Access.Remaining(s.Now))
	fmt.Println("policy:", s.Policy, "next refresh in", s.NextRefresh.Sub(s.Now))

	clock.Advance(95 * time.Second) // past the scheduled refresh at 90 s
	s = c.Snapshot()
	r := s.History[0]
	fmt.Println(r.Trigger, r.Method, r.OK(), "new token good for", r.NewExpiry.Sub(s.Now))
	// Output:
	// alice user fresh 2m0s
	// policy: before 30s next refresh in 1m30s
	// before-expiry refresh-token true new token good for 1m55s
}
