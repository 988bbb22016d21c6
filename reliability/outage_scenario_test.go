package reliability_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kalamdash/kalamdash/client"
)

// down makes the server unreachable: new connections are refused and the
// existing ones reset. up undoes the refusal.
func (e *env) down() {
	e.t.Helper()
	if err := e.px.SetRefuse(true); err != nil {
		e.t.Fatal(err)
	}
	e.px.Reset()
}

func (e *env) up() {
	e.t.Helper()
	if err := e.px.SetRefuse(false); err != nil {
		e.t.Fatal(err)
	}
}

// waitFailedAttempts waits until n reconnect attempts have failed.
func (e *env) waitFailedAttempts(n int) {
	e.t.Helper()
	e.waitFor("failed reconnect attempts", func() bool { return e.log.count(kindError) >= n }, nil)
}

// TestConnectWhileServerDown: an eager Connect to a host that refuses
// connections fails at once with an "unreachable" error, after asking the
// provider exactly once.
func TestConnectWhileServerDown(t *testing.T) {
	e := newEnv(t, envConfig{noConnect: true})
	if err := e.px.SetRefuse(true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	c, err := client.Connect(ctx, e.px.URL(), client.WithAuthProvider(e.prov.provide),
		client.WithHTTPTimeout(httpTimeout), client.WithQueryRetries(0))
	if err == nil {
		_ = c.Close()
		t.Fatal("Connect succeeded against a refusing host")
	}
	if !client.IsUnreachable(err) {
		t.Errorf("Connect error %q is not classified as unreachable", err)
	}
	if n := e.prov.calls.Load(); n != 1 {
		t.Errorf("provider called %d times for one Connect, want 1", n)
	}
}

// TestServerDownWhileConnecting: the server goes away under a live
// subscription and stays away for several reconnect attempts, each of
// which asks the provider first. When it is back, the subscription
// resumes with the rows written meanwhile.
func TestServerDownWhileConnecting(t *testing.T) {
	e := newEnv(t, envConfig{})
	sub, all := e.liveSubscription("messages", 10)

	e.down()
	all = append(all, e.insert("messages", 25)...)
	e.waitFailedAttempts(4)
	if s := e.c.State(); s != client.StateReconnecting {
		t.Errorf("state while the server is down = %v, want reconnecting", s)
	}
	e.up()
	e.waitConnected(2)
	all = append(all, e.insert("messages", 5)...)
	e.waitDeliveredOnce("rows written while the server was down", sub, all)
	if n := e.log.count(kindConnecting); n < 6 {
		t.Errorf("%d connection attempts, want the first, ≥4 failures and the recovery", n)
	}
}

// TestServerDownDuringInitialLoad: the server disappears half-way through
// a paged initial load. The resumed subscription continues after the last
// row delivered instead of starting over, so nothing repeats.
func TestServerDownDuringInitialLoad(t *testing.T) {
	e := newEnv(t, envConfig{})
	all := e.insertBulk("messages", 500)
	// Latency makes each next_batch round trip slow enough to cut into.
	e.px.SetLatency(10*time.Millisecond, 0)
	sub := e.subscribe("messages", client.WithBatchSize(25))
	e.waitFor("a few batches", func() bool { return sub.count(client.SubBatch) >= 3 }, nil)
	e.down()
	all = append(all, e.insert("messages", 10)...)
	e.waitFailedAttempts(2)
	e.up()
	e.px.SetLatency(0, 0)
	e.waitDeliveredOnce("the whole snapshot", sub, all)
	if sub.resumes() < 1 {
		t.Error("no resumed ack after the outage")
	}
}

// TestSubscribeDuringReconnect: Subscribe is called while the client is
// between sockets. It waits, and completes on the next socket, next to an
// older subscription that resumes there.
func TestSubscribeDuringReconnect(t *testing.T) {
	e := newEnv(t, envConfig{tables: []string{"messages", "audit"}})
	old := e.subscribe("messages")
	oldRows := e.insert("messages", 5)

	e.down()
	e.waitFailedAttempts(1)
	done := e.subscribeAsync("audit")
	newRows := e.insert("audit", 5)
	oldRows = append(oldRows, e.insert("messages", 5)...)
	e.waitFailedAttempts(3)
	e.up()

	sub := e.subscribed("during reconnect", done)
	newRows = append(newRows, e.insert("audit", 5)...)
	e.waitRows("the new subscription's rows", sub, newRows)
	e.waitRows("the old subscription's rows", old, oldRows)

	sub.checkExactlyOnce(t, newRows)
	old.checkExactlyOnce(t, oldRows)
	e.checkProvider()
}

// TestUnsubscribeDuringOutage: a subscription dropped while there is no
// socket is not re-sent on the next one (the server holds only the
// survivor) and its channel is closed; the survivor resumes.
func TestUnsubscribeDuringOutage(t *testing.T) {
	e := newEnv(t, envConfig{tables: []string{"messages", "audit"}})
	gone := e.subscribe("audit")
	keep := e.subscribe("messages")
	all := e.insert("messages", 5)
	e.insert("audit", 5)

	e.down()
	e.waitFailedAttempts(1)
	if err := gone.s.Unsubscribe(context.Background()); err != nil {
		t.Fatalf("Unsubscribe without a socket: %v", err)
	}
	e.insert("audit", 5)
	all = append(all, e.insert("messages", 5)...)
	e.up()
	e.waitConnected(2)
	e.waitRows("the survivor's rows", keep, all)

	select {
	case <-gone.done:
	case <-time.After(waitDeadline):
		t.Fatal("the unsubscribed subscription's Events channel was not closed")
	}
	keep.checkExactlyOnce(t, all)
	for _, ci := range e.srv.Conns() {
		if ci.Authenticated && slices.Contains(ci.Subs, gone.s.ID()) {
			t.Errorf("connection %d re-subscribed %s after Unsubscribe (subs %v)", ci.ID, gone.s.ID(), ci.Subs)
		}
	}
	e.checkProvider()
}

// TestProviderFailsDuringReconnect: after a drop, the auth provider
// itself fails for three attempts (a credentials store that is down). Each
// failure is reported as a recoverable provider error, the client keeps
// trying (asking the provider each time), and the subscription resumes
// once credentials are available again.
func TestProviderFailsDuringReconnect(t *testing.T) {
	e := newEnv(t, envConfig{clientOpts: []client.Option{client.WithProviderRetry(1, 0, 0)}})
	sub, all := e.liveSubscription("messages", 5)

	e.prov.fail.Store(3)
	e.px.Reset()
	all = append(all, e.insert("messages", 5)...)
	e.waitConnected(2)
	all = append(all, e.insert("messages", 5)...)
	e.waitRows("rows across the provider outage", sub, all)

	if n := e.log.count(kindError); n < 3 {
		t.Errorf("%d error events for 3 failed provider calls", n)
	}
	sub.checkExactlyOnce(t, all)
	e.checkProvider()
}
