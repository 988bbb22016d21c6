package session

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
	"github.com/kalamdash/kalamdash/redact"
)

// TestNoSecretsInSnapshotsEventsOrLog runs login, refreshes (both
// methods), a failed refresh and a reconnect, then looks for the password
// and every token the client held in everything the UI can see.
func TestNoSecretsInSnapshotsEventsOrLog(t *testing.T) {
	e := newEnv(t)
	var seen strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range e.m.Events() {
			fmt.Fprintf(&seen, "%+v\n", ev)
		}
	}()
	const password = "alice-pw"
	c := e.open("alice", "alice", password)
	secrets := map[string]bool{password: true}
	grab := func() {
		a, r := c.Client().Credentials()
		secrets[a], secrets[r] = true, true
	}
	grab()
	ctx := context.Background()
	for _, m := range []RefreshMethod{MethodRefreshToken, MethodProvider} {
		e.clock.Advance(time.Second)
		if _, err := c.RefreshWith(ctx, m); err != nil {
			t.Fatal(err)
		}
		grab()
	}
	e.clock.Advance(time.Second)
	e.srv.RevokeTokens()
	c.RefreshWith(ctx, MethodRefreshToken) // fails: recorded with its error
	e.srv.DropAll()
	eventually(t, "reconnected", func() bool { s := c.Snapshot(); return s.State == client.StateConnected && s.Detail.ConnID > 1 })
	grab()
	var all strings.Builder
	fmt.Fprintf(&all, "%+v\n%#v\n", c.Snapshot(), c.Snapshot())
	for _, f := range c.Log().Page(Filter{}, 0, c.Log().Len(Filter{})) {
		fmt.Fprintf(&all, "%s\n%s\n%s\n%s\n", f.Wire, f.Decoded, f.Err, f.CloseReason)
	}
	e.m.CloseAll()
	<-done
	all.WriteString(seen.String())
	text := all.String()
	delete(secrets, "")
	for s := range secrets {
		if strings.Contains(text, s) {
			head := s
			if len(head) > 12 {
				head = head[:12] + "…"
			}
			t.Errorf("secret %q visible", head)
		}
	}
	if !strings.Contains(text, redact.Marker) {
		t.Error("no redaction marker in the log: were the auth frames captured?")
	}
}
